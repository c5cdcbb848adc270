package master

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrParse marks a call that could not be decoded or is not valid; its
// message says what was wrong, in the words Mesos' master uses.
var ErrParse = errors.New("bad operator call")

func parseErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrParse}, args...)...)
}

// Message returns the text of a parse error without the ErrParse prefix,
// for the body of a 400.
func Message(err error) string {
	return string(bytes.TrimPrefix([]byte(err.Error()), []byte(ErrParse.Error()+": ")))
}

// Dialect is one side of the operator API: the call types it defines
// and the name its validation errors give the call.
type Dialect struct {
	// Name is "master::Call" or "agent::Call".
	Name string
	// Types are the call types the side's proto defines.
	Types map[string]bool
}

// MasterCalls is the master's operator API (master.proto).
var MasterCalls = Dialect{Name: "master::Call", Types: callTypes}

// ParseCall decodes a JSON call of the master's operator API.
func ParseCall(body []byte) (*Call, error) { return ParseCallAs(body, MasterCalls) }

// ParseCallAs decodes a JSON call and checks it as Mesos does: the body
// must be JSON, convert to a Call (a type of d, required fields of the
// sub-messages present) and carry the sub-message its type needs. Keys
// the Call does not define are ignored, as Mesos ignores them.
func ParseCallAs(body []byte, d Dialect) (*Call, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		if !json.Valid(body) {
			return nil, parseErrorf("Failed to parse body into JSON: %v", err)
		}
		return nil, parseErrorf("Failed to convert JSON into Call protobuf: a call is a JSON object")
	}
	var call Call
	if err := json.Unmarshal(body, &call); err != nil {
		return nil, parseErrorf("Failed to convert JSON into Call protobuf: %v", err)
	}
	if _, ok := raw["type"]; !ok {
		return nil, parseErrorf("Failed to validate %s: Expecting 'type' to be present", d.Name)
	}
	if !d.Types[call.Type] {
		return nil, parseErrorf("Failed to convert JSON into Call protobuf: unknown call type %q", call.Type)
	}
	if missing := call.missingRequired(); missing != "" {
		return nil, parseErrorf("Failed to convert JSON into Call protobuf: Missing required fields: %s", missing)
	}
	if err := call.validate(d.Name); err != nil {
		return nil, err
	}
	return &call, nil
}

// missingRequired names the first required field of a present
// sub-message that is absent, "" when none is.
func (c *Call) missingRequired() string {
	switch {
	case c.GetMetrics != nil && c.GetMetrics.Timeout != nil && c.GetMetrics.Timeout.Nanoseconds == nil:
		return "get_metrics.timeout.nanoseconds"
	case c.SetLoggingLevel != nil && c.SetLoggingLevel.Level == nil:
		return "set_logging_level.level"
	case c.SetLoggingLevel != nil && c.SetLoggingLevel.Duration == nil:
		return "set_logging_level.duration"
	case c.SetLoggingLevel != nil && c.SetLoggingLevel.Duration.Nanoseconds == nil:
		return "set_logging_level.duration.nanoseconds"
	case c.ListFiles != nil && c.ListFiles.Path == nil:
		return "list_files.path"
	case c.ReadFile != nil && c.ReadFile.Path == nil:
		return "read_file.path"
	case c.ReadFile != nil && c.ReadFile.Offset == nil:
		return "read_file.offset"
	case c.Teardown != nil && c.Teardown.FrameworkID == nil:
		return "teardown.framework_id"
	case c.UpdateQuota != nil && c.UpdateQuota.missingRole():
		return "update_quota.quota_configs[].role"
	case c.SetQuota != nil && c.SetQuota.QuotaRequest == nil:
		return "set_quota.quota_request"
	case c.RemoveQuota != nil && c.RemoveQuota.Role == nil:
		return "remove_quota.role"
	case c.MarkAgentGone != nil && c.MarkAgentGone.AgentID == nil:
		return "mark_agent_gone.agent_id"
	case c.DrainAgent != nil && c.DrainAgent.AgentID == nil:
		return "drain_agent.agent_id"
	case c.DeactivateAgent != nil && c.DeactivateAgent.AgentID == nil:
		return "deactivate_agent.agent_id"
	case c.ReactivateAgent != nil && c.ReactivateAgent.AgentID == nil:
		return "reactivate_agent.agent_id"
	case c.UpdateMaintenanceSchedule != nil && c.UpdateMaintenanceSchedule.Schedule == nil:
		return "update_maintenance_schedule.schedule"
	case c.UpdateMaintenanceSchedule != nil && c.UpdateMaintenanceSchedule.missingUnavailability():
		return "update_maintenance_schedule.schedule.windows[].unavailability"
	case c.missingVolumeField() != "":
		return c.missingVolumeField()
	case c.UpdateWeights != nil:
		for _, w := range c.UpdateWeights.WeightInfos {
			if w.Weight == nil {
				return "update_weights.weight_infos[].weight"
			}
		}
	}
	return ""
}

// validate requires the sub-message a call's type needs, as Mesos'
// validation::master::call::validate does, and sane durations.
func (c *Call) validate(name string) error {
	need := map[string]bool{
		CallGetMetrics:      c.GetMetrics != nil,
		CallSetLoggingLevel: c.SetLoggingLevel != nil,
		CallListFiles:       c.ListFiles != nil,
		CallReadFile:        c.ReadFile != nil,
		CallTeardown:        c.Teardown != nil,
		CallUpdateWeights:   c.UpdateWeights != nil,
		CallMarkAgentGone:   c.MarkAgentGone != nil,
		CallUpdateQuota:     c.UpdateQuota != nil,
		CallSetQuota:        c.SetQuota != nil,
		CallRemoveQuota:     c.RemoveQuota != nil,
		CallDrainAgent:      c.DrainAgent != nil,
		CallDeactivateAgent: c.DeactivateAgent != nil,
		CallReactivateAgent: c.ReactivateAgent != nil,

		CallUpdateMaintenanceSchedule: c.UpdateMaintenanceSchedule != nil,
		CallStartMaintenance:          c.StartMaintenance != nil,
		CallStopMaintenance:           c.StopMaintenance != nil,
		CallReserveResources:          c.ReserveResources != nil,
		CallUnreserveResources:        c.UnreserveResources != nil,
		CallCreateVolumes:             c.CreateVolumes != nil,
		CallDestroyVolumes:            c.DestroyVolumes != nil,
		CallGrowVolume:                c.GrowVolume != nil,
		CallShrinkVolume:              c.ShrinkVolume != nil,
	}
	if present, ok := need[c.Type]; ok && !present {
		return parseErrorf("Failed to validate %s: Expecting '%s' to be present", name, subMessage[c.Type])
	}
	if c.GetMetrics != nil && c.GetMetrics.Timeout != nil && *c.GetMetrics.Timeout.Nanoseconds < 0 {
		return parseErrorf("Failed to validate %s: 'get_metrics.timeout' must not be negative", name)
	}
	if d := c.DrainAgent; d != nil && d.MaxGracePeriod != nil && d.MaxGracePeriod.Duration() < 0 {
		return parseErrorf("Failed to validate %s: 'drain_agent.max_grace_period' must not be negative", name)
	}
	if c.SetLoggingLevel != nil && *c.SetLoggingLevel.Duration.Nanoseconds < 0 {
		return parseErrorf("Failed to validate %s: 'set_logging_level.duration' must not be negative", name)
	}
	return nil
}

// subMessage names the field a call type carries its arguments in.
var subMessage = map[string]string{
	CallGetMetrics:      "get_metrics",
	CallSetLoggingLevel: "set_logging_level",
	CallListFiles:       "list_files",
	CallReadFile:        "read_file",
	CallTeardown:        "teardown",
	CallUpdateWeights:   "update_weights",
	CallMarkAgentGone:   "mark_agent_gone",
	CallUpdateQuota:     "update_quota",
	CallSetQuota:        "set_quota",
	CallRemoveQuota:     "remove_quota",
	CallDrainAgent:      "drain_agent",
	CallDeactivateAgent: "deactivate_agent",
	CallReactivateAgent: "reactivate_agent",

	CallUpdateMaintenanceSchedule: "update_maintenance_schedule",
	CallStartMaintenance:          "start_maintenance",
	CallStopMaintenance:           "stop_maintenance",
	CallReserveResources:          "reserve_resources",
	CallUnreserveResources:        "unreserve_resources",
	CallCreateVolumes:             "create_volumes",
	CallDestroyVolumes:            "destroy_volumes",
	CallGrowVolume:                "grow_volume",
	CallShrinkVolume:              "shrink_volume",
}
