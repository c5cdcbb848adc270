package executor

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mesh/mesos"
)

const ids = `"executor_id":{"value":"e1"},"framework_id":{"value":"M1-0000"}`

// update returns an UPDATE call whose status holds the given fields.
func update(status string) string {
	return `{` + ids + `,"type":"UPDATE","update":{"status":{` + status + `}}}`
}

const (
	goodUUID = `"uuid":"ABEiM0RVZneImaq7zN3u/w=="`
	running  = `"task_id":{"value":"t1"},"state":"TASK_RUNNING"`
	fromExec = `"source":"SOURCE_EXECUTOR"`
)

func TestCall_Validate(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr string // "" means valid
	}{
		{"subscribe", `{` + ids + `,"type":"SUBSCRIBE","subscribe":{}}`, ""},
		{"heartbeat", `{` + ids + `,"type":"HEARTBEAT"}`, ""},
		{"unknown passes (501)", `{` + ids + `,"type":"UNKNOWN"}`, ""},
		{"message", `{` + ids + `,"type":"MESSAGE","message":{"data":"aGk="}}`, ""},
		{"update", update(running + `,` + fromExec + `,` + goodUUID), ""},
		{"update unpadded uuid", update(running + `,` + fromExec + `,"uuid":"ABEiM0RVZneImaq7zN3u/w"`), ""},
		{"update own executor id", update(running + `,` + fromExec + `,` + goodUUID + `,"executor_id":{"value":"e1"}`), ""},
		{"update terminal", update(`"task_id":{"value":"t1"},"state":"TASK_FINISHED",` + fromExec + `,` + goodUUID), ""},
		// Envelope.
		{"no type", `{` + ids + `}`, "expecting 'type' to be present"},
		{"unknown type", `{` + ids + `,"type":"LAUNCH"}`, `'type' has unknown value "LAUNCH"`},
		{"no executor id", `{"framework_id":{"value":"F"},"type":"HEARTBEAT"}`, "expecting 'executor_id' to be present"},
		{"no framework id", `{"executor_id":{"value":"e1"},"type":"HEARTBEAT"}`, "expecting 'framework_id' to be present"},
		{"empty executor id", `{"executor_id":{},"framework_id":{"value":"F"},"type":"HEARTBEAT"}`, "expecting 'executor_id.value' to be present"},
		// Bodies.
		{"subscribe without body", `{` + ids + `,"type":"SUBSCRIBE"}`, "expecting 'subscribe' to be present"},
		{"message without body", `{` + ids + `,"type":"MESSAGE"}`, "expecting 'message' to be present"},
		{"message without data", `{` + ids + `,"type":"MESSAGE","message":{}}`, "expecting 'message.data' to be present"},
		{"update without body", `{` + ids + `,"type":"UPDATE"}`, "expecting 'update' to be present"},
		{"update without status", `{` + ids + `,"type":"UPDATE","update":{}}`, "expecting 'update.status' to be present"},
		{"update without task id", update(`"state":"TASK_RUNNING",` + fromExec + `,` + goodUUID), "expecting 'update.status.task_id' to be present"},
		{"update without state", update(`"task_id":{"value":"t1"},` + fromExec + `,` + goodUUID), "expecting 'update.status.state' to be present"},
		{"update unknown state", update(`"task_id":{"value":"t1"},"state":"TASK_SLEEPING",` + fromExec + `,` + goodUUID), `'update.status.state' has unknown value "TASK_SLEEPING"`},
		// Conformance #38: UPDATE without uuid, from SOURCE_AGENT, or TASK_STAGING → 400.
		{"update without uuid", update(running + `,` + fromExec), "expecting 'update.status.uuid' to be present"},
		{"update short uuid", update(running + `,` + fromExec + `,"uuid":"AAAA"`), "'update.status.uuid' must be a UUID of 16 bytes, got 3 bytes"},
		{"update source agent", update(running + `,"source":"SOURCE_AGENT",` + goodUUID), "'update.status.source' must be SOURCE_EXECUTOR, got SOURCE_AGENT"},
		{"update source master", update(running + `,"source":"SOURCE_MASTER",` + goodUUID), "'update.status.source' must be SOURCE_EXECUTOR, got SOURCE_MASTER"},
		{"update no source", update(running + `,` + goodUUID), "'update.status.source' must be SOURCE_EXECUTOR, got none"},
		// A check status as Mesos validates it.
		{"update with a check status", update(running + `,` + fromExec + `,` + goodUUID + `,"check_status":{"type":"HTTP","http":{}}`), ""},
		{"update check status without type", update(running + `,` + fromExec + `,` + goodUUID + `,"check_status":{"tcp":{}}`),
			"'update.status.check_status' is invalid: CheckStatusInfo must specify 'type'"},
		{"update check status without its member", update(running + `,` + fromExec + `,` + goodUUID + `,"check_status":{"type":"COMMAND","tcp":{}}`),
			"'update.status.check_status' is invalid: Expecting 'command' to be set for COMMAND check's status"},
		{"update check status UNKNOWN", update(running + `,` + fromExec + `,` + goodUUID + `,"check_status":{"type":"UNKNOWN"}`),
			"'update.status.check_status' is invalid: 'UNKNOWN' is not a valid check's status type"},
		{"update staging", update(`"task_id":{"value":"t1"},"state":"TASK_STAGING",` + fromExec + `,` + goodUUID), "'update.status.state' must not be TASK_STAGING: only the master sets it"},
		{"update other executor", update(running + `,` + fromExec + `,` + goodUUID + `,"executor_id":{"value":"e2"}`), `'update.status.executor_id' is "e2", not the calling executor "e1"`},
		// Required fields of resubscription lists.
		{"resubscribe task without name", `{` + ids + `,"type":"SUBSCRIBE","subscribe":{"unacknowledged_tasks":[{"task_id":{"value":"t"},"agent_id":{"value":"a"}}]}}`, "expecting 'subscribe.unacknowledged_tasks[0].name' to be present"},
		{"resubscribe update without status", `{` + ids + `,"type":"SUBSCRIBE","subscribe":{"unacknowledged_updates":[{}]}}`, "expecting 'subscribe.unacknowledged_updates[0].status' to be present"},
		{"resubscribe update without state", `{` + ids + `,"type":"SUBSCRIBE","subscribe":{"unacknowledged_updates":[{"status":{"task_id":{"value":"t"}}}]}}`, "expecting 'subscribe.unacknowledged_updates[0].status.state' to be present"},
		// Required fields are enforced in every body present.
		{"stray body checked", `{` + ids + `,"type":"HEARTBEAT","update":{}}`, "expecting 'update.status' to be present"},
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
			var fe *mesos.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v does not carry a FieldError", err)
			}
			if want := "invalid call: " + tc.wantErr; err.Error() != want {
				t.Fatalf("Validate(%s)\n got %q\nwant %q", tc.in, err, want)
			}
		})
	}
}

func FuzzDecodeCall(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "calls", "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(update(running)))
	f.Add([]byte(`{"type":"SUBSCRIBE","subscribe":{"unacknowledged_updates":[{"status":null}],"unacknowledged_tasks":[{}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Call
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil && !errors.Is(err, ErrInvalidCall) {
			t.Fatalf("Validate error %v does not wrap ErrInvalidCall", err)
		}
	})
}
