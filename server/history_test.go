package server_test

import (
	"fmt"
	"testing"
	"time"

	"mesh/server"
	"mesh/server/servertest"
)

// TestServer_HistoryIsBounded: the leader forgets completed tasks beyond
// -max-completed-tasks-per-framework (the oldest first) and removed
// frameworks beyond -max-completed-frameworks.
func TestServer_HistoryIsBounded(t *testing.T) {
	srv := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) {
		c.MaxCompletedTasksPerFramework = 2
		c.MaxCompletedFrameworks = 1
		c.HistoryPruneInterval = 50 * time.Millisecond
	}})
	agent := servertest.NewSimAgent(srv.HTTPAddr(), agentResources())
	agent.Start(t)

	// Two frameworks each run five tasks to completion, one at a time.
	var ids []string
	for n := 0; n < 2; n++ {
		f := subscribe(t, srv.HTTPAddr(), subscribeBody(fmt.Sprintf("hist-%d", n), "", ""))
		f.subscribed()
		for i := 0; i < 5; i++ {
			f.runToFinish("echo hi", fmt.Sprintf("t%d", i))
		}
		servertest.WaitFor(t, 5*time.Second, "only the two newest completed tasks", func() bool {
			st := srv.FSM().State()
			for i := 0; i < 5; i++ {
				tk := st.Task(f.id, fmt.Sprintf("t%d", i))
				if (tk != nil) != (i >= 3) || tk != nil && !tk.Completed {
					return false
				}
			}
			return true
		})
		f.mustCall("TEARDOWN", "", "")
		f.close()
		ids = append(ids, f.id)
	}
	// Both frameworks are removed: only the later one is remembered.
	servertest.WaitFor(t, 5*time.Second, "only the last removed framework", func() bool {
		st := srv.FSM().State()
		return st.Framework(ids[0]) == nil && len(st.TasksByFramework(ids[0])) == 0 &&
			st.Framework(ids[1]) != nil && st.Framework(ids[1]).Removed && len(st.TasksByFramework(ids[1])) == 2
	})
}
