package fsm

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-memdb"

	"mesh/mesos"
)

func treeTask(fid, tid string, state mesos.TaskState) *Task {
	return &Task{FrameworkID: fid, TaskID: tid, AgentID: "a", State: state}
}

func stateOf(txn *memdb.Txn, fid, tid string) string {
	if t := getTask(txn, fid, tid); t != nil {
		return string(t.State)
	}
	return "none"
}

// TestTaskTree_AWriteIsSeenByOthersOnlyOnceCommitted: a write
// transaction reads its own tasks at once; views taken before its commit,
// even while it writes, never see them; views taken after do.
func TestTaskTree_AWriteIsSeenByOthersOnlyOnceCommitted(t *testing.T) {
	db := newDB()
	before := db.Txn(false)
	w := db.Txn(true)
	putTask(w, treeTask("f", "t1", mesos.TaskRunning))
	during := db.Txn(false)
	putTask(w, treeTask("f", "t2", mesos.TaskRunning))
	if got := stateOf(w, "f", "t2"); got != "TASK_RUNNING" {
		t.Fatalf("the writer reads its own task as %s", got)
	}
	w.Commit()
	after := db.Txn(false)
	for name, txn := range map[string]*memdb.Txn{"before": before, "during": during} {
		if got := stateOf(txn, "f", "t1"); got != "none" {
			t.Errorf("a view taken %s the commit sees t1 as %s", name, got)
		}
	}
	if got := len(collectTasks(after, "")); got != 2 {
		t.Errorf("a view taken after the commit sees %d tasks, want 2", got)
	}
}

// TestTaskTree_AnAbortedWriteChangesNothing: tasks put, replaced and
// deleted by a transaction that is aborted leave the committed tasks as
// they were, for views and for the next writer.
func TestTaskTree_AnAbortedWriteChangesNothing(t *testing.T) {
	db := newDB()
	w := db.Txn(true)
	putTask(w, treeTask("f", "t1", mesos.TaskRunning))
	putTask(w, treeTask("f", "t2", mesos.TaskRunning))
	w.Commit()

	w = db.Txn(true)
	putTask(w, treeTask("f", "t1", mesos.TaskFinished))
	deleteTask(w, treeTask("f", "t2", ""))
	putTask(w, treeTask("f", "t3", mesos.TaskStaging))
	w.Abort()

	w = db.Txn(true)
	putTask(w, treeTask("f", "t4", mesos.TaskStaging))
	got := func(txn *memdb.Txn) string {
		var out []string
		for _, task := range collectTasks(txn, "") {
			out = append(out, task.TaskID+"="+string(task.State))
		}
		return strings.Join(out, ",")
	}
	if g := got(w); g != "t1=TASK_RUNNING,t2=TASK_RUNNING,t4=TASK_STAGING" {
		t.Errorf("the next writer sees %s", g)
	}
	w.Commit()
	if g := got(db.Txn(false)); g != "t1=TASK_RUNNING,t2=TASK_RUNNING,t4=TASK_STAGING" {
		t.Errorf("after the next commit: %s", g)
	}
}

// TestTaskTree_AViewKeepsItsTasksThroughLaterWrites: a view taken of
// 2,000 tasks still reads each as it was after every one of them was
// replaced or deleted by later transactions (which copy the tree's nodes
// instead of changing them).
func TestTaskTree_AViewKeepsItsTasksThroughLaterWrites(t *testing.T) {
	db := newDB()
	w := db.Txn(true)
	for i := 0; i < 2000; i++ {
		putTask(w, treeTask(fmt.Sprintf("f%d", i%3), fmt.Sprintf("t%04d", i), mesos.TaskRunning))
	}
	w.Commit()
	view := db.Txn(false)
	for round := 0; round < 4; round++ {
		w := db.Txn(true)
		for i := round; i < 2000; i += 4 {
			if i%8 == 0 {
				deleteTask(w, treeTask(fmt.Sprintf("f%d", i%3), fmt.Sprintf("t%04d", i), ""))
			} else {
				putTask(w, treeTask(fmt.Sprintf("f%d", i%3), fmt.Sprintf("t%04d", i), mesos.TaskFinished))
			}
		}
		w.Commit()
	}
	tasks := collectTasks(view, "")
	if len(tasks) != 2000 {
		t.Fatalf("the view holds %d tasks, want 2000", len(tasks))
	}
	for _, task := range tasks {
		if task.State != mesos.TaskRunning {
			t.Fatalf("the view reads %s as %s", task.Key(), task.State)
		}
	}
	now := collectTasks(db.Txn(false), "")
	if len(now) != 1750 {
		t.Errorf("the state holds %d tasks after the deletes, want 1750", len(now))
	}
	for _, task := range now {
		if task.State != mesos.TaskFinished {
			t.Fatalf("the state reads %s as %s", task.Key(), task.State)
		}
	}
}

// TestTaskTree_AFrameworksTasksAreItsOwnInIDOrder: a framework's tasks
// are listed by task id and exclude those of frameworks whose ids it is a
// prefix of, or that sort next to it.
func TestTaskTree_AFrameworksTasksAreItsOwnInIDOrder(t *testing.T) {
	f := New(nil)
	db := f.db.Load()
	w := db.Txn(true)
	for _, id := range []string{"f/b", "f/a", "f-1/a", "f0/a", "e/z", "f/c", "g/a", "f\x01/a"} {
		fid, tid, _ := strings.Cut(id, "/")
		putTask(w, treeTask(fid, tid, mesos.TaskRunning))
	}
	w.Commit()
	st := f.State()
	var got []string
	for _, task := range st.TasksByFramework("f") {
		got = append(got, task.Key())
	}
	if want := []string{(&Task{FrameworkID: "f", TaskID: "a"}).Key(), (&Task{FrameworkID: "f", TaskID: "b"}).Key(), (&Task{FrameworkID: "f", TaskID: "c"}).Key()}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("framework f's tasks: %q, want %q", got, want)
	}
	if n := len(st.TasksByFramework("")); n != 0 {
		t.Errorf("the framework of no id has %d tasks", n)
	}
	if n := len(st.TasksByFramework("h")); n != 0 {
		t.Errorf("an unknown framework has %d tasks", n)
	}
	if task := st.Task("f", "b"); task == nil || task.TaskID != "b" {
		t.Errorf("task f/b: %v", task)
	}
	if task := st.Task("f", "d"); task != nil {
		t.Errorf("task f/d, never launched: %v", task)
	}
}

// TestTaskTree_ViewsReadWhileAWriterCommits: views read and list the tasks while a
// writer commits changes to them (run with -race).
func TestTaskTree_ViewsReadWhileAWriterCommits(t *testing.T) {
	db := newDB()
	w := db.Txn(true)
	for i := 0; i < 500; i++ {
		putTask(w, treeTask("f", fmt.Sprintf("t%03d", i), mesos.TaskRunning))
	}
	w.Commit()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				view := db.Txn(false)
				if n := len(collectTasks(view, "f")); n != 500 {
					t.Errorf("a view lists %d tasks, want 500", n)
					return
				}
				_ = getTask(view, "f", "t250")
			}
		}()
	}
	for round := 0; round < 200; round++ {
		w := db.Txn(true)
		for i := round % 7; i < 500; i += 7 {
			putTask(w, treeTask("f", fmt.Sprintf("t%03d", i), mesos.TaskState(fmt.Sprint(round))))
		}
		w.Commit()
	}
	close(stop)
	wg.Wait()
}

// TestRestore_RefusesATaskWithoutItsIDs: a snapshot's task without a
// framework id or a task id is refused with what it lacks, and the state
// is left as it was.
func TestRestore_RefusesATaskWithoutItsIDs(t *testing.T) {
	for _, line := range []string{
		`{"t":"tasks","v":{"FrameworkID":"f","TaskID":"","AgentID":"a","State":"TASK_RUNNING"}}`,
		`{"t":"tasks","v":{"FrameworkID":"","TaskID":"t","AgentID":"a","State":"TASK_RUNNING"}}`,
	} {
		f := seed(t)
		err := f.Restore(io.NopCloser(strings.NewReader(line + "\n")))
		if err == nil || !strings.Contains(err.Error(), "needs a framework id and a task id") {
			t.Errorf("restore of %s: %v", line, err)
		}
		if f.State().Agent("c1-S0") == nil {
			t.Errorf("a refused restore changed the state")
		}
	}
}
