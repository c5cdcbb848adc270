package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"mesh/mesos"
	mapi "mesh/mesos/master"
)

func tasksCommand() *cli.Command {
	return &cli.Command{
		Name:  "tasks",
		Usage: "list the tasks, live and completed",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "framework", Usage: "only the tasks of this framework (id or name)"},
			&cli.StringFlag{Name: "state", Usage: "only the tasks in this state (TASK_RUNNING, running, finished, ...)"},
			&cli.StringFlag{Name: "agent", Usage: "only the tasks on this agent (id)"},
		),
		Action: func(c *cli.Context) error {
			st, err := newAPIClient(c).getState(c.Context)
			if err != nil {
				return err
			}
			state := strings.ToUpper(c.String("state"))
			if state != "" && !strings.HasPrefix(state, "TASK_") {
				state = "TASK_" + state
			}
			if state != "" && !mesos.TaskState(state).Valid() {
				return fmt.Errorf("unknown -state %q: want a Mesos task state such as TASK_RUNNING or finished", c.String("state"))
			}
			names := map[string]string{}
			for _, f := range append(append([]mapi.Framework(nil), st.GetFrameworks.Frameworks...), st.GetFrameworks.CompletedFrameworks...) {
				if f.FrameworkInfo.ID != nil {
					names[f.FrameworkInfo.ID.Value] = f.FrameworkInfo.Name
				}
			}
			fw := c.String("framework")
			tasks := []mapi.Task{}
			for _, t := range allTasks(st.GetTasks) {
				if (fw == "" || fw == t.FrameworkID.Value || fw == names[t.FrameworkID.Value]) &&
					(state == "" || string(t.State) == state) &&
					(c.String("agent") == "" || c.String("agent") == t.AgentID.Value) {
					tasks = append(tasks, t)
				}
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, tasks)
			}
			tb := newTable(c.App.Writer, "ID", "NAME", "FRAMEWORK", "STATE", "AGENT", "RESOURCES")
			for _, t := range tasks {
				tb.row(t.TaskID.Value, t.Name, names[t.FrameworkID.Value], string(t.State), t.AgentID.Value, scalars(t.Resources))
			}
			return tb.flush()
		},
	}
}

func teardownCommand() *cli.Command {
	return &cli.Command{
		Name:      "teardown",
		Usage:     "tear a framework down: its tasks are killed and it may not subscribe again",
		ArgsUsage: "FRAMEWORK_ID",
		Flags:     addressFlags(),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh teardown FRAMEWORK_ID")
			}
			return teardown(c, c.Args().First())
		},
	}
}

// teardown makes the operator TEARDOWN call for framework id.
func teardown(c *cli.Context, id string) error {
	call := map[string]any{"type": mapi.CallTeardown, "teardown": map[string]any{"framework_id": map[string]string{"value": id}}}
	if _, err := newAPIClient(c).operator(c.Context, call); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "tore down framework %s\n", id)
	return nil
}

// killCommand kills a task as an operator can. Mesos' v1 operator API has
// no call that kills one task: only the task's framework can, with the
// scheduler API's KILL on its own subscription. What an operator has is
// TEARDOWN, which kills every task of the framework; mesh kill uses it
// only when told to with -teardown, and otherwise says so.
func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "kill a task by tearing down its framework (-teardown); Mesos gives operators no call to kill one task",
		ArgsUsage: "TASK_ID",
		Flags: append(addressFlags(),
			&cli.StringFlag{Name: "framework", Usage: "the task's framework id, when two frameworks use the task id"},
			&cli.BoolFlag{Name: "teardown", Usage: "tear down the task's framework, killing all its tasks"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh kill [-teardown] TASK_ID")
			}
			st, err := newAPIClient(c).getState(c.Context)
			if err != nil {
				return err
			}
			t, err := findTask(st, c.Args().First(), c.String("framework"))
			if err != nil {
				return err
			}
			if t.State.IsTerminal() {
				return fmt.Errorf("task %s is already %s", t.TaskID.Value, t.State)
			}
			fid := t.FrameworkID.Value
			live := 0
			for _, o := range st.GetTasks.Tasks {
				if o.FrameworkID.Value == fid {
					live++
				}
			}
			if !c.Bool("teardown") {
				return fmt.Errorf("the Mesos operator API has no call to kill one task; only its framework %s can: "+
					"ask it to, or run `mesh kill -teardown %s` to tear the framework down, killing its %d live task(s)",
					fid, t.TaskID.Value, live)
			}
			return teardown(c, fid)
		},
	}
}
