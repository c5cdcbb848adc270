package agent

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mesh/executor"
	"mesh/mesos"
)

func testVolume(role, id, path string) mesos.Resource {
	r := mesos.ScalarResource("disk", 10)
	r.Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationDynamic, Role: role}}
	r.Disk = &mesos.DiskInfo{Volume: &mesos.Volume{Mode: mesos.VolumeModeRW, ContainerPath: path}}
	r.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: id}
	return r
}

// TestPersistentVolumes_CheckpointCreatesKeepsAndRemoves: a checkpoint
// creates each listed volume's directory under the work dir (a role's '/'
// as ' '), a new persistentVolumes over the same dir (an agent restart)
// reads the same list and finds the data, and a checkpoint without a
// volume removes its directory.
func TestPersistentVolumes_CheckpointCreatesKeepsAndRemoves(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta", resourcesFile)
	p := newPersistentVolumes(dir, meta)
	v1, v2 := testVolume("eng/db", "v1", "data"), testVolume("web", "v2", "/srv")
	if err := p.Checkpoint(mesos.Resources{v1, v2}); err != nil {
		t.Fatal(err)
	}
	v1dir := filepath.Join(dir, "volumes", "roles", "eng db", "v1")
	if err := os.WriteFile(filepath.Join(v1dir, "f"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	again := newPersistentVolumes(dir, meta)
	got, err := again.Checkpointed()
	if err != nil || len(got) != 2 {
		t.Fatalf("after restart: %v %v", got, err)
	}
	mounts, err := again.Mounts(mesos.Resources{mesos.ScalarResource("cpus", 1), v1}, true)
	if err != nil || len(mounts) != 1 || mounts[0].Source != v1dir || mounts[0].Target != "data" {
		t.Fatalf("mounts %+v %v", mounts, err)
	}
	if err := again.Checkpoint(mesos.Resources{v1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "volumes", "roles", "web", "v2")); !os.IsNotExist(err) {
		t.Fatalf("destroyed volume's directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(v1dir, "f")); err != nil || string(b) != "kept" {
		t.Fatalf("kept volume lost its data: %q %v", b, err)
	}
}

func TestPersistentVolumes_MountsSayWhatIsWrong(t *testing.T) {
	dir := t.TempDir()
	p := newPersistentVolumes(dir, filepath.Join(dir, "meta", resourcesFile))
	if err := p.Checkpoint(mesos.Resources{testVolume("db", "v1", "/abs")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		res      mesos.Resource
		canMount bool
		want     string
	}{
		{testVolume("db", "v1", "/abs"), false, "must be relative"},
		{testVolume("db", "v1", "../out"), true, "inside the sandbox"},
		{testVolume("db", "nope", "x"), true, "not on this agent"},
	}
	for _, c := range cases {
		if _, err := p.Mounts(mesos.Resources{c.res}, c.canMount); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.res.Disk.Volume.ContainerPath, err, c.want)
		}
	}
	if err := p.Checkpoint(mesos.Resources{testVolume("db", "../../x", "d")}); err == nil {
		t.Error("a persistence id that climbs out of the work dir was checkpointed")
	}
}

func TestLinkVolumes_SymlinksIntoTheSandbox(t *testing.T) {
	sandbox, vol := t.TempDir(), t.TempDir()
	vols := []executor.Volume{{Source: vol, Target: "a/data"}}
	for i := 0; i < 2; i++ { // linking again is harmless
		if err := linkVolumes(sandbox, vols); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.Readlink(filepath.Join(sandbox, "a", "data")); err != nil || got != vol {
		t.Fatalf("link %q %v, want %q", got, err, vol)
	}
}

func TestHandVolumes_EmptyVolumeGoesToTheTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a directory's owner needs root")
	}
	nobody, err := executor.LookupUser("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	empty, used := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(used, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := handVolumes([]executor.Volume{{Source: empty}, {Source: used}}, "nobody"); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) uint32 {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid
	}
	if owner(empty) != nobody.UID || owner(used) != 0 {
		t.Fatalf("owners: empty %d, used %d; want %d and 0", owner(empty), owner(used), nobody.UID)
	}
}
