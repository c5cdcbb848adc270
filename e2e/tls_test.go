package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tlsHosts are the addresses the test certificates are valid for: the
// HTTP APIs on 127.0.0.1, raft on a loopback IP per server.
const tlsHosts = "127.0.0.1,127.0.0.11,127.0.0.12,127.0.0.13,localhost"

// tlsInit runs `mesh tls init` into a new directory and returns it.
func tlsInit(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tls")
	if out, code := run(t, time.Minute, "tls", "init", "-hosts", tlsHosts, dir); code != 0 {
		t.Fatalf("mesh tls init exited %d:\n%s", code, out)
	}
	return dir
}

// tlsArgs are the TLS flags of a process presenting dir's ROLE.pem.
func tlsArgs(dir, role string) []string {
	return []string{"-tls-ca", filepath.Join(dir, "ca.pem"),
		"-tls-cert", filepath.Join(dir, role+".pem"), "-tls-key", filepath.Join(dir, role+"-key.pem")}
}

// tlsClient is an HTTPS client trusting dir's CA and presenting its
// ROLE.pem ("" for none).
func tlsClient(t *testing.T, dir, role string) *http.Client {
	t.Helper()
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig(t, dir, role)}}
}

func tlsConfig(t *testing.T, dir, role string) *tls.Config {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ca.pem holds no certificate")
	}
	cfg := &tls.Config{RootCAs: pool}
	if role != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, role+".pem"), filepath.Join(dir, role+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// httpsJSON GETs https://addr/path into v.
func httpsJSON(c *http.Client, addr, path string, v any) error {
	resp, err := c.Get("https://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// servedSerial is the serial of the certificate the server at addr
// serves now.
func servedSerial(t *testing.T, dir, addr string) *big.Int {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, tlsConfig(t, dir, ""))
	if err != nil {
		t.Fatalf("tls dial %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

func TestTLS_ClusterServesOnlyMutualTLS(t *testing.T) {
	dir := tlsInit(t)
	c := newClusterWith(t, 3, false, testRaftTiming...)
	for _, s := range c.servers {
		// Each server has its own copy of the server pair, so that one
		// can be renewed alone.
		own := filepath.Join(t.TempDir(), "server")
		for _, ext := range []string{".pem", "-key.pem"} {
			b, err := os.ReadFile(filepath.Join(dir, "server"+ext))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(own+ext, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s.args = append(s.args, "-tls-ca", filepath.Join(dir, "ca.pem"), "-tls-cert", own+".pem", "-tls-key", own+"-key.pem")
		c.start(s)
	}
	client := tlsClient(t, dir, "client")
	// The raft configuration is for servers and operators only.
	serverClient := tlsClient(t, dir, "server")
	leader := ""
	waitFor(t, 60*time.Second, "a leader over https that every server names", func() bool {
		names := map[string]bool{}
		for _, s := range c.servers {
			var h health
			if httpsJSON(client, s.httpAddr, "/health", &h) != nil || h.Leader == "" {
				return false
			}
			names[h.Leader] = true
		}
		for l := range names {
			leader = l
		}
		return len(names) == 1
	})
	var peers []struct {
		ID string `json:"id"`
	}
	waitFor(t, 30*time.Second, "three raft peers", func() bool {
		return httpsJSON(serverClient, leader, "/internal/v1/raft/peers", &peers) == nil && len(peers) == 3
	})

	agent := start(t, append([]string{"agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t),
		"-work-dir", t.TempDir(), "-resources", agentResources}, tlsArgs(dir, "agent")...)...)
	activeAgents := func() int {
		var st clusterState
		if httpsJSON(client, leader, "/state", &st) != nil {
			return -1
		}
		n := 0
		for _, a := range st.Agents {
			if a.State == "active" {
				n++
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "the agent registered over mutual TLS", func() bool { return activeAgents() == 1 })

	t.Run("framework over https", func(t *testing.T) {
		out, code := run(t, 3*time.Minute, "execute", "-master", c.addrs(), "-tls-ca", filepath.Join(dir, "ca.pem"),
			"-name", "tls-hello", "-command", "echo hello over tls", "-cpus", "0.1", "-mem", "32")
		if code != 0 || !strings.Contains(out, "hello over tls") {
			t.Fatalf("mesh execute over TLS exited %d:\n%s", code, out)
		}
		// The CLI reads the state over TLS with -tls-ca alone.
		out, code = run(t, time.Minute, "tasks", "-address", c.addrs(), "-tls-ca", filepath.Join(dir, "ca.pem"))
		if code != 0 || !strings.Contains(out, "tls-hello") {
			t.Fatalf("mesh tasks over TLS exited %d:\n%s", code, out)
		}
	})

	t.Run("web ui forwards over tls", func(t *testing.T) {
		var follower string
		for _, s := range c.servers {
			if s.httpAddr != leader {
				follower = s.httpAddr
			}
		}
		// Each server's health, asked by the follower over TLS.
		var ui struct {
			Servers []struct {
				Healthy bool   `json:"healthy"`
				Reason  string `json:"reason"`
			} `json:"servers"`
		}
		waitFor(t, 20*time.Second, "every server healthy in the follower's /ui/servers", func() bool {
			if httpsJSON(client, follower, "/ui/servers", &ui) != nil || len(ui.Servers) != 3 {
				return false
			}
			for _, s := range ui.Servers {
				if !s.Healthy {
					return false
				}
			}
			return true
		})
		// An operator call forwarded by the follower to the leader.
		resp, err := client.Post("https://"+follower+"/ui/api/v1", "application/json", strings.NewReader(`{"type":"GET_AGENTS"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "agent_info") {
			t.Fatalf("GET_AGENTS through the follower's UI: %s %s (servers: %+v)", resp.Status, body, ui.Servers)
		}
	})

	t.Run("plain http refused", func(t *testing.T) {
		for _, s := range c.servers {
			resp, err := http.Get("http://" + s.httpAddr + "/state")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "frameworks") {
					t.Fatalf("plain HTTP GET /state on %s answered %s: %s", s.httpAddr, resp.Status, body)
				}
			}
		}
		// Each server says so in its log.
		for _, s := range c.servers {
			waitFor(t, 10*time.Second, "a server logging the plain HTTP request", func() bool {
				return strings.Contains(s.p.out.String(), "client sent an HTTP request to an HTTPS server")
			})
		}
		// And the agent's API.
		var st struct{}
		if err := getJSON(agentAddr(t, agent), "/state", &st); err == nil {
			t.Fatal("the agent answered plain HTTP")
		}
	})

	t.Run("agent of another CA cannot register", func(t *testing.T) {
		other := tlsInit(t)
		// It trusts the cluster's CA (and its own) but presents a
		// certificate of its own CA: the servers must refuse it.
		both := filepath.Join(t.TempDir(), "both-ca.pem")
		var cas []byte
		for _, d := range []string{dir, other} {
			b, err := os.ReadFile(filepath.Join(d, "ca.pem"))
			if err != nil {
				t.Fatal(err)
			}
			cas = append(cas, b...)
		}
		if err := os.WriteFile(both, cas, 0o644); err != nil {
			t.Fatal(err)
		}
		p := start(t, "agent", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(), "-resources", agentResources,
			"-log-level", "debug", "-tls-ca", both,
			"-tls-cert", filepath.Join(other, "agent.pem"), "-tls-key", filepath.Join(other, "agent-key.pem"))
		waitFor(t, 30*time.Second, "the foreign agent's certificate refused", func() bool {
			o := p.out.String()
			return strings.Contains(o, "cannot register with a server") && strings.Contains(o, "certificate")
		})
		if n := activeAgents(); n != 1 {
			t.Fatalf("%d agents registered, want only the cluster's own", n)
		}
		p.stop(t)
		// A client certificate of the cluster's CA is not an agent's.
		body := `{"type":"SUBSCRIBE","subscribe":{"agent_info":{"hostname":"x"}}}`
		resp, err := client.Post("https://"+leader+"/internal/v1/agent", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), "role agent") {
			t.Fatalf("agent protocol with a client certificate: %s %s", resp.Status, msg)
		}
	})

	t.Run("client certificate cannot join raft", func(t *testing.T) {
		s := c.servers[0]
		raftAddr := s.raftAddr
		cfg := tlsConfig(t, dir, "client")
		conn, err := tls.Dial("tcp", raftAddr, cfg)
		if err == nil {
			// TLS 1.3: the server checks the client's certificate after
			// the client's handshake returns; its verdict comes on read.
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			conn.Write([]byte{0})
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Fatal("raft accepted a connection with a client certificate")
		}
		waitFor(t, 10*time.Second, "the server saying why it refused", func() bool {
			o := s.p.out.String()
			return strings.Contains(o, "refused a raft connection") && strings.Contains(o, "for role client")
		})
		// Nor can it ask to be added through the HTTP API.
		body, _ := json.Marshal(map[string]string{"node_id": "intruder", "raft_addr": "127.0.0.1:1", "http_addr": "127.0.0.1:2"})
		resp, err := client.Post("https://"+leader+"/internal/v1/join", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), "role server") {
			t.Fatalf("join with a client certificate: %s %s", resp.Status, msg)
		}
		if err := httpsJSON(serverClient, leader, "/internal/v1/raft/peers", &peers); err != nil || len(peers) != 3 {
			t.Fatalf("raft peers after the attempts: %v %v", len(peers), err)
		}
	})

	t.Run("sighup reloads the server certificate", func(t *testing.T) {
		s := c.servers[1]
		before := servedSerial(t, dir, s.httpAddr)
		var certPath, keyPath string
		for i, a := range s.args {
			switch a {
			case "-tls-cert":
				certPath = s.args[i+1]
			case "-tls-key":
				keyPath = s.args[i+1]
			}
		}
		fresh := filepath.Join(t.TempDir(), "renewed")
		if out, code := run(t, time.Minute, "tls", "cert", "-ca", dir, "-role", "server", "-hosts", tlsHosts, "-out", fresh); code != 0 {
			t.Fatalf("mesh tls cert exited %d:\n%s", code, out)
		}
		if err := os.Rename(fresh+"-key.pem", keyPath); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(fresh+".pem", certPath); err != nil {
			t.Fatal(err)
		}
		if got := servedSerial(t, dir, s.httpAddr); got.Cmp(before) != 0 {
			t.Fatal("the certificate changed before SIGHUP")
		}
		if err := s.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the renewed certificate served", func() bool {
			return servedSerial(t, dir, s.httpAddr).Cmp(before) != 0
		})
		if !s.running() {
			t.Fatal("the server stopped on SIGHUP")
		}
		// Raft goes on with the renewed certificate: the cluster still
		// commits (a framework's registration is a raft entry).
		out, code := run(t, 3*time.Minute, "execute", "-master", c.addrs(), "-tls-ca", filepath.Join(dir, "ca.pem"),
			"-name", "tls-after-reload", "-command", "true", "-cpus", "0.1", "-mem", "32")
		if code != 0 {
			t.Fatalf("mesh execute after the reload exited %d:\n%s", code, out)
		}
	})
}

// agentAddr is the -http-addr an agent was started with.
func agentAddr(t *testing.T, p *proc) string {
	t.Helper()
	for i, a := range p.cmd.Args {
		if a == "-http-addr" && i+1 < len(p.cmd.Args) {
			return p.cmd.Args[i+1]
		}
	}
	t.Fatal("the agent has no -http-addr")
	return ""
}

func TestTLS_AgentRefusesAServerWithoutTheServerRole(t *testing.T) {
	dir := tlsInit(t)
	// A "server" presenting the agent certificate: signed by the CA, but
	// not a server's.
	httpAddr := freePort(t)
	start(t, append([]string{"server", "-data-dir", t.TempDir(), "-http-addr", httpAddr, "-raft-addr", freePort(t),
		"-bootstrap-expect", "1"}, tlsArgs(dir, "agent")...)...)
	client := tlsClient(t, dir, "client")
	waitFor(t, 30*time.Second, "the impostor leading", func() bool {
		var h health
		return httpsJSON(client, httpAddr, "/health", &h) == nil && h.IsLeader
	})
	ag := start(t, append([]string{"agent", "-join", httpAddr, "-http-addr", freePort(t), "-work-dir", t.TempDir(),
		"-resources", agentResources, "-log-level", "debug"}, tlsArgs(dir, "agent")...)...)
	waitFor(t, 30*time.Second, "the agent refusing the impostor", func() bool {
		o := ag.out.String()
		return strings.Contains(o, "cannot register with a server") && strings.Contains(o, "is for role agent; want [server]")
	})
	if strings.Contains(ag.out.String(), "registered:") {
		t.Fatal("the agent registered with a server whose certificate is an agent's")
	}
	var st clusterState
	if err := httpsJSON(client, httpAddr, "/state", &st); err != nil || len(st.Agents) != 0 {
		t.Fatalf("the impostor knows %d agents (%v)", len(st.Agents), err)
	}
}

func TestTLS_DevRunsTasksOverTLS(t *testing.T) {
	dir := tlsInit(t)
	httpAddr, agentAddr := freePort(t), freePort(t)
	dev := start(t, append([]string{"dev", "-http-addr", httpAddr, "-agent-http-addr", agentAddr,
		"-resources", "cpus:2;mem:1024;disk:1000;ports:[31000-31100]",
		"-agent-tls-cert", filepath.Join(dir, "agent.pem"), "-agent-tls-key", filepath.Join(dir, "agent-key.pem")},
		tlsArgs(dir, "server")...)...)
	waitFor(t, 60*time.Second, "mesh dev to say it is running", func() bool {
		return strings.Contains(dev.out.String(), "https://"+httpAddr+"/api/v1/scheduler")
	})
	ca := filepath.Join(dir, "ca.pem")
	out, code := run(t, 2*time.Minute, "execute", "-master", httpAddr, "-tls-ca", ca, "-name", "dev-tls",
		"-command", "echo hello from a tls dev", "-instances", "2", "-output", "all")
	if code != 0 || strings.Count(out, "hello from a tls dev") != 2 {
		t.Fatalf("mesh execute over TLS exited %d:\n%s", code, out)
	}
	// The task's output through the agent's TLS files API.
	out, code = run(t, time.Minute, "logs", "-address", httpAddr, "-tls-ca", ca, "dev-tls-0")
	if code != 0 || !strings.Contains(out, "hello from a tls dev") {
		t.Fatalf("mesh logs over TLS exited %d:\n%s", code, out)
	}
	// Without -tls-ca the client cannot talk to it.
	if out, code := run(t, time.Minute, "tasks", "-address", httpAddr); code == 0 {
		t.Fatalf("mesh tasks without -tls-ca exited 0:\n%s", out)
	}
	// Half the TLS flags: refused at start, saying what is missing.
	out, code = run(t, time.Minute, append([]string{"dev", "-http-addr", freePort(t), "-agent-http-addr", freePort(t)}, tlsArgs(dir, "server")...)...)
	if code == 0 || !strings.Contains(out, "-agent-tls-cert") {
		t.Fatalf("mesh dev without the agent's certificate exited %d:\n%s", code, out)
	}
}
