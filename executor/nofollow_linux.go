package executor

import "syscall"

// syscallNoFollow refuses to open a path whose last component is a
// symlink.
const syscallNoFollow = syscall.O_NOFOLLOW
