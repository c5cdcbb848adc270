package mesos

import (
	"strings"
	"testing"
)

func dyn(r Resource, role, principal string) Resource {
	c := r.Clone()
	c.Reservations = append(c.Reservations, ReservationInfo{Type: ReservationDynamic, Role: role, Principal: principal})
	return c
}

func vol(r Resource, id, path string) Resource {
	c := r.Clone()
	c.Disk = &DiskInfo{Volume: &Volume{Mode: VolumeModeRW, ContainerPath: path}}
	c.Disk.Persistence = &struct {
		ID        string `json:"id"`
		Principal string `json:"principal,omitempty"`
	}{ID: id}
	return c
}

func TestConversions_ReserveCreateDestroyUnreserveRoundTrip(t *testing.T) {
	total := MustParseResources("cpus:4;mem:1024;disk:1000")
	disk := dyn(ScalarResource("disk", 100), "db", "ops")
	steps := []func() (Conversion, error){
		func() (Conversion, error) { return ReserveConversion(Resources{disk}) },
		func() (Conversion, error) { return CreateConversion(Resources{vol(disk, "v1", "data")}) },
		func() (Conversion, error) {
			return GrowConversion(&Resources{vol(disk, "v1", "data")}[0], &Resources{dyn(ScalarResource("disk", 0), "db", "ops")}[0])
		},
	}
	cur := total
	for i, step := range steps[:2] {
		c, err := step()
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if cur, err = cur.Apply(c); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if _, err := steps[2](); err == nil {
		t.Fatal("growing by nothing was accepted")
	}
	if got := cur.Scalar("disk"); got != 1000 {
		t.Fatalf("disk total %v after CREATE, want 1000", got)
	}
	ck := cur.Checkpointed()
	if len(ck) != 1 || ck[0].PersistenceID() != "v1" {
		t.Fatalf("checkpointed %+v, want the one volume", ck)
	}
	again, missing := WithCheckpointed(total, ck)
	if len(missing) != 0 || !again.Contains(cur) || !cur.Contains(again) {
		t.Fatalf("total rebuilt from checkpointed = %s (missing %s), want %s", again, missing, cur)
	}
	d, err := DestroyConversion(Resources{vol(disk, "v1", "data")})
	if err != nil {
		t.Fatal(err)
	}
	if cur, err = cur.Apply(d); err != nil {
		t.Fatal(err)
	}
	u, err := UnreserveConversion(Resources{disk})
	if err != nil {
		t.Fatal(err)
	}
	if cur, err = cur.Apply(u); err != nil {
		t.Fatal(err)
	}
	if !cur.Contains(total) || !total.Contains(cur) || len(cur.Checkpointed()) != 0 {
		t.Fatalf("after DESTROY and UNRESERVE: %s, want %s", cur, total)
	}
}

func TestConversions_BadInputSaysWhatIsWrong(t *testing.T) {
	static := MustParseResources("cpus(ops):2")[0]
	disk := ScalarResource("disk", 10)
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unreserve unreserved", second(UnreserveConversion(Resources{ScalarResource("cpus", 1)})), "is not reserved"},
		{"unreserve static", second(UnreserveConversion(Resources{static})), "statically reserved"},
		{"unreserve volume", second(UnreserveConversion(Resources{vol(dyn(disk, "db", ""), "v", "d")})), "destroy the volume"},
		{"reserve without dynamic", second(ReserveConversion(Resources{static})), "not dynamically reserved"},
		{"refine to a non-child", second(ReserveConversion(Resources{dyn(static, "dev", "")})), "not a child"},
		{"create on unreserved", second(CreateConversion(Resources{vol(disk, "v", "d")})), "unreserved disk"},
		{"create without path", second(CreateConversion(Resources{vol(dyn(disk, "db", ""), "v", "")})), "container_path"},
		{"create bad id", second(CreateConversion(Resources{vol(dyn(disk, "db", ""), "../x", "d")})), "invalid"},
		{"destroy plain disk", second(DestroyConversion(Resources{dyn(disk, "db", "")})), "not a persistent volume"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, c.err, c.want)
		}
	}
	if _, err := MustParseResources("disk:5").Apply(Conversion{From: Resources{disk}}); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Errorf("applying more than there is: %v", err)
	}
}

func second(_ Conversion, err error) error { return err }

func TestConversions_ShrinkGivesBackPlainDisk(t *testing.T) {
	v := vol(dyn(ScalarResource("disk", 100), "db", ""), "v", "d")
	c, err := ShrinkConversion(&v, &Scalar{Value: 40})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Resources{v}.Apply(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got.Scalar("disk") != 100 {
		t.Fatalf("after shrink: %+v", got)
	}
	for _, r := range got {
		if r.IsPersistentVolume() != (r.Scalar.Value == 60) {
			t.Fatalf("after shrink: %s", got)
		}
	}
	if _, err := ShrinkConversion(&v, &Scalar{Value: 100}); err == nil {
		t.Fatal("shrinking a volume to nothing was accepted")
	}
}

func TestResources_DynamicAndStaticReservationsStayApart(t *testing.T) {
	static := MustParseResources("cpus(ops):2")
	rs := static.Add(dyn(ScalarResource("cpus", 1), "ops", "p"))
	if len(rs) != 2 {
		t.Fatalf("static and dynamic reservations merged: %+v", rs)
	}
	if rs.Contains(Resources{dyn(ScalarResource("cpus", 2), "ops", "p")}) {
		t.Fatal("static cpus counted as dynamically reserved")
	}
}

func TestResources_AllocatableToChildRoles(t *testing.T) {
	rs := MustParseResources("cpus(eng):2;mem:10;disk(dev):5")
	got := rs.AllocatableTo("eng/web")
	if got.Scalar("cpus") != 2 || got.Scalar("disk") != 0 || got.Scalar("mem") != 10 {
		t.Fatalf("allocatable to eng/web: %s", got)
	}
	if rs.AllocatableTo("engine").Scalar("cpus") != 0 {
		t.Fatal("eng's reservation offered to role engine")
	}
}

func TestUpgradeResources_LegacyReservation(t *testing.T) {
	in := Resources{{Name: "cpus", Type: ValueScalar, Scalar: &Scalar{Value: 1}, Role: "db",
		Reservation: &ReservationInfo{Principal: "p"}}}
	out := UpgradeResources(in)
	if len(out[0].Reservations) != 1 || !out[0].IsDynamicallyReserved() || out[0].Reservations[0].Principal != "p" || out[0].Role != "" {
		t.Fatalf("upgraded %+v", out[0])
	}
	if in[0].Role != "db" {
		t.Fatal("input modified")
	}
}

// MustParseResources parses s or panics; for tests.
func MustParseResources(s string) Resources {
	rs, err := ParseResources(s)
	if err != nil {
		panic(err)
	}
	return rs
}

func TestForWire_DynamicReservationReadsBothWays(t *testing.T) {
	r := dyn(ScalarResource("cpus", 1), "db", "ops")
	wire := Resources{r}.ForWire()
	if wire[0].Role != "db" || wire[0].Reservation == nil || wire[0].Reservation.Principal != "ops" || len(wire[0].Reservations) != 1 {
		t.Fatalf("on the wire: %+v", wire[0])
	}
	// A framework that knows only the old fields sends them back alone.
	old := wire.Clone()
	old[0].Reservations = nil
	for _, back := range []Resources{wire, old} {
		got := UpgradeResources(back)
		if !got.Contains(Resources{r}) || !(Resources{r}).Contains(got) {
			t.Fatalf("read back %+v, want %+v", got[0], r)
		}
	}
}
