// Package scheduler holds the Call and Event types of the Mesos v1
// Scheduler HTTP API, with Mesos' JSON encoding.
package scheduler

import (
	"mesh/mesos"
)

// Call types.
const (
	CallUnknown                    = "UNKNOWN"
	CallSubscribe                  = "SUBSCRIBE"
	CallTeardown                   = "TEARDOWN"
	CallAccept                     = "ACCEPT"
	CallDecline                    = "DECLINE"
	CallAcceptInverseOffers        = "ACCEPT_INVERSE_OFFERS"
	CallDeclineInverseOffers       = "DECLINE_INVERSE_OFFERS"
	CallRevive                     = "REVIVE"
	CallKill                       = "KILL"
	CallShutdown                   = "SHUTDOWN"
	CallAcknowledge                = "ACKNOWLEDGE"
	CallAcknowledgeOperationStatus = "ACKNOWLEDGE_OPERATION_STATUS"
	CallReconcile                  = "RECONCILE"
	CallReconcileOperations        = "RECONCILE_OPERATIONS"
	CallMessage                    = "MESSAGE"
	CallRequest                    = "REQUEST"
	CallSuppress                   = "SUPPRESS"
	CallUpdateFramework            = "UPDATE_FRAMEWORK"
)

// Call is one request to POST /api/v1/scheduler.
type Call struct {
	FrameworkID *mesos.FrameworkID `json:"framework_id,omitempty"`
	Type        string             `json:"type"`

	Subscribe   *Subscribe   `json:"subscribe,omitempty"`
	Accept      *Accept      `json:"accept,omitempty"`
	Decline     *Decline     `json:"decline,omitempty"`
	Revive      *Revive      `json:"revive,omitempty"`
	Suppress    *Suppress    `json:"suppress,omitempty"`
	Kill        *Kill        `json:"kill,omitempty"`
	Shutdown    *Shutdown    `json:"shutdown,omitempty"`
	Acknowledge *Acknowledge `json:"acknowledge,omitempty"`
	Reconcile   *Reconcile   `json:"reconcile,omitempty"`
	Message     *Message     `json:"message,omitempty"`
	Request     *Request     `json:"request,omitempty"`

	AcceptInverseOffers  *InverseOffers `json:"accept_inverse_offers,omitempty"`
	DeclineInverseOffers *InverseOffers `json:"decline_inverse_offers,omitempty"`
	UpdateFramework      *Subscribe     `json:"update_framework,omitempty"`

	AcknowledgeOperationStatus *AcknowledgeOperationStatus `json:"acknowledge_operation_status,omitempty"`
	ReconcileOperations        *ReconcileOperations        `json:"reconcile_operations,omitempty"`
}

// Subscribe is the body of SUBSCRIBE (and UPDATE_FRAMEWORK).
type Subscribe struct {
	FrameworkInfo   *mesos.FrameworkInfo `json:"framework_info"`
	SuppressedRoles []string             `json:"suppressed_roles,omitempty"`
	// OfferConstraints restrict, per role, the agents the framework is
	// offered (Mesos 1.10).
	OfferConstraints *mesos.OfferConstraints `json:"offer_constraints,omitempty"`
}

// Accept is the body of ACCEPT.
type Accept struct {
	OfferIDs   []mesos.OfferID        `json:"offer_ids,omitempty"`
	Operations []mesos.OfferOperation `json:"operations,omitempty"`
	Filters    *mesos.Filters         `json:"filters,omitempty"`
}

// Decline is the body of DECLINE.
type Decline struct {
	OfferIDs []mesos.OfferID `json:"offer_ids,omitempty"`
	Filters  *mesos.Filters  `json:"filters,omitempty"`
}

// InverseOffers is the body of ACCEPT_/DECLINE_INVERSE_OFFERS.
type InverseOffers struct {
	InverseOfferIDs []mesos.OfferID `json:"inverse_offer_ids,omitempty"`
	Filters         *mesos.Filters  `json:"filters,omitempty"`
}

// Revive is the body of REVIVE; no roles means every role.
type Revive struct {
	Roles []string `json:"roles,omitempty"`
}

// Suppress is the body of SUPPRESS; no roles means every role.
type Suppress struct {
	Roles []string `json:"roles,omitempty"`
}

// Kill is the body of KILL.
type Kill struct {
	TaskID     *mesos.TaskID     `json:"task_id"`
	AgentID    *mesos.AgentID    `json:"agent_id,omitempty"`
	KillPolicy *mesos.KillPolicy `json:"kill_policy,omitempty"`
}

// Shutdown is the body of SHUTDOWN.
type Shutdown struct {
	ExecutorID *mesos.ExecutorID `json:"executor_id"`
	AgentID    *mesos.AgentID    `json:"agent_id"`
}

// Acknowledge is the body of ACKNOWLEDGE.
type Acknowledge struct {
	AgentID *mesos.AgentID `json:"agent_id"`
	TaskID  *mesos.TaskID  `json:"task_id"`
	UUID    mesos.Bytes    `json:"uuid"`
}

// AcknowledgeOperationStatus is the body of ACKNOWLEDGE_OPERATION_STATUS.
type AcknowledgeOperationStatus struct {
	AgentID            *mesos.AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *mesos.ResourceProviderID `json:"resource_provider_id,omitempty"`
	UUID               mesos.Bytes               `json:"uuid"`
	OperationID        *mesos.OperationID        `json:"operation_id"`
}

// ReconcileOperation names one operation to reconcile.
type ReconcileOperation struct {
	OperationID        *mesos.OperationID        `json:"operation_id"`
	AgentID            *mesos.AgentID            `json:"agent_id,omitempty"`
	ResourceProviderID *mesos.ResourceProviderID `json:"resource_provider_id,omitempty"`
}

// ReconcileOperations is the body of RECONCILE_OPERATIONS; no operations
// means every operation.
type ReconcileOperations struct {
	Operations []ReconcileOperation `json:"operations,omitempty"`
}

// ReconcileTask names one task to reconcile.
type ReconcileTask struct {
	TaskID  *mesos.TaskID  `json:"task_id"`
	AgentID *mesos.AgentID `json:"agent_id,omitempty"`
}

// Reconcile is the body of RECONCILE; no tasks means every task.
type Reconcile struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

// Message is the body of MESSAGE.
type Message struct {
	AgentID    *mesos.AgentID    `json:"agent_id"`
	ExecutorID *mesos.ExecutorID `json:"executor_id"`
	Data       mesos.Bytes       `json:"data"`
}

// Request is the body of REQUEST.
type Request struct {
	Requests []struct {
		AgentID   *mesos.AgentID   `json:"agent_id,omitempty"`
		Resources []mesos.Resource `json:"resources,omitempty"`
	} `json:"requests,omitempty"`
}

// Event types.
const (
	EventSubscribed            = "SUBSCRIBED"
	EventOffers                = "OFFERS"
	EventInverseOffers         = "INVERSE_OFFERS"
	EventRescind               = "RESCIND"
	EventRescindInverseOffer   = "RESCIND_INVERSE_OFFER"
	EventUpdate                = "UPDATE"
	EventUpdateOperationStatus = "UPDATE_OPERATION_STATUS"
	EventMessage               = "MESSAGE"
	EventFailure               = "FAILURE"
	EventError                 = "ERROR"
	EventHeartbeat             = "HEARTBEAT"
)

// Event is one record of the SUBSCRIBE stream.
type Event struct {
	Type string `json:"type"`

	Subscribed *Subscribed `json:"subscribed,omitempty"`
	Offers     *Offers     `json:"offers,omitempty"`
	Rescind    *Rescind    `json:"rescind,omitempty"`
	Update     *Update     `json:"update,omitempty"`
	Message    *Message    `json:"message,omitempty"`
	Failure    *Failure    `json:"failure,omitempty"`
	Error      *Error      `json:"error,omitempty"`

	InverseOffers         *InverseOffersEvent    `json:"inverse_offers,omitempty"`
	RescindInverseOffer   *RescindInverseOffer   `json:"rescind_inverse_offer,omitempty"`
	UpdateOperationStatus *UpdateOperationStatus `json:"update_operation_status,omitempty"`
}

// Subscribed is the first event of a stream.
type Subscribed struct {
	FrameworkID              *mesos.FrameworkID `json:"framework_id"`
	HeartbeatIntervalSeconds float64            `json:"heartbeat_interval_seconds,omitempty"`
	MasterInfo               *mesos.MasterInfo  `json:"master_info,omitempty"`
}

// Offers carries new offers (a nested object, not an array).
type Offers struct {
	Offers []mesos.Offer `json:"offers,omitempty"`
}

// InverseOffersEvent carries new inverse offers (a nested object, not an
// array).
type InverseOffersEvent struct {
	InverseOffers []mesos.InverseOffer `json:"inverse_offers,omitempty"`
}

// RescindInverseOffer withdraws an inverse offer.
type RescindInverseOffer struct {
	InverseOfferID mesos.OfferID `json:"inverse_offer_id"`
}

// UpdateOperationStatus carries the status of an offer operation.
type UpdateOperationStatus struct {
	Status mesos.OperationStatus `json:"status"`
}

// Rescind withdraws an offer.
type Rescind struct {
	OfferID mesos.OfferID `json:"offer_id"`
}

// Update carries a task status update.
type Update struct {
	Status mesos.TaskStatus `json:"status"`
}

// Failure reports a lost agent or an exited executor.
type Failure struct {
	AgentID    *mesos.AgentID    `json:"agent_id,omitempty"`
	ExecutorID *mesos.ExecutorID `json:"executor_id,omitempty"`
	Status     *int32            `json:"status,omitempty"`
}

// Error reports a fatal problem; the stream closes after it.
type Error struct {
	Message string `json:"message"`
}
