package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// The failover observer is one more framework, run in a process of its
// own, as frameworks run in a data center: the benchmark's frameworks
// share its process, and its cores, with thousands of simulated agents
// that re-register at the moment a failover is timed. The observer
// launches nothing; it declines every offer, asks for offers again
// (REVIVE) once subscribed again, and writes a line for each
// subscription, OFFERS event and end of its stream, stamped with the
// time it read them.

// observerEnv, set in the environment, makes the benchmark program (or
// its test binary) run as the observer of the servers it lists
// (comma-separated HTTP addresses).
const observerEnv = "MESH_BENCH_OBSERVER"

// What an observer line reports.
const (
	obsSubscribed = "subscribed"
	obsOffers     = "offers"
	obsEnded      = "ended"
)

// observerMain runs the observer until it is signalled; it returns the
// process' exit code.
func observerMain(servers string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := observe(ctx, strings.Split(servers, ","), os.Stdout); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "bench-cluster observer:", err)
		return 1
	}
	return 0
}

// observe subscribes (again whenever the stream ends) until ctx ends,
// writing a line to out for what it reads.
func observe(ctx context.Context, servers []string, out io.Writer) error {
	c := client.New(client.Config{Masters: servers})
	var calls sync.WaitGroup // its DECLINEs and REVIVEs
	defer calls.Wait()
	call := func(sc *scheduler.Call) {
		// Sent beside the stream, which is read on at once.
		calls.Add(1)
		go func() {
			defer calls.Done()
			_ = c.Call(ctx, sc)
		}()
	}
	again := false // a SUBSCRIBED read before: the next is a re-subscription
	return subscribeLoop(ctx, c, "bench-observer", func(ev *scheduler.Event) error {
		now := time.Now()
		switch {
		case ev.Type == scheduler.EventSubscribed:
			if again {
				// Its declines filtered every agent: it asks for offers
				// again, as a framework waiting for resources does once
				// subscribed again.
				call(client.ReviveCall())
			}
			again = true
			return writeObservation(out, obsSubscribed, now)
		case ev.Type == scheduler.EventOffers && ev.Offers != nil:
			ids := make([]mesos.OfferID, 0, len(ev.Offers.Offers))
			for _, o := range ev.Offers.Offers {
				ids = append(ids, o.ID)
			}
			call(client.DeclineCall(client.Filters(refuseSeconds), ids...))
			return writeObservation(out, obsOffers, now)
		}
		return nil
	}, func() { _ = writeObservation(out, obsEnded, time.Now()) }, func(error) {})
}

func writeObservation(w io.Writer, kind string, at time.Time) error {
	_, err := fmt.Fprintf(w, "%s %d\n", kind, at.UnixNano())
	return err
}

// parseObservation reads one observer line.
func parseObservation(line string) (kind string, at time.Time, err error) {
	kind, ns, ok := strings.Cut(line, " ")
	switch kind {
	case obsSubscribed, obsOffers, obsEnded:
	default:
		return "", time.Time{}, fmt.Errorf("observer line %q: unknown kind %q", line, kind)
	}
	if !ok {
		return "", time.Time{}, fmt.Errorf("observer line %q: no time", line)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != ns { // written in decimal digits alone
		return "", time.Time{}, fmt.Errorf("observer line %q: bad time %q", line, ns)
	}
	return kind, time.Unix(0, n), nil
}

// observer is the parent's handle on the observer process.
type observer struct {
	cmd  *exec.Cmd
	read chan struct{} // closed once its output has been read to the end

	mu   sync.Mutex
	seen map[string][]time.Time // by kind, in the order read
	bad  string                 // the first line that did not parse
}

// startObserver starts the observer of servers as a child of this
// process, which runs the same program again.
func startObserver(servers []string) (*observer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the observer: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), observerEnv+"="+strings.Join(servers, ","))
	cmd.Stderr = os.Stderr
	// Should the benchmark die without stopping it, its next line finds
	// this pipe closed and SIGPIPE ends it.
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("the observer: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("the observer: %w", err)
	}
	o := &observer{cmd: cmd, read: make(chan struct{}), seen: map[string][]time.Time{}}
	go o.readLines(stdout)
	return o, nil
}

func (o *observer) readLines(r io.Reader) {
	defer close(o.read)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		kind, at, err := parseObservation(sc.Text())
		o.mu.Lock()
		if err != nil && o.bad == "" {
			o.bad = err.Error()
		} else if err == nil {
			o.seen[kind] = append(o.seen[kind], at)
		}
		o.mu.Unlock()
	}
}

// offered reports whether the observer has had an offer.
func (o *observer) offered() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.seen[obsOffers]) > 0
}

// after returns when, after t, its stream first ended, it was first
// subscribed again and it had its first offer from that subscription on
// (zero for what did not happen).
func (o *observer) after(t time.Time) (ended, subscribed, offer time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ended = firstAfter(o.seen[obsEnded], t)
	subscribed = firstAfter(o.seen[obsSubscribed], t)
	if !subscribed.IsZero() {
		offer = firstAfter(o.seen[obsOffers], subscribed.Add(-time.Nanosecond))
	}
	return ended, subscribed, offer
}

// stop ends the observer process and returns the first line of its
// output that did not parse ("" for none).
func (o *observer) stop() string {
	_ = o.cmd.Process.Signal(syscall.SIGTERM)
	t := time.AfterFunc(5*time.Second, func() { _ = o.cmd.Process.Kill() })
	<-o.read
	_ = o.cmd.Wait()
	t.Stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bad
}

// observerWait bounds each wait for the observer: for its first offer
// before the kill, and for its fresh offer after it.
const observerWait = 30 * time.Second

// startObserver starts the observer and waits until it has had its first
// offer; nil, with a problem recorded, when it cannot.
func (b *bench) startObserver(ctx context.Context) *observer {
	o, err := startObserver(b.cl.addrs())
	if err != nil {
		b.res.Problems = append(b.res.Problems, err.Error())
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, observerWait)
	defer cancel()
	if waitUntil(wctx, 20*time.Millisecond, o.offered) != nil {
		b.res.Problems = append(b.res.Problems, fmt.Sprintf("the observer framework had no offer within %s; its failover figures are left out", observerWait))
		b.stopObserver(o)
		return nil
	}
	return o
}

func (b *bench) stopObserver(o *observer) {
	if bad := o.stop(); bad != "" {
		b.res.Problems = append(b.res.Problems, bad)
	}
}

// observed waits (a bounded time) for the observer's fresh offer after
// t0 and returns what it saw.
func (b *bench) observed(ctx context.Context, o *observer, t0 time.Time) *observerFailover {
	wctx, cancel := context.WithTimeout(ctx, observerWait)
	defer cancel()
	_ = waitUntil(wctx, 20*time.Millisecond, func() bool {
		_, _, offer := o.after(t0)
		return !offer.IsZero()
	})
	ended, subscribed, offer := o.after(t0)
	since := func(at time.Time) float64 {
		if at.IsZero() {
			return -1
		}
		return secs(at.Sub(t0))
	}
	return &observerFailover{Ended: since(ended), Subscribed: since(subscribed), FreshOffer: since(offer)}
}
