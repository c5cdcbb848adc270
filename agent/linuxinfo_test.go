package agent

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"mesh/executor"
	"mesh/mesos"
)

func TestTaskRlimits(t *testing.T) {
	c := &mesos.ContainerInfo{Type: mesos.ContainerTypeMesos, RlimitInfo: json.RawMessage(`{"rlimits":[
		{"type":"RLMT_NOFILE","soft":1024,"hard":"4096"},
		{"type":"RLMT_CORE"}]}`)}
	got, err := taskRlimits(c)
	if err != nil {
		t.Fatal(err)
	}
	want := []executor.Rlimit{{Name: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}, {Name: "RLIMIT_CORE", Soft: math.MaxUint64, Hard: math.MaxUint64}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rlimits %+v, want %+v", got, want)
	}
	for info, wantErr := range map[string]string{
		`{"rlimits":[{"type":"RLMT_BOGUS"}]}`:                         "unknown rlimit type",
		`{"rlimits":[{"type":"RLMT_NOFILE","soft":1}]}`:               "both soft and hard",
		`{"rlimits":[{"type":"RLMT_NOFILE","soft":10,"hard":1}]}`:     "above its hard limit",
		`{"rlimits":[{"type":"RLMT_NOFILE","soft":-1,"hard":1}]}`:     "not a non-negative integer",
		`{"rlimits":[{"type":"RLMT_NOFILE"},{"type":"RLMT_NOFILE"}]}`: "twice",
		`{"rlimits":{}}`: "rlimit_info",
	} {
		_, err := taskRlimits(&mesos.ContainerInfo{RlimitInfo: json.RawMessage(info)})
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: err = %v, want one saying %q", info, err, wantErr)
		}
	}
}

func TestLinuxInfo(t *testing.T) {
	allowed := []string{"NET_BIND_SERVICE", "CAP_NET_RAW"}
	for info, wantErr := range map[string]string{
		`{}`:                            "",
		`{"share_pid_namespace":false}`: "",
		`{"ipc_mode":"PRIVATE"}`:        "",
		`{"effective_capabilities":{"capabilities":["NET_BIND_SERVICE","NET_RAW"]}}`: "",
		`{"effective_capabilities":{"capabilities":["SYS_ADMIN"]}}`:                  "not in the agent's -task-capabilities",
		`{"effective_capabilities":{"capabilities":["FLY"]}}`:                        "unknown capability",
		`{"bounding_capabilities":{"capabilities":[]}}`:                              "bounding_capabilities are not supported",
		`{"share_pid_namespace":true}`:                                               "share_pid_namespace",
		`{"seccomp":{"unconfined":true}}`:                                            "seccomp",
		`{"ipc_mode":"SHARE_PARENT"}`:                                                "ipc_mode",
		`{"shm_size":64}`:                                                            "shm_size",
		`[]`:                                                                         "linux_info",
	} {
		caps, err := linuxInfo(&mesos.ContainerInfo{LinuxInfo: json.RawMessage(info)}, allowed)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: %v", info, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want one saying %q", info, err, wantErr)
		}
		if strings.Contains(info, "NET_RAW") && !reflect.DeepEqual(caps, []string{"CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}) {
			t.Errorf("%s: capabilities %v", info, caps)
		}
	}
}

func FuzzTaskRlimits(f *testing.F) {
	f.Add(`{"rlimits":[{"type":"RLMT_NOFILE","soft":1024,"hard":4096}]}`)
	f.Add(`{"rlimits":[{"type":"RLMT_STACK"}]}`)
	f.Fuzz(func(t *testing.T, info string) {
		limits, err := taskRlimits(&mesos.ContainerInfo{RlimitInfo: json.RawMessage(info)})
		if err != nil {
			return
		}
		for _, l := range limits {
			if l.Soft > l.Hard || !strings.HasPrefix(l.Name, "RLIMIT_") {
				t.Fatalf("accepted %+v", l)
			}
		}
		linuxInfo(&mesos.ContainerInfo{LinuxInfo: json.RawMessage(info)}, []string{"NET_BIND_SERVICE"})
	})
}
