package fsm

import (
	"bytes"
	"testing"

	"github.com/hashicorp/go-memdb"
)

// FuzzKeyIndexes_MatchMemdbIndexers: the state's own indexer gives the
// keys, prefixes and refusals memdb's StringFieldIndex gave for the same
// rows and arguments, so trees built by either
// are the same and every lookup finds what it found.
func FuzzKeyIndexes_MatchMemdbIndexers(f *testing.F) {
	f.Add("c1-0000", "task-1")
	f.Add("", "t")
	f.Add("f", "")
	f.Add("a\x00b", "\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		single := keyIndex[Agent]{func(x *Agent) string { return x.ID }}
		memSingle := &memdb.StringFieldIndex{Field: "ID"}
		same(t, "one field, row", fromObject(single, &Agent{ID: a}), fromObject(memSingle, &Agent{ID: a}))
		same(t, "one field, args", pair(single.FromArgs(a)), pair(memSingle.FromArgs(a)))
		same(t, "one field, prefix", pair(single.PrefixFromArgs(a)), pair(memSingle.PrefixFromArgs(a)))
		same(t, "one field, two args", pair(single.FromArgs(a, b)), pair(memSingle.FromArgs(a, b)))
		same(t, "one field, not a string", pair(single.FromArgs(1)), pair(memSingle.FromArgs(1)))

	})
}

// result is an indexer's answer: ok (for rows), the key, whether it
// erred.
type result struct {
	ok    bool
	key   []byte
	erred bool
}

func fromObject(x memdb.SingleIndexer, row any) result {
	ok, key, err := x.FromObject(row)
	return result{ok, key, err != nil}
}

func pair(key []byte, err error) result { return result{true, key, err != nil} }

func same(t *testing.T, what string, got, want result) {
	t.Helper()
	if got.ok != want.ok || got.erred != want.erred || !bytes.Equal(got.key, want.key) {
		t.Errorf("%s: got ok=%v key=%q error=%v, memdb's ok=%v key=%q error=%v",
			what, got.ok, got.key, got.erred, want.ok, want.key, want.erred)
	}
}
