package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	mapi "mesh/mesos/master"
)

// drainCommand drains an agent (DRAIN_AGENT) or brings one back
// (REACTIVATE_AGENT), and can wait until the drain is done. With
// -attribute it drains every agent that has the attribute (a rack, say)
// and follows them until the last is drained.
func drainCommand() *cli.Command {
	return &cli.Command{
		Name:      "drain",
		Usage:     "drain an agent, or every agent with an attribute: no more offers of it, its tasks killed with their grace periods (capped by -grace); -reactivate brings it back",
		ArgsUsage: "AGENT_ID | -attribute NAME:VALUE",
		Flags: append(clientFlags()[:1],
			&cli.DurationFlag{Name: "grace", Usage: "the longest grace period a task gets to end (default: each task's own; with -attribute, at most -deadline)"},
			&cli.BoolFlag{Name: "mark-gone", Usage: "mark the agent gone once drained: it may never register again"},
			&cli.DurationFlag{Name: "wait", Usage: "wait up to this long for the agent to be DRAINED, printing its state as it changes"},
			&cli.BoolFlag{Name: "reactivate", Usage: "reactivate a deactivated or drained agent instead"},
			&cli.StringFlag{Name: "attribute", Usage: "drain every agent with this attribute (e.g. rack:r1) and print the progress until the last is drained"},
			&cli.DurationFlag{Name: "deadline", Value: 10 * time.Minute, Usage: "with -attribute: how long the agents have to be drained (the command fails past it)"},
		),
		Action: func(c *cli.Context) error {
			api := newAPIClient(c)
			if c.IsSet("attribute") {
				if c.NArg() != 0 || c.Bool("reactivate") || c.IsSet("wait") {
					return fmt.Errorf("usage: mesh drain -attribute NAME:VALUE [-grace D] [-mark-gone] [-deadline D]")
				}
				return drainByAttribute(c, api)
			}
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh drain [-grace D] [-mark-gone] [-wait D] AGENT_ID, mesh drain -attribute NAME:VALUE [-deadline D], or mesh drain -reactivate AGENT_ID")
			}
			id := c.Args().First()
			agentID := map[string]string{"value": id}
			if c.Bool("reactivate") {
				call := map[string]any{"type": mapi.CallReactivateAgent, "reactivate_agent": map[string]any{"agent_id": agentID}}
				if _, err := api.operator(c.Context, call); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "reactivated agent %s\n", id)
				return nil
			}
			grace, err := graceFlag(c, 0)
			if err != nil {
				return err
			}
			if err := drainOne(c.Context, api, id, grace, c.Bool("mark-gone")); err != nil {
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

// graceFlag is -grace, or def when it is not given (nil: no cap).
func graceFlag(c *cli.Context, def time.Duration) (*time.Duration, error) {
	if !c.IsSet("grace") {
		if def > 0 {
			return &def, nil
		}
		return nil, nil
	}
	g := c.Duration("grace")
	if g < 0 {
		return nil, fmt.Errorf("-grace %s must not be negative", g)
	}
	return &g, nil
}

// drainOne makes a DRAIN_AGENT call.
func drainOne(ctx context.Context, api *apiClient, id string, grace *time.Duration, markGone bool) error {
	body := map[string]any{"agent_id": map[string]string{"value": id}, "mark_gone": markGone}
	if grace != nil {
		body["max_grace_period"] = mapi.ProtoDuration{Seconds: int64(*grace / time.Second), Nanos: int32(*grace % time.Second)}
	}
	_, err := api.operator(ctx, map[string]any{"type": mapi.CallDrainAgent, "drain_agent": body})
	return err
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
