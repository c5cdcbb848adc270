package server

import (
	"sync"

	"mesh/mesos/agentapi"
)

// pendingKills are the KILLs the leader has sent for tasks that have not
// ended yet, by agent. A kill sent while the agent is disconnected, or
// into a stream that was closing, would otherwise be lost; the leader
// sends the kills of an agent's live tasks again when the agent
// registers, as Mesos' master does for the tasks it was asked to kill on
// a disconnected agent. A task's entry goes when the task ends; what the
// leader forgets on a leader change the framework's next KILL (or
// reconciliation) restores, as in Mesos.
type pendingKills struct {
	mu      sync.Mutex
	byAgent map[string]map[string]agentapi.Kill // agent → framework/task → kill
}

func killKey(fid, tid string) string { return fid + "/" + tid }

// add remembers a kill sent for a task on an agent.
func (p *pendingKills) add(agentID string, k agentapi.Kill) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byAgent == nil {
		p.byAgent = map[string]map[string]agentapi.Kill{}
	}
	if p.byAgent[agentID] == nil {
		p.byAgent[agentID] = map[string]agentapi.Kill{}
	}
	p.byAgent[agentID][killKey(k.FrameworkID.Value, k.TaskID.Value)] = k
}

// done forgets the kill of a task that ended.
func (p *pendingKills) done(agentID, fid, tid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ks := p.byAgent[agentID]; ks != nil {
		delete(ks, killKey(fid, tid))
		if len(ks) == 0 {
			delete(p.byAgent, agentID)
		}
	}
}

// of returns the kills of an agent's tasks that live decides still run,
// forgetting the others.
func (p *pendingKills) of(agentID string, live func(fid, tid string) bool) []agentapi.Kill {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []agentapi.Kill
	for key, k := range p.byAgent[agentID] {
		if live(k.FrameworkID.Value, k.TaskID.Value) {
			out = append(out, k)
		} else {
			delete(p.byAgent[agentID], key)
		}
	}
	if len(p.byAgent[agentID]) == 0 {
		delete(p.byAgent, agentID)
	}
	return out
}

// forget drops every kill of an agent that is gone for good.
func (p *pendingKills) forget(agentID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.byAgent, agentID)
}
