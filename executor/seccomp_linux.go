//go:build linux && cgo

package executor

import (
	"runtime"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"golang.org/x/sys/unix"
)

// SeccompEnabled reports whether this build filters containers' system
// calls (it needs the "seccomp" build tag and libseccomp; `make build`
// uses them when libseccomp's development files are installed).
func SeccompEnabled() bool { return seccomp.Enabled }

// deniedSyscalls fail with EPERM in every container. Everything else is
// allowed: the filter removes the kernel interfaces a task has no use for
// and that are the usual way out of a container or into a kernel bug,
// most of which an unprivileged process may otherwise call. Capabilities
// already keep tasks from the privileged ones; the filter also covers
// tasks run as root (-allow-root-tasks).
var deniedSyscalls = []string{
	// Kernel modules, kexec, reboot, swap, accounting, clocks, raw I/O.
	"init_module", "finit_module", "delete_module", "create_module", "get_kernel_syms",
	"query_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime", "iopl", "ioperm",
	"syslog", "vhangup", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl",
	"lookup_dcookie", "quotactl", "quotactl_fd", "vm86", "vm86old",
	// Mounts and namespaces: a task lives in the ones it was given.
	"mount", "umount", "umount2", "pivot_root", "mount_setattr", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "setns", "unshare",
	// Kernel attack surface open to unprivileged processes.
	"keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "kcmp", "open_by_handle_at",
}

// namespaceCloneFlags may not be passed to clone: a task does not create
// namespaces (user namespaces in particular expose much of the kernel to
// unprivileged processes).
var namespaceCloneFlags = []uint64{
	unix.CLONE_NEWNS, unix.CLONE_NEWUTS, unix.CLONE_NEWIPC, unix.CLONE_NEWUSER,
	unix.CLONE_NEWPID, unix.CLONE_NEWNET, unix.CLONE_NEWCGROUP,
}

// seccompProfile is every container's system call filter, or nil when
// this build has no seccomp support.
func seccompProfile() *configs.Seccomp {
	if !seccomp.Enabled {
		return nil
	}
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	p := &configs.Seccomp{DefaultAction: configs.Allow, Architectures: seccompArchs()}
	for _, name := range deniedSyscalls {
		p.Syscalls = append(p.Syscalls, &configs.Syscall{Name: name, Action: configs.Errno, ErrnoRet: &eperm})
	}
	for _, flag := range namespaceCloneFlags {
		p.Syscalls = append(p.Syscalls, &configs.Syscall{Name: "clone", Action: configs.Errno, ErrnoRet: &eperm,
			Args: []*configs.Arg{{Index: cloneFlagsArg(), Value: flag, ValueTwo: flag, Op: configs.MaskEqualTo}}})
	}
	// clone3 passes its flags in memory, which a filter cannot read: it
	// reports "not implemented", and the C library falls back to clone.
	p.Syscalls = append(p.Syscalls, &configs.Syscall{Name: "clone3", Action: configs.Errno, ErrnoRet: &enosys})
	return p
}

// seccompArchs are the system call ABIs a process of this architecture
// can use; each gets the filter (a 32-bit call must not slip past it).
func seccompArchs() []string {
	switch runtime.GOARCH {
	case "amd64":
		return []string{"amd64", "x86", "x32"}
	case "arm64":
		return []string{"arm64", "arm"}
	default:
		return nil
	}
}

// cloneFlagsArg is the index of clone's flags argument.
func cloneFlagsArg() uint {
	if runtime.GOARCH == "s390x" {
		return 1
	}
	return 0
}
