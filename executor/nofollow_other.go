//go:build !linux

package executor

const syscallNoFollow = 0
