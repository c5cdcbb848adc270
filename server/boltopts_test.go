package server

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// The raft log's file opens both ways: a file of a server before these
// options (its free pages listed in the file) with them, and a file
// written with them (its list not written) by bolt's defaults, with every
// entry intact and the pages freed by a compaction used again.
func TestBoltOptions_LogFileOpensEitherWay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	open := func(opts *bbolt.Options) *raftboltdb.BoltStore {
		s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	store := func(s *raftboltdb.BoltStore, from, to uint64) {
		for i := from; i <= to; i++ {
			if err := s.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry %d %0500d", i, i))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(s *raftboltdb.BoltStore, from, to uint64) {
		first, _ := s.FirstIndex()
		last, _ := s.LastIndex()
		if first != from || last != to {
			t.Fatalf("log holds %d..%d, want %d..%d", first, last, from, to)
		}
		for i := from; i <= to; i++ {
			var l raft.Log
			if err := s.GetLog(i, &l); err != nil || string(l.Data[:len(fmt.Sprintf("entry %d ", i))]) != fmt.Sprintf("entry %d ", i) {
				t.Fatalf("entry %d: %v, %q", i, err, l.Data)
			}
		}
	}
	def := &bbolt.Options{Timeout: dataDirLockTimeout}

	s := open(def)
	store(s, 1, 500)
	if err := s.DeleteRange(1, 400); err != nil { // a compaction: free pages
		t.Fatal(err)
	}
	s.Close()

	s = open(boltOptions())
	check(s, 401, 500)
	store(s, 501, 1000)
	size := fileSize(t, path)
	if err := s.DeleteRange(401, 900); err != nil {
		t.Fatal(err)
	}
	store(s, 1001, 1200)
	if grown := fileSize(t, path); grown > size {
		t.Fatalf("the file grew from %d to %d bytes: the compaction's pages were not used again", size, grown)
	}
	s.Close()

	s = open(def)
	check(s, 901, 1200)
	s.Close()
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
