package executor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mesh/mesos"
)

func sandboxVolume(target, typ, path string) mesos.Volume {
	src, _ := json.Marshal(map[string]any{"type": "SANDBOX_PATH", "sandbox_path": map[string]string{"type": typ, "path": path}})
	return mesos.Volume{Mode: "RW", ContainerPath: target, Source: src}
}

// TestGroupTaskVolumes_SharesExecutorSandboxVolumes: a task of a group
// gets the executor's sandbox volumes and its own SANDBOX_PATH ones, and
// is refused the volumes it could only get through a mount of its own.
func TestGroupTaskVolumes_SharesExecutorSandboxVolumes(t *testing.T) {
	exec := &mesos.ContainerInfo{Volumes: []mesos.Volume{sandboxVolume("shared", "SELF", "shared"),
		{Mode: "RO", ContainerPath: "/etc/app", HostPath: "/srv/app"}}}
	task := &mesos.ContainerInfo{Volumes: []mesos.Volume{sandboxVolume("in", "PARENT", "shared"), sandboxVolume("mine", "SELF", "data")}}
	got, err := GroupTaskVolumes(exec, task)
	if err != nil {
		t.Fatal(err)
	}
	want := []GroupVolume{{Target: "shared", Source: "shared", Parent: true}, {Target: "in", Source: "shared", Parent: true}, {Target: "mine", Source: "data"}}
	if len(got) != len(want) {
		t.Fatalf("volumes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("volumes %+v, want %+v", got, want)
		}
	}
	for _, bad := range []mesos.Volume{
		{Mode: "RW", ContainerPath: "/data", HostPath: "/tmp"},
		{Mode: "RW", ContainerPath: "data", HostPath: "/tmp"},
		sandboxVolume("x", "PARENT", "../../etc"),
		sandboxVolume("../x", "PARENT", "shared"),
		sandboxVolume("x", "OTHER", "shared"),
	} {
		if _, err := GroupTaskVolumes(exec, &mesos.ContainerInfo{Volumes: []mesos.Volume{bad}}); err == nil {
			t.Errorf("volume %+v accepted", bad)
		}
	}

	// In the sandboxes: the task's "in" is the executor's "shared".
	dir := t.TempDir()
	sb, err := prepareGroupSandbox(dir, got, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sb, "in", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "shared", "f")); err != nil || string(b) != "x" {
		t.Fatalf("the executor's volume does not see the task's file: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(sb, "data")); err != nil {
		t.Fatalf("the task's own volume: %v", err)
	}
}

// FuzzGroupTaskVolumes: whatever the volumes, GroupTaskVolumes never
// panics and never gives a task a path that leaves its sandbox or its
// executor's.
func FuzzGroupTaskVolumes(f *testing.F) {
	for _, s := range []string{
		`{"volumes":[{"mode":"RW","container_path":"shared","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"PARENT","path":"shared"}}}]}`,
		`{"volumes":[{"mode":"RW","container_path":"a/b","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"SELF","path":"c"}}}]}`,
		`{"volumes":[{"mode":"RW","container_path":"/x","host_path":"/tmp"}]}`,
		`{"volumes":[{"container_path":"x","source":{"type":"SANDBOX_PATH","sandbox_path":{"path":"../.."}}}]}`,
		`{"volumes":[{"container_path":"x","source":"not an object"}]}`,
		`{}`,
	} {
		f.Add(s, `{"volumes":[{"mode":"RW","container_path":"shared","host_path":"shared"}]}`)
	}
	f.Fuzz(func(t *testing.T, task, exec string) {
		var tc, ec mesos.ContainerInfo
		if json.Unmarshal([]byte(task), &tc) != nil || json.Unmarshal([]byte(exec), &ec) != nil {
			return
		}
		vols, err := GroupTaskVolumes(&ec, &tc)
		if err != nil {
			if err.Error() == "" || strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, v := range vols {
			if !filepath.IsLocal(v.Target) || !filepath.IsLocal(v.Source) {
				t.Fatalf("volume %+v leaves the sandbox", v)
			}
		}
	})
}
