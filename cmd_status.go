package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/server"
)

// serverStatus is one server of `mesh status`.
type serverStatus struct {
	ID        string `json:"id"`
	HTTPAddr  string `json:"http_addr"`
	RaftAddr  string `json:"raft_addr"`
	Suffrage  string `json:"suffrage"`
	RaftState string `json:"raft_state"`
	Healthy   bool   `json:"healthy"`
	Reason    string `json:"reason,omitempty"`
}

// clusterStatus is what `mesh status` shows.
type clusterStatus struct {
	Leader     string         `json:"leader"`
	Quorum     bool           `json:"quorum"`
	Reason     string         `json:"reason,omitempty"` // why the server asked is not healthy
	Servers    []serverStatus `json:"servers"`
	Agents     map[string]int `json:"agents"`
	Frameworks map[string]int `json:"frameworks"`
	Tasks      map[string]int `json:"tasks"`
}

// serverHealth is GET /health of a server (200 or 503, same body).
type serverHealth struct {
	Healthy   bool   `json:"healthy"`
	Leader    string `json:"leader"`
	IsLeader  bool   `json:"is_leader"`
	RaftState string `json:"raft_state"`
	Reason    string `json:"reason"`
}

func fetchHealth(ctx context.Context, a *apiClient) (serverHealth, error) {
	var h serverHealth
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	code, b, err := a.send(ctx, http.MethodGet, "/health", nil)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("GET %s/health: %d %s: unreadable answer: %v", a.addr(), code, http.StatusText(code), err)
	}
	return h, nil
}

// gatherStatus asks the server at the client's address for the raft
// peers, each peer for its health, and the leader for its state.
func gatherStatus(ctx context.Context, a *apiClient) (*clusterStatus, error) {
	h, err := fetchHealth(ctx, a)
	if err != nil {
		return nil, err
	}
	var peers []server.RaftPeer
	if err := a.getJSON(ctx, "/internal/v1/raft/peers", &peers); err != nil {
		return nil, err
	}
	cs := &clusterStatus{Leader: h.Leader, Reason: h.Reason, Agents: map[string]int{}, Frameworks: map[string]int{}, Tasks: map[string]int{}}
	healthy := 0
	for _, p := range peers {
		s := serverStatus{ID: p.ID, HTTPAddr: p.HTTPAddr, RaftAddr: p.Address, Suffrage: p.Suffrage, RaftState: "unreachable"}
		if ph, err := fetchHealth(ctx, a.with(p.HTTPAddr)); err != nil {
			s.Reason = err.Error()
		} else {
			s.RaftState, s.Healthy, s.Reason = strings.ToLower(ph.RaftState), ph.Healthy, ph.Reason
		}
		if s.Healthy && p.Suffrage == "Voter" {
			healthy++
		}
		cs.Servers = append(cs.Servers, s)
	}
	voters := 0
	for _, p := range peers {
		if p.Suffrage == "Voter" {
			voters++
		}
	}
	cs.Quorum = h.Leader != "" && healthy > voters/2
	if h.Leader == "" {
		return cs, nil // no leader: the cluster state cannot be read
	}
	st, err := a.getState(ctx)
	if err != nil {
		return nil, err
	}
	for _, ag := range st.GetAgents.Agents {
		if ag.Active {
			cs.Agents["active"]++
		} else {
			cs.Agents["inactive"]++
		}
	}
	cs.Frameworks["active"] = len(st.GetFrameworks.Frameworks)
	cs.Frameworks["completed"] = len(st.GetFrameworks.CompletedFrameworks)
	for _, t := range allTasks(st.GetTasks) {
		cs.Tasks[string(t.State)]++
	}
	return cs, nil
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the servers, their raft roles and health, and agents, frameworks and tasks by state; exits 1 without a leader and a quorum",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			cs, err := gatherStatus(c.Context, newAPIClient(c))
			if err != nil {
				return err
			}
			w := c.App.Writer
			if c.Bool("json") {
				if err := printJSON(w, cs); err != nil {
					return err
				}
				return cs.problem()
			}
			leader := cs.Leader
			if leader == "" {
				leader = "none (no quorum, or an election is under way)"
			}
			raft := "healthy"
			if !cs.Quorum {
				raft = "no quorum"
			}
			fmt.Fprintf(w, "Leader:  %s\nRaft:    %s\n\n", leader, raft)
			t := newTable(w, "ID", "HTTP ADDRESS", "RAFT ADDRESS", "SUFFRAGE", "RAFT STATE", "HEALTHY")
			for _, s := range cs.Servers {
				t.row(s.ID, s.HTTPAddr, s.RaftAddr, s.Suffrage, s.RaftState, fmt.Sprint(s.Healthy))
			}
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "\nAgents:      %s\nFrameworks:  %s\nTasks:       %s\n",
				counts(cs.Agents), counts(cs.Frameworks), counts(cs.Tasks))
			return cs.problem()
		},
	}
}

// problem is nil for a cluster with a leader and a quorum of healthy
// voters, and otherwise says what is wrong: `mesh status` then exits 1,
// after printing what it knows, so scripts and probes can tell.
func (cs *clusterStatus) problem() error {
	if cs.Quorum {
		return nil
	}
	voters, healthy := 0, 0
	for _, s := range cs.Servers {
		if s.Suffrage == "Voter" {
			voters++
			if s.Healthy {
				healthy++
			}
		}
	}
	msg := "no quorum"
	if cs.Leader == "" {
		msg = "no leader"
		if r := cs.Reason; strings.HasPrefix(r, "no leader") {
			msg = r
		} else if r != "" {
			msg += ": " + r
		}
	}
	if voters == 0 {
		return fmt.Errorf("%s; the server is in no raft configuration yet", msg)
	}
	return fmt.Errorf("%s; %d of %d servers healthy, %d needed for a quorum", msg, healthy, voters, voters/2+1)
}

// counts renders a tally as "a 1, b 2", sorted by name.
func counts(m map[string]int) string {
	var keys []string
	for k, n := range m {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func agentsCommand() *cli.Command {
	return &cli.Command{
		Name:  "agents",
		Usage: "list the registered agents",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			resp, err := newAPIClient(c).operator(c.Context, map[string]string{"type": "GET_AGENTS"})
			if err != nil {
				return err
			}
			if resp.GetAgents == nil {
				return fmt.Errorf("GET_AGENTS: the answer has no get_agents")
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, resp.GetAgents)
			}
			t := newTable(c.App.Writer, "ID", "ADDRESS", "STATE", "TOTAL", "ALLOCATED")
			for _, a := range resp.GetAgents.Agents {
				id, state := "", "active"
				if a.AgentInfo.ID != nil {
					id = a.AgentInfo.ID.Value
				}
				switch {
				case a.DrainInfo != nil:
					state = strings.ToLower(a.DrainInfo.State)
				case a.Deactivated:
					state = "deactivated"
				case !a.Active:
					state = "inactive"
				}
				_, addr, _ := strings.Cut(a.PID, "@")
				t.row(id, addr, state, scalars(a.TotalResources), scalars(a.AllocatedResources))
			}
			return t.flush()
		},
	}
}

func frameworksCommand() *cli.Command {
	return &cli.Command{
		Name:  "frameworks",
		Usage: "list the frameworks, live and completed",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			resp, err := newAPIClient(c).operator(c.Context, map[string]string{"type": "GET_FRAMEWORKS"})
			if err != nil {
				return err
			}
			if resp.GetFrameworks == nil {
				return fmt.Errorf("GET_FRAMEWORKS: the answer has no get_frameworks")
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, resp.GetFrameworks)
			}
			t := newTable(c.App.Writer, "ID", "NAME", "ROLES", "STATE", "ALLOCATED")
			fws := append(append(resp.GetFrameworks.Frameworks[:0:0], resp.GetFrameworks.Frameworks...), resp.GetFrameworks.CompletedFrameworks...)
			for i, f := range fws {
				state := "disconnected"
				switch {
				case i >= len(resp.GetFrameworks.Frameworks):
					state = "completed"
				case f.Active:
					state = "active"
				}
				roles := f.FrameworkInfo.Roles
				if len(roles) == 0 && f.FrameworkInfo.Role != "" {
					roles = []string{f.FrameworkInfo.Role}
				}
				id := ""
				if f.FrameworkInfo.ID != nil {
					id = f.FrameworkInfo.ID.Value
				}
				t.row(id, f.FrameworkInfo.Name, strings.Join(roles, ","), state, scalars(f.AllocatedResources))
			}
			return t.flush()
		},
	}
}
