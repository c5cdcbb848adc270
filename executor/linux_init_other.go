//go:build !(linux && cgo)

package executor

// ContainerInit does nothing in builds without the linux containerizer.
func ContainerInit() {}
