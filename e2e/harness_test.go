package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mesh/executor"
)

// meshBin is the binary under test.
var meshBin string

func TestMain(m *testing.M) {
	// An in-process agent's linux containerizer re-executes this binary
	// as a container's init ("e2e.test init").
	executor.ContainerInit()
	if master := os.Getenv(envStoppableFramework); master != "" {
		os.Exit(runStoppableFramework(master))
	}
	meshBin = os.Getenv("MESH_BIN")
	cleanup := func() {}
	if meshBin == "" {
		dir, err := os.MkdirTemp("", "mesh-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cleanup = func() { os.RemoveAll(dir) }
		meshBin = filepath.Join(dir, "mesh")
		build := exec.Command("go", "build", "-o", meshBin, "mesh")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build mesh:", err)
			cleanup()
			os.Exit(1)
		}
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// handedOut holds every address freePort returned in this process.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// freePort returns a loopback address with a port that was free a moment
// ago and that it has not returned before: the kernel can give a port
// just closed to the next listener, and a test once handed the same port
// to a server's raft and to an agent, and the server could not bind it.
func freePort(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for tries := 0; tries < 100; tries++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("no loopback port free that was not handed out before")
	return ""
}

// proc is a mesh process started by a test.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs mesh with args in the background; the process is stopped
// (SIGTERM, then SIGKILL) when the test ends.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	return startBin(t, meshBin, args...)
}

// startBin is start with another mesh binary.
func startBin(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	if len(args) > 0 && args[0] == "agent" {
		cleanupAgentWorkDir(t, args)
	}
	p := &proc{cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start mesh %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of mesh %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// cleanupAgentWorkDir makes sure that, once the test has stopped the agent
// started with args, no executor or container of its work directory is
// left: a stopped agent leaves them running for the next agent on that
// directory, and there is none after a test. It runs `mesh agent -recover
// cleanup` on the directory (registered before the agent's own stop, it
// runs after it).
func cleanupAgentWorkDir(t testing.TB, args []string) {
	t.Helper()
	dir := ""
	for i, a := range args {
		if (a == "-work-dir" || a == "--work-dir") && i+1 < len(args) {
			dir = args[i+1]
		}
	}
	if dir == "" {
		return
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, "meta")); err != nil {
			return // the agent never got as far as its work directory
		}
		out, code := run(t, 2*time.Minute, "agent", "-recover", "cleanup", "-work-dir", dir)
		if code != 0 {
			t.Errorf("mesh agent -recover cleanup -work-dir %s exited %d:\n%s", dir, code, out)
		}
		if left, _ := os.ReadDir(filepath.Join(dir, "meta", "containers", "lc")); len(left) > 0 {
			t.Errorf("%d containers left after mesh agent -recover cleanup:\n%s", len(left), out)
		}
	})
}

// stop sends SIGTERM and waits, escalating to SIGKILL of the group.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Errorf("mesh did not stop on SIGTERM; killing it")
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// run runs mesh to completion with a deadline and returns its output and
// exit code.
func run(t testing.TB, timeout time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, meshBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("mesh %v did not finish within %s:\n%s", args, timeout, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("mesh %v: %v", args, err)
	}
	return out.String(), code
}

// getJSON fetches http://addr/path into v.
func getJSON(addr, path string, v any) error {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterState is the part of GET /state the tests read.
type clusterState struct {
	ClusterID  string `json:"cluster_id"`
	Leader     string `json:"leader"`
	Frameworks []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		CompletedTasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"completed_tasks"`
	} `json:"frameworks"`
	CompletedFrameworks []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		CompletedTasks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"completed_tasks"`
	} `json:"completed_frameworks"`
	Agents []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"agents"`
}

// waitAgents waits until the server at addr reports n active agents.
func waitAgents(t testing.TB, addr string, n int) clusterState {
	t.Helper()
	var st clusterState
	waitFor(t, 20*time.Second, fmt.Sprintf("%d active agents at %s", n, addr), func() bool {
		// Only an established leader has applied every committed entry
		// (it passed a Barrier); a server still replaying its log after a
		// restart serves an older state.
		var h health
		if getJSON(addr, "/health", &h) != nil || h.Leader == "" {
			return false
		}
		if h.Leader == addr && !h.IsLeader {
			return false
		}
		st = clusterState{}
		if getJSON(addr, "/state", &st) != nil || st.Leader == "" {
			return false
		}
		active := 0
		for _, a := range st.Agents {
			if a.State == "active" {
				active++
			}
		}
		return active >= n
	})
	return st
}
