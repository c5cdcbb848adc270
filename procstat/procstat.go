// Package procstat reads the fields of /proc/<pid>/stat.
package procstat

import (
	"bytes"
	"errors"
	"os"
	"strconv"
)

// ErrMalformed is returned for a stat line without a command name.
var ErrMalformed = errors.New("malformed /proc stat line: no command name")

// Read returns the fields of /proc/<pid>/stat after the command name
// (Fields).
func Read(pid int) ([][]byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	return Fields(b)
}

// Fields returns the fields of a /proc/<pid>/stat line that follow the
// command name, so that the first is field 3 (the state), the second
// field 4 (the parent pid), and field n is at index n-3. The command name
// (field 2, in parentheses) may hold spaces and parentheses itself, so
// the fields are counted from the last ')'.
func Fields(stat []byte) ([][]byte, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, ErrMalformed
	}
	return bytes.Fields(stat[i+1:]), nil
}
