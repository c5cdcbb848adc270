package scheduler

import (
	"errors"
	"fmt"

	"mesh/mesos"
)

// ErrInvalidCall is wrapped by every error Call.Validate returns; the
// scheduler endpoint answers it with 400 Bad Request.
var ErrInvalidCall = errors.New("invalid call")

// Validate reports why Mesos would answer the call with 400 Bad Request,
// or nil. It checks, in Mesos' order:
//
//  1. what Mesos' JSON parser enforces: the proto2 required fields of every
//     body present, whatever the call type (for example a TaskInfo in an
//     ACCEPT's LAUNCH needs name, task_id and agent_id), and that required
//     enums hold known names;
//  2. the scheduler call validation (spec §1.3 step 7): a known type;
//     SUBSCRIBE has a subscribe body whose framework_info.id matches the
//     top-level framework_id (both absent is fine); every other call has a
//     framework_id and, except TEARDOWN, REVIVE and SUPPRESS, its body;
//     ACKNOWLEDGE and ACKNOWLEDGE_OPERATION_STATUS carry a 16-byte uuid,
//     the latter an agent_id; UPDATE_FRAMEWORK's framework_info.id equals
//     framework_id.
//
// A type of UNKNOWN passes (with a framework_id): the server answers it
// with 501. Any other unknown type is an error, as Mesos reads an unknown
// enum name as no type at all. Errors wrap ErrInvalidCall and, for a field
// problem, a *mesos.FieldError naming the field, e.g.
// "invalid call: expecting 'kill.task_id' to be present".
//
// Empty strings count as absent: Go cannot tell "name":"" from no name.
func (c *Call) Validate() error {
	if err := c.checkRequired(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCall, err)
	}
	if err := c.validateType(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCall, err)
	}
	return nil
}

func missing(field string) error { return &mesos.FieldError{Field: field} }

// anyID views any mesos ID type (all are {"value": string}) alike; a pointer
// to one converts to *anyID because struct tags are ignored in conversions.
type anyID = struct{ Value string }

// requiredID checks an ID that must be present with a value.
func requiredID(field string, x *anyID) error {
	if x == nil {
		return missing(field)
	}
	if x.Value == "" {
		return missing(field + ".value")
	}
	return nil
}

// optionalID checks that an ID, when present, has its required value.
func optionalID(field string, x *anyID) error {
	if x != nil && x.Value == "" {
		return missing(field + ".value")
	}
	return nil
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func offerIDs(field string, ids []mesos.OfferID) error {
	for i := range ids {
		if ids[i].Value == "" {
			return missing(fmt.Sprintf("%s[%d].value", field, i))
		}
	}
	return nil
}

func subscribeRequired(field string, s *Subscribe) error {
	if s.FrameworkInfo == nil {
		return missing(field + ".framework_info")
	}
	return mesos.PrefixFieldError(field+".framework_info", s.FrameworkInfo.CheckRequired())
}

// checkRequired is what Mesos' JSON parser enforces: required fields of
// every body present.
func (c *Call) checkRequired() error {
	if err := optionalID("framework_id", (*anyID)(c.FrameworkID)); err != nil {
		return err
	}
	if s := c.Subscribe; s != nil {
		if err := subscribeRequired("subscribe", s); err != nil {
			return err
		}
	}
	if s := c.UpdateFramework; s != nil {
		if err := subscribeRequired("update_framework", s); err != nil {
			return err
		}
	}
	if a := c.Accept; a != nil {
		if err := offerIDs("accept.offer_ids", a.OfferIDs); err != nil {
			return err
		}
		for i := range a.Operations {
			field := fmt.Sprintf("accept.operations[%d]", i)
			if err := mesos.PrefixFieldError(field, a.Operations[i].CheckRequired()); err != nil {
				return err
			}
		}
	}
	if d := c.Decline; d != nil {
		if err := offerIDs("decline.offer_ids", d.OfferIDs); err != nil {
			return err
		}
	}
	if x := c.AcceptInverseOffers; x != nil {
		if err := offerIDs("accept_inverse_offers.inverse_offer_ids", x.InverseOfferIDs); err != nil {
			return err
		}
	}
	if x := c.DeclineInverseOffers; x != nil {
		if err := offerIDs("decline_inverse_offers.inverse_offer_ids", x.InverseOfferIDs); err != nil {
			return err
		}
	}
	if k := c.Kill; k != nil {
		if err := firstError(
			requiredID("kill.task_id", (*anyID)(k.TaskID)),
			optionalID("kill.agent_id", (*anyID)(k.AgentID)),
		); err != nil {
			return err
		}
	}
	if s := c.Shutdown; s != nil {
		if err := firstError(
			requiredID("shutdown.executor_id", (*anyID)(s.ExecutorID)),
			requiredID("shutdown.agent_id", (*anyID)(s.AgentID)),
		); err != nil {
			return err
		}
	}
	if a := c.Acknowledge; a != nil {
		if err := firstError(
			requiredID("acknowledge.agent_id", (*anyID)(a.AgentID)),
			requiredID("acknowledge.task_id", (*anyID)(a.TaskID)),
		); err != nil {
			return err
		}
		if a.UUID == nil {
			return missing("acknowledge.uuid")
		}
	}
	if a := c.AcknowledgeOperationStatus; a != nil {
		if a.UUID == nil {
			return missing("acknowledge_operation_status.uuid")
		}
		if err := firstError(
			requiredID("acknowledge_operation_status.operation_id", (*anyID)(a.OperationID)),
			optionalID("acknowledge_operation_status.agent_id", (*anyID)(a.AgentID)),
			optionalID("acknowledge_operation_status.resource_provider_id", (*anyID)(a.ResourceProviderID)),
		); err != nil {
			return err
		}
	}
	if r := c.Reconcile; r != nil {
		for i, t := range r.Tasks {
			field := fmt.Sprintf("reconcile.tasks[%d]", i)
			if err := firstError(
				requiredID(field+".task_id", (*anyID)(t.TaskID)),
				optionalID(field+".agent_id", (*anyID)(t.AgentID)),
			); err != nil {
				return err
			}
		}
	}
	if r := c.ReconcileOperations; r != nil {
		for i, o := range r.Operations {
			field := fmt.Sprintf("reconcile_operations.operations[%d]", i)
			if err := firstError(
				requiredID(field+".operation_id", (*anyID)(o.OperationID)),
				optionalID(field+".agent_id", (*anyID)(o.AgentID)),
				optionalID(field+".resource_provider_id", (*anyID)(o.ResourceProviderID)),
			); err != nil {
				return err
			}
		}
	}
	if m := c.Message; m != nil {
		if err := firstError(
			requiredID("message.agent_id", (*anyID)(m.AgentID)),
			requiredID("message.executor_id", (*anyID)(m.ExecutorID)),
		); err != nil {
			return err
		}
		if m.Data == nil {
			return missing("message.data")
		}
	}
	if r := c.Request; r != nil {
		for i, q := range r.Requests {
			field := fmt.Sprintf("request.requests[%d]", i)
			if err := optionalID(field+".agent_id", (*anyID)(q.AgentID)); err != nil {
				return err
			}
			for j := range q.Resources {
				f := fmt.Sprintf("%s.resources[%d]", field, j)
				if err := mesos.PrefixFieldError(f, q.Resources[j].CheckRequired()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// hasBody reports whether the body that goes with the call's type is
// present; types without a body, and unknown types, report true.
func (c *Call) hasBody() bool {
	switch c.Type {
	case CallAccept:
		return c.Accept != nil
	case CallDecline:
		return c.Decline != nil
	case CallAcceptInverseOffers:
		return c.AcceptInverseOffers != nil
	case CallDeclineInverseOffers:
		return c.DeclineInverseOffers != nil
	case CallKill:
		return c.Kill != nil
	case CallShutdown:
		return c.Shutdown != nil
	case CallAcknowledge:
		return c.Acknowledge != nil
	case CallAcknowledgeOperationStatus:
		return c.AcknowledgeOperationStatus != nil
	case CallReconcile:
		return c.Reconcile != nil
	case CallReconcileOperations:
		return c.ReconcileOperations != nil
	case CallMessage:
		return c.Message != nil
	case CallRequest:
		return c.Request != nil
	case CallUpdateFramework:
		return c.UpdateFramework != nil
	}
	return true
}

// bodyField is the JSON key of a call type's body: the type in lower case.
var bodyField = map[string]string{
	CallSubscribe:                  "subscribe",
	CallAccept:                     "accept",
	CallDecline:                    "decline",
	CallAcceptInverseOffers:        "accept_inverse_offers",
	CallDeclineInverseOffers:       "decline_inverse_offers",
	CallRevive:                     "revive",
	CallSuppress:                   "suppress",
	CallKill:                       "kill",
	CallShutdown:                   "shutdown",
	CallAcknowledge:                "acknowledge",
	CallAcknowledgeOperationStatus: "acknowledge_operation_status",
	CallReconcile:                  "reconcile",
	CallReconcileOperations:        "reconcile_operations",
	CallMessage:                    "message",
	CallRequest:                    "request",
	CallUpdateFramework:            "update_framework",
}

// knownCallType reports whether t is a call type of the v1 scheduler API.
func knownCallType(t string) bool {
	_, ok := bodyField[t]
	return ok || t == CallTeardown || t == CallUnknown
}

// validateType is Mesos' scheduler call validation (spec §1.3 step 7). It
// runs after checkRequired, so present bodies hold their required fields.
func (c *Call) validateType() error {
	if c.Type == "" {
		return missing("type")
	}
	if !knownCallType(c.Type) {
		return &mesos.FieldError{Field: "type", Problem: fmt.Sprintf("has unknown value %q", c.Type)}
	}
	if c.Type == CallSubscribe {
		if c.Subscribe == nil {
			return missing("subscribe")
		}
		var infoID *mesos.FrameworkID
		if c.Subscribe.FrameworkInfo != nil {
			infoID = c.Subscribe.FrameworkInfo.ID
		}
		if (infoID == nil) != (c.FrameworkID == nil) || (infoID != nil && infoID.Value != c.FrameworkID.Value) {
			return errors.New("'framework_id' differs from 'subscribe.framework_info.id'")
		}
		return nil
	}
	if c.FrameworkID == nil {
		return missing("framework_id")
	}
	if !c.hasBody() {
		return missing(bodyField[c.Type])
	}
	switch c.Type {
	case CallAcknowledge:
		return uuid16("acknowledge.uuid", c.Acknowledge.UUID)
	case CallAcknowledgeOperationStatus:
		if err := uuid16("acknowledge_operation_status.uuid", c.AcknowledgeOperationStatus.UUID); err != nil {
			return err
		}
		if c.AcknowledgeOperationStatus.AgentID == nil {
			return missing("acknowledge_operation_status.agent_id")
		}
	case CallUpdateFramework:
		infoID := c.UpdateFramework.FrameworkInfo.ID
		if infoID == nil || infoID.Value != c.FrameworkID.Value {
			return errors.New("'framework_id' differs from 'update_framework.framework_info.id'")
		}
	}
	return nil
}

// uuid16 checks that a UUID field holds exactly 16 bytes.
func uuid16(field string, b mesos.Bytes) error {
	if len(b) != 16 {
		return &mesos.FieldError{Field: field, Problem: fmt.Sprintf("must be a UUID of 16 bytes, got %d bytes", len(b))}
	}
	return nil
}
