package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	mapi "mesh/mesos/master"
)

// drainByAttribute drains every agent that has the -attribute (one
// DRAIN_AGENT each, with the tasks' grace capped by -grace, or by
// -deadline when -grace is not given), then prints the progress as it
// changes until every one of them is drained: the rack is empty.
func drainByAttribute(c *cli.Context, api *apiClient) error {
	spec := c.String("attribute")
	want, err := parseAttribute(spec)
	if err != nil {
		return err
	}
	deadline := c.Duration("deadline")
	if deadline <= 0 {
		return fmt.Errorf("-deadline %s must be positive", deadline)
	}
	grace, err := graceFlag(c, deadline)
	if err != nil {
		return err
	}
	agents, err := agentsWith(c.Context, api, want)
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		return fmt.Errorf("no registered agent has the attribute %s", spec)
	}
	var ids []string
	for _, a := range agents {
		id := agentIDOf(a)
		if err := drainOne(c.Context, api, id, grace, c.Bool("mark-gone")); err != nil {
			return fmt.Errorf("agent %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	fmt.Fprintf(c.App.Writer, "draining %d agents with %s: %s\n", len(ids), spec, strings.Join(ids, ", "))
	return waitRackEmpty(c, api, spec, ids, c.Bool("mark-gone"), deadline)
}

// rackProgress is where the drain of a set of agents stands.
type rackProgress struct {
	states map[string]string // agent id → drain state (notListed when gone)
	tasks  int               // live tasks on them
}

// done reports whether every agent is drained (or, for a drain that
// marks them gone, no longer listed).
func (p rackProgress) done(markGone bool) bool {
	for _, s := range p.states {
		if s != mapi.DrainStateDrained && !(markGone && s == notListed) {
			return false
		}
	}
	return true
}

func (p rackProgress) String() string {
	count := map[string]int{}
	for _, s := range p.states {
		count[s]++
	}
	var parts []string
	for _, s := range []string{mapi.DrainStateDraining, mapi.DrainStateDrained, notListed, "not draining"} {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	return fmt.Sprintf("%s; %d tasks left", strings.Join(parts, ", "), p.tasks)
}

// rackProgressOf reads the agents' drain states (GET_AGENTS) and the
// live tasks on them (GET_TASKS).
func rackProgressOf(ctx context.Context, api *apiClient, ids []string) (rackProgress, error) {
	p := rackProgress{states: map[string]string{}}
	in := map[string]bool{}
	for _, id := range ids {
		in[id] = true
		p.states[id] = notListed
	}
	agents, err := listAgents(ctx, api)
	if err != nil {
		return p, err
	}
	for _, a := range agents {
		if id := agentIDOf(a); in[id] {
			p.states[id] = "not draining"
			if a.DrainInfo != nil {
				p.states[id] = a.DrainInfo.State
			}
		}
	}
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetTasks})
	if err != nil {
		return p, err
	}
	if resp.GetTasks != nil {
		for _, t := range resp.GetTasks.Tasks {
			if in[t.AgentID.Value] && !t.State.IsTerminal() {
				p.tasks++
			}
		}
	}
	return p, nil
}

// waitRackEmpty prints the progress each time it changes until every
// agent is drained, for at most deadline.
func waitRackEmpty(c *cli.Context, api *apiClient, spec string, ids []string, markGone bool, deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(c.Context, deadline)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		p, err := rackProgressOf(ctx, api, ids)
		if err != nil {
			return err
		}
		if line := p.String(); line != last {
			fmt.Fprintf(c.App.Writer, "%s: %s\n", spec, line)
			last = line
		}
		if p.done(markGone) && p.tasks == 0 {
			fmt.Fprintf(c.App.Writer, "%s is empty: %d agents drained\n", spec, len(ids))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s is not empty after %s: %s", spec, deadline, p)
		case <-tick.C:
		}
	}
}
