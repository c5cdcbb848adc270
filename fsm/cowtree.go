package fsm

import (
	"strings"

	"github.com/google/btree"
	"github.com/hashicorp/go-memdb"
)

// A treeTable keeps many small records (tasks, offer filters) in a
// copy-on-write B-tree held by the one row of a memdb table of its own,
// instead of as rows of a table of theirs. A memdb table keeps each row as
// a leaf of a radix tree per index, whose every node and leaf carries a
// change channel: several hundred bytes a row before the row itself, and
// an update copies the path of nodes above it with a channel each. The
// B-tree keeps a record as one entry in an array of up to 2×degree−1; a
// write transaction clones the tree when it first changes it, and copies
// each node the first time it changes it. Because the tree sits in a memdb
// row, a transaction sees its records exactly as of the rest of the state
// it reads: committing the row publishes them with everything else, and
// aborting it drops the clone.
type treeTable[T any] struct {
	table string
	// key is the row's key, table boxed once: a string made an interface
	// at every lookup cost each read an allocation.
	key    any
	degree int
	less   btree.LessFunc[T]
}

// treeRow is the row holding a treeTable's tree. A committed row's tree is
// never changed again: owner is the write transaction that cloned it and
// may change it in place until it commits.
type treeRow[T any] struct {
	Key   string
	tree  *btree.BTreeG[T]
	owner *memdb.Txn
}

func (tt treeTable[T]) schema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tt.table, Indexes: map[string]*memdb.IndexSchema{
		"id": uniqueKey(func(r *treeRow[T]) string { return r.Key }),
	}}
}

// read is the tree txn sees; nil while there is none.
func (tt treeTable[T]) read(txn *memdb.Txn) *btree.BTreeG[T] {
	if row := first[*treeRow[T]](txn, tt.table, "id", tt.key); row != nil {
		return row.tree
	}
	return nil
}

// write is the tree txn may change in place: the first call in a write
// transaction clones the committed tree (its nodes are copied as they
// change) and puts the clone in the transaction's row.
func (tt treeTable[T]) write(txn *memdb.Txn) *btree.BTreeG[T] {
	row := first[*treeRow[T]](txn, tt.table, "id", tt.key)
	if row != nil && row.owner == txn {
		return row.tree
	}
	var tree *btree.BTreeG[T]
	if row != nil {
		tree = row.tree.Clone()
	} else {
		tree = btree.NewG(tt.degree, tt.less)
	}
	mustInsert(txn, tt.table, &treeRow[T]{Key: tt.table, tree: tree, owner: txn})
	return tree
}

// get is the record equal to key under less, and whether there is one.
func (tt treeTable[T]) get(txn *memdb.Txn, key T) (T, bool) {
	if tree := tt.read(txn); tree != nil {
		return tree.Get(key)
	}
	var zero T
	return zero, false
}

// delete removes the record equal to key, if there is one.
func (tt treeTable[T]) delete(txn *memdb.Txn, key T) {
	if tt.read(txn) == nil {
		return
	}
	tt.write(txn).Delete(key)
}

// ascendFrom calls f for each record from the first not less than from
// (every record when from is nil), in order, while f returns true.
func (tt treeTable[T]) ascendFrom(txn *memdb.Txn, from *T, f func(T) bool) {
	tree := tt.read(txn)
	switch {
	case tree == nil:
	case from == nil:
		tree.Ascend(btree.ItemIteratorG[T](f))
	default:
		tree.AscendGreaterOrEqual(*from, btree.ItemIteratorG[T](f))
	}
}

// keyed is a record of a treeTable ordered by two ids, the first its
// framework's: the ids are the record's own strings.
type keyed[V any] struct {
	id1, id2 string
	v        V
}

// idsLess orders records by their first id, then their second.
func idsLess(a1, a2, b1, b2 string) bool {
	if c := strings.Compare(a1, b1); c != 0 {
		return c < 0
	}
	return a2 < b2
}

// keyedTable is a treeTable of records ordered by two ids, in nodes of 15
// to 31 entries.
func keyedTable[V any](table string) treeTable[keyed[V]] {
	less := func(a, b keyed[V]) bool { return idsLess(a.id1, a.id2, b.id1, b.id2) }
	return treeTable[keyed[V]]{table: table, key: table, degree: 16, less: less}
}

// eachKeyed calls f for every record of tt, by first id then second,
// while f returns true; with id1 set, only those of id1.
func eachKeyed[V any](tt treeTable[keyed[V]], txn *memdb.Txn, id1 string, f func(V) bool) {
	if id1 == "" {
		tt.ascendFrom(txn, nil, func(p keyed[V]) bool { return f(p.v) })
		return
	}
	tt.ascendFrom(txn, &keyed[V]{id1: id1}, func(p keyed[V]) bool { return p.id1 == id1 && f(p.v) })
}

// collectKeyed lists what eachKeyed visits.
func collectKeyed[V any](tt treeTable[keyed[V]], txn *memdb.Txn, id1 string) []V {
	var out []V
	eachKeyed(tt, txn, id1, func(v V) bool {
		out = append(out, v)
		return true
	})
	return out
}
