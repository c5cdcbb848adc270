package execute

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"mesh/mesos"
)

// progressInterval is the least time between two progress lines when the
// output is not a terminal.
const progressInterval = time.Second

// console is the run's output: state lines, task output and, for many
// instances, a progress line. Its writes are serialized, as task output
// is followed while the run loop prints states. On a terminal the
// progress line is the last line, redrawn in place under each line
// printed above it; elsewhere it is printed as a line of its own each
// time the counts change, at most once per progressInterval.
type console struct {
	mu       sync.Mutex
	out      io.Writer
	tty      bool
	progress string // the line now shown (tty) or last printed
	want     string // the line to show next (not a tty)
	shown    bool   // the progress line is on the screen (tty)
	last     time.Time
	timer    *time.Timer
	now      func() time.Time
}

func newConsole(out io.Writer, tty bool) *console {
	return &console{out: out, tty: tty, now: time.Now}
}

// Write writes p above the progress line.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	n, err := c.out.Write(p)
	if c.tty && c.progress != "" && bytes.HasSuffix(p, []byte("\n")) {
		fmt.Fprint(c.out, c.progress)
		c.shown = true
	}
	return n, err
}

// clear removes the progress line from a terminal before other output.
func (c *console) clear() {
	if c.shown {
		fmt.Fprint(c.out, "\r\033[K")
		c.shown = false
	}
}

// setProgress shows line as the progress line: on a terminal at once, in
// place; elsewhere when it differs from the last one printed, no sooner
// than progressInterval after it.
func (c *console) setProgress(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tty {
		if line != c.progress || !c.shown {
			c.clear()
			c.progress = line
			fmt.Fprint(c.out, line)
			c.shown = true
		}
		return
	}
	c.want = line
	if line == c.progress || c.timer != nil {
		return // nothing new, or already due
	}
	if wait := progressInterval - c.now().Sub(c.last); wait > 0 {
		c.timer = time.AfterFunc(wait, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.timer = nil
			c.printWanted()
		})
		return
	}
	c.printWanted()
}

// printWanted prints the wanted progress line if it is new.
func (c *console) printWanted() {
	if c.want == "" || c.want == c.progress {
		return
	}
	c.progress = c.want
	c.last = c.now()
	fmt.Fprintln(c.out, c.progress)
}

// close ends the progress line: the last counts stay on the screen, or
// are printed if they were not yet.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.tty {
		if c.shown {
			fmt.Fprintln(c.out)
			c.shown = false
		}
		c.progress = ""
		return
	}
	c.printWanted()
}

// counts tallies the tasks for the progress line.
type counts struct {
	waiting, staged, running, finished, failed int
}

func (n counts) String(total int) string {
	return fmt.Sprintf("progress: %d/%d finished, %d failed, %d running, %d staged, %d waiting",
		n.finished, total, n.failed, n.running, n.staged, n.waiting)
}

// tally counts the tasks by what they are doing.
func tally(tasks []*task) counts {
	var n counts
	for _, t := range tasks {
		switch {
		case t.terminal && t.state == mesos.TaskFinished:
			n.finished++
		case t.terminal:
			n.failed++
		case !t.launched:
			n.waiting++
		case t.state == "" || t.state == mesos.TaskStaging || t.state == mesos.TaskStarting:
			n.staged++
		default:
			n.running++
		}
	}
	return n
}
