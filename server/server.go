package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"mesh/fsm"
	"mesh/httpbound"
	"mesh/mesos/operator"
)

// Server is one mesh server.
type Server struct {
	cfg    Config
	logger hclog.Logger
	nodeID string
	// started is when the process started this server (start_time,
	// master/uptime_secs).
	started time.Time
	// logLevel carries out the operator API's logging level calls.
	logLevel *operator.LoggingLevel
	// opHub feeds the operator API's event streams.
	opHub *operatorHub

	fsm      *fsm.FSM
	raft     *raft.Raft
	raftAddr string
	// raftTrans is raft's transport, through which a follower whose
	// leader died starts its campaign (campaign.go).
	raftTrans raft.Transport
	// hadState is true when raft found a log or snapshot at start: the
	// server rejoins its cluster rather than bootstrapping or joining.
	hadState bool
	closers  []func() error
	leaderCh chan bool
	// snaps is raft's snapshot store, read for the snapshot metrics.
	snaps raft.SnapshotStore
	// settling is how the server works for a while after it became the
	// leader of a cluster with agents (settle.go).
	settling *settling
	// logGrowth asks for a snapshot once the log has grown by its limit
	// of bytes (logbytes.go); nil when not bounded so.
	logGrowth *logGrowth
	// logPages releases the raft log's mapped pages (logpages.go); nil
	// for an in-memory log.
	logPages *releasingStore
	// metrics is this server's own Prometheus registry and metrics.
	metrics     *serverMetrics
	leaderObs   *raft.Observer
	leaderObsCh chan raft.Observation
	// behindCandidates tells a follower about to campaign of a candidate
	// whose log is behind its own (campaign.go).
	behindCandidates *candidateWatch

	httpLn  net.Listener
	httpSrv *http.Server
	// peerTransport carries requests to other servers over TLS (nil
	// without TLS).
	peerTransport *http.Transport
	// uiTLS are the web UI's forwarding transports over TLS, by the
	// role of the peer (uiTransport).
	uiTLSOnce sync.Once
	uiTLS     map[string]*http.Transport

	// mu guards leader: the master state of the current term, nil while
	// this server is not an established leader.
	mu     sync.RWMutex
	leader *master

	shutdownOnce sync.Once
	// runCtx is Run's context, for work started outside Run's goroutine.
	runCtx context.Context
	// watching is the raft id of the leader whose watch this follower
	// holds open ("" when none).
	watching atomic.Value
	// frameworkStreams counts the framework event streams open
	// (enterFrameworkStream).
	frameworkStreams atomic.Int64
}

// New opens the data dir, starts raft and binds the HTTP listener. Run
// serves until its context ends.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: cfg.Logger.Named("server"), started: time.Now()}
	s.logLevel = operator.NewLoggingLevel(s.logger)
	s.metrics = newServerMetrics(s)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	id, err := loadOrCreateNodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.nodeID = id
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on -http-addr %s: %w", cfg.HTTPAddr, err)
	}
	s.httpLn = s.tlsListener(httpbound.LimitConnsPerIP(ln, cfg.HTTPMaxConnsPerIP, cfg.HTTPLimitLoopback, "-http-max-conns-per-ip"))
	if err := s.setupRaft(); err != nil {
		ln.Close()
		return nil, err
	}
	s.httpSrv = s.httpServer(s.identify(s.instrument(s.limitBodies(s.authenticate(s.routes())))))
	s.setupTLSHTTP()
	return s, nil
}

// boltOptions are how the raft log's bolt file is opened.
//
//   - bbolt locks its file; without a timeout a second server on the same
//     data dir would wait for the lock forever, saying nothing.
//   - The log is compacted after every snapshot, so its file holds many
//     free pages. By default bolt keeps them in a sorted array, merged
//     again at every write, and writes the whole list to the file with
//     every write: at 5,000 agents under sustained launches that was 5%
//     of the leader's cpu and 48 MB of its heap. Kept in a map and not
//     written, the list is rebuilt by scanning the file when it is opened
//     (a file written so opens with any bolt).
func boltOptions() *bbolt.Options {
	return &bbolt.Options{Timeout: dataDirLockTimeout, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}
}

// loadOrCreateNodeID keeps the server's raft id stable across restarts.
func loadOrCreateNodeID(dir string) (string, error) {
	p := filepath.Join(dir, "node-id")
	if b, err := os.ReadFile(p); err == nil {
		id := strings.TrimSpace(string(b))
		if _, err := uuid.Parse(id); err != nil {
			return "", fmt.Errorf("%s holds %q, not a node id: is this a mesh data dir?", p, id)
		}
		return id, nil
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	id := uuid.NewString()
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}

func (s *Server) setupRaft() error {
	cfg := s.cfg
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.nodeID)
	rc.HeartbeatTimeout = cfg.RaftHeartbeatTimeout
	rc.ElectionTimeout = cfg.RaftElectionTimeout
	rc.LeaderLeaseTimeout = cfg.RaftLeaderLease
	rc.CommitTimeout = 5 * time.Millisecond
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	// Concurrent applies (launches, status updates, acks) are batched into
	// few log writes.
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 256
	rc.Logger = cfg.Logger.Named("raft")
	s.leaderCh = make(chan bool, 10)
	rc.NotifyCh = s.leaderCh
	s.fsm = fsm.New(cfg.Logger)
	s.opHub = newOperatorHub(s.fsm)

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
		trans  raft.Transport
	)
	if t := cfg.TestRaft; t != nil {
		// In-memory raft for the in-process cluster harness.
		mem := raft.NewInmemStore()
		logs, stable, snaps, trans = mem, mem, raft.NewInmemSnapshotStore(), t.Transport
		if t.LogStore != nil {
			logs = t.LogStore
		}
		s.raftAddr = string(t.Transport.LocalAddr())
	} else {
		raftDir := filepath.Join(cfg.DataDir, "raft")
		if err := os.MkdirAll(raftDir, 0o700); err != nil {
			return fmt.Errorf("create raft dir: %w", err)
		}
		dbPath := filepath.Join(raftDir, "raft.db")
		bolt, err := raftboltdb.New(raftboltdb.Options{
			Path:        dbPath,
			BoltOptions: boltOptions(),
		})
		if errors.Is(err, bbolt.ErrTimeout) {
			return fmt.Errorf("-data-dir %s is in use by another mesh server (its raft store stayed locked for %s); stop it first", cfg.DataDir, dataDirLockTimeout)
		}
		if err != nil {
			return fmt.Errorf("open raft store: %w", err)
		}
		store := newReleasingStore(bolt, dbPath, cfg.Logger.Named("raft-store"))
		s.closers = append(s.closers, store.Close)
		s.logPages = store
		fss, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, cfg.Logger.Named("snapshot"))
		if err != nil {
			s.closeAll()
			return fmt.Errorf("open snapshot store: %w", err)
		}
		layer, err := newTCPStreamLayer(cfg.RaftAddr, cfg.RaftAdvertise, cfg.TLS, cfg.Logger.Named("raft-tls"))
		if err != nil {
			s.closeAll()
			return fmt.Errorf("-raft-addr %s: %w", cfg.RaftAddr, err)
		}
		nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: cfg.Logger.Named("raft-net"),
		})
		s.closers = append(s.closers, nt.Close)
		logs, stable, snaps, trans = store, store, fss, nt
		s.raftAddr = string(nt.LocalAddr())
	}
	if cfg.RaftStoreTimeout > 0 {
		logs = newStallGuard(logs, cfg.RaftStoreTimeout)
	}
	var growth *logGrowth
	if cfg.SnapshotLogBytes > 0 {
		growth = newLogGrowth(cfg.SnapshotLogBytes, cfg.Logger.Named("snapshot"))
		logs = countingStore{LogStore: logs, growth: growth}
	}
	// Raft reads back each entry it has just written: the leader once per
	// follower to send it, a follower to apply it. Served from the store,
	// each read is a bolt lookup and a decoding of the entry; the most
	// recent entries are kept in memory instead.
	logs, err := raft.NewLogCache(raftLogCacheSize, logs)
	if err != nil {
		s.closeAll()
		return fmt.Errorf("raft log cache: %w", err)
	}
	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		s.closeAll()
		return fmt.Errorf("inspect raft state: %w", err)
	}
	s.hadState = existing
	s.snaps = snaps
	s.raftTrans = trans
	r, err := raft.NewRaft(rc, timedFSM{FSM: s.fsm, metrics: s.metrics, growth: growth}, logs, stable, snaps, trans)
	if err != nil {
		s.closeAll()
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.settling = newSettling(r, rc.SnapshotThreshold, cfg.Settle, cfg.SettleGCPercent)
	if growth != nil {
		growth.start(func() error { return r.Snapshot().Error() }, s.settling.snapshotsHeld)
		s.logGrowth = growth
	}
	s.leaderObservations()
	s.behindCandidates = newCandidateWatch()
	if !existing && cfg.BootstrapExpect == 1 && len(cfg.Join) == 0 && cfg.TestRaft == nil {
		if err := s.bootstrap([]raft.Server{{ID: rc.LocalID, Address: raft.ServerAddress(s.raftAddr)}}); err != nil {
			return err
		}
	}
	return nil
}

// raftLogCacheSize is how many of the latest log entries are kept in
// memory for raft to read back: two batches of MaxAppendEntries, at a few
// KB per entry. Consul and Nomad keep as many.
const raftLogCacheSize = 512

// bootstrap writes the initial raft configuration, once.
func (s *Server) bootstrap(servers []raft.Server) error {
	s.logger.Info("bootstrapping the cluster", "servers", len(servers))
	f := s.raft.BootstrapCluster(raft.Configuration{Servers: servers})
	if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	return nil
}

func (s *Server) closeAll() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// RaftAddr returns the address raft peers reach this server at.
func (s *Server) RaftAddr() string { return s.raftAddr }

// HTTPAddr returns the address the HTTP API listens on.
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }

// NodeID returns the server's raft id.
func (s *Server) NodeID() string { return s.nodeID }

// FSM exposes the state machine for tests and the operator API.
func (s *Server) FSM() *fsm.FSM { return s.fsm }

// IsLeader reports whether this server is the established leader.
func (s *Server) IsLeader() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.leader != nil
}

// Run serves until ctx is done, then shuts down.
func (s *Server) Run(ctx context.Context) error {
	s.runCtx = ctx
	errCh := make(chan error, 2)
	go func() {
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errCh <- fmt.Errorf("http: %w", err)
		}
	}()
	go s.monitorLeadership(ctx)
	go s.countLeaderChanges(ctx)
	go s.watchLeader(ctx)
	go s.campaignIfAlone(ctx)
	go s.behindCandidates.run(ctx, s.raft)
	go s.announceLoop(ctx)
	go newRestingGC(s.cfg.RestGCPercent, restTick, s.settling.unlessSettling, s.compactState, s.logger.Named("gc")).run(ctx)
	if len(s.cfg.Join) > 0 {
		// New servers find their cluster; restarted ones check that the
		// servers they are told to join are of their own cluster.
		find := s.joinLoop
		if s.hadState {
			find = s.verifyCluster
		}
		go func() {
			if err := find(ctx); err != nil {
				errCh <- err
			}
		}()
	}
	s.logger.Info("server started", "http_addr", s.HTTPAddr(), "raft_addr", s.cfg.RaftAddr, "node_id", s.nodeID)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errCh:
	}
	s.shutdown()
	return err
}

func (s *Server) shutdown() {
	s.shutdownOnce.Do(func() {
		s.logger.Info("server stopping")
		s.mu.Lock()
		m := s.leader
		s.leader = nil
		s.mu.Unlock()
		if m != nil {
			m.revoke()
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		// Streams end when the master is revoked; give handlers a moment.
		_ = s.httpSrv.Shutdown(sctx)
		_ = s.httpSrv.Close()
		s.logLevel.Stop()
		if err := s.raft.Shutdown().Error(); err != nil {
			s.logger.Warn("raft shutdown", "error", err)
		}
		s.closeAll()
	})
}

// dataDirLockTimeout bounds the wait for the raft store's lock, held by
// another server on the same data dir.
const dataDirLockTimeout = time.Second

// raftApply commits one command and returns its Apply result. A state
// error returned by Apply comes back as the error.
func (s *Server) raftApply(t fsm.MessageType, req any) (any, error) {
	buf, err := fsm.Encode(t, req)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	f := s.raft.Apply(buf, s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return nil, fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return nil, fmt.Errorf("%w: raft apply: %v", ErrNotCommitted, err)
	}
	s.metrics.raftCommit.Observe(time.Since(start).Seconds())
	if err, ok := f.Response().(error); ok {
		return nil, err
	}
	return f.Response(), nil
}

// leaderHTTPAddr returns the HTTP address of the current leader, "" if
// none is known.
func (s *Server) leaderHTTPAddr() string {
	_, id := s.raft.LeaderWithID()
	if id == "" {
		return ""
	}
	if string(id) == s.nodeID {
		return s.HTTPAddr()
	}
	for _, srv := range s.fsm.State().Servers() {
		if srv.ID == string(id) {
			return srv.HTTPAddr
		}
	}
	return ""
}

// BootstrapCluster writes an initial configuration of the given servers;
// the in-process cluster harness calls it on every member.
func (s *Server) BootstrapCluster(servers []raft.Server) error { return s.bootstrap(servers) }

// LastIndex returns the raft index of the last entry this server applied.
func (s *Server) LastIndex() uint64 { return s.fsm.LastIndex() }

// CommitIndex returns raft's last applied index.
func (s *Server) CommitIndex() uint64 { return s.raft.AppliedIndex() }
