package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mesh/executor"
	"mesh/mesos"
)

func containerWithVolumes(t testing.TB, volumes string) *mesos.ContainerInfo {
	t.Helper()
	var c mesos.ContainerInfo
	if err := json.Unmarshal([]byte(`{"type":"MESOS","volumes":`+volumes+`}`), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestTaskVolumes(t *testing.T) {
	allowed := t.TempDir()
	data := filepath.Join(allowed, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	link := filepath.Join(allowed, "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	got, err := taskVolumes(containerWithVolumes(t, `[
		{"container_path":"/data","host_path":"`+data+`","mode":"RW"},
		{"container_path":"in/sandbox","mode":"RO","source":{"type":"HOST_PATH","host_path":{"path":"`+allowed+`"}}},
		{"container_path":"/var/cache","mode":"RW","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"SELF","path":"cache"}}},
		{"container_path":"/scratch","host_path":"scratch","mode":"RW"}
	]`), []string{allowed})
	if err != nil {
		t.Fatal(err)
	}
	want := []executor.Volume{
		{Source: data, Target: "/data"},
		{Source: allowed, Target: "in/sandbox", ReadOnly: true},
		{Source: "cache", Target: "/var/cache"},
		{Source: "scratch", Target: "/scratch"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volumes\n%+v\nwant\n%+v", got, want)
	}

	for name, c := range map[string]struct{ volumes, wantErr string }{
		"no allowed paths":    {`[{"container_path":"/d","host_path":"` + data + `","mode":"RW"}]`, "-host-volumes is empty"},
		"not allowed":         {`[{"container_path":"/d","host_path":"` + outside + `","mode":"RW"}]`, "not in the agent's -host-volumes"},
		"symlink out":         {`[{"container_path":"/d","host_path":"` + link + `","mode":"RW"}]`, "not in the agent's -host-volumes"},
		"missing":             {`[{"container_path":"/d","host_path":"` + allowed + `/absent","mode":"RW"}]`, "no such file"},
		"bad mode":            {`[{"container_path":"/d","host_path":"` + data + `","mode":"rw"}]`, "neither RW nor RO"},
		"no container path":   {`[{"host_path":"` + data + `","mode":"RW"}]`, "no container_path"},
		"climbing target":     {`[{"container_path":"../x","host_path":"` + data + `","mode":"RW"}]`, "stay inside the sandbox"},
		"climbing sandbox":    {`[{"container_path":"/x","mode":"RW","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"SELF","path":"../x"}}}]`, "stay inside the sandbox"},
		"parent sandbox":      {`[{"container_path":"/x","mode":"RW","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"PARENT","path":"x"}}}]`, "only SELF"},
		"relative host path":  {`[{"container_path":"/x","mode":"RW","source":{"type":"HOST_PATH","host_path":{"path":"x"}}}]`, "neither absolute"},
		"docker volume":       {`[{"container_path":"/x","mode":"RW","source":{"type":"DOCKER_VOLUME"}}]`, "DOCKER_VOLUME volumes are not supported"},
		"secret":              {`[{"container_path":"/x","mode":"RO","source":{"type":"SECRET"}}]`, "SECRET volumes are not supported"},
		"image":               {`[{"container_path":"/x","mode":"RO","image":{"type":"DOCKER","docker":{"name":"busybox"}}}]`, "image volumes"},
		"nothing":             {`[{"container_path":"/x","mode":"RO"}]`, "no host_path or source"},
		"source of bad shape": {`[{"container_path":"/x","mode":"RO","source":[1]}]`, "source:"},
	} {
		allow := []string{allowed}
		if name == "no allowed paths" {
			allow = nil
		}
		_, err := taskVolumes(containerWithVolumes(t, c.volumes), allow)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want one saying %q", name, err, c.wantErr)
		}
	}
	if v, err := taskVolumes(nil, nil); v != nil || err != nil {
		t.Errorf("no container: %v, %v", v, err)
	}
}

func FuzzTaskVolumes(f *testing.F) {
	f.Add(`[{"container_path":"/data","host_path":"/tmp","mode":"RW"}]`)
	f.Add(`[{"container_path":"c","mode":"RO","source":{"type":"SANDBOX_PATH","sandbox_path":{"type":"SELF","path":"x/y"}}}]`)
	f.Add(`[{"container_path":"/x","mode":"RW","source":{"type":"HOST_PATH","host_path":{"path":"/tmp/../etc"}}}]`)
	f.Fuzz(func(t *testing.T, volumes string) {
		var c mesos.ContainerInfo
		if json.Unmarshal([]byte(`{"type":"MESOS","volumes":`+volumes+`}`), &c) != nil {
			return
		}
		vols, err := taskVolumes(&c, []string{os.TempDir()})
		if err != nil {
			return
		}
		for _, v := range vols {
			if v.Target == "" || (!filepath.IsAbs(v.Target) && !filepath.IsLocal(v.Target)) {
				t.Fatalf("target %q escapes", v.Target)
			}
			if !filepath.IsAbs(v.Source) && !filepath.IsLocal(v.Source) {
				t.Fatalf("source %q escapes the sandbox", v.Source)
			}
			if filepath.IsAbs(v.Source) {
				tmp, _ := filepath.EvalSymlinks(os.TempDir())
				if v.Source != tmp && !strings.HasPrefix(v.Source, tmp+"/") {
					t.Fatalf("host source %q outside the allowed %s", v.Source, tmp)
				}
			}
		}
	})
}
