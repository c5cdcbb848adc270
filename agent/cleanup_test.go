package agent

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
)

// Cleanup kills the executors an earlier agent left and keeps their tasks'
// final updates for the next agent, which forwards them.
func TestAgent_CleanupKillsLeftExecutors(t *testing.T) {
	f, cfg, a1, ex := stopWithRunningTask(t)
	if err := syscall.Kill(ex.Pid, 0); err != nil {
		t.Fatalf("the executor did not outlive its agent: %v", err)
	}

	cc := cfg
	cc.Servers, cc.Recover = nil, RecoverCleanup
	a, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := a.Cleanup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Executors != 1 || sum.PendingUpdates != 1 {
		t.Errorf("cleanup summary = %+v, want 1 executor killed and 1 update pending", sum)
	}
	if err := syscall.Kill(ex.Pid, 0); err == nil {
		t.Errorf("executor %d still runs after the cleanup", ex.Pid)
	}
	if _, err := a.Cleanup(context.Background()); err == nil {
		t.Error("a second Cleanup of the same agent succeeded")
	}
	if n := len(f.updatesOf("t1")); n != 2 {
		t.Errorf("the cleanup sent updates itself: %d updates of t1, want STARTING and RUNNING only", n)
	}

	cfg.HTTPAddr = a1.Addr()
	a2 := startAgent(t, cfg)
	a2.waitRegistered(t)
	st := f.waitState(t, "t1", mesos.TaskKilled)
	if st.Source != mesos.SourceAgent || !strings.Contains(st.Message, "-recover cleanup") {
		t.Errorf("TASK_KILLED = %+v", st)
	}
	if n := len(a2.State().Frameworks); n != 0 {
		t.Errorf("the agent after the cleanup has %d frameworks with executors", n)
	}
}

func TestNew_RecoverMode(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	cfg.Recover = "restore"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "-recover") {
		t.Errorf("New with -recover restore: %v", err)
	}
	cfg.Recover, cfg.Servers = RecoverReconnect, nil
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "-join") {
		t.Errorf("New without servers: %v", err)
	}
	cfg.Recover = RecoverCleanup
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("cleanup needs no server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if sum, err := a.Cleanup(ctx); err != nil || sum != (CleanupSummary{}) {
		t.Errorf("cleanup of an empty work dir = %+v, %v", sum, err)
	}
}

// One work directory, one agent: a second agent, or a cleanup, on the work
// directory of a running agent is refused and changes nothing; once the
// agent stops, the directory is free again.
func TestNew_WorkDirHeldByARunningAgent(t *testing.T) {
	f := newFakeServer(t)
	cfg := testConfig(t, f)
	a1 := startAgent(t, cfg)
	a1.waitRegistered(t)

	second := cfg
	second.HTTPAddr = "127.0.0.1:0"
	if _, err := New(second); !errors.Is(err, ErrWorkDirInUse) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("a second agent on the work directory: %v", err)
	}
	second.Servers, second.Recover = nil, RecoverCleanup
	if _, err := New(second); !errors.Is(err, ErrWorkDirInUse) {
		t.Errorf("a cleanup of a running agent's work directory: %v", err)
	}

	a1.stop(t)
	a, err := New(second)
	if err != nil {
		t.Fatalf("the work directory of a stopped agent: %v", err)
	}
	if _, err := a.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
}
