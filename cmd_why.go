package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/allocator"
	mapi "mesh/mesos/master"
	"mesh/server"
)

// whyExamples is how many agents `mesh why` names per role and reason
// when no agent was asked about.
const whyExamples = 5

// whyCommand asks the leader why a framework was (not) offered resources.
func whyCommand() *cli.Command {
	return &cli.Command{
		Name:      "why",
		Usage:     "say why a framework was not offered resources in the last allocation passes (per role and agent)",
		ArgsUsage: "FRAMEWORK (id, or the name of one live framework)",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "agent", Usage: "only this agent (its ID), with every detail"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh why [-agent AGENT_ID] FRAMEWORK")
			}
			api := newAPIClient(c)
			resp, err := askWhy(c.Context, api, c.Args().First(), c.String("agent"))
			if err != nil && strings.Contains(err.Error(), "is not known") {
				// Not an id: perhaps the name of a live framework.
				id, nerr := frameworkByName(c.Context, api, c.Args().First())
				if nerr != nil {
					return nerr
				}
				if id != "" {
					resp, err = askWhy(c.Context, api, id, c.String("agent"))
				}
			}
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, resp)
			}
			printWhy(c.App.Writer, resp, time.Now())
			return nil
		},
	}
}

// askWhy is GET /mesh/v1/why about a framework id (and an agent).
func askWhy(ctx context.Context, api *apiClient, fid, aid string) (*server.WhyResponse, error) {
	q := url.Values{"framework_id": {fid}}
	if aid != "" {
		q.Set("agent_id", aid)
	}
	var resp server.WhyResponse
	if err := api.getJSON(ctx, server.WhyPath+"?"+q.Encode(), &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// frameworkByName is the id of the one live framework named name; ""
// when none is, an error when several are.
func frameworkByName(ctx context.Context, api *apiClient, name string) (string, error) {
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetFrameworks})
	if err != nil {
		return "", err
	}
	if resp.GetFrameworks == nil {
		return "", nil
	}
	var ids []string
	for _, f := range resp.GetFrameworks.Frameworks {
		if f.FrameworkInfo.Name == name && f.FrameworkInfo.ID != nil {
			ids = append(ids, f.FrameworkInfo.ID.Value)
		}
	}
	switch len(ids) {
	case 0:
		return "", nil
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("%d frameworks are named %q (%s): give the id", len(ids), name, strings.Join(ids, ", "))
}

// printWhy renders an answer for people: the last pass's counts, then
// per role the reasons, each with a few agents (or every detail of the
// one agent asked about).
func printWhy(w io.Writer, r *server.WhyResponse, now time.Time) {
	name := ""
	if r.Name != "" {
		name = " (" + r.Name + ")"
	}
	fmt.Fprintf(w, "framework %s%s, roles %s\n", r.FrameworkID, name, strings.Join(r.Roles, ", "))
	if len(r.Passes) > 0 {
		p := r.Passes[0]
		fmt.Fprintf(w, "last allocation pass #%d at %s: %s\n", p.Pass, p.At.Local().Format(time.TimeOnly), countsLine(p.Counts))
		if len(r.Passes) > 1 {
			var older []string
			for _, p := range r.Passes[1:] {
				older = append(older, fmt.Sprintf("#%d %s", p.Pass, countsLine(p.Counts)))
			}
			fmt.Fprintf(w, "earlier passes: %s\n", strings.Join(older, "; "))
		}
	}
	for _, role := range r.Roles {
		fmt.Fprintf(w, "role %s:\n", role)
		if why, ok := r.RoleReasons[role]; ok {
			fmt.Fprintf(w, "  %s\n", describeWhy(allocator.AgentReason{Reason: why, Role: role}, now))
			continue
		}
		var mine []server.WhyAgent
		for _, a := range r.Agents {
			if a.Role == role {
				mine = append(mine, a)
			}
		}
		if len(mine) == 0 {
			fmt.Fprintln(w, "  no agent was considered")
			continue
		}
		if r.AgentID != "" {
			for _, a := range mine {
				fmt.Fprintf(w, "  agent %s: %s\n", agentName(a), describeWhy(a.AgentReason, now))
			}
			continue
		}
		printWhyGroups(w, mine, now)
	}
}

// printWhyGroups prints one role's decisions grouped by reason, the
// largest group first, naming a few agents and describing the first.
func printWhyGroups(w io.Writer, as []server.WhyAgent, now time.Time) {
	groups := map[allocator.Reason][]server.WhyAgent{}
	var order []allocator.Reason
	for _, a := range as {
		if _, ok := groups[a.Reason]; !ok {
			order = append(order, a.Reason)
		}
		groups[a.Reason] = append(groups[a.Reason], a)
	}
	slices.SortStableFunc(order, func(x, y allocator.Reason) int { return len(groups[y]) - len(groups[x]) })
	for _, reason := range order {
		g := groups[reason]
		var names []string
		for _, a := range g[:min(len(g), whyExamples)] {
			names = append(names, agentName(a))
		}
		more := ""
		if len(g) > whyExamples {
			more = fmt.Sprintf(" and %d more", len(g)-whyExamples)
		}
		fmt.Fprintf(w, "  %d agent(s): %s\n    e.g. %s%s\n", len(g), describeWhy(g[0].AgentReason, now), strings.Join(names, ", "), more)
	}
}

func agentName(a server.WhyAgent) string {
	if a.Hostname != "" {
		return a.AgentID + " (" + a.Hostname + ")"
	}
	return a.AgentID
}

// countsLine renders a pass's counts, largest first.
func countsLine(counts map[allocator.Reason]int) string {
	if len(counts) == 0 {
		return "nothing considered"
	}
	var keys []allocator.Reason
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y allocator.Reason) int {
		if counts[x] != counts[y] {
			return counts[y] - counts[x]
		}
		return strings.Compare(string(x), string(y))
	})
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// describeWhy says one decision in words.
func describeWhy(a allocator.AgentReason, now time.Time) string {
	switch a.Reason {
	case allocator.ReasonOffered:
		return "offered"
	case allocator.ReasonFrameworkInactive:
		return "not offered: the framework is not subscribed to the leader (it is offered nothing until it subscribes)"
	case allocator.ReasonSuppressed:
		return fmt.Sprintf("not offered: the framework suppressed role %s (REVIVE resumes offers)", a.Role)
	case allocator.ReasonFiltered:
		until := "a while"
		if !a.Until.IsZero() {
			until = fmt.Sprintf("%s (in %s)", a.Until.Local().Format(time.DateTime), a.Until.Sub(now).Round(time.Second))
		}
		return "not offered: the framework declined these resources; its decline filter lasts until " + until + " (REVIVE lifts it)"
	case allocator.ReasonQuotaLimit:
		return fmt.Sprintf("not offered: role %s (or a parent) is at its quota limit", a.Role)
	case allocator.ReasonQuotaHeadroom:
		return "not offered: what is free is held back for other roles' unmet quota guarantees"
	case allocator.ReasonReservedElsewhere:
		return "not offered: " + orDefault(a.Detail, "what is free is reserved for other roles")
	case allocator.ReasonAgentInactive:
		return "not offered: " + orDefault(a.Detail, "the agent is deactivated or draining")
	case allocator.ReasonAgentDown:
		return "not offered: " + orDefault(a.Detail, "the agent's machine is DOWN for maintenance")
	case allocator.ReasonAgentFull:
		return "not offered: nothing is free on the agent"
	case allocator.ReasonBelowMinimum:
		return "not offered: what is free is less than the minimum allocatable resources"
	case allocator.ReasonGPUAgent:
		return "not offered: the agent has GPUs and the framework did not declare GPU_RESOURCES"
	case allocator.ReasonConstraint:
		return "not offered: offer constraint not met: " + a.Detail
	case allocator.ReasonDRF:
		var ahead []string
		for _, s := range a.Ahead {
			ahead = append(ahead, fmt.Sprintf("%s in role %s (share %.3f)", s.FrameworkID, s.Role, s.Share))
		}
		return fmt.Sprintf("not offered: behind in DRF order (own share %.3f); it went first to %s", a.Share, strings.Join(ahead, ", "))
	}
	return string(a.Reason) + " " + a.Detail
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
