package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"mesh/mesos/operator"
)

// Sentinel errors.
var (
	ErrNotLeader = errors.New("this server is not the leader")
	ErrNoLeader  = errors.New("no leader elected")
	// ErrNotCommitted is a write raft could not commit in time (its queue
	// is full, or a quorum did not answer): transient, like ErrNotLeader,
	// and answered 503 so that the client retries.
	ErrNotCommitted = errors.New("the write was not committed")
)

// transient reports whether err is a failure to commit that a client
// should retry against the (possibly new) leader rather than give up on:
// leadership lost or never held, or raft not committing in time.
func transient(err error) bool {
	return errors.Is(err, ErrNotLeader) || errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotCommitted)
}

// codedError carries an HTTP status code and a message for the client.
type codedError struct {
	code int
	msg  string
	// retryAfter, when set, is sent as Retry-After (whole seconds).
	retryAfter time.Duration
}

func (e *codedError) Error() string { return e.msg }

// httpErrorf returns an error the HTTP layer answers with code.
func httpErrorf(code int, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err as plain text with its status code (500 for an
// uncoded error), as Mesos does for 4xx/5xx responses.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var ce *codedError
	if errors.As(err, &ce) {
		code = ce.code
		if ce.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((ce.retryAfter+time.Second-1)/time.Second)))
		}
	} else if transient(err) {
		code = http.StatusServiceUnavailable
	} else if oe := (*operator.Error)(nil); errors.As(err, &oe) {
		code = oe.Code
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, err.Error())
}
