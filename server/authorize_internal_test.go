package server

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mesh/acl"
	"mesh/auth"
	"mesh/fsm"
	"mesh/mesos"
)

// aclTestServer is a Server with only the rules of an ACL file: enough
// for the checks that read nothing else.
func aclTestServer(t *testing.T, rules string) *Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acls.json")
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := acl.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Server{cfg: Config{ACLs: a}}
}

func as(principal string) context.Context {
	return auth.NewContext(context.Background(), auth.Identity{Principal: principal})
}

func reserved(role, principal string) mesos.Resource {
	r := mesos.ScalarResource("cpus", 1)
	r.Reservations = []mesos.ReservationInfo{{Type: mesos.ReservationDynamic, Role: role, Principal: principal}}
	return r
}

func volume(role, creator string) mesos.Resource {
	r := reserved(role, creator)
	r.Name = "disk"
	r.Disk = &mesos.DiskInfo{}
	r.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: "v1", Principal: creator}
	return r
}

func TestAuthorizeOperation_ReservationsAndVolumes(t *testing.T) {
	s := aclTestServer(t, `{
	  "reserve_resources": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng/%"]}}],
	  "unreserve_resources": [{"principals": {"values": ["ops"]}, "reserver_principals": {"values": ["ops"]}}],
	  "create_volumes": [{"principals": {"values": ["ops"]}, "roles": {"values": ["eng"]}}],
	  "destroy_volumes": [{"principals": {"values": ["ops"]}, "creator_principals": {"values": ["ops", "web"]}}]
	}`)
	op := func(typ string, res ...mesos.Resource) *mesos.OfferOperation {
		o := &mesos.OfferOperation{Type: typ}
		switch typ {
		case mesos.OperationReserve:
			o.Reserve = &struct {
				Resources []mesos.Resource `json:"resources,omitempty"`
			}{res}
		case mesos.OperationUnreserve:
			o.Unreserve = &struct {
				Resources []mesos.Resource `json:"resources,omitempty"`
			}{res}
		case mesos.OperationCreate:
			o.Create = &struct {
				Volumes []mesos.Resource `json:"volumes,omitempty"`
			}{res}
		case mesos.OperationDestroy:
			o.Destroy = &struct {
				Volumes []mesos.Resource `json:"volumes,omitempty"`
			}{res}
		}
		return o
	}
	for _, c := range []struct {
		who  string
		fw   *mesos.FrameworkInfo
		op   *mesos.OfferOperation
		want bool
	}{
		{"ops", nil, op(mesos.OperationReserve, reserved("eng/web", "ops")), true},
		{"ops", nil, op(mesos.OperationReserve, reserved("eng", "ops")), false},
		{"dev", nil, op(mesos.OperationReserve, reserved("eng/web", "dev")), false},
		{"ops", nil, op(mesos.OperationReserve, reserved("eng/web", "ops"), reserved("prod", "ops")), false},
		{"", &mesos.FrameworkInfo{Principal: "ops"}, op(mesos.OperationReserve, reserved("eng/a", "ops")), true},
		{"ops", nil, op(mesos.OperationUnreserve, reserved("eng/web", "ops")), true},
		{"ops", nil, op(mesos.OperationUnreserve, reserved("eng/web", "web")), false},
		{"ops", nil, op(mesos.OperationCreate, volume("eng", "ops")), true},
		{"ops", nil, op(mesos.OperationCreate, volume("eng/web", "ops")), false},
		{"web", nil, op(mesos.OperationCreate, volume("eng", "web")), false},
		{"ops", nil, op(mesos.OperationDestroy, volume("eng", "web")), true},
		{"ops", nil, op(mesos.OperationDestroy, volume("eng", "dev")), false},
		{"dev", nil, op(mesos.OperationLaunch), true}, // not an operation on reservations
	} {
		err := s.authorizeOperation(as(c.who), c.fw, c.op)
		if (err == nil) != c.want {
			t.Errorf("%s by %q (framework %v): %v, want allowed %v", c.op.Type, c.who, c.fw, err, c.want)
		}
		if err != nil && (!strings.Contains(err.Error(), "not authorized") || statusOf(err) != http.StatusForbidden) {
			t.Errorf("%s: refusal %v is not a 403 that says why", c.op.Type, err)
		}
	}
}

func TestAuthorizeMaintenance_ByMachine(t *testing.T) {
	s := aclTestServer(t, `{
	  "update_maintenance_schedules": [{"principals": {"values": ["ops"]}, "machines": {"type": "ANY"}}],
	  "start_maintenances": [{"principals": {"values": ["ops"]}, "machines": {"values": ["h1"]}}],
	  "stop_maintenances": [{"principals": {"type": "ANY"}, "machines": {"type": "NONE"}}]
	}`)
	for _, c := range []struct {
		who      string
		act      acl.Action
		machines []string
		want     bool
	}{
		{"ops", acl.UpdateMaintenance, []string{"h1", "h2"}, true},
		{"ops", acl.UpdateMaintenance, nil, true},
		{"dev", acl.UpdateMaintenance, []string{"h1"}, false},
		{"dev", acl.UpdateMaintenance, nil, false},
		{"ops", acl.StartMaintenance, []string{"h1"}, true},
		{"ops", acl.StartMaintenance, []string{"h1", "h2"}, false},
		{"ops", acl.StopMaintenance, []string{"h1"}, false},
		{"ops", acl.GetMaintenance, []string{"h1"}, false}, // no rule, not permissive
	} {
		if err := s.authorizeMaintenance(as(c.who), c.act, c.machines...); (err == nil) != c.want {
			t.Errorf("%s by %q of %v: %v, want allowed %v", c.act, c.who, c.machines, err, c.want)
		}
	}
	if err := (&Server{}).authorizeMaintenance(as("dev"), acl.StopMaintenance, "h1"); err != nil {
		t.Errorf("without ACLs: %v", err)
	}
}

// TestStateView_ExecutorsFilteredByTheirUser: GET_EXECUTORS and the
// executors of /state show the executors a principal may view by the
// user they run as (their command's, else their framework's).
func TestStateView_ExecutorsFilteredByTheirUser(t *testing.T) {
	s := aclTestServer(t, `{
	  "view_frameworks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
	  "view_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}],
	  "view_executors": [{"principals": {"values": ["viewer"]}, "users": {"values": ["alice"]}}]
	}`)
	fw := &fsm.Framework{ID: "f", Info: mesos.FrameworkInfo{User: "alice"}}
	executor := func(id, execUser string) *fsm.Executor {
		e := mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "e-" + id}}
		if execUser != "" {
			e.Command = &mesos.CommandInfo{User: execUser}
		}
		return &fsm.Executor{FrameworkID: "f", AgentID: "a", ExecutorID: e.ExecutorID.Value, Info: e}
	}
	view := func() *stateView {
		return &stateView{s: s, frameworks: []*fsm.Framework{fw}, tasksByFw: map[string][]*fsm.Task{},
			execsByFw: map[string][]*fsm.Executor{"f": {executor("as-fw-user", ""), executor("as-root", "root")}}}
	}
	ids := func(v *stateView) []string {
		var out []string
		for _, e := range v.getExecutors().Executors {
			out = append(out, e.ExecutorInfo.ExecutorID.Value)
		}
		for _, e := range v.framework(fw).Executors {
			out = append(out, "state:"+e.ExecutorID)
		}
		return out
	}
	if got := strings.Join(ids(view().only(s.authzOf(as("viewer")))), ","); got != "e-as-fw-user,state:e-as-fw-user" {
		t.Errorf("viewer sees executors %s", got)
	}
	if got := strings.Join(ids(view()), ","); got != "e-as-fw-user,e-as-root,state:e-as-fw-user,state:e-as-root" {
		t.Errorf("an unrestricted view shows executors %s", got)
	}
}
