package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"mesh/mesos"
	"mesh/mesos/scheduler"
	"mesh/mesos/scheduler/client"
)

// envStoppableFramework, set to a server's address, makes the e2e test
// binary run as runStoppableFramework instead of the tests.
const envStoppableFramework = "MESH_E2E_STOPPABLE_FRAMEWORK"

// runStoppableFramework is a framework process for a test to stop: it
// subscribes, prints "SUBSCRIBED <framework id> <stream id>" each time it
// is subscribed, reads its stream, and re-subscribes with its id whenever
// the stream ends. It runs until killed.
func runStoppableFramework(master string) int {
	c := client.New(client.Config{Masters: []string{master}})
	failover := 600.0
	info := mesos.FrameworkInfo{User: "root", Name: "stoppable", FailoverTimeout: &failover, Roles: []string{"*"},
		Capabilities: []mesos.FrameworkCapability{{Type: mesos.CapabilityMultiRole}}}
	for {
		if id := c.FrameworkID(); id != "" {
			info.ID = &mesos.FrameworkID{Value: id}
		}
		sub, err := c.Subscribe(context.Background(), client.SubscribeCall(&info))
		if err != nil {
			time.Sleep(100 * time.Millisecond) // the server refused: try again
			continue
		}
		for {
			ev, err := sub.Next()
			if err != nil {
				break
			}
			if ev.Type == scheduler.EventSubscribed {
				fmt.Printf("SUBSCRIBED %s %s\n", ev.Subscribed.FrameworkID.Value, sub.StreamID())
			}
		}
		sub.Close()
	}
}

// TestScheduler_StoppedFrameworkProcessDisconnectedThenFailsOver: a
// framework process stopped with SIGSTOP, while events pile up for it, is
// disconnected by the leader (its stream's backlog bound or write
// timeout), not held for as long as TCP takes; it keeps its failover
// timeout, and after SIGCONT it re-subscribes with its id on a new stream.
func TestScheduler_StoppedFrameworkProcessDisconnectedThenFailsOver(t *testing.T) {
	addr := startBoundedServer(t)
	out := &syncBuffer{}
	fw := exec.Command(os.Args[0], "-test.run=^$")
	fw.Env = append(os.Environ(), envStoppableFramework+"="+addr)
	fw.Stdout, fw.Stderr = out, out
	if err := fw.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { fw.Wait(); close(done) }()
	t.Cleanup(func() {
		fw.Process.Kill()
		<-done
	})
	subscriptions := func() [][]string {
		var subs [][]string
		for _, l := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "SUBSCRIBED" {
				subs = append(subs, f[1:])
			}
		}
		return subs
	}
	waitFor(t, 30*time.Second, "the framework to subscribe", func() bool { return len(subscriptions()) == 1 })
	fid, streamID := subscriptions()[0][0], subscriptions()[0][1]

	if err := syscall.Kill(fw.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(fw.Process.Pid, syscall.SIGCONT) })
	// Each RECONCILE of unknown tasks queues one update per task for the
	// stopped framework: far more than its connection's buffers hold.
	var rec scheduler.Reconcile
	for i := 0; i < 2000; i++ {
		rec.Tasks = append(rec.Tasks, scheduler.ReconcileTask{TaskID: &mesos.TaskID{Value: fmt.Sprintf("%0500d", i)}})
	}
	body, _ := json.Marshal(map[string]any{"type": "RECONCILE", "framework_id": map[string]string{"value": fid}, "reconcile": rec})
	waitFor(t, 60*time.Second, "the stopped framework to be disconnected", func() bool {
		if !frameworkConnected(t, addr, fid) {
			return true
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/scheduler", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Mesos-Stream-Id", streamID)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		return false
	})

	if err := syscall.Kill(fw.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the framework to re-subscribe", func() bool { return len(subscriptions()) >= 2 })
	again := subscriptions()[1]
	if again[0] != fid || again[1] == streamID {
		t.Fatalf("re-subscribed as %v, want framework %s on a new stream (old %s)", again, fid, streamID)
	}
	waitFor(t, 10*time.Second, "the framework to be connected again", func() bool { return frameworkConnected(t, addr, fid) })
}

// frameworkConnected reports whether /state shows framework fid
// connected; it fails the test when the framework is not there at all
// (its failover timeout must keep it).
func frameworkConnected(t *testing.T, addr, fid string) bool {
	t.Helper()
	var st struct {
		Frameworks []struct {
			ID        string `json:"id"`
			Connected bool   `json:"connected"`
		} `json:"frameworks"`
	}
	if err := getJSON(addr, "/state", &st); err != nil {
		return true // ask again
	}
	for _, f := range st.Frameworks {
		if f.ID == fid {
			return f.Connected
		}
	}
	t.Fatalf("framework %s is not in /state: it must keep its failover timeout", fid)
	return false
}
