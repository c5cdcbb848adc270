package server

import (
	"testing"

	"github.com/hashicorp/raft"

	"mesh/fsm"
)

// applier applies commands to f as committed log entries, one index
// after another; a command the state refuses fails the test.
func applier(tb testing.TB, f *fsm.FSM) func(fsm.MessageType, any) {
	var idx uint64
	return func(t fsm.MessageType, req any) {
		tb.Helper()
		buf, err := fsm.Encode(t, req)
		if err != nil {
			tb.Fatal(err)
		}
		idx++
		if err, ok := f.Apply(&raft.Log{Index: idx, Type: raft.LogCommand, Data: buf}).(error); ok {
			tb.Fatalf("entry %d: %v", t, err)
		}
	}
}
