package scheduler

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mesh/mesos"
)

const fw = `"framework_id":{"value":"M1-0000"}`

// task returns a TaskInfo JSON object with the given extra fields; drop
// removes one of name, task_id, agent_id.
func task(drop string, extra string) string {
	fields := map[string]string{
		"name":     `"name":"web"`,
		"task_id":  `"task_id":{"value":"t1"}`,
		"agent_id": `"agent_id":{"value":"M1-S0"}`,
	}
	var parts []string
	for _, k := range []string{"name", "task_id", "agent_id"} {
		if k != drop {
			parts = append(parts, fields[k])
		}
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func launch(taskJSON string) string {
	return `{` + fw + `,"type":"ACCEPT","accept":{"offer_ids":[{"value":"M1-O7"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` + taskJSON + `]}}]}}`
}

func TestCall_Validate(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr string // "" means valid
	}{
		// Conformance #5, #6: SUBSCRIBE needs its body and a framework_info with user and name.
		{"subscribe without body", `{"type":"SUBSCRIBE"}`, "expecting 'subscribe' to be present"},
		{"subscribe without framework_info", `{"type":"SUBSCRIBE","subscribe":{}}`, "expecting 'subscribe.framework_info' to be present"},
		{"subscribe without user", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"demo"}}}`, "expecting 'subscribe.framework_info.user' to be present"},
		{"subscribe without name", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root"}}}`, "expecting 'subscribe.framework_info.name' to be present"},
		{"subscribe minimal", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"demo"}}}`, ""},
		{"subscribe label without key", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","labels":{"labels":[{"value":"v"}]}}}}`, "expecting 'subscribe.framework_info.labels.labels[0].key' to be present"},
		{"subscribe empty info id", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{}}}}`, "expecting 'subscribe.framework_info.id.value' to be present"},
		// Conformance #10: ids must agree; both absent is fine.
		{"resubscribe ids agree", `{` + fw + `,"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"M1-0000"}}}}`, ""},
		{"resubscribe ids differ", `{` + fw + `,"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"M1-0001"}}}}`, "'framework_id' differs from 'subscribe.framework_info.id'"},
		{"top-level id only", `{` + fw + `,"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}`, "'framework_id' differs from 'subscribe.framework_info.id'"},
		{"info id only", `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","id":{"value":"M1-0000"}}}}`, "'framework_id' differs from 'subscribe.framework_info.id'"},
		// Type.
		{"no type", `{` + fw + `}`, "expecting 'type' to be present"},
		{"unknown type", `{` + fw + `,"type":"FROBNICATE"}`, `'type' has unknown value "FROBNICATE"`},
		{"lower-case type", `{` + fw + `,"type":"teardown"}`, `'type' has unknown value "teardown"`},
		// Conformance #31: UNKNOWN passes here; the server answers 501.
		{"UNKNOWN", `{` + fw + `,"type":"UNKNOWN"}`, ""},
		{"UNKNOWN without framework", `{"type":"UNKNOWN"}`, "expecting 'framework_id' to be present"},
		// Conformance #15: every call but SUBSCRIBE needs framework_id.
		{"teardown", `{` + fw + `,"type":"TEARDOWN"}`, ""},
		{"teardown without framework", `{"type":"TEARDOWN"}`, "expecting 'framework_id' to be present"},
		{"decline without framework", `{"type":"DECLINE","decline":{"offer_ids":[{"value":"O"}]}}`, "expecting 'framework_id' to be present"},
		{"empty framework id", `{"framework_id":{},"type":"TEARDOWN"}`, "expecting 'framework_id.value' to be present"},
		// Bodies.
		{"revive without body", `{` + fw + `,"type":"REVIVE"}`, ""},
		{"suppress without body", `{` + fw + `,"type":"SUPPRESS"}`, ""},
		{"accept without body", `{` + fw + `,"type":"ACCEPT"}`, "expecting 'accept' to be present"},
		{"decline without body", `{` + fw + `,"type":"DECLINE"}`, "expecting 'decline' to be present"},
		{"kill without body", `{` + fw + `,"type":"KILL"}`, "expecting 'kill' to be present"},
		{"shutdown without body", `{` + fw + `,"type":"SHUTDOWN"}`, "expecting 'shutdown' to be present"},
		{"acknowledge without body", `{` + fw + `,"type":"ACKNOWLEDGE"}`, "expecting 'acknowledge' to be present"},
		{"reconcile without body", `{` + fw + `,"type":"RECONCILE"}`, "expecting 'reconcile' to be present"},
		{"message without body", `{` + fw + `,"type":"MESSAGE"}`, "expecting 'message' to be present"},
		{"request without body", `{` + fw + `,"type":"REQUEST"}`, "expecting 'request' to be present"},
		{"accept inverse without body", `{` + fw + `,"type":"ACCEPT_INVERSE_OFFERS"}`, "expecting 'accept_inverse_offers' to be present"},
		{"decline inverse without body", `{` + fw + `,"type":"DECLINE_INVERSE_OFFERS"}`, "expecting 'decline_inverse_offers' to be present"},
		{"ack op without body", `{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS"}`, "expecting 'acknowledge_operation_status' to be present"},
		{"reconcile ops without body", `{` + fw + `,"type":"RECONCILE_OPERATIONS"}`, "expecting 'reconcile_operations' to be present"},
		{"update framework without body", `{` + fw + `,"type":"UPDATE_FRAMEWORK"}`, "expecting 'update_framework' to be present"},
		{"wrong body for type", `{` + fw + `,"type":"KILL","decline":{}}`, "expecting 'kill' to be present"},
		{"reconcile implicit", `{` + fw + `,"type":"RECONCILE","reconcile":{}}`, ""},
		{"decline empty", `{` + fw + `,"type":"DECLINE","decline":{}}`, ""},
		{"decline empty offer id", `{` + fw + `,"type":"DECLINE","decline":{"offer_ids":[{"value":"O"},{}]}}`, "expecting 'decline.offer_ids[1].value' to be present"},
		// Required fields are enforced in every body present, whatever the type.
		{"stray body checked", `{` + fw + `,"type":"TEARDOWN","kill":{}}`, "expecting 'kill.task_id' to be present"},
		// KILL, SHUTDOWN.
		{"kill", `{` + fw + `,"type":"KILL","kill":{"task_id":{"value":"t1"}}}`, ""},
		{"kill without task", `{` + fw + `,"type":"KILL","kill":{"agent_id":{"value":"a"}}}`, "expecting 'kill.task_id' to be present"},
		{"kill empty task id", `{` + fw + `,"type":"KILL","kill":{"task_id":{}}}`, "expecting 'kill.task_id.value' to be present"},
		{"shutdown without agent", `{` + fw + `,"type":"SHUTDOWN","shutdown":{"executor_id":{"value":"e"}}}`, "expecting 'shutdown.agent_id' to be present"},
		{"shutdown without executor", `{` + fw + `,"type":"SHUTDOWN","shutdown":{"agent_id":{"value":"a"}}}`, "expecting 'shutdown.executor_id' to be present"},
		// Conformance #18: ACKNOWLEDGE uuid must be 16 bytes.
		{"ack short uuid", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"AAAA"}}`, "'acknowledge.uuid' must be a UUID of 16 bytes, got 3 bytes"},
		{"ack empty uuid", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":""}}`, "'acknowledge.uuid' must be a UUID of 16 bytes, got 0 bytes"},
		{"ack no uuid", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"}}}`, "expecting 'acknowledge.uuid' to be present"},
		{"ack unpadded uuid", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"t"},"uuid":"ABEiM0RVZneImaq7zN3u/w"}}`, ""},
		{"ack no agent", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"task_id":{"value":"t"},"uuid":"ABEiM0RVZneImaq7zN3u/w=="}}`, "expecting 'acknowledge.agent_id' to be present"},
		{"ack no task", `{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"uuid":"ABEiM0RVZneImaq7zN3u/w=="}}`, "expecting 'acknowledge.task_id' to be present"},
		// ACKNOWLEDGE_OPERATION_STATUS.
		{"ack op", `{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"agent_id":{"value":"a"},"uuid":"ABEiM0RVZneImaq7zN3u/w==","operation_id":{"value":"op"}}}`, ""},
		{"ack op no agent", `{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"uuid":"ABEiM0RVZneImaq7zN3u/w==","operation_id":{"value":"op"}}}`, "expecting 'acknowledge_operation_status.agent_id' to be present"},
		{"ack op short uuid", `{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"agent_id":{"value":"a"},"uuid":"AAAA","operation_id":{"value":"op"}}}`, "'acknowledge_operation_status.uuid' must be a UUID of 16 bytes, got 3 bytes"},
		{"ack op no operation", `{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"agent_id":{"value":"a"},"uuid":"ABEiM0RVZneImaq7zN3u/w=="}}`, "expecting 'acknowledge_operation_status.operation_id' to be present"},
		// RECONCILE, RECONCILE_OPERATIONS, MESSAGE, REQUEST.
		{"reconcile task without id", `{` + fw + `,"type":"RECONCILE","reconcile":{"tasks":[{"task_id":{"value":"t"}},{"agent_id":{"value":"a"}}]}}`, "expecting 'reconcile.tasks[1].task_id' to be present"},
		{"reconcile ops without id", `{` + fw + `,"type":"RECONCILE_OPERATIONS","reconcile_operations":{"operations":[{}]}}`, "expecting 'reconcile_operations.operations[0].operation_id' to be present"},
		{"message without data", `{` + fw + `,"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"}}}`, "expecting 'message.data' to be present"},
		{"message empty data", `{` + fw + `,"type":"MESSAGE","message":{"agent_id":{"value":"a"},"executor_id":{"value":"e"},"data":""}}`, ""},
		{"message without executor", `{` + fw + `,"type":"MESSAGE","message":{"agent_id":{"value":"a"},"data":"aGk="}}`, "expecting 'message.executor_id' to be present"},
		{"request resource without type", `{` + fw + `,"type":"REQUEST","request":{"requests":[{"resources":[{"name":"cpus","scalar":{"value":1}}]}]}}`, "expecting 'request.requests[0].resources[0].type' to be present"},
		// UPDATE_FRAMEWORK.
		{"update framework", `{` + fw + `,"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"u","name":"n","id":{"value":"M1-0000"}}}}`, ""},
		{"update framework id differs", `{` + fw + `,"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"u","name":"n","id":{"value":"X"}}}}`, "'framework_id' differs from 'update_framework.framework_info.id'"},
		{"update framework without id", `{` + fw + `,"type":"UPDATE_FRAMEWORK","update_framework":{"framework_info":{"user":"u","name":"n"}}}`, "'framework_id' differs from 'update_framework.framework_info.id'"},
		{"update framework without info", `{` + fw + `,"type":"UPDATE_FRAMEWORK","update_framework":{}}`, "expecting 'update_framework.framework_info' to be present"},
		// Conformance #19: a TaskInfo in an ACCEPT's LAUNCH needs name, task_id, agent_id.
		{"launch", launch(task("", "")), ""},
		{"launch without name", launch(task("name", "")), "expecting 'accept.operations[0].launch.task_infos[0].name' to be present"},
		{"launch without task_id", launch(task("task_id", "")), "expecting 'accept.operations[0].launch.task_infos[0].task_id' to be present"},
		{"launch without agent_id", launch(task("agent_id", "")), "expecting 'accept.operations[0].launch.task_infos[0].agent_id' to be present"},
		{"launch resource without name", launch(task("", `"resources":[{"type":"SCALAR","scalar":{"value":1}}]`)), "expecting 'accept.operations[0].launch.task_infos[0].resources[0].name' to be present"},
		{"launch resource bad type", launch(task("", `"resources":[{"name":"cpus","type":"FLOAT","scalar":{"value":1}}]`)), `'accept.operations[0].launch.task_infos[0].resources[0].type' has unknown value "FLOAT"`},
		{"launch uri without value", launch(task("", `"command":{"uris":[{"extract":false}]}`)), "expecting 'accept.operations[0].launch.task_infos[0].command.uris[0].value' to be present"},
		{"launch env without name", launch(task("", `"command":{"environment":{"variables":[{"value":"v"}]}}`)), "expecting 'accept.operations[0].launch.task_infos[0].command.environment.variables[0].name' to be present"},
		{"launch container without type", launch(task("", `"container":{"mesos":{}}`)), "expecting 'accept.operations[0].launch.task_infos[0].container.type' to be present"},
		{"launch container bad type", launch(task("", `"container":{"type":"LXC"}`)), `'accept.operations[0].launch.task_infos[0].container.type' has unknown value "LXC"`},
		{"launch image without name", launch(task("", `"container":{"type":"MESOS","mesos":{"image":{"type":"DOCKER","docker":{}}}}`)), "expecting 'accept.operations[0].launch.task_infos[0].container.mesos.image.docker.name' to be present"},
		{"launch volume without path", launch(task("", `"container":{"type":"MESOS","volumes":[{"mode":"RW"}]}`)), "expecting 'accept.operations[0].launch.task_infos[0].container.volumes[0].container_path' to be present"},
		{"launch executor without id", launch(task("", `"executor":{"command":{"value":"x"}}`)), "expecting 'accept.operations[0].launch.task_infos[0].executor.executor_id' to be present"},
		// An empty offer_ids list is the master's to reject (TASK_LOST), not a 400 (conformance #20).
		{"accept no offers", `{` + fw + `,"type":"ACCEPT","accept":{"offer_ids":[],"operations":[{"type":"LAUNCH","launch":{"task_infos":[` + task("", "") + `]}}]}}`, ""},
		// An unknown operation type is the master's to reject (optional enum).
		{"accept unknown operation", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"TELEPORT"}]}}`, ""},
		{"launch group task without name", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH_GROUP","launch_group":{"executor":{"executor_id":{"value":"e"}},"task_group":{"tasks":[` + task("name", "") + `]}}}]}}`, "expecting 'accept.operations[0].launch_group.task_group.tasks[0].name' to be present"},
		{"launch group without executor", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"LAUNCH_GROUP","launch_group":{"task_group":{}}}]}}`, "expecting 'accept.operations[0].launch_group.executor.executor_id' to be present"},
		{"reserve resource without name", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"RESERVE","reserve":{"resources":[{"type":"SCALAR","scalar":{"value":1}}]}}]}}`, "expecting 'accept.operations[0].reserve.resources[0].name' to be present"},
		{"create volume without persistence id", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"CREATE","create":{"volumes":[{"name":"disk","type":"SCALAR","scalar":{"value":1},"disk":{"persistence":{}}}]}}]}}`, "expecting 'accept.operations[0].create.volumes[0].disk.persistence.id' to be present"},
		{"grow volume without addition", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"GROW_VOLUME","grow_volume":{"volume":{"name":"disk","type":"SCALAR","scalar":{"value":1}}}}]}}`, "expecting 'accept.operations[0].grow_volume.addition' to be present"},
		{"operation empty id", `{` + fw + `,"type":"ACCEPT","accept":{"operations":[{"type":"RESERVE","id":{}}]}}`, "expecting 'accept.operations[0].id.value' to be present"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Call
			if err := json.Unmarshal([]byte(tc.in), &c); err != nil {
				t.Fatalf("decode %s: %v", tc.in, err)
			}
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%s) = %v, want nil", tc.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%s) = nil, want %q", tc.in, tc.wantErr)
			}
			if !errors.Is(err, ErrInvalidCall) {
				t.Fatalf("error %v does not wrap ErrInvalidCall", err)
			}
			if want := "invalid call: " + tc.wantErr; err.Error() != want {
				t.Fatalf("Validate(%s)\n got %q\nwant %q", tc.in, err, want)
			}
		})
	}
}

func TestCall_ValidateFieldError(t *testing.T) {
	var c Call
	if err := json.Unmarshal([]byte(launch(task("name", ""))), &c); err != nil {
		t.Fatal(err)
	}
	var fe *mesos.FieldError
	if err := c.Validate(); !errors.As(err, &fe) || fe.Field != "accept.operations[0].launch.task_infos[0].name" || fe.Problem != "" {
		t.Fatalf("Validate = %v, want a FieldError for the task name", err)
	}
}

// TestDecode_Rejects covers what fails before Validate: bodies that are not
// a JSON object (conformance #4), wrong JSON types and bad base64 (all 400).
func TestDecode_Rejects(t *testing.T) {
	for _, in := range []string{
		`{`, `[]`, `"x"`, ``,
		`{"type":1}`,
		`{"framework_id":"M1-0000","type":"TEARDOWN"}`,
		`{` + fw + `,"type":"ACKNOWLEDGE","acknowledge":{"uuid":"not base64!"}}`,
		`{` + fw + `,"type":"DECLINE","decline":{"offer_ids":{"value":"O"}}}`,
		`{` + fw + `,"type":"ACKNOWLEDGE_OPERATION_STATUS","acknowledge_operation_status":{"operation_id":"op1"}}`,
	} {
		var c Call
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("decoding %q succeeded, want an error", in)
		}
	}
}

func FuzzDecodeCall(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "calls", "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		`{"type":"SUBSCRIBE"}`, `{"type":"UPDATE_FRAMEWORK","framework_id":{"value":"F"},"update_framework":{}}`,
		`{"type":"ACCEPT","framework_id":{"value":"F"},"accept":{"operations":[{"launch_group":{},"grow_volume":{},"shrink_volume":{},"create_disk":{},"destroy_disk":{}}]}}`,
		`{"type":"ACCEPT","framework_id":{"value":"F"},"accept":{"operations":[{"launch":{"task_infos":[{"container":{"type":"MESOS","volumes":[{}],"mesos":{"image":{"type":"APPC","appc":{}}}},"resources":[{"name":"d","type":"SCALAR","disk":{"source":{},"volume":{}}}]}]}}]}}`,
		`{"type":"REQUEST","framework_id":{"value":"F"},"request":{"requests":[{"resources":[{}]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Call
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		err := c.Validate()
		if err != nil && !errors.Is(err, ErrInvalidCall) {
			t.Fatalf("Validate error %v does not wrap ErrInvalidCall", err)
		}
		if err == nil && c.Type == "" {
			t.Fatalf("call without a type validated: %s", data)
		}
	})
}
