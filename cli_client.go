package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/auth"
	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// This file holds what the commands for people (status, agents, tasks,
// logs, ...) share: the server address, operator API calls, output.

// clientFlags are the flags of every command that talks to a server.
func clientFlags() []cli.Flag {
	return append(addressFlags(), &cli.BoolFlag{Name: "json", Usage: "print JSON for scripts instead of a table"})
}

// addressFlags are -address and the TLS flags: where the servers are and
// how to reach them.
func addressFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "address", Value: "127.0.0.1:5050", EnvVars: []string{"MESH_ADDR"},
			Usage: "HTTP address of any server, or a comma-separated list to try in turn (followers redirect to the leader)"},
	}, append(tlsFlags(), credentialFlags()...)...)
}

// clientHTTP follows the servers' redirects to the leader (307 keeps the
// method and body).
var clientHTTP = &http.Client{Timeout: 30 * time.Second}

// apiClient talks to a server's HTTP API: the first of addrs that
// answers.
type apiClient struct {
	addrs []string
	hc    *http.Client
	// scheme is https with the TLS flags, http without.
	scheme string
	// err is why the TLS flags could not be used; every request fails
	// with it.
	err error
}

// newAPIClient is a client of the -address servers, over TLS with the
// TLS flags (-tls-ca alone is enough; a client certificate is optional).
func newAPIClient(c *cli.Context) *apiClient {
	t, err := loadTLS(c)
	a := &apiClient{hc: clientHTTP, scheme: t.Scheme(), err: err}
	if t != nil {
		// Servers and agents answer the CLI: any mesh role will do.
		a.hc = &http.Client{Timeout: clientHTTP.Timeout, Transport: t.HTTPTransport("")}
	}
	authz, err := clientAuthorization(c)
	if err != nil && a.err == nil {
		a.err = err
	}
	if authz != "" {
		a.hc = &http.Client{Timeout: a.hc.Timeout, Transport: authTransport(a.hc.Transport, authz)}
	}
	return a.with(c.String("address"))
}

// with is a client of the same kind for a comma-separated list of other
// addresses.
func (a *apiClient) with(list string) *apiClient {
	b := &apiClient{hc: a.hc, scheme: a.scheme, err: a.err}
	for _, addr := range strings.Split(list, ",") {
		addr = strings.TrimSpace(addr)
		addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
		if addr != "" {
			b.addrs = append(b.addrs, addr)
		}
	}
	return b
}

// addr is the address in use: the first that answered.
func (a *apiClient) addr() string {
	if len(a.addrs) == 0 {
		return ""
	}
	return a.addrs[0]
}

// send sends a request to the first address that answers (a server that
// cannot be reached is skipped) and returns the answer's status and body.
func (a *apiClient) send(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	if a.err != nil {
		return 0, nil, a.err
	}
	if len(a.addrs) == 0 {
		return 0, nil, fmt.Errorf("no server address: give -address or MESH_ADDR")
	}
	var reasons []string
	for i, addr := range a.addrs {
		req, err := http.NewRequestWithContext(ctx, method, a.scheme+"://"+addr+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, fmt.Errorf("bad -address %q: %v", addr, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
		}
		resp, err := a.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			reasons = append(reasons, addr+": "+reason(err))
			continue
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("read the answer of %s: %v", addr, err)
		}
		a.addrs = a.addrs[i:] // the ones before did not answer
		return resp.StatusCode, b, nil
	}
	return 0, nil, fmt.Errorf("cannot reach a mesh server at %s", strings.Join(reasons, "; "))
}

// reason is why a request got no answer, without Go's request details.
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err.Error()
	}
	return err.Error()
}

// do is send where any answer but a 2xx is an error carrying the
// server's message.
func (a *apiClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	code, b, err := a.send(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	if code/100 != 2 {
		return nil, fmt.Errorf("%s %s: %d %s: %s%s", method, path, code, http.StatusText(code), bytes.TrimSpace(b), authHint(code))
	}
	return b, nil
}

// getJSON fetches path into v.
func (a *apiClient) getJSON(ctx context.Context, path string, v any) error {
	b, err := a.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: unreadable answer: %v", path, err)
	}
	return nil
}

// operator makes one v1 operator API call (POST /api/v1, JSON).
func (a *apiClient) operator(ctx context.Context, call any) (*mapi.Response, error) {
	body, err := json.Marshal(call)
	if err != nil {
		return nil, err
	}
	b, err := a.do(ctx, http.MethodPost, "/api/v1", body)
	if err != nil {
		return nil, err
	}
	resp := &mapi.Response{}
	if len(bytes.TrimSpace(b)) == 0 {
		return resp, nil
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return nil, fmt.Errorf("POST /api/v1: unreadable answer: %v", err)
	}
	return resp, nil
}

// getState makes a GET_STATE call.
func (a *apiClient) getState(ctx context.Context) (*mapi.GetState, error) {
	resp, err := a.operator(ctx, map[string]string{"type": mapi.CallGetState})
	if err != nil {
		return nil, err
	}
	if resp.GetState == nil {
		return nil, fmt.Errorf("GET_STATE: the answer has no get_state")
	}
	return resp.GetState, nil
}

// allTasks lists live, unreachable and completed tasks together.
func allTasks(gt mapi.GetTasks) []mapi.Task {
	out := append(append(append([]mapi.Task(nil), gt.Tasks...), gt.UnreachableTasks...), gt.CompletedTasks...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].FrameworkID.Value != out[j].FrameworkID.Value {
			return out[i].FrameworkID.Value < out[j].FrameworkID.Value
		}
		return out[i].TaskID.Value < out[j].TaskID.Value
	})
	return out
}

// findTask finds the task with id; a task id used by two frameworks
// needs -framework to pick one.
func findTask(st *mapi.GetState, id, framework string) (*mapi.Task, error) {
	var found []mapi.Task
	for _, t := range allTasks(st.GetTasks) {
		if t.TaskID.Value == id && (framework == "" || t.FrameworkID.Value == framework) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no task %q is known to the cluster", id)
	case 1:
		return &found[0], nil
	}
	var fws []string
	for _, t := range found {
		fws = append(fws, t.FrameworkID.Value)
	}
	return nil, fmt.Errorf("task id %q is used by frameworks %s: pick one with -framework", id, strings.Join(fws, ", "))
}

// agentURL returns the base URL of an agent's HTTP server.
func (c *apiClient) agentURL(st *mapi.GetState, id string) (string, error) {
	for _, ag := range st.GetAgents.Agents {
		if ag.AgentInfo.ID == nil || ag.AgentInfo.ID.Value != id {
			continue
		}
		if _, addr, ok := strings.Cut(ag.PID, "@"); ok && addr != "" {
			return c.scheme + "://" + addr, nil
		}
		return fmt.Sprintf("%s://%s:%d", c.scheme, ag.AgentInfo.Hostname, ag.AgentInfo.Port), nil
	}
	return "", fmt.Errorf("agent %s is not registered: its files cannot be read", id)
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table is an aligned table for people.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// scalars renders the scalar resources as "cpus:1 mem:128".
func scalars(rs []mesos.Resource) string {
	sum := map[string]float64{}
	var names []string
	for _, r := range rs {
		if r.Scalar == nil {
			continue
		}
		if _, ok := sum[r.Name]; !ok {
			names = append(names, r.Name)
		}
		sum[r.Name] += r.Scalar.Value
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s:%g", n, sum[n]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// authHint is what a 401 asks of the person at the CLI.
func authHint(code int) string {
	if code != http.StatusUnauthorized {
		return ""
	}
	return " (give -principal NAME and -secret-file FILE, or MESH_PRINCIPAL and MESH_SECRET_FILE)"
}

// authTransport adds the Authorization header authz to every request,
// the ones that follow a redirect to the leader included.
func authTransport(base http.RoundTripper, authz string) http.RoundTripper {
	return &auth.Transport{Base: base, Header: func() string { return authz }}
}
