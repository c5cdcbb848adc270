package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

func portOf(t *testing.T, addr string) uint32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return uint32(n)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) uint32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := portOf(t, ln.Addr().String())
	ln.Close()
	return p
}

func TestCommandProbe_ExitCodeEnvironmentAndTimeout(t *testing.T) {
	dir := t.TempDir()
	inDir := func(c *mesos.CommandInfo) (*exec.Cmd, error) {
		cmd, err := DefaultCommand(c)
		if cmd != nil {
			cmd.Dir = dir
		}
		return cmd, err
	}
	info := &mesos.CommandInfo{Value: `test "$WHO" = check && test -f ok`,
		Environment: &mesos.Environment{Variables: []mesos.EnvironmentVariable{{Name: "WHO", Value: "check"}}}}
	st, err := commandProbe(context.Background(), inDir, info)
	if err != nil || *st.Command.ExitCode != 1 {
		t.Fatalf("without the file: %+v, %v", st, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ok"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = commandProbe(context.Background(), inDir, info)
	if err != nil || st.Type != mesos.CheckTypeCommand || *st.Command.ExitCode != 0 {
		t.Fatalf("with the file: %+v, %v", st, err)
	}
	shell := false
	st, err = commandProbe(context.Background(), DefaultCommand, &mesos.CommandInfo{Shell: &shell, Value: "sh", Arguments: []string{"sh", "-c", "exit 7"}})
	if err != nil || *st.Command.ExitCode != 7 {
		t.Fatalf("argv command: %+v, %v", st, err)
	}
	// A command that outlives its timeout is killed, its children too.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = commandProbe(ctx, inDir, &mesos.CommandInfo{Value: "sleep 30 & echo $! > child; wait"})
	if err == nil {
		t.Fatal("a timed out command gave a result")
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("the probe waited %s for a killed command", time.Since(start))
	}
	b, _ := os.ReadFile(filepath.Join(dir, "child"))
	if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
		waitGone(t, pid)
	}
	if _, err := commandProbe(context.Background(), DefaultCommand, &mesos.CommandInfo{Shell: &shell, Value: "/no/such/program"}); err == nil {
		t.Fatal("a command that cannot start gave a result")
	}
}

// waitGone waits (bounded) until no process has pid.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		// Gone, or a zombie waiting for init to reap it.
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d of a timed out check still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHTTPProbe_StatusCodesRedirectsAndRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/broken", http.StatusFound)
		case "/broken":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	port := portOf(t, srv.Listener.Addr().String())
	plain := target{scheme: "http"}
	for path, want := range map[string]uint32{"/ok": 204, "/moved": 503, "/nope": 404, "": 404} {
		st, err := httpProbe(context.Background(), plain, port, path)
		if err != nil || st.Type != mesos.CheckTypeHTTP || *st.HTTP.StatusCode != want {
			t.Errorf("GET %q: %+v, %v; want %d", path, st, err, want)
		}
	}
	if st, err := httpProbe(context.Background(), plain, closedPort(t), "/"); err == nil {
		t.Errorf("a closed port gave a result %+v", st)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	u, _ := url.Parse(tlsSrv.URL)
	if st, err := httpProbe(context.Background(), target{scheme: "https"}, portOf(t, u.Host), "/"); err != nil || *st.HTTP.StatusCode != 200 {
		t.Errorf("https with a self-signed certificate: %+v, %v", st, err)
	}
}

func TestTCPProbe_ConnectsOrNot(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log := hclog.NewNullLogger()
	st, err := tcpProbe(context.Background(), target{}, portOf(t, ln.Addr().String()), log)
	if err != nil || !*st.TCP.Succeeded {
		t.Fatalf("open port: %+v, %v", st, err)
	}
	st, err = tcpProbe(context.Background(), target{}, closedPort(t), log)
	if err != nil || *st.TCP.Succeeded {
		t.Fatalf("closed port: %+v, %v (a refused connection is a result: false)", st, err)
	}
}

// TestHealthChecker_RealHTTPCheckOfAClosedPortAsksForTheKill runs the
// real loop and probe on the real clock with short intervals: an HTTP
// health check of a closed port reports unhealthy, counting, until it
// asks for the kill at consecutive_failures.
func TestHealthChecker_RealHTTPCheckOfAClosedPortAsksForTheKill(t *testing.T) {
	two, zero, path := uint32(2), 0.0, "/health"
	hc := mesos.HealthCheck{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckInfo{Port: closedPort(t), Path: &path},
		DelaySeconds: &zero, IntervalSeconds: secs(0.05), TimeoutSeconds: secs(5), GracePeriodSeconds: &zero, ConsecutiveFailures: &two}
	updates := make(chan HealthStatus, 16)
	h, err := NewHealthChecker(Config{TaskID: mesos.TaskID{Value: "t"}}, hc, func(s HealthStatus) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	if s := recv(t, updates, "health"); s.Healthy || s.ConsecutiveFailures != 1 || s.KillTask {
		t.Fatalf("first report %+v", s)
	}
	if s := recv(t, updates, "health"); s.Healthy || s.ConsecutiveFailures != 2 || !s.KillTask {
		t.Fatalf("second report %+v", s)
	}
}

// TestChecker_RealTCPCheckReportsTheListenerClosing: a TCP check reports
// a connection, then its failure once the listener closes.
func TestChecker_RealTCPCheckReportsTheListenerClosing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	zero := 0.0
	c := mesos.CheckInfo{Type: mesos.CheckTypeTCP, TCP: &mesos.CheckTCP{Port: portOf(t, ln.Addr().String())},
		DelaySeconds: &zero, IntervalSeconds: secs(0.05), TimeoutSeconds: secs(5)}
	updates := make(chan mesos.CheckStatusInfo, 16)
	ch, err := NewChecker(Config{TaskID: mesos.TaskID{Value: "t"}}, c, func(s mesos.CheckStatusInfo) { updates <- s })
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Stop()
	if s := recv(t, updates, "check status"); !s.Equal(tcpResult(true)) {
		t.Fatalf("first status %+v", s)
	}
	ln.Close()
	if s := recv(t, updates, "check status"); !s.Equal(tcpResult(false)) {
		t.Fatalf("after the listener closed: %+v", s)
	}
}
