package executor

import (
	"fmt"
	"strings"

	"github.com/moby/sys/capability"
)

// EnvTaskCaps lists, for an executor that starts its task in an image as
// another user, the capabilities (CAP_ names, comma-separated) to keep for
// the task as ambient capabilities.
const EnvTaskCaps = "MESH_TASK_CAPS"

// CapabilityNumber returns the number of a capability named as Mesos
// names them ("NET_BIND_SERVICE") or as the kernel does
// ("CAP_NET_BIND_SERVICE"), with its CAP_ name.
func CapabilityNumber(name string) (int, string, error) {
	n := strings.ToLower(strings.TrimPrefix(strings.ToUpper(name), "CAP_"))
	for _, c := range capability.ListKnown() {
		if c.String() == n {
			return int(c), "CAP_" + strings.ToUpper(n), nil
		}
	}
	return 0, "", fmt.Errorf("unknown capability %q", name)
}

// taskCaps reads EnvTaskCaps' value into capability numbers.
func taskCaps(list string) ([]uintptr, error) {
	var out []uintptr
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		n, _, err := CapabilityNumber(name)
		if err != nil {
			return nil, err
		}
		out = append(out, uintptr(n))
	}
	return out, nil
}
