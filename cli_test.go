package main

import (
	"strings"
	"testing"

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// TestFindTask_NamesTheFrameworksOfAnAmbiguousID: a task id two
// frameworks use needs -framework; an unknown one is named.
func TestFindTask_NamesTheFrameworksOfAnAmbiguousID(t *testing.T) {
	task := func(fw, id string, s mesos.TaskState) mapi.Task {
		return mapi.Task{TaskID: mesos.TaskID{Value: id}, FrameworkID: mesos.FrameworkID{Value: fw}, State: s}
	}
	st := &mapi.GetState{GetTasks: mapi.GetTasks{Tasks: []mapi.Task{task("fw1", "web", mesos.TaskRunning)},
		CompletedTasks: []mapi.Task{task("fw2", "web", mesos.TaskFinished)}}}
	if _, err := findTask(st, "web", ""); err == nil || !strings.Contains(err.Error(), "fw1, fw2") {
		t.Errorf("findTask of an ambiguous id: %v, want an error naming fw1 and fw2", err)
	}
	if tk, err := findTask(st, "web", "fw2"); err != nil || tk.State != mesos.TaskFinished {
		t.Errorf("findTask with -framework fw2 = %+v, %v", tk, err)
	}
	if _, err := findTask(st, "db", ""); err == nil || !strings.Contains(err.Error(), `"db"`) {
		t.Errorf("findTask of an unknown id: %v", err)
	}
}
