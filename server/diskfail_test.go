package server_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

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

	// A write on the sick leader fails (the stream carries an ERROR, not
	// SUBSCRIBED), and the leader steps down rather than hang.
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
