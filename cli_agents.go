package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

// parseAttribute reads the NAME:VALUE of a -attribute flag as an agent's
// -attributes entry.
func parseAttribute(s string) (mesos.Attribute, error) {
	attrs, err := mesos.ParseAttributes(s)
	if err != nil {
		return mesos.Attribute{}, fmt.Errorf("-attribute %q: %v", s, err)
	}
	if len(attrs) != 1 {
		return mesos.Attribute{}, fmt.Errorf("-attribute %q: want one NAME:VALUE, such as rack:r1", s)
	}
	return attrs[0], nil
}

// hasAttribute reports whether the agent has the attribute, with the
// same type and value.
func hasAttribute(info mesos.AgentInfo, want mesos.Attribute) bool {
	w, _ := json.Marshal(want)
	for _, a := range info.Attributes {
		if a.Name != want.Name {
			continue
		}
		if b, _ := json.Marshal(a); bytes.Equal(b, w) {
			return true
		}
	}
	return false
}

// agentsWith lists the registered agents that have the attribute.
func agentsWith(ctx context.Context, api *apiClient, want mesos.Attribute) ([]mapi.Agent, error) {
	agents, err := listAgents(ctx, api)
	if err != nil {
		return nil, err
	}
	var out []mapi.Agent
	for _, a := range agents {
		if hasAttribute(a.AgentInfo, want) {
			out = append(out, a)
		}
	}
	return out, nil
}

// listAgents makes a GET_AGENTS call.
func listAgents(ctx context.Context, api *apiClient) ([]mapi.Agent, error) {
	resp, err := api.operator(ctx, map[string]string{"type": mapi.CallGetAgents})
	if err != nil {
		return nil, err
	}
	if resp.GetAgents == nil {
		return nil, fmt.Errorf("GET_AGENTS: the answer has no get_agents")
	}
	return resp.GetAgents.Agents, nil
}

// agentMachine is the machine an agent runs on: its hostname and the IP
// of its pid (slave(1)@IP:PORT), as the server matches it.
func agentMachine(a mapi.Agent) mesos.MachineID {
	m := mesos.MachineID{Hostname: a.AgentInfo.Hostname}
	if _, addr, ok := strings.Cut(a.PID, "@"); ok {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			m.IP = host
		}
	}
	return m
}

// agentID is an agent's id, "" if it has none.
func agentIDOf(a mapi.Agent) string {
	if a.AgentInfo.ID == nil {
		return ""
	}
	return a.AgentInfo.ID.Value
}
