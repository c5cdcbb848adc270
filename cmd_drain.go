package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	mapi "mesh/mesos/master"
)

// drainCommand drains an agent (DRAIN_AGENT) or brings one back
// (REACTIVATE_AGENT), and can wait until the drain is done.
func drainCommand() *cli.Command {
	return &cli.Command{
		Name:      "drain",
		Usage:     "drain an agent: no more offers of it, its tasks killed with their grace periods (capped by -grace); -reactivate brings it back",
		ArgsUsage: "AGENT_ID",
		Flags: append(clientFlags()[:1],
			&cli.DurationFlag{Name: "grace", Usage: "the longest grace period a task gets to end (default: each task's own)"},
			&cli.BoolFlag{Name: "mark-gone", Usage: "mark the agent gone once drained: it may never register again"},
			&cli.DurationFlag{Name: "wait", Usage: "wait up to this long for the agent to be DRAINED, printing its state as it changes"},
			&cli.BoolFlag{Name: "reactivate", Usage: "reactivate a deactivated or drained agent instead"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh drain [-grace D] [-mark-gone] [-wait D] AGENT_ID, or mesh drain -reactivate AGENT_ID")
			}
			id := c.Args().First()
			api := newAPIClient(c)
			agentID := map[string]string{"value": id}
			if c.Bool("reactivate") {
				call := map[string]any{"type": mapi.CallReactivateAgent, "reactivate_agent": map[string]any{"agent_id": agentID}}
				if _, err := api.operator(c.Context, call); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "reactivated agent %s\n", id)
				return nil
			}
			body := map[string]any{"agent_id": agentID, "mark_gone": c.Bool("mark-gone")}
			if c.IsSet("grace") {
				g := c.Duration("grace")
				if g < 0 {
					return fmt.Errorf("-grace %s must not be negative", g)
				}
				body["max_grace_period"] = mapi.ProtoDuration{Seconds: int64(g / time.Second), Nanos: int32(g % time.Second)}
			}
			if _, err := api.operator(c.Context, map[string]any{"type": mapi.CallDrainAgent, "drain_agent": body}); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "draining agent %s\n", id)
			if w := c.Duration("wait"); w > 0 {
				return waitDrained(c, api, id, c.Bool("mark-gone"), w)
			}
			return nil
		},
	}
}

// waitDrained polls GET_AGENTS until the agent is DRAINED (or, for a
// drain that marks it gone, no longer listed), printing each state it
// sees, for at most wait.
func waitDrained(c *cli.Context, api *apiClient, id string, markGone bool, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(c.Context, wait)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		state, err := drainStateOf(ctx, api, id)
		if err != nil {
			return err
		}
		if state != last {
			fmt.Fprintf(c.App.Writer, "agent %s: %s\n", id, state)
			last = state
		}
		if state == mapi.DrainStateDrained || (markGone && state == notListed) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("agent %s is still %s after %s", id, state, wait)
		case <-tick.C:
		}
	}
}

// notListed is the state of an agent GET_AGENTS does not list: it is
// unreachable, or gone.
const notListed = "not registered (unreachable or gone)"

// drainStateOf is an agent's drain state as GET_AGENTS shows it.
func drainStateOf(ctx context.Context, api *apiClient, id string) (string, error) {
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetAgents})
	if err != nil {
		return "", err
	}
	if resp.GetAgents == nil {
		return "", fmt.Errorf("GET_AGENTS: the answer has no get_agents")
	}
	for _, a := range resp.GetAgents.Agents {
		if a.AgentInfo.ID == nil || a.AgentInfo.ID.Value != id {
			continue
		}
		if a.DrainInfo == nil {
			return "not draining", nil
		}
		return a.DrainInfo.State, nil
	}
	return notListed, nil
}
