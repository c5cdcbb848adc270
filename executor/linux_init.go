//go:build linux && cgo

package executor

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter joins and creates namespaces in C before the Go runtime
	// starts, when the binary runs as a container's init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// ContainerInitArg is the argument libcontainer re-executes the running
// binary with to make it a container's init.
const ContainerInitArg = "init"

// ContainerInit turns this process into a container's init when the
// linux containerizer started it as one (os.Args[1] == "init"); it then
// never returns. Otherwise it returns at once. Call it first thing in
// main, or in TestMain of a test binary that launches linux containers.
func ContainerInit() {
	if len(os.Args) > 1 && os.Args[1] == ContainerInitArg {
		libcontainer.Init()
	}
}
