package execute

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// MaxStateFailures is how many asks in a row whether the writer ended may
// fail before Follow gives up (a leader change makes the servers answer
// 503 for a moment).
const MaxStateFailures = 20

// Follow prints file of an agent's sandbox from its start through out.
// Without follow it stops at the end of what is written; with follow it
// keeps polling, every poll, until done says the writer has ended and a
// last read finds nothing more. A file not there yet is waited for when
// following. `mesh logs -f` and `mesh execute` both follow with it.
func Follow(ctx context.Context, hc *http.Client, agent, file string, poll time.Duration, follow bool,
	done func() (bool, error), out func([]byte) error) error {
	_, err := FollowFrom(ctx, hc, agent, file, 0, poll, follow, done, out)
	return err
}

// FollowFrom is Follow from offset; it returns the offset it reached, so
// that a follow cut short (the agent restarting) can go on from there.
func FollowFrom(ctx context.Context, hc *http.Client, agent, file string, offset int64, poll time.Duration, follow bool,
	done func() (bool, error), out func([]byte) error) (int64, error) {
	failures := 0
	for {
		data, err := ReadAt(ctx, hc, agent, file, offset, readChunk)
		if errors.Is(err, ErrNoFile) && follow {
			data, err = nil, nil // the sandbox is not there yet
		}
		if err != nil {
			return offset, err
		}
		if len(data) > 0 {
			if err := out(data); err != nil {
				return offset, err
			}
			offset += int64(len(data))
			continue
		}
		if !follow {
			return offset, nil
		}
		ended, err := done()
		if err != nil {
			if failures++; failures >= MaxStateFailures {
				return offset, fmt.Errorf("cannot tell whether the task ended (%d tries): %w", failures, err)
			}
		} else {
			failures = 0
		}
		if ended {
			// One last read: what the task wrote before it ended.
			follow = false
			continue
		}
		select {
		case <-ctx.Done():
			return offset, ctx.Err()
		case <-time.After(poll):
		}
	}
}
