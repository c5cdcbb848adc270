package allocator

import (
	"fmt"
	"testing"

	"mesh/mesos"
)

func addAgents(d *DRF, n int) {
	for i := 1; i <= n; i++ {
		d.AddAgent(fmt.Sprintf("a%d", i), res(4, 4096), nil)
	}
}

// A parent role's share is the sum of its children's: eng/web and eng/db
// together get what ops alone gets. (Flat DRF would give each of the three
// roles a third: db, web, ops, db.)
func TestDRF_HierarchicalRolesShareAsTheirParent(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("web", []string{"eng/web"}, nil)
	d.AddFramework("db", []string{"eng/db"}, nil)
	d.AddFramework("ops", []string{"ops"}, nil)
	addAgents(d, 4)
	wantOwners(t, pass(t, d, rec), "a1:db", "a2:ops", "a3:web", "a4:ops")
}

// A role with frameworks of its own and children with frameworks competes
// with its children beneath its node.
func TestDRF_InternalRoleCompetesWithItsChildren(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("eng", []string{"eng"}, nil)
	d.AddFramework("web", []string{"eng/web"}, nil)
	d.AddFramework("ops", []string{"ops"}, nil)
	addAgents(d, 4)
	wantOwners(t, pass(t, d, rec), "a1:eng", "a2:ops", "a3:web", "a4:ops")
}

// Weights apply at every level: eng and ops weigh the same and get half
// the agents each; within eng, eng/web (weight 3) gets three times what
// eng/db gets. (Flat DRF would weigh eng/web against ops too.)
func TestDRF_WeightsAtEveryLevel(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.SetWeight("eng/web", 3)
	d.AddFramework("web", []string{"eng/web"}, nil)
	d.AddFramework("db", []string{"eng/db"}, nil)
	d.AddFramework("ops", []string{"ops"}, nil)
	addAgents(d, 8)
	got := map[string]int{}
	for _, a := range pass(t, d, rec) {
		got[a.Role]++
	}
	if got["eng/web"] != 3 || got["eng/db"] != 1 || got["ops"] != 4 {
		t.Fatalf("agents per role = %v, want eng/web:3 eng/db:1 ops:4", got)
	}
}

// What a role's inactive frameworks hold still counts toward its parent:
// eng holds half the cluster through eng/batch, so ops, holding nothing,
// gets the free agents before eng/web does.
func TestDRF_InactiveDescendantsCountTowardTheParent(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddFramework("batch", []string{"eng/batch"}, nil)
	d.AddFramework("web", []string{"eng/web"}, nil)
	d.AddFramework("ops", []string{"ops"}, nil)
	d.DeactivateFramework("batch")
	d.AddAgent("a0", res(8, 8192), map[string]mesos.Resources{"batch": res(8, 8192)})
	addAgents(d, 2)
	wantOwners(t, pass(t, d, rec), "a1:ops", "a2:ops")
}
