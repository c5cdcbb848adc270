//go:build linux && cgo

package main

import (
	// nsenter sets up a container's namespaces in C before the Go
	// runtime starts, when mesh runs as a container's init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"mesh/executor"
)

// The linux containerizer re-executes this binary as "mesh init" to
// become a container's init; that must happen before main parses flags.
func init() {
	executor.ContainerInit()
}
