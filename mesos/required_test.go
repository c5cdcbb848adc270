package mesos

import (
	"errors"
	"fmt"
	"testing"
)

func TestFieldError_Messages(t *testing.T) {
	if got := (&FieldError{Field: "name"}).Error(); got != "expecting 'name' to be present" {
		t.Fatalf("missing field: %q", got)
	}
	if got := (&FieldError{Field: "type", Problem: `has unknown value "X"`}).Error(); got != `'type' has unknown value "X"` {
		t.Fatalf("bad field: %q", got)
	}
}

func TestPrefixFieldError(t *testing.T) {
	base := &FieldError{Field: "name"}
	cases := []struct {
		prefix string
		err    error
		want   string
	}{
		{"task_infos[0]", base, "expecting 'task_infos[0].name' to be present"},
		{"", base, "expecting 'name' to be present"},
		{"tasks", &FieldError{Field: "[2].name"}, "expecting 'tasks[2].name' to be present"},
		{"a", fmt.Errorf("wrapped: %w", base), "expecting 'a.name' to be present"},
	}
	for _, tc := range cases {
		if got := PrefixFieldError(tc.prefix, tc.err); got.Error() != tc.want {
			t.Errorf("PrefixFieldError(%q, %v) = %q, want %q", tc.prefix, tc.err, got, tc.want)
		}
	}
	if PrefixFieldError("x", nil) != nil {
		t.Error("nil error must stay nil")
	}
	plain := errors.New("plain")
	if PrefixFieldError("x", plain) != plain {
		t.Error("a non-field error must be returned unchanged")
	}
}

func TestCheckRequired_Nested(t *testing.T) {
	task := TaskInfo{
		Name: "w", TaskID: TaskID{"t"}, AgentID: AgentID{"a"},
		Executor: &ExecutorInfo{
			ExecutorID: ExecutorID{"e"},
			Container:  &ContainerInfo{Type: ContainerTypeMesos, Volumes: []Volume{{Mode: "RW", ContainerPath: "p", Image: &Image{Type: "OCI"}}}},
		},
	}
	want := `'executor.container.volumes[0].image.type' has unknown value "OCI"`
	if err := task.CheckRequired(); err == nil || err.Error() != want {
		t.Fatalf("CheckRequired = %v, want %q", err, want)
	}
	status := TaskStatus{TaskID: TaskID{"t"}, State: TaskRunning, Limitation: &TaskResourceLimitation{Resources: []Resource{{Name: "mem"}}}}
	if err := status.CheckRequired(); err == nil || err.Error() != "expecting 'limitation.resources[0].type' to be present" {
		t.Fatalf("CheckRequired = %v", err)
	}
	op := OfferOperation{Type: OperationCreateDisk, CreateDisk: &CreateDisk{Source: &Resource{Name: "disk", Type: ValueScalar}, TargetType: "FLOPPY"}}
	if err := op.CheckRequired(); err == nil || err.Error() != `'create_disk.target_type' has unknown value "FLOPPY"` {
		t.Fatalf("CheckRequired = %v", err)
	}
}
