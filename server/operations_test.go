package server_test

import (
	"strings"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/server/servertest"
)

// TestAccept_UnsupportedOperationsAreAnswered: every ACCEPT operation
// type mesh does not perform, a type Mesos does not know, and operations
// that are invalid (nothing to reserve, plain disk to grow), get Mesos'
// answer for an operation it cannot carry out, an UPDATE_OPERATION_STATUS
// with OPERATION_ERROR naming the type when the operation has an id; the
// offer's resources come back in a new offer.
func TestAccept_UnsupportedOperationsAreAnswered(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)
	f := subscribe(t, srv.HTTPAddr(), subscribeBody("ops", "", ""))
	f.subscribed()
	disk := `{"name":"disk","type":"SCALAR","scalar":{"value":1}}`
	cases := []struct{ typ, body, named string }{
		{"RESERVE", `"reserve":{"resources":[]}`, "RESERVE"},
		{"UNRESERVE", `"unreserve":{"resources":[]}`, "UNRESERVE"},
		{"CREATE", `"create":{"volumes":[]}`, "CREATE"},
		{"DESTROY", `"destroy":{"volumes":[]}`, "DESTROY"},
		{"GROW_VOLUME", `"grow_volume":{"volume":` + disk + `,"addition":` + disk + `}`, "GROW_VOLUME"},
		{"SHRINK_VOLUME", `"shrink_volume":{"volume":` + disk + `,"subtract":{"value":1}}`, "SHRINK_VOLUME"},
		{"CREATE_DISK", `"create_disk":{"source":` + disk + `,"target_type":"MOUNT"}`, "CREATE_DISK"},
		{"DESTROY_DISK", `"destroy_disk":{"source":` + disk + `}`, "DESTROY_DISK"},
		{"FOO", "", "UNKNOWN"},
	}
	offer := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			op := `{"type":"` + c.typ + `","id":{"value":"op-` + c.typ + `"}`
			if c.body != "" {
				op += "," + c.body
			}
			op += "}"
			f.mustCall("ACCEPT", "accept", `{"offer_ids":[{"value":"`+offer.ID.Value+`"}],"operations":[`+op+`],"filters":{"refuse_seconds":0}}`)
			ev := f.await(scheduler.EventUpdateOperationStatus, 10*time.Second)
			st := ev.UpdateOperationStatus.Status
			if st.OperationID == nil || st.OperationID.Value != "op-"+c.typ || st.State != mesos.OperationError ||
				!strings.Contains(st.Message, c.named) || st.UUID != nil {
				t.Fatalf("operation status %+v", st)
			}
			offer = nextFullOffer(t, f)
		})
	}
	// Without an id Mesos only logs the dropped operation; the offer's
	// resources still come back.
	f.mustCall("ACCEPT", "accept", `{"offer_ids":[{"value":"`+offer.ID.Value+`"}],"operations":[{"type":"RESERVE","reserve":{"resources":[]}}],"filters":{"refuse_seconds":0}}`)
	nextFullOffer(t, f)
}

// nextFullOffer waits for an offer of all of the agent's cpus.
func nextFullOffer(t *testing.T, f *framework) mesos.Offer {
	t.Helper()
	o := f.await(scheduler.EventOffers, 10*time.Second).Offers.Offers[0]
	if got := mesos.Resources(o.Resources).Scalar("cpus"); got != 4 {
		t.Fatalf("offer of %v cpus after the ACCEPT, want all 4 back", got)
	}
	return o
}
