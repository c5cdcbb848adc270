package server

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"golang.org/x/sys/unix"
)

// mappedResident is how many bytes of the process' mappings of the file
// at path are resident, from /proc/self/smaps.
func mappedResident(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			_, in = parseMapsLine(line, uint64(sys.Dev), uint64(sys.Ino))
			continue
		}
		if rest, ok := strings.CutPrefix(line, "Rss:"); in && ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			total += kb << 10
		}
	}
	return total
}

// TestReleasingStore_TruncationLeavesNoLogPagesMapped: truncating the log
// through bolt maps the pages of every entry it deletes into the process;
// through releasingStore, none stays mapped after, and what the log keeps
// reads back as it was written.
func TestReleasingStore_TruncationLeavesNoLogPagesMapped(t *testing.T) {
	const entries, size = 1024, 16 << 10
	truncated := func(release bool) (path string, store raft.LogStore, resident int64) {
		path = filepath.Join(t.TempDir(), "raft.db")
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: boltOptions()})
		if err != nil {
			t.Fatal(err)
		}
		store = bolt
		if release {
			rs := newReleasingStore(bolt, path, hclog.NewNullLogger())
			t.Cleanup(func() { rs.Close() })
			store = rs
		} else {
			t.Cleanup(func() { bolt.Close() })
		}
		storeEntries(t, store, entries, size)
		if err := store.DeleteRange(1, entries-10); err != nil {
			t.Fatal(err)
		}
		return path, store, mappedResident(t, path)
	}
	_, _, plain := truncated(false)
	if plain < 4<<20 {
		t.Skipf("a plain truncation left only %d bytes mapped here; nothing to release", plain)
	}
	path, store, released := truncated(true)
	if released > 256<<10 {
		t.Fatalf("after a truncation %d bytes of %s stay mapped (a plain store: %d)", released, path, plain)
	}
	checkEntries(t, store, entries-9, entries, size)
	if err := store.StoreLogs([]*raft.Log{{Index: entries + 1, Term: 1, Data: []byte("after")}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("mapped after a truncation: %d bytes plain, %d released", plain, released)
}

func TestParseMapsLine(t *testing.T) {
	dev := unix.Mkdev(0xfd, 0x01)
	for _, c := range []struct {
		line string
		ok   bool
		want [2]uintptr
	}{
		{"7f0000000000-7f0000100000 r--s 00000000 fd:01 1234 /data/raft/raft.db", true, [2]uintptr{0x7f0000000000, 0x7f0000100000}},
		{"7f0000000000-7f0000100000 r--s 00000000 fd:01 1234 /a path/with spaces", true, [2]uintptr{0x7f0000000000, 0x7f0000100000}},
		{"7f0000000000-7f0000100000 r--p 00000000 fd:01 1234 /data/raft/raft.db", false, [2]uintptr{}}, // private
		{"7f0000000000-7f0000100000 r--s 00000000 fd:02 1234 /data/raft/raft.db", false, [2]uintptr{}}, // another device
		{"7f0000000000-7f0000100000 r--s 00000000 fd:01 1235 /data/raft/raft.db", false, [2]uintptr{}}, // another inode
		{"7f0000100000-7f0000000000 r--s 00000000 fd:01 1234 /x", false, [2]uintptr{}},                 // empty range
		{"7f0000000000 r--s 00000000 fd:01 1234", false, [2]uintptr{}},
		{"", false, [2]uintptr{}},
	} {
		got, ok := parseMapsLine(c.line, dev, 1234)
		if ok != c.ok || got != c.want {
			t.Errorf("%q: %x %v, want %x %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseMapsLine(f *testing.F) {
	f.Add("7f0000000000-7f0000100000 r--s 00000000 fd:01 1234 /data/raft/raft.db")
	f.Add("00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/dbus-daemon")
	f.Add("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parseMapsLine(line, unix.Mkdev(0xfd, 0x01), 1234)
		if ok && r[1] <= r[0] {
			t.Fatalf("%q: range %x", line, r)
		}
		if ok && !strings.Contains(line, " 1234") {
			t.Fatalf("%q: a mapping of another inode", line)
		}
	})
}

// TestReleasingStore_ReleaseDropsPagesReadBack: entries read back through
// bolt's map stay mapped until Release, after which they read the same.
func TestReleasingStore_ReleaseDropsPagesReadBack(t *testing.T) {
	const entries, size = 512, 16 << 10
	path := filepath.Join(t.TempDir(), "raft.db")
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	store := newReleasingStore(bolt, path, hclog.NewNullLogger())
	defer store.Close()
	storeEntries(t, store, entries, size)
	checkEntries(t, store, 1, entries, size)
	read := mappedResident(t, path)
	if read < 4<<20 {
		t.Skipf("reading the log back left only %d bytes mapped here; nothing to release", read)
	}
	store.Release()
	if left := mappedResident(t, path); left > 256<<10 {
		t.Fatalf("after Release %d bytes stay mapped (%d before)", left, read)
	}
	checkEntries(t, store, 1, entries, size)
}

// storeEntries stores entries 1 to n in batches of 64, each size bytes
// of its index.
func storeEntries(t *testing.T, store raft.LogStore, n uint64, size int) {
	t.Helper()
	for i := uint64(1); i <= n; i += 64 {
		var batch []*raft.Log
		for j := i; j < i+64 && j <= n; j++ {
			batch = append(batch, &raft.Log{Index: j, Term: 1, Data: bytes.Repeat([]byte{byte(j)}, size)})
		}
		if err := store.StoreLogs(batch); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEntries reads entries from to to back as storeEntries wrote them.
func checkEntries(t *testing.T, store raft.LogStore, from, to uint64, size int) {
	t.Helper()
	for i := from; i <= to; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l.Data, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("entry %d reads back changed", i)
		}
	}
}

// TestReleasingStore_ClosedReleasesNothing: a closed store leaves alone
// a mapping of its file that another store made since.
func TestReleasingStore_ClosedReleasesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	bolt, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	old := newReleasingStore(bolt, path, hclog.NewNullLogger())
	storeEntries(t, old, 256, 16<<10)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	checkEntries(t, again, 1, 256, 16<<10)
	mapped := mappedResident(t, path)
	if mapped < 1<<20 {
		t.Skipf("reading the log back left only %d bytes mapped here", mapped)
	}
	old.Release()
	if left := mappedResident(t, path); left < mapped {
		t.Fatalf("a closed store released another's mapping: %d bytes mapped, %d before", left, mapped)
	}
}
