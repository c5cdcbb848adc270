//go:build !(linux && cgo)

package executor

import "fmt"

// linuxAvailable tells whether this build has the linux backend.
const linuxAvailable = false

func cgroupsUsable() bool { return false }

func init() {
	Register(IsolationLinux, func(Options) (Containerizer, error) {
		return nil, fmt.Errorf("%w: linux isolation needs a linux build with cgo (CGO_ENABLED=1 and a C compiler)", ErrIsolationUnavailable)
	})
}
