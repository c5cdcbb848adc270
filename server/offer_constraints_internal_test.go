package server

import (
	"testing"

	"mesh/allocator"
	"mesh/mesos"
)

// infoCapture is an allocator that keeps the agent info it is told.
type infoCapture struct {
	allocator.Allocator
	got *mesos.AgentInfo
}

func (c *infoCapture) SetAgentInfo(_ string, info *mesos.AgentInfo)              { c.got = info }
func (c *infoCapture) SetOfferConstraints(string, *mesos.OfferConstraintsFilter) {}

// TestSetAgentInfo_KeepsNoResources: the allocator is told what offer
// constraints test (hostname, attributes, fault domain), not the agent's
// resources, whose decoded array it would keep for every agent; the
// registration's own info keeps them.
func TestSetAgentInfo_KeepsNoResources(t *testing.T) {
	c := &infoCapture{}
	m := &master{alloc: c}
	res := make(mesos.Resources, 2, 10)
	res[0], res[1] = mesos.ScalarResource("cpus", 2), mesos.ScalarResource("mem", 1024)
	info := mesos.AgentInfo{ID: &mesos.AgentID{Value: "a1"}, Hostname: "h1", Resources: res,
		Attributes: []mesos.Attribute{{Name: "rack", Type: "TEXT", Text: &mesos.Text{Value: "r1"}}}}
	m.setAgentInfo(info)
	if c.got == nil || c.got.Hostname != "h1" || len(c.got.Attributes) != 1 || c.got.Resources != nil {
		t.Fatalf("the allocator was told %+v, want the hostname and attributes without resources", c.got)
	}
	if len(info.Resources) != 2 {
		t.Fatalf("the registration's info lost its resources: %+v", info)
	}
}
