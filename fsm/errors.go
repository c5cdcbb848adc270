package fsm

import "errors"

// Sentinel errors returned as Apply results.
var (
	ErrUnknownOffer     = errors.New("offer is unknown or no longer valid")
	ErrOfferNotOwned    = errors.New("offer belongs to another framework")
	ErrOfferAgent       = errors.New("offers span more than one agent")
	ErrInsufficient     = errors.New("tasks need more resources than the offers hold")
	ErrUnknownFramework = errors.New("framework is unknown")
	ErrFrameworkRemoved = errors.New("framework has been removed")
	ErrUnknownAgent     = errors.New("agent is unknown")
	ErrDuplicateTask    = errors.New("task id is already in use")
	ErrUnknownOp        = errors.New("unknown operation")
	ErrAgentGone        = errors.New("agent has been removed from the cluster for good")
	// ErrOperationConflict: an offer operation's resources are not there
	// (any more) to convert.
	ErrOperationConflict = errors.New("the operation's resources are not available")
	ErrVolumeInUse       = errors.New("persistent volume is in use by a task")
	ErrVolumeExists      = errors.New("persistence id is already in use on the agent")
)
