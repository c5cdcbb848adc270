package executor

import (
	"fmt"
	"os"
	"sort"
	"testing"
)

// envTestPrintEnv makes the test binary print its environment and
// working directory and leave a file there, as a prestarted container's
// first process (see TestLinux_Prestart*).
const envTestPrintEnv = "MESH_TEST_PRINT_ENV"

// TestMain lets the test binary be a container's init: the linux
// containerizer re-executes it as "<test binary> init".
func TestMain(m *testing.M) {
	ContainerInit()
	if err := LoadDeferredEnv(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if os.Getenv(envTestPrintEnv) == "1" {
		os.Exit(printEnv())
	}
	if os.Getenv(envTestSyscalls) == "1" {
		os.Exit(trySyscalls())
	}
	os.Exit(m.Run())
}

func printEnv() int {
	env := os.Environ()
	sort.Strings(env)
	for _, kv := range env {
		fmt.Println(kv)
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("cwd=" + wd)
	if err := os.WriteFile("written-by-task", []byte("ok"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
