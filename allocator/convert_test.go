package allocator

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"mesh/mesos"
)

func reservedFor(r mesos.Resource, role string) mesos.Resource {
	c := r.Clone()
	c.Reservations = append(c.Reservations, mesos.ReservationInfo{Type: mesos.ReservationDynamic, Role: role})
	return c
}

// TestDRF_ReservedResourcesGoOnlyToTheirRoleAndItsChildren: in many
// seeded random set-ups of agents with resources reserved (statically or
// dynamically) for random roles, and frameworks in random roles, every
// offered resource that is reserved goes to a framework whose role is the
// reservation's role or one of its children.
func TestDRF_ReservedResourcesGoOnlyToTheirRoleAndItsChildren(t *testing.T) {
	roles := []string{"a", "a/x", "a/x/y", "b", "b/z", "ab"}
	for seed := int64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		d, rec, clock := newTestDRF(t)
		fwRole := map[string]string{}
		for i := 0; i < 1+rng.Intn(5); i++ {
			id := fmt.Sprintf("f%d", i)
			fwRole[id] = roles[rng.Intn(len(roles))]
			d.AddFramework(id, []string{fwRole[id]}, nil)
		}
		for i := 0; i < 1+rng.Intn(4); i++ {
			total := mesos.Resources{mesos.ScalarResource("cpus", 1), mesos.ScalarResource("mem", 64)}
			for j := 0; j < rng.Intn(3); j++ {
				total = append(total, reservedFor(mesos.ScalarResource("cpus", float64(1+rng.Intn(3))), roles[rng.Intn(len(roles))]))
			}
			total = mesos.Resources(nil).Add(total...)
			d.AddAgent(fmt.Sprintf("s%d", i), total, nil)
		}
		for round := 0; round < 5; round++ {
			for _, a := range pass(t, d, rec) {
				for _, r := range a.Resources {
					rr := r.ReservationRole()
					if rr != "*" && rr != a.Role && !mesos.IsStrictSubrole(a.Role, rr) {
						t.Fatalf("seed %d: %s reserved for %s offered to role %s", seed, mesos.Resources{r}, rr, a.Role)
					}
					if a.Role != fwRole[a.FrameworkID] {
						t.Fatalf("seed %d: framework %s of role %s offered in role %s", seed, a.FrameworkID, fwRole[a.FrameworkID], a.Role)
					}
				}
				// Decline half of the offers so that the next pass
				// offers them elsewhere.
				if rng.Intn(2) == 0 {
					d.Recover(a.FrameworkID, a.AgentID, a.Resources, time.Second)
				}
			}
			clock.Advance(2 * time.Second)
		}
	}
}

func TestDRF_ConvertReservesFreeResourcesForTheirRoleOnly(t *testing.T) {
	d, rec, _ := newTestDRF(t)
	d.AddAgent("s1", mesos.Resources{mesos.ScalarResource("cpus", 4)}, nil)
	from := mesos.Resources{mesos.ScalarResource("cpus", 3)}
	to := mesos.Resources{reservedFor(mesos.ScalarResource("cpus", 3), "db")}
	if err := d.Convert("", "s1", from, to); err != nil {
		t.Fatal(err)
	}
	if err := d.Convert("", "s1", from, to); !errors.Is(err, ErrNotFree) {
		t.Fatalf("converting what is no longer there: %v", err)
	}
	d.AddFramework("web", []string{"web"}, nil)
	round := pass(t, d, rec)
	if len(round) != 1 || round[0].Resources.Scalar("cpus") != 1 {
		t.Fatalf("role web was offered %+v, want the one unreserved cpu", round)
	}
	d.AddFramework("db", []string{"db"}, nil)
	round = pass(t, d, rec)
	if len(round) != 1 || round[0].FrameworkID != "db" || round[0].Resources.Scalar("cpus") != 3 {
		t.Fatalf("role db was offered %+v, want its 3 reserved cpus", round)
	}
	// The framework's RESERVE-style conversion of what it holds: the
	// reserved cpus become unreserved and go to web once recovered.
	if err := d.Convert("db", "s1", round[0].Resources, mesos.Resources{mesos.ScalarResource("cpus", 3)}.Allocate("db")); err != nil {
		t.Fatal(err)
	}
	d.Recover("db", "s1", mesos.Resources{mesos.ScalarResource("cpus", 3)}.Allocate("db"), time.Hour)
	round = pass(t, d, rec)
	if len(round) != 1 || round[0].FrameworkID != "web" || round[0].Resources.Scalar("cpus") != 3 {
		t.Fatalf("after unreserving: %+v, want web offered the 3 cpus", round)
	}
}
