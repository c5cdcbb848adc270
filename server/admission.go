package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// admissionLimits are the leader's bounds on client writes. The leader
// commits what it admits; what it cannot take now waits its turn in a
// bounded queue, and beyond that is told to come back later (429 with
// Retry-After) rather than piling onto a leader whose raft heartbeats then
// starve and whose leadership is lost.
type admissionLimits struct {
	// slots is how many client writes (registrations, status updates,
	// ACCEPTs, …) the leader works on at once: enough to fill raft's
	// batches, few enough that its own goroutines still run.
	slots int
	// queue bounds the requests waiting for a slot; a wait is cheap (a
	// parked goroutine) so that a whole data center's agents can
	// re-register after a leader change without being turned away.
	queue int
	// queueBytes bounds the bodies of the requests waiting for a slot,
	// which each holds decoded (about 1.5 times its size): the count alone
	// let 20,000 calls of up to maxBodyBytes each wait. One request may
	// always wait when none does, however large.
	queueBytes int64
	// wait bounds one request's wait for a slot.
	wait time.Duration
	// perClient bounds one agent's or framework's calls in progress: a
	// real agent has one status update call out at a time, a framework a
	// few; a client flooding calls is refused beyond this.
	perClient int
}

// defaultAdmission bounds agents' writes other than registrations
// (status updates, above all).
var defaultAdmission = admissionLimits{slots: 256, queue: 20000, queueBytes: 64 << 20, wait: 10 * time.Second, perClient: 64}

// registrationAdmission bounds agents' registrations, in a lane of their
// own. A registration holds its slot while it waits for its commit, and
// registrations that wait together are committed together, up to
// maxRegistrationBatch per log entry: with 256 slots, a new leader took
// a data center's agents back 256 a commit. With 1,024, two full entries
// are in flight; at 5,000 agents every agent was back after 5.3 s instead
// of 6.0 s (median of three interleaved runs), half of them after 3.7 s
// instead of 4.3 s.
var registrationAdmission = admissionLimits{slots: 2 * maxRegistrationBatch, queue: 20000, queueBytes: 64 << 20, wait: 10 * time.Second, perClient: 64}

// frameworkAdmission bounds frameworks' writes (SUBSCRIBE, ACCEPT, KILL,
// DECLINE, …) in a lane of their own: a framework's call does not wait
// behind a data center's agents. Once every agent re-registered with a
// new leader at once, frameworks' SUBSCRIBEs queued behind thousands of
// agents' and got their first offer seconds late; under a burst of
// launches each ACCEPT waited behind the agents' status updates.
// Frameworks are far fewer than agents, their calls too.
var frameworkAdmission = admissionLimits{slots: 512, queue: 20000, queueBytes: 64 << 20, wait: 10 * time.Second, perClient: 64}

// overloadRetryAfter is what a refused client is told to wait.
const overloadRetryAfter = time.Second

// admission is the leader's gate for client writes: a fixed number of
// slots with a bounded wait, and a bound per client.
type admission struct {
	term   context.Context // the master's: waits end with its term
	limits admissionLimits
	slots  chan struct{}

	mu           sync.Mutex
	waiting      int
	waitingBytes int64
	perClient    map[string]int
}

func newAdmission(term context.Context, l admissionLimits) *admission {
	return &admission{term: term, limits: l, slots: make(chan struct{}, l.slots), perClient: map[string]int{}}
}

// errOverloaded is a refusal the client should retry after a while.
func errOverloaded(format string, args ...any) error {
	return &codedError{code: http.StatusTooManyRequests, msg: fmt.Sprintf(format, args...), retryAfter: overloadRetryAfter}
}

// enterLight admits a call that commits nothing itself and ends at once
// (an acknowledgement, queued for the ack batcher; a reconciliation, read
// from the state): it takes no slot, so that it never waits behind the
// writes it would relieve (an acknowledgement is what stops an agent from
// resending its update), and only the bound per client applies.
func (a *admission) enterLight(client string) (release func(), err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.atBound(client); err != nil {
		return nil, err
	}
	a.join(client)
	return func() { a.leave(client) }, nil
}

// atBound refuses a call of client when client has its bound of calls in
// progress already ("": a client not yet known, never refused). Called
// with a.mu held.
func (a *admission) atBound(client string) error {
	if client != "" && a.perClient[client] >= a.limits.perClient {
		return errOverloaded("%s already has %d calls in progress; retry once they are answered", client, a.limits.perClient)
	}
	return nil
}

// join counts a call of client in progress. Called with a.mu held.
func (a *admission) join(client string) {
	if client != "" {
		a.perClient[client]++
	}
}

// leave ends a call join counted.
func (a *admission) leave(client string) {
	if client == "" {
		return
	}
	a.mu.Lock()
	if a.perClient[client]--; a.perClient[client] <= 0 {
		delete(a.perClient, client)
	}
	a.mu.Unlock()
}

// enter takes a slot for client (an agent or framework id; "" for one
// not yet known), waiting while the slots are busy, for as long as the
// request (ctx) and the term last. size is the request's body, which it
// holds decoded while it waits. The returned release must be called when
// the write is done.
func (a *admission) enter(ctx context.Context, client string, size int64) (release func(), err error) {
	if err := a.queue(client, size); err != nil {
		return nil, err
	}
	t := time.NewTimer(a.limits.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		a.dequeue(size)
		return func() { <-a.slots; a.leave(client) }, nil
	case <-t.C:
		err = errOverloaded("the leader is overloaded (no capacity within %s); retry later", a.limits.wait)
	case <-ctx.Done():
		err = ctx.Err()
	case <-a.term.Done():
		err = ErrNotLeader
	}
	a.dequeue(size)
	a.leave(client)
	return nil, err
}

// queue counts a request of client, of size bytes, among those waiting,
// or refuses it when client or the queue is at its bound.
func (a *admission) queue(client string, size int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.atBound(client); err != nil {
		return err
	}
	if a.waiting >= a.limits.queue {
		return errOverloaded("the leader is overloaded (%d requests waiting); retry later", a.limits.queue)
	}
	if a.waiting > 0 && a.waitingBytes+size > a.limits.queueBytes {
		return errOverloaded("the leader is overloaded (%d requests of %d bytes waiting); retry later", a.waiting, a.waitingBytes)
	}
	a.waiting++
	a.waitingBytes += size
	a.join(client)
	return nil
}

// dequeue ends a request's wait that queue counted.
func (a *admission) dequeue(size int64) {
	a.mu.Lock()
	a.waiting--
	a.waitingBytes -= size
	a.mu.Unlock()
}
