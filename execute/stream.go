package execute

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"mesh/mesos"
)

// Output modes of Config.Output.
const (
	// OutputAuto streams the output of a single task while it runs; for
	// many instances it prints a progress line and, at the end, the
	// output of the tasks that did not finish.
	OutputAuto = "auto"
	// OutputAll prints each task's output once it ends.
	OutputAll = "all"
)

// DefaultFollowPoll is how often a running task's output is read.
const DefaultFollowPoll = 250 * time.Millisecond

// maxFailedOutputs bounds how many failed tasks' output is printed at the
// end of a run of many instances.
const maxFailedOutputs = 10

// maxLineBuffer bounds the part of a line held back until its newline.
const maxLineBuffer = 64 << 10

// follower reads a running task's stdout and stderr as they grow.
type follower struct {
	ended  chan struct{} // closed when the task has ended
	done   chan struct{} // closed when both files are read to their end
	cancel context.CancelFunc
}

// streaming reports whether the run streams its task's output live.
func (r *runner) streaming() bool {
	return r.cfg.Output == OutputAuto && r.cfg.Instances == 1
}

// startFollow starts following t's sandbox files once it runs.
func (r *runner) startFollow(t *task) {
	agent := r.agents[t.agentID]
	if !r.streaming() || t.follow != nil || agent == "" {
		return
	}
	ctx, cancel := context.WithCancel(r.life)
	f := &follower{ended: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	t.follow = f
	var wg sync.WaitGroup
	for file, w := range map[string]io.Writer{"stdout": r.out, "stderr": r.errOut} {
		path := sandboxPath(r.c.FrameworkID(), t.executorID(), file)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lw := &lineWriter{w: w}
			defer lw.flush()
			r.followFile(ctx, f, agent, path, lw)
		}()
	}
	go func() {
		wg.Wait()
		close(f.done)
	}()
}

// followFile prints a running task's file through lw until the task has
// ended and the file is read to its end. A read that fails (the agent
// restarting) is tried again from where it stopped, every poll while the
// task runs, and once more after its end.
func (r *runner) followFile(ctx context.Context, f *follower, agent, path string, lw *lineWriter) {
	ended := func() (bool, error) {
		select {
		case <-f.ended:
			return true, nil
		default:
			return false, nil
		}
	}
	var offset int64
	for {
		last, _ := ended()
		var err error
		offset, err = FollowFrom(ctx, r.cfg.HTTPClient, agent, path, offset, r.cfg.followPoll, !last, ended, lw.write)
		switch {
		case err == nil || ctx.Err() != nil:
			return
		case last:
			r.log.Warn("cannot read the rest of the task's output", "path", path, "error", err)
			return
		}
		r.log.Debug("task output not readable, trying again", "path", path, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-f.ended:
		case <-time.After(r.cfg.followPoll):
		}
	}
}

// endFollow tells t's follower that the task ended and waits (a bounded
// time) for it to print what was left.
func (r *runner) endFollow(t *task) {
	f := t.follow
	if f == nil {
		return
	}
	select {
	case <-f.ended:
		return // already ended
	default:
	}
	close(f.ended)
	timer := time.NewTimer(callTimeout)
	defer timer.Stop()
	select {
	case <-f.done:
	case <-timer.C:
		r.log.Warn("task output not read to its end in time", "task_id", t.id)
		f.cancel()
		<-f.done
	}
	f.cancel()
}

// stopFollowers ends every follower at once, when the run returns.
func (r *runner) stopFollowers() {
	for _, t := range r.tasks {
		if f := t.follow; f != nil {
			f.cancel()
			<-f.done
		}
	}
}

// executorID is the id of t's executor: the command executor is named
// after its task unless an update said otherwise.
func (t *task) executorID() string {
	if t.executor != "" {
		return t.executor
	}
	return t.id
}

// ran reports whether t ended after it started: a task refused or never
// started has no sandbox.
func (t *task) ran() bool {
	return t.terminal && t.state != mesos.TaskError && t.reason != mesos.ReasonInvalidOffers
}

// printFailedOutputs prints, at the end of a run of many instances, the
// output of the first tasks that ended without finishing.
func (r *runner) printFailedOutputs() {
	if r.cfg.Output != OutputAuto || r.cfg.Instances == 1 {
		return
	}
	printed, more := 0, 0
	for _, t := range r.tasks {
		if !t.ran() || t.state == mesos.TaskFinished {
			continue
		}
		if printed == maxFailedOutputs {
			more++
			continue
		}
		printed++
		r.printFiles(t)
	}
	if more > 0 {
		fmt.Fprintf(r.out, "(the output of %d more tasks that did not finish is not shown: mesh logs TASK_ID)\n", more)
	}
}

// printFiles prints the stdout (and a non-empty stderr) of a task that
// ended, read from its agent's /files API.
func (r *runner) printFiles(t *task) {
	agent := r.agents[t.agentID]
	if agent == "" {
		r.log.Debug("agent address unknown, not fetching output", "task_id", t.id, "agent_id", t.agentID)
		return
	}
	for _, file := range []string{"stdout", "stderr"} {
		ctx, cancel := context.WithTimeout(r.life, callTimeout)
		data, err := readFile(ctx, r.cfg.HTTPClient, agent, sandboxPath(r.c.FrameworkID(), t.executorID(), file))
		cancel()
		if err != nil {
			if errors.Is(err, errNoFile) {
				r.log.Debug("no output file", "task_id", t.id, "file", file)
			} else {
				r.log.Warn("cannot fetch task output", "task_id", t.id, "file", file, "error", err)
			}
			continue
		}
		if file == "stderr" && len(data) == 0 {
			continue
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		// One write: the header and the output stay together.
		r.out.Write(append([]byte(fmt.Sprintf("--- %s %s ---\n", t.id, file)), data...))
	}
}

// showProgress updates the progress line of a run of many instances.
func (r *runner) showProgress() {
	if r.cfg.Instances > 1 {
		r.console.setProgress(tally(r.tasks).String(len(r.tasks)))
	}
}

// lineWriter passes on whole lines only, so that a state line printed
// meanwhile does not split a line of the task's output.
type lineWriter struct {
	w   io.Writer
	buf []byte
}

func (l *lineWriter) write(b []byte) error {
	l.buf = append(l.buf, b...)
	n := bytes.LastIndexByte(l.buf, '\n') + 1
	if n == 0 && len(l.buf) > maxLineBuffer {
		n = len(l.buf)
	}
	if n == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf[:n])
	l.buf = append(l.buf[:0], l.buf[n:]...)
	return err
}

// flush writes the last, unterminated line.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.w.Write(append(l.buf, '\n'))
		l.buf = nil
	}
}
