package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"mesh/mesos"
)

// runAgent runs an agent made by New (so that a test can set its hooks
// first); it is stopped at the end of the test.
func runAgent(t testing.TB, a *Agent) *testAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// agentLockFree reports whether the agent-wide lock can be taken now. A
// lock another routine holds for a moment is let go within the bounded
// retries; one the caller's own call chain holds never is.
func agentLockFree(a *Agent) bool {
	for range 10000 {
		if a.mu.TryLock() {
			a.mu.Unlock()
			return true
		}
		runtime.Gosched()
	}
	return false
}

// TestRunner_CheckpointWritesHoldNoAgentLock stops the first checkpoint
// write of one launch and checks that another launch runs and /state
// answers meanwhile, and that no checkpoint (run.json or status update
// record) is ever written with the agent-wide lock held.
func TestRunner_CheckpointWritesHoldNoAgentLock(t *testing.T) {
	f := newFakeServer(t)
	a, err := New(testConfig(t, f))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	blocked := make(chan struct{})
	var (
		mu          sync.Mutex
		writes      int
		underLock   []string
		blockedOnce sync.Once
	)
	a.testBeforeCheckpoint = func(path string) {
		free := agentLockFree(a)
		mu.Lock()
		writes++
		if !free {
			underLock = append(underLock, path)
		}
		mu.Unlock()
		if !strings.HasSuffix(path, filepath.Join("executors", "slow", runFile)) {
			return
		}
		first := false
		blockedOnce.Do(func() { first = true; close(blocked) })
		if first {
			select {
			case <-release:
			case <-time.After(time.Minute):
			}
		}
	}
	ta := runAgent(t, a)
	ta.waitRegistered(t)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	fw := testFramework("fw-1")
	f.launch(fw, commandTask("slow", "sleep 30"))
	select {
	case <-blocked:
	case <-time.After(20 * time.Second):
		t.Fatal("the launch of slow never wrote its checkpoint")
	}
	// slow's first checkpoint is being written (and stays so): another
	// launch goes through, and /state answers, naming both.
	f.launch(fw, commandTask("fast", "sleep 30"))
	f.waitState(t, "fast", mesos.TaskRunning)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + ta.Addr() + "/state")
	if err != nil {
		t.Fatalf("/state while a checkpoint write is stuck: %v", err)
	}
	var st MesosStateJSON
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || len(st.Frameworks) != 1 {
		t.Fatalf("/state = %+v, %v", st, err)
	}
	states := map[string]string{}
	for _, e := range st.Frameworks[0].Executors {
		states[e.ID] = e.State
	}
	if states["slow"] != runLaunching.String() || states["fast"] != runRunning.String() {
		t.Errorf("/state executors = %v, want slow %s and fast %s", states, runLaunching, runRunning)
	}

	close(release)
	f.waitState(t, "slow", mesos.TaskRunning)
	f.kill("fw-1", "slow")
	f.kill("fw-1", "fast")
	f.waitAcked(t, "slow", mesos.TaskKilled)
	f.waitAcked(t, "fast", mesos.TaskKilled)

	mu.Lock()
	defer mu.Unlock()
	if writes < 6 {
		t.Errorf("saw %d checkpoint writes; the hook missed some", writes)
	}
	if len(underLock) > 0 {
		t.Errorf("%d of %d checkpoint writes held the agent-wide lock: %v", len(underLock), writes, underLock)
	}
}
