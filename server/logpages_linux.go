package server

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// releaseMappedPages drops from the process the resident pages of its
// shared mappings of the file at path (found by device and inode in
// /proc/self/maps), and returns how many bytes those mappings span. The
// pages stay in the page cache. The caller keeps the mappings in place
// meanwhile (see releasingStore).
func releaseMappedPages(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no device and inode", path)
	}
	ranges, err := sharedMappingsOf(uint64(sys.Dev), uint64(sys.Ino))
	if err != nil {
		return 0, err
	}
	var spanned int64
	for _, r := range ranges {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_DONTNEED); errno != 0 {
			return spanned, fmt.Errorf("madvise %#x-%#x: %w", r[0], r[1], errno)
		}
		spanned += int64(r[1] - r[0])
	}
	return spanned, nil
}

// sharedMappingsOf lists the address ranges of the process' shared
// mappings of the file with device dev and inode ino.
func sharedMappingsOf(dev, ino uint64) ([][2]uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][2]uintptr
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if r, ok := parseMapsLine(sc.Text(), dev, ino); ok {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// parseMapsLine reads one line of /proc/self/maps ("start-end perms
// offset major:minor inode path") and returns its range when it maps the
// file with device dev and inode ino, shared.
func parseMapsLine(line string, dev, ino uint64) ([2]uintptr, bool) {
	f := strings.Fields(line)
	if len(f) < 5 || len(f[1]) != 4 || f[1][3] != 's' {
		return [2]uintptr{}, false
	}
	if n, err := strconv.ParseUint(f[4], 10, 64); err != nil || n != ino {
		return [2]uintptr{}, false
	}
	maj, mnr, ok := hexPair(f[3], ":", 32)
	if !ok || unix.Mkdev(uint32(maj), uint32(mnr)) != dev {
		return [2]uintptr{}, false
	}
	start, end, ok := hexPair(f[0], "-", 64)
	if !ok || end <= start {
		return [2]uintptr{}, false
	}
	return [2]uintptr{uintptr(start), uintptr(end)}, true
}

// hexPair reads two hexadecimal numbers of at most bits bits separated
// by sep.
func hexPair(s, sep string, bits int) (a, b uint64, ok bool) {
	x, y, ok := strings.Cut(s, sep)
	if !ok {
		return 0, 0, false
	}
	a, err1 := strconv.ParseUint(x, 16, bits)
	b, err2 := strconv.ParseUint(y, 16, bits)
	return a, b, err1 == nil && err2 == nil
}
