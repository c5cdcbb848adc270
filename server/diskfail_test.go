package server_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"mesh/server"
	"mesh/server/servertest"
)

// failingStore is an in-memory raft log whose writes fail on demand, like
// a disk that has filled up.
type failingStore struct {
	*raft.InmemStore
	full atomic.Bool
}

var errDiskFull = errors.New("no space left on device")

func (s *failingStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *failingStore) StoreLogs(logs []*raft.Log) error {
	if s.full.Load() {
		return errDiskFull
	}
	return s.InmemStore.StoreLogs(logs)
}

// TestCluster_LeaderWithFullDiskStepsDown: when the leader can no longer
// write its log it steps down instead of wedging; the others elect a
// leader that serves, the sick server refuses writes (503 or a redirect),
// and once its disk has room again it catches up to the same history.
func TestCluster_LeaderWithFullDiskStepsDown(t *testing.T) {
	stores := []raft.LogStore{}
	fs := []*failingStore{}
	for i := 0; i < 3; i++ {
		f := &failingStore{InmemStore: raft.NewInmemStore()}
		fs = append(fs, f)
		stores = append(stores, f)
	}
	c := servertest.NewClusterWithStores(t, 3, stores, nil)
	old := c.WaitLeader()
	oldAddr := c.Servers[old].HTTPAddr()
	fs[old].full.Store(true)

	// A write on the sick leader fails (503, which the framework retries;
	// never SUBSCRIBED), and the leader steps down rather than hang.
	if _, body, _ := rawPost(t, oldAddr, subscribeBody("doomed", "", ""), jsonCT); strings.Contains(body, "SUBSCRIBED") {
		t.Errorf("a leader that cannot write its log subscribed a framework: %s", body)
	}
	servertest.WaitFor(t, 10*time.Second, "the leader with a full disk to step down", func() bool {
		return !c.Servers[old].IsLeader()
	})
	var leader int
	servertest.WaitFor(t, 15*time.Second, "a healthy leader", func() bool {
		leader = c.Leader()
		return leader >= 0 && leader != old
	})
	f := subscribe(t, c.Servers[leader].HTTPAddr(), subscribeBody("healthy", "", ""))
	f.subscribed()
	if code, _, _ := rawPost(t, oldAddr, subscribeBody("late", "", ""), jsonCT); code != http.StatusTemporaryRedirect && code != http.StatusServiceUnavailable {
		t.Errorf("sick server answered %d, want 307 or 503", code)
	}
	fs[old].full.Store(false)
	c.CheckConsistent()
}

// stallingStore is an in-memory raft log whose writes block on demand,
// like an fsync stuck on a dying disk.
type stallingStore struct {
	*raft.InmemStore
	stall chan struct{} // non-nil: writes block until it is closed
	mu    sync.Mutex
}

func (s *stallingStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *stallingStore) StoreLogs(logs []*raft.Log) error {
	s.mu.Lock()
	ch := s.stall
	s.mu.Unlock()
	if ch != nil {
		<-ch
	}
	return s.InmemStore.StoreLogs(logs)
}

func (s *stallingStore) setStall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && s.stall == nil {
		s.stall = make(chan struct{})
	} else if !on && s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// TestCluster_LeaderWithStalledFsyncStepsDown: a leader whose log writes
// hang steps down after -raft-store-timeout instead of wedging the
// cluster; the others elect a leader that serves; once the disk recovers
// the server rejoins the same history.
func TestCluster_LeaderWithStalledFsyncStepsDown(t *testing.T) {
	var ss []*stallingStore
	var stores []raft.LogStore
	for i := 0; i < 3; i++ {
		s := &stallingStore{InmemStore: raft.NewInmemStore()}
		ss = append(ss, s)
		stores = append(stores, s)
	}
	c := servertest.NewClusterWithStores(t, 3, stores, func(cfg *server.Config) { cfg.RaftStoreTimeout = 300 * time.Millisecond })
	old := c.WaitLeader()
	ss[old].setStall(true)
	t.Cleanup(func() { ss[old].setStall(false) })
	// A write that hits the stall (its answer does not matter here).
	go func() {
		client := &http.Client{Timeout: 20 * time.Second}
		if resp, err := client.Post("http://"+c.Servers[old].HTTPAddr()+"/api/v1/scheduler", "application/json",
			strings.NewReader(subscribeBody("stuck", "", ""))); err == nil {
			resp.Body.Close()
		}
	}()
	servertest.WaitFor(t, 10*time.Second, "the stalled leader to step down", func() bool { return !c.Servers[old].IsLeader() })
	var leader int
	servertest.WaitFor(t, 15*time.Second, "a healthy leader", func() bool {
		leader = c.Leader()
		return leader >= 0 && leader != old
	})
	f := subscribe(t, c.Servers[leader].HTTPAddr(), subscribeBody("healthy", "", ""))
	f.subscribed()
	ss[old].setStall(false)
	c.CheckConsistent()
}
