//go:build linux

package executor

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// envTestSyscalls makes the test binary try system calls a container's
// filter denies and print "name: errno" for each (see
// TestLinux_SeccompDeniesSyscalls).
const envTestSyscalls = "MESH_TEST_SYSCALLS"

func trySyscalls() int {
	try := func(name string, trap uintptr, a ...uintptr) {
		args := append(a, 0, 0, 0, 0, 0, 0)
		r, _, errno := syscall.RawSyscall6(trap, args[0], args[1], args[2], args[3], args[4], args[5])
		if trap == unix.SYS_CLONE && errno == 0 && r == 0 {
			// The child of a clone the filter let through: leave at once.
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		if errno == 0 {
			fmt.Printf("%s: allowed (%d)\n", name, r)
			return
		}
		fmt.Printf("%s: %s\n", name, unix.ErrnoName(errno))
	}
	try("unshare", unix.SYS_UNSHARE, unix.CLONE_NEWUSER)
	try("keyctl", unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd) /* KEY_SPEC_SESSION_KEYRING */, 0)
	try("add_key", unix.SYS_ADD_KEY, 0, 0, 0, 0, 0)
	try("mount", unix.SYS_MOUNT, 0, 0, 0, 0, 0)
	try("clone-newuser", unix.SYS_CLONE, unix.CLONE_NEWUSER|uintptr(syscall.SIGCHLD), 0, 0, 0, 0)
	try("clone3", unix.SYS_CLONE3, 0, 0)
	try("io_uring_setup", unix.SYS_IO_URING_SETUP, 1, 0)
	try("getpid", unix.SYS_GETPID)
	return 0
}
