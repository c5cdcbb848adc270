package server

import (
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Bolt reads the raft log through a memory map of raft.db, and every
// page read so stays mapped into the server: the entries a leader read
// back to send a follower that fell behind its log cache (under
// sustained launches, 40–60 MiB of them at 100,000 tasks), and, at each
// truncation of the log after a snapshot, every page of the entries it
// deletes. They are clean page cache, but the kernel takes back the
// pages a process maps last, and they count in its resident memory.
// releasingStore drops the mapping's pages from the process after each
// truncation and when the server comes to rest (Release). They stay in
// the page cache, for whatever reads them again: bolt's meta and branch
// pages, the newest entries.
//
// Dropping pages of a mapping is safe only while the mapping stays
// where it is. Bolt maps its file anew only while it writes (a write
// that grows the file) and unmaps it when closed: every write and the
// close go through releasingStore, which holds a lock across them and
// the release.
type releasingStore struct {
	store *raftboltdb.BoltStore
	path  string
	// mu is held across every write to the store, its close, and a
	// release; closed is set once the store is closed: the file's
	// mapping is gone, and one found later is another store's.
	mu     sync.Mutex
	closed bool
	logger hclog.Logger
}

var (
	_ raft.LogStore    = (*releasingStore)(nil)
	_ raft.StableStore = (*releasingStore)(nil)
)

func newReleasingStore(store *raftboltdb.BoltStore, path string, logger hclog.Logger) *releasingStore {
	return &releasingStore{store: store, path: path, logger: logger}
}

// The reads go straight to the store: a read never moves bolt's map.

func (r *releasingStore) FirstIndex() (uint64, error)        { return r.store.FirstIndex() }
func (r *releasingStore) LastIndex() (uint64, error)         { return r.store.LastIndex() }
func (r *releasingStore) GetLog(i uint64, l *raft.Log) error { return r.store.GetLog(i, l) }
func (r *releasingStore) Get(k []byte) ([]byte, error)       { return r.store.Get(k) }
func (r *releasingStore) GetUint64(k []byte) (uint64, error) { return r.store.GetUint64(k) }

// The writes and the close hold the lock.

func (r *releasingStore) StoreLog(l *raft.Log) error {
	return r.write(func() error { return r.store.StoreLog(l) })
}

func (r *releasingStore) StoreLogs(ls []*raft.Log) error {
	return r.write(func() error { return r.store.StoreLogs(ls) })
}

func (r *releasingStore) Set(k, v []byte) error {
	return r.write(func() error { return r.store.Set(k, v) })
}

func (r *releasingStore) SetUint64(k []byte, v uint64) error {
	return r.write(func() error { return r.store.SetUint64(k, v) })
}

func (r *releasingStore) Close() error {
	return r.write(func() error {
		r.closed = true
		return r.store.Close()
	})
}

// DeleteRange truncates the log, then releases the mapped pages.
func (r *releasingStore) DeleteRange(min, max uint64) error {
	return r.write(func() error {
		if err := r.store.DeleteRange(min, max); err != nil {
			return err
		}
		r.release("a truncation")
		return nil
	})
}

// Release releases the mapped pages; the server does so when it comes to
// rest. Between truncations the leader reads back, through the map, the
// entries it sends a follower that fell behind its log cache (and a
// restarted follower reads its whole log): under sustained load, tens of
// MiB of entries already sent.
func (r *releasingStore) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.release("coming to rest")
}

// release drops the mapped pages of the store's file; r.mu is held.
func (r *releasingStore) release(after string) {
	if r.closed {
		return
	}
	spanned, err := releaseMappedPages(r.path)
	if err != nil {
		r.logger.Warn("could not release the raft log's mapped pages", "path", r.path, "error", err)
		return
	}
	r.logger.Debug("released the raft log's mapped pages", "after", after, "mapping_bytes", spanned)
}

func (r *releasingStore) write(f func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return f()
}
