package fsm

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"
)

var _ raft.BatchingFSM = (*FSM)(nil)

// ApplyBatch applies a batch of committed entries, as raft hands them
// over, and returns one result per entry. Without an observer that wants
// each command (an operator event stream is open) the whole batch goes
// into one write transaction: each committed transaction copies the
// paths from the indexes' roots down to what changed, and at a data
// center's load raft hands over hundreds of small entries at a time
// (agents' status updates, launches, acknowledgements), whose copies
// were most of their cost. A rejected command still changes nothing (see
// applyShared).
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	res := make([]any, len(logs))
	obs := f.observer.Load()
	if obs != nil && (*obs).Begin() {
		for i, l := range logs {
			res[i] = f.applyOne(l, *obs)
		}
		(*obs).End(f.State())
		return res
	}
	f.applyShared(logs, res)
	if obs != nil {
		(*obs).End(f.State())
	}
	return res
}

// applyShared applies logs in shared write transactions. A command that
// returns an error may have written to the transaction before it found
// the error, so the transaction is then dropped, the commands before it
// are applied again into a fresh one (apply is deterministic: they give
// the same results) and committed, and the rest of the batch goes on in
// another, opened when the next command comes.
func (f *FSM) applyShared(logs []*raft.Log, res []any) {
	db := f.db.Load()
	var txn *memdb.Txn
	var in []int // the entries written into txn
	for i, l := range logs {
		cmd, body, isMsgpack, ok := f.command(l)
		if !ok {
			continue
		}
		if txn == nil {
			txn = db.Txn(true)
		}
		_, r := cmd.apply(f, txn, isMsgpack, body)
		res[i] = r
		if !isError(r) {
			in = append(in, i)
			continue
		}
		txn.Abort()
		txn = nil
		if len(in) > 0 {
			again := db.Txn(true)
			for _, j := range in {
				cmd, body, isMsgpack, _ := f.command(logs[j])
				if _, r := cmd.apply(f, again, isMsgpack, body); isError(r) {
					panic(fmt.Sprintf("fsm: entry %d applied again gave %v", logs[j].Index, r))
				}
			}
			again.Commit()
			f.index.Store(logs[in[len(in)-1]].Index)
			in = in[:0]
		}
	}
	if txn != nil {
		txn.Commit()
	}
	if n := len(logs); n > 0 {
		f.index.Store(logs[n-1].Index)
	}
}

func isError(r any) bool {
	_, ok := r.(error)
	return ok
}

// command finds the apply function of a log entry; ok is false for an
// entry that is not a command (raft's configuration changes) or whose
// type this version does not know but may ignore.
func (f *FSM) command(l *raft.Log) (cmd command, body []byte, isMsgpack, ok bool) {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return command{}, nil, false, false
	}
	flags := MessageType(l.Data[0])
	t := EntryType(l.Data[0])
	cmd, ok = applyTable[t]
	if !ok {
		if flags&IgnoreUnknownTypeFlag != 0 {
			f.logger.Warn("ignoring unknown log entry type", "type", t, "index", l.Index)
			return command{}, nil, false, false
		}
		panic(fmt.Sprintf("fsm: unknown log entry type %d at index %d", t, l.Index))
	}
	return cmd, l.Data[1:], flags&MsgpackFlag != 0, true
}

// applyOne applies one entry in a transaction of its own and tells obs
// of it with the state just before and just after it.
func (f *FSM) applyOne(l *raft.Log, obs Observer) any {
	cmd, body, isMsgpack, ok := f.command(l)
	if !ok {
		return nil
	}
	defer f.index.Store(l.Index)
	db := f.db.Load()
	before := &State{txn: db.Txn(false)}
	txn := db.Txn(true)
	defer txn.Abort()
	req, res := cmd.apply(f, txn, isMsgpack, body)
	if isError(res) {
		// A rejected command changes nothing.
		return res
	}
	txn.Commit()
	obs.Command(EntryType(l.Data[0]), req, before, &State{txn: db.Txn(false)})
	return res
}
