package executor

import (
	"os"
	"testing"
)

// TestMain lets the test binary be a container's init: the linux
// containerizer re-executes it as "<test binary> init".
func TestMain(m *testing.M) {
	ContainerInit()
	os.Exit(m.Run())
}
