package server

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors.
var (
	ErrNotLeader = errors.New("this server is not the leader")
	ErrNoLeader  = errors.New("no leader elected")
)

// codedError carries an HTTP status code and a message for the client.
type codedError struct {
	code int
	msg  string
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
	} else if errors.Is(err, ErrNoLeader) || errors.Is(err, ErrNotLeader) {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, err.Error())
}
