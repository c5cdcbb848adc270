package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/execute"
	mapi "mesh/mesos/master"
)

// followPoll is how often `mesh logs -f` asks for more of the file.
var followPoll = 500 * time.Millisecond

// sandboxOf finds task id and returns its agent's URL and the path of its
// sandbox (the latest run of its executor) in the agent's files.
func sandboxOf(ctx context.Context, a *apiClient, id, framework string) (agent, dir string, err error) {
	st, err := a.getState(ctx)
	if err != nil {
		return "", "", err
	}
	t, err := findTask(st, id, framework)
	if err != nil {
		return "", "", err
	}
	if agent, err = a.agentURL(st, t.AgentID.Value); err != nil {
		return "", "", err
	}
	executorID := t.TaskID.Value // the command executor is named after its task
	if t.ExecutorID != nil {
		executorID = t.ExecutorID.Value
	}
	return agent, execute.SandboxPath(t.FrameworkID.Value, executorID, ""), nil
}

// taskTerminal reports whether task id has reached a terminal state. It
// asks GET_TASKS, lighter than GET_STATE, as it asks often.
func taskTerminal(ctx context.Context, a *apiClient, id, framework string) (bool, error) {
	resp, err := a.operator(ctx, map[string]string{"type": mapi.CallGetTasks})
	if err != nil {
		return false, err
	}
	if resp.GetTasks == nil {
		return false, fmt.Errorf("GET_TASKS: the answer has no get_tasks")
	}
	t, err := findTask(&mapi.GetState{GetTasks: *resp.GetTasks}, id, framework)
	if err != nil {
		return false, err
	}
	return t.State.IsTerminal(), nil
}

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "print a task's stdout (or -stderr) from its sandbox; -f follows it as it grows",
		ArgsUsage: "TASK_ID",
		Flags: append(addressFlags(),
			&cli.StringFlag{Name: "framework", Usage: "the task's framework id, when two frameworks use the task id"},
			&cli.BoolFlag{Name: "f", Aliases: []string{"follow"}, Usage: "keep printing what the task writes until it ends (or Ctrl-C)"},
			&cli.BoolFlag{Name: "stderr", Usage: "print stderr instead of stdout"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("usage: mesh logs [-f] [-stderr] TASK_ID")
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, id, fw := newAPIClient(c), c.Args().First(), c.String("framework")
			agent, dir, err := sandboxOf(ctx, a, id, fw)
			if err != nil {
				return err
			}
			file := "stdout"
			if c.Bool("stderr") {
				file = "stderr"
			}
			err = execute.Follow(ctx, a.hc, agent, dir+file, followPoll, c.Bool("f"), func() (bool, error) {
				return taskTerminal(ctx, a, id, fw)
			}, func(b []byte) error {
				_, err := c.App.Writer.Write(b)
				return err
			})
			switch {
			case errors.Is(err, context.Canceled):
				return nil // Ctrl-C ends a follow
			case errors.Is(err, execute.ErrNoFile):
				return fmt.Errorf("task %s has no %s in its sandbox on %s: it never started there, or its sandbox was removed", id, file, agent)
			case err != nil && strings.Contains(err.Error(), "401 Unauthorized"):
				// The agent authenticates its files (-authenticate-http-readonly).
				return fmt.Errorf("%w%s", err, authHint(http.StatusUnauthorized))
			}
			return err
		},
	}
}

// browseEntry is one entry of the agent's /files/browse.
type browseEntry struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	Mode  string `json:"mode"`
}

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list a directory of a task's sandbox",
		ArgsUsage: "TASK_ID [PATH]",
		Flags: append(clientFlags(),
			&cli.StringFlag{Name: "framework", Usage: "the task's framework id, when two frameworks use the task id"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return fmt.Errorf("usage: mesh ls TASK_ID [PATH]")
			}
			a := newAPIClient(c)
			agent, dir, err := sandboxOf(c.Context, a, c.Args().First(), c.String("framework"))
			if err != nil {
				return err
			}
			rel := strings.TrimPrefix(path.Clean("/"+c.Args().Get(1)), "/")
			ag := a.with(agent)
			var entries []json.RawMessage // as the agent lists them, for -json
			if err := ag.getJSON(c.Context, "/files/browse?path="+url.QueryEscape(dir+rel), &entries); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c.App.Writer, entries)
			}
			return lsTable(c.App.Writer, entries)
		},
	}
}

// lsTable prints /files/browse entries as a table.
func lsTable(w io.Writer, entries []json.RawMessage) error {
	t := newTable(w, "MODE", "SIZE", "MODIFIED", "NAME")
	for _, raw := range entries {
		var e browseEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("unreadable /files/browse entry %s: %v", raw, err)
		}
		t.row(e.Mode, fmt.Sprint(e.Size), time.Unix(e.Mtime, 0).UTC().Format(time.RFC3339), path.Base(e.Path))
	}
	return t.flush()
}
