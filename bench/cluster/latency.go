package main

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// latencies collects durations of one kind, for their percentiles.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// summary is a set of durations in seconds: how many, p50, p99, max.
type summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_s"`
	P99 float64 `json:"p99_s"`
	Max float64 `json:"max_s"`
}

func (l *latencies) summary() summary {
	l.mu.Lock()
	ds := slices.Clone(l.ds)
	l.mu.Unlock()
	if len(ds) == 0 {
		return summary{}
	}
	slices.Sort(ds)
	return summary{N: len(ds), P50: secs(percentile(ds, 50)), P99: secs(percentile(ds, 99)), Max: secs(ds[len(ds)-1])}
}

// pipeline times each step a status update takes from its agent to its
// acknowledgement, so that a run says where updates wait.
type pipeline struct {
	updateCall latencies // an agent's UPDATE call, sent → answered
	roundTrip  latencies // an update first sent by its agent → its acknowledgement back at the agent
	ackWait    latencies // an update received by its framework → its ACKNOWLEDGE call sent
	ackCall    latencies // an ACKNOWLEDGE call, sent → answered
	acceptCall latencies // an ACCEPT call, sent → answered
}

// pipelineReport is pipeline's figures.
type pipelineReport struct {
	UpdateCall summary `json:"agent_update_call"`
	RoundTrip  summary `json:"update_round_trip"`
	AckWait    summary `json:"framework_ack_queue_wait"`
	AckCall    summary `json:"framework_ack_call"`
	AcceptCall summary `json:"framework_accept_call"`
}

func (p *pipeline) report() pipelineReport {
	return pipelineReport{UpdateCall: p.updateCall.summary(), RoundTrip: p.roundTrip.summary(),
		AckWait: p.ackWait.summary(), AckCall: p.ackCall.summary(), AcceptCall: p.acceptCall.summary()}
}

func (s summary) String() string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f / %.3f / %.3f s", s.P50, s.P99, s.Max)
}
