// Package server runs a mesh server: a member of the Raft quorum whose
// leader is the Mesos master — it tracks agents, frameworks, offers and
// tasks in the replicated state machine, runs the allocator and serves the
// scheduler and agent APIs. Followers redirect clients to the leader.
package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"mesh/acl"
	"mesh/allocator"
	"mesh/auth"
	"mesh/tlsutil"
)

// Config configures a server.
type Config struct {
	// DataDir holds the raft log, stable store and snapshots.
	DataDir string
	// HTTPAddr is where the scheduler, agent and operator APIs listen.
	// Port 0 picks a free port.
	HTTPAddr string
	// RaftAddr is where raft listens for its peers; raft also dials peers
	// from its IP.
	RaftAddr string
	// RaftAdvertise is the address peers use to reach this server's raft
	// (default RaftAddr), e.g. through a proxy or NAT.
	RaftAdvertise string
	// BootstrapExpect is how many servers form the quorum.
	BootstrapExpect int
	// Join lists other servers' HTTP addresses.
	Join []string

	// HeartbeatInterval is how often frameworks and agents get a
	// HEARTBEAT on their streams.
	HeartbeatInterval time.Duration
	// AllocationInterval is the period of the allocator's background pass.
	AllocationInterval time.Duration
	// MinAllocatableResources is the least an offer must hold, in Mesos'
	// -min_allocatable_resources grammar (allocator.ParseMinAllocatable).
	MinAllocatableResources string
	// OfferTimeout, when positive, is how long an offer stands before it
	// is rescinded and its resources go back to the pool (Mesos'
	// --offer_timeout; off by default, as there).
	OfferTimeout time.Duration
	// Allocator names the allocation policy.
	Allocator string
	// AgentReregisterTimeout is how long a disconnected agent (or, after a
	// leader change, every agent) has to come back before its tasks are
	// reported lost.
	AgentReregisterTimeout time.Duration
	// AgentPingTimeout is how often the leader pings each agent that
	// answers pings, and how long it waits for the PONG; after
	// MaxAgentPingTimeouts unanswered pings in a row the agent is marked
	// unreachable (Mesos' --agent_ping_timeout and
	// --max_agent_ping_timeouts).
	AgentPingTimeout     time.Duration
	MaxAgentPingTimeouts int
	// FrameworkFailoverMinimum is the least time a framework that was
	// connected to an old leader gets to resubscribe to a new one, however
	// short its failover_timeout.
	FrameworkFailoverMinimum time.Duration
	// MaxCompletedTasksPerFramework and MaxCompletedFrameworks bound the
	// history kept in the replicated state (and shown by /state): the
	// leader drops the oldest completed tasks of a framework beyond the
	// first, and the oldest removed frameworks, with their tasks, beyond
	// the second, every HistoryPruneInterval.
	MaxCompletedTasksPerFramework int
	MaxCompletedFrameworks        int
	HistoryPruneInterval          time.Duration

	// Raft timing, tuned for a LAN.
	RaftHeartbeatTimeout time.Duration
	RaftElectionTimeout  time.Duration
	RaftLeaderLease      time.Duration
	// RaftStoreTimeout bounds one write of the raft log; a leader whose
	// disk stalls longer steps down (0 disables the guard).
	RaftStoreTimeout time.Duration
	// The HTTP server's bounds: how long a client may take to send its
	// request's headers and its whole request, how long the answer may
	// take to write (streams set their own per-write deadlines), how long
	// an idle keep-alive connection is kept, how large the headers may be,
	// and how many connections one client IP may hold (0: no limit;
	// loopback clients only with HTTPLimitLoopback).
	HTTPReadHeaderTimeout time.Duration
	HTTPReadTimeout       time.Duration
	HTTPWriteTimeout      time.Duration
	HTTPIdleTimeout       time.Duration
	HTTPMaxHeaderBytes    int
	HTTPMaxConnsPerIP     int
	HTTPLimitLoopback     bool
	// MaxFrameworkStreams bounds the framework event streams (SUBSCRIBE)
	// open at once; one more is answered 429.
	MaxFrameworkStreams int
	// MaxSnapshotRestoreBytes bounds a snapshot a client uploads to
	// restore.
	MaxSnapshotRestoreBytes int64
	// EnableDebug serves Go's profiler at /debug/pprof/.
	EnableDebug bool
	// ApplyTimeout bounds one raft Apply.
	ApplyTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a snapshot.
	SnapshotThreshold uint64
	// SnapshotInterval is how often raft checks whether a snapshot is due
	// (at least minSnapshotInterval). A snapshot costs every server ~35 µs
	// of cpu per task (fsm's BenchmarkSnapshot_Persist): at 100,000 tasks,
	// seconds of cpu, so under load it is taken every two minutes, not
	// every thirty seconds. The log grows meanwhile: 5.3 KB an entry and
	// 3–5 MB a second while 5,000 agents' tasks are placed.
	SnapshotInterval time.Duration
	// SnapshotLogBytes, when positive, is how many bytes of log entries
	// stored since the last snapshot make one due at once, without
	// waiting for raft's periodic check (logbytes.go); 0 means the
	// default, a negative value turns it off.
	SnapshotLogBytes int64
	// Settle is how long a new leader settles, while every agent and
	// framework comes back to it: no periodic snapshot, and a garbage
	// collection only once the heap has grown by SettleGCPercent
	// (settle.go). A negative Settle: it does not settle; a negative
	// SettleGCPercent: it settles without changing the GC target.
	Settle          time.Duration
	SettleGCPercent int
	// RestGCPercent is the GC target while the server is at rest
	// (gcrest.go), when lower than the process' own (GOGC); negative: the
	// target is left alone.
	RestGCPercent int

	Logger hclog.Logger

	// ACLs, when set, authorizes what callers do by the rules of an ACL
	// file (mesh/acl); nil allows everything.
	ACLs *acl.Authorizer

	// TLS, when set, puts the HTTP API and raft on TLS with this material
	// (server/tls.go); nil serves plain TCP.
	TLS *tlsutil.TLS

	// Credentials are the principals and secrets frameworks and
	// operators authenticate with (-credentials; nil: none), and
	// AgentJoinToken the bearer token that proves an agent
	// (-agent-join-token; nil: none). server/authn.go checks them.
	Credentials    *auth.Credentials
	AgentJoinToken *auth.Secret
	// The endpoints that require an authenticated caller, as Mesos'
	// --authenticate_frameworks, --authenticate_agents,
	// --authenticate_http_readonly and --authenticate_http_readwrite.
	// The internal endpoints require a server, an agent or an operator
	// whenever TLS or any of these is on.
	AuthenticateFrameworks    bool
	AuthenticateAgents        bool
	AuthenticateHTTPReadOnly  bool
	AuthenticateHTTPReadWrite bool
	// PeerPrincipal and PeerSecret are the credential this server
	// presents to the other servers, which need one when authentication
	// is on without TLS (with TLS its certificate proves it).
	PeerPrincipal string
	PeerSecret    *auth.Secret

	// TestRaft replaces raft's network and stores with in-memory ones; the
	// in-process cluster harness sets it.
	TestRaft *TestRaft
}

// TestRaft holds the in-memory raft transport of a test server and,
// optionally, a log store to use instead of an in-memory one (a test can
// make it fail like a full disk).
type TestRaft struct {
	Transport raft.Transport
	LogStore  raft.LogStore
}

// minSnapshotInterval is the shortest SnapshotInterval raft takes.
const minSnapshotInterval = 5 * time.Millisecond

// minSnapshotLogBytes is the least SnapshotLogBytes taken.
const minSnapshotLogBytes = 64 << 10

// DefaultConfig returns a Config with mesh's defaults.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:                 "127.0.0.1:5050",
		RaftAddr:                 "127.0.0.1:5052",
		BootstrapExpect:          1,
		HeartbeatInterval:        15 * time.Second,
		AllocationInterval:       time.Second,
		Allocator:                "drf",
		MinAllocatableResources:  allocator.DefaultMinAllocatable,
		AgentReregisterTimeout:   75 * time.Second,
		AgentPingTimeout:         15 * time.Second, // Mesos' defaults: an agent that
		MaxAgentPingTimeouts:     5,                // stops answering is unreachable after 75 s
		FrameworkFailoverMinimum: 30 * time.Second,
		// Mesos' defaults.
		MaxCompletedTasksPerFramework: 1000,
		MaxCompletedFrameworks:        50,
		HistoryPruneInterval:          10 * time.Second,
		HTTPReadHeaderTimeout:         10 * time.Second,
		HTTPReadTimeout:               time.Minute,
		HTTPWriteTimeout:              time.Minute,
		HTTPIdleTimeout:               2 * time.Minute,
		HTTPMaxHeaderBytes:            64 << 10,
		HTTPMaxConnsPerIP:             512,
		MaxFrameworkStreams:           1000,
		MaxSnapshotRestoreBytes:       4 << 30,
		// A follower waits 2–4 s without heartbeats before it campaigns,
		// and a leader steps down after 2 s without a quorum: a leader on
		// a saturated machine keeps its leadership. A leader whose
		// process dies is replaced at once all the same: its followers
		// find its port closed and campaign (leaderwatch.go, campaign.go).
		RaftHeartbeatTimeout: 2 * time.Second,
		RaftElectionTimeout:  2 * time.Second,
		RaftLeaderLease:      2 * time.Second,
		RaftStoreTimeout:     5 * time.Second,
		ApplyTimeout:         10 * time.Second,
		SnapshotThreshold:    8192,
		SnapshotInterval:     2 * time.Minute,
		SnapshotLogBytes:     256 << 20,
		Settle:               30 * time.Second,
		SettleGCPercent:      400,
		RestGCPercent:        25,
	}
}

// validate checks the configuration and fills gaps from the defaults.
func (c *Config) validate() error {
	d := DefaultConfig()
	if c.DataDir == "" {
		return fmt.Errorf("a data dir is required (-data-dir)")
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = d.HTTPAddr
	}
	if c.RaftAddr == "" {
		c.RaftAddr = d.RaftAddr
	}
	if c.BootstrapExpect < 1 {
		return fmt.Errorf("-bootstrap-expect must be at least 1, got %d", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 1 && len(c.Join) == 0 && c.TestRaft == nil {
		return fmt.Errorf("-bootstrap-expect %d needs -join with the other servers' HTTP addresses", c.BootstrapExpect)
	}
	fill := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	fill(&c.HeartbeatInterval, d.HeartbeatInterval)
	fill(&c.AllocationInterval, d.AllocationInterval)
	fill(&c.AgentReregisterTimeout, d.AgentReregisterTimeout)
	fill(&c.FrameworkFailoverMinimum, d.FrameworkFailoverMinimum)
	fill(&c.AgentPingTimeout, d.AgentPingTimeout)
	if c.MaxAgentPingTimeouts <= 0 {
		c.MaxAgentPingTimeouts = d.MaxAgentPingTimeouts
	}
	fill(&c.HistoryPruneInterval, d.HistoryPruneInterval)
	if c.MaxCompletedTasksPerFramework < 0 || c.MaxCompletedFrameworks < 0 {
		return fmt.Errorf("-max-completed-tasks-per-framework (%d) and -max-completed-frameworks (%d) cannot be negative", c.MaxCompletedTasksPerFramework, c.MaxCompletedFrameworks)
	}
	fill(&c.HTTPReadHeaderTimeout, d.HTTPReadHeaderTimeout)
	fill(&c.HTTPReadTimeout, d.HTTPReadTimeout)
	fill(&c.HTTPWriteTimeout, d.HTTPWriteTimeout)
	fill(&c.HTTPIdleTimeout, d.HTTPIdleTimeout)
	if c.HTTPMaxHeaderBytes <= 0 {
		c.HTTPMaxHeaderBytes = d.HTTPMaxHeaderBytes
	}
	if c.MaxSnapshotRestoreBytes <= 0 {
		c.MaxSnapshotRestoreBytes = d.MaxSnapshotRestoreBytes
	}
	if c.MaxFrameworkStreams <= 0 {
		c.MaxFrameworkStreams = d.MaxFrameworkStreams
	}
	if c.HTTPMaxConnsPerIP < 0 {
		return fmt.Errorf("-http-max-conns-per-ip cannot be negative, got %d", c.HTTPMaxConnsPerIP)
	}
	fill(&c.RaftHeartbeatTimeout, d.RaftHeartbeatTimeout)
	fill(&c.RaftElectionTimeout, d.RaftElectionTimeout)
	fill(&c.RaftLeaderLease, d.RaftLeaderLease)
	fill(&c.ApplyTimeout, d.ApplyTimeout)
	if c.SnapshotInterval < 0 || c.SnapshotInterval > 0 && c.SnapshotInterval < minSnapshotInterval {
		return fmt.Errorf("-raft-snapshot-interval %s: must be at least %s", c.SnapshotInterval, minSnapshotInterval)
	}
	fill(&c.SnapshotInterval, d.SnapshotInterval)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = d.SnapshotThreshold
	}
	switch {
	case c.SnapshotLogBytes == 0:
		c.SnapshotLogBytes = d.SnapshotLogBytes
	case c.SnapshotLogBytes > 0 && c.SnapshotLogBytes < minSnapshotLogBytes:
		return fmt.Errorf("-raft-snapshot-log-bytes %d: must be at least %d (or 0 to turn it off); a snapshot would follow nearly every write", c.SnapshotLogBytes, minSnapshotLogBytes)
	}
	if c.Settle == 0 {
		c.Settle = d.Settle
	}
	if c.SettleGCPercent == 0 {
		c.SettleGCPercent = d.SettleGCPercent
	}
	if c.RestGCPercent == 0 {
		c.RestGCPercent = d.RestGCPercent
	}
	if c.MinAllocatableResources == "" {
		c.MinAllocatableResources = d.MinAllocatableResources
	}
	if _, err := allocator.ParseMinAllocatable(c.MinAllocatableResources); err != nil {
		return fmt.Errorf("-%v", err)
	}
	if c.Allocator == "" {
		c.Allocator = d.Allocator
	}
	// A name no allocator is registered under would only fail when the
	// server wins an election: it would run as a member that never leads.
	if err := allocator.Check(c.Allocator); err != nil {
		return fmt.Errorf("-allocator: %w", err)
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return nil
}

// validateAuth checks that what authentication requires is given: a flag
// that requires a principal needs -credentials to check it against, and
// agents prove themselves with a certificate or the join token.
func (c *Config) validateAuth() error {
	for _, f := range []struct {
		on   bool
		name string
	}{
		{c.AuthenticateFrameworks, "-authenticate-frameworks"},
		{c.AuthenticateHTTPReadOnly, "-authenticate-http-readonly"},
		{c.AuthenticateHTTPReadWrite, "-authenticate-http-readwrite"},
	} {
		if f.on && c.Credentials == nil {
			return fmt.Errorf("%s needs -credentials FILE: the principals and secrets callers authenticate with", f.name)
		}
	}
	if c.AuthenticateAgents && c.AgentJoinToken == nil && c.TLS == nil {
		return fmt.Errorf("-authenticate-agents needs -agent-join-token FILE or TLS (-tls-cert, -tls-key, -tls-ca): how agents prove who they are")
	}
	if (c.PeerPrincipal == "") != (c.PeerSecret == nil) {
		return fmt.Errorf("-principal and -secret-file go together")
	}
	return nil
}
