package agent

import "errors"

// Sentinel errors of the agent.
var (
	// ErrNotRegistered is returned when something needs the server
	// connection before the agent has registered.
	ErrNotRegistered = errors.New("agent is not registered with a server")
	// ErrNoLeader is returned when a server answers that there is no
	// leader yet.
	ErrNoLeader = errors.New("no leader yet")
	// ErrBadConfig wraps every configuration error New reports.
	ErrBadConfig = errors.New("bad agent configuration")
	// ErrWorkDirInUse is returned by New when another agent process holds
	// the work directory.
	ErrWorkDirInUse = errors.New("work directory in use")
	// ErrPathOutside is returned for a files API path that is not in the
	// agent's sandboxes.
	ErrPathOutside = errors.New("path is outside the agent's sandboxes")
	// ErrStreamGone is returned by a status update for a task whose update
	// stream was closed because it ended.
	ErrStreamGone = errors.New("status update stream is closed")
	// errLeaderChanging is returned when a server redirected to a leader
	// that cannot be reached: an election is under way.
	errLeaderChanging = errors.New("the leader is changing")
)
