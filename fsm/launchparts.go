package fsm

import (
	"encoding/json"
	"reflect"
	"sync"

	"mesh/mesos"
)

// maxLaunchParts bounds how many resource vectors and commands
// launchParts remembers, and maxPartKey how long an encoding it keeps.
const (
	maxLaunchParts = 1024
	maxPartKey     = 1024
)

// launchParts remembers the resources and commands of recent launches by
// their encoding, so that a task launched like an earlier one shares its
// copy: tasks are mostly launched alike, and a leader holds every task it
// knows. Sharing changes no value, so whatever it remembers, every
// server's state holds the same values. It is shared by the process's
// states, which never change these in place (a task and its copies share
// them already).
var launchParts = struct {
	sync.Mutex
	resources map[string]mesos.Resources
	commands  map[string]*mesos.CommandInfo
}{resources: map[string]mesos.Resources{}, commands: map[string]*mesos.CommandInfo{}}

// shareLaunchParts points info's resources and command at the equal ones
// of an earlier launch, or remembers them for later ones.
func shareLaunchParts(info *mesos.TaskInfo) {
	launchParts.Lock()
	defer launchParts.Unlock()
	if len(info.Resources) > 0 {
		info.Resources = shared(launchParts.resources, info.Resources, func(a, b mesos.Resources) bool {
			return reflect.DeepEqual(a, b)
		})
	}
	if info.Command != nil {
		info.Command = shared(launchParts.commands, info.Command, func(a, b *mesos.CommandInfo) bool {
			return reflect.DeepEqual(*a, *b)
		})
	}
}

// shared returns the value remembered in seen equal to v, else remembers
// v (forgetting everything once seen is full) and returns it.
func shared[T any](seen map[string]T, v T, equal func(a, b T) bool) T {
	b, err := json.Marshal(v)
	if err != nil || len(b) > maxPartKey {
		return v
	}
	key := string(b)
	if old, ok := seen[key]; ok && equal(old, v) {
		return old
	}
	if len(seen) >= maxLaunchParts {
		clear(seen)
	}
	seen[key] = v
	return v
}
