package client

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StaleSubscription reports whether err, from Call, says that the server
// the call reached does not know this client's subscription: 403
// "Framework is not subscribed" (the stream is on another server, or was
// lost), a 400 about the Mesos-Stream-Id (a newer stream replaced it), or
// no subscription at all. The call was not carried out; subscribing again
// and repeating it is the cure.
func StaleSubscription(err error) bool {
	if errors.Is(err, ErrNotSubscribed) {
		return true
	}
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case http.StatusForbidden:
		return strings.Contains(strings.ToLower(se.Message), "not subscribed")
	case http.StatusBadRequest:
		msg := strings.ToLower(se.Message)
		return strings.Contains(msg, "stream id") || strings.Contains(msg, "mesos-stream-id")
	}
	return false
}

// Transient reports whether err, from Call, says nothing about the call
// itself but about the servers: no server answered, servers kept
// redirecting, a server had no leader or lost the leadership (502, 503,
// 504), or the subscription is stale. The call may or may not have been
// carried out; subscribing again (if needed) and repeating it is the cure.
// Any other error is the server refusing the call as it is.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	if StaleSubscription(err) || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrTooManyRedirects) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests:
			return true
		}
	}
	return false
}

// retryAfter is the wait a 429 or 503 answer asks for (Retry-After in
// seconds), 1 s when it names none, at most a minute.
func retryAfter(resp *http.Response) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || n <= 0 {
		return time.Second
	}
	return min(time.Duration(n)*time.Second, time.Minute)
}

// NotCarriedOut reports whether err, from Call, proves the call had no
// effect: the server turned it away before looking at it (stale
// subscription), or it never reached a leader (too many redirects, or no
// connection could be made). A 503 or a lost connection proves nothing:
// the leader may have committed the call before failing.
func NotCarriedOut(err error) bool {
	if StaleSubscription(err) || errors.Is(err, ErrTooManyRedirects) {
		return true
	}
	// 429: the leader turned the call away before doing anything with it.
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusTooManyRequests
}
