package fsm

import (
	"fmt"
	"sort"

	"github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableMeta       = "meta"
	tableServers    = "servers"
	tableFrameworks = "frameworks"
	tableAgents     = "agents"
	tableOffers     = "offers"
	// tableTasks names the tasks in snapshots; the state keeps them in
	// tableTaskTree's row.
	tableTasks = "tasks"
)

// metaKey is the single row of the meta table.
type metaRow struct {
	Key  string
	Meta Meta
}

func schema() *memdb.DBSchema {
	id := func(field string) *memdb.IndexSchema {
		return &memdb.IndexSchema{Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: field}}
	}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableMeta:       {Name: tableMeta, Indexes: map[string]*memdb.IndexSchema{"id": id("Key")}},
		tableServers:    {Name: tableServers, Indexes: map[string]*memdb.IndexSchema{"id": id("ID")}},
		tableFrameworks: {Name: tableFrameworks, Indexes: map[string]*memdb.IndexSchema{"id": uniqueKey(func(f *Framework) string { return f.ID })}},
		tableAgents:     {Name: tableAgents, Indexes: map[string]*memdb.IndexSchema{"id": uniqueKey(func(a *Agent) string { return a.ID })}},
		tableOffers: {Name: tableOffers, Indexes: map[string]*memdb.IndexSchema{
			"id":        uniqueKey(func(o *Offer) string { return o.ID }),
			"framework": {Name: "framework", Indexer: keyIndex[Offer]{func(o *Offer) string { return o.FrameworkID }}},
			"agent":     {Name: "agent", Indexer: keyIndex[Offer]{func(o *Offer) string { return o.AgentID }}},
		}},
		tableFilterTree: filterTree.schema(),
		tableExecutors:  executorsSchema(),
		tableOperations: operationsSchema(),
		tableTaskTree:   taskTree.schema(),
		tableAgentTasks: agentTasksSchema(),
	}}
}

// uniqueKey is the "id" index of rows of type T by key.
func uniqueKey[T any](key func(*T) string) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: "id", Unique: true, Indexer: keyIndex[T]{key}}
}

func newDB() *memdb.MemDB {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(fmt.Sprintf("fsm: bad schema: %v", err))
	}
	// Nothing watches the state for changes (readers take a view when
	// they need one), so it is kept in a database that does not track
	// them: memdb's copy of a database tracks no mutation, and a commit
	// then does not gather and close a channel for every node it copied.
	return db.Snapshot()
}

// State is a read-only, consistent view of the replicated state. Objects it
// returns are shared with the store: never mutate them; Copy first.
type State struct {
	txn *memdb.Txn
}

// Meta returns cluster bookkeeping.
func (s *State) Meta() Meta {
	raw, err := s.txn.First(tableMeta, "id", "meta")
	if err != nil || raw == nil {
		return Meta{}
	}
	return raw.(*metaRow).Meta
}

// Servers returns every announced server.
func (s *State) Servers() []*Server {
	return listAll[*Server](s.txn, tableServers, "id")
}

// Framework returns a framework by id, nil if unknown.
func (s *State) Framework(id string) *Framework {
	return first[*Framework](s.txn, tableFrameworks, "id", id)
}

// Frameworks returns every framework, removed ones included, by id.
func (s *State) Frameworks() []*Framework {
	return listAll[*Framework](s.txn, tableFrameworks, "id")
}

// Agent returns an agent by id, nil if unknown.
func (s *State) Agent(id string) *Agent {
	return first[*Agent](s.txn, tableAgents, "id", id)
}

// Agents returns every agent by id.
func (s *State) Agents() []*Agent {
	return listAll[*Agent](s.txn, tableAgents, "id")
}

// Offer returns an offer by id, nil if unknown.
func (s *State) Offer(id string) *Offer {
	return first[*Offer](s.txn, tableOffers, "id", id)
}

// Offers returns every outstanding offer.
func (s *State) Offers() []*Offer {
	return listAll[*Offer](s.txn, tableOffers, "id")
}

// OffersByFramework returns a framework's outstanding offers.
func (s *State) OffersByFramework(fid string) []*Offer {
	return list[*Offer](s.txn, tableOffers, "framework", fid)
}

// OffersByAgent returns the outstanding offers of an agent.
func (s *State) OffersByAgent(aid string) []*Offer {
	return list[*Offer](s.txn, tableOffers, "agent", aid)
}

// Task returns a task by framework and task id, nil if unknown.
func (s *State) Task(fid, tid string) *Task {
	return getTask(s.txn, fid, tid)
}

// Tasks returns every task, completed ones included.
func (s *State) Tasks() []*Task {
	return collectTasks(s.txn, "")
}

// EachTask calls f with every task, completed ones included, in the order
// Tasks lists them, without gathering them in a slice first.
func (s *State) EachTask(f func(*Task)) {
	eachTask(s.txn, "", func(t *Task) bool { f(t); return true })
}

// TasksByFramework returns a framework's tasks.
func (s *State) TasksByFramework(fid string) []*Task {
	if fid == "" {
		return nil
	}
	return collectTasks(s.txn, fid)
}

// TasksByAgent returns the tasks placed on an agent, by framework id
// then task id.
func (s *State) TasksByAgent(aid string) []*Task {
	row := first[*agentTasks](s.txn, tableAgentTasks, "id", aid)
	if row == nil {
		return nil
	}
	out := make([]*Task, 0, len(row.Tasks))
	tree := readTasks(s.txn)
	for _, r := range row.Tasks {
		if t := findTask(tree, r.FrameworkID, r.TaskID); t != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.FrameworkID < b.FrameworkID || a.FrameworkID == b.FrameworkID && a.TaskID < b.TaskID
	})
	return out
}

func first[T any](txn *memdb.Txn, table, index string, args ...any) T {
	var zero T
	raw, err := txn.First(table, index, args...)
	if err != nil || raw == nil {
		return zero
	}
	return raw.(T)
}

func list[T any](txn *memdb.Txn, table, index string, args ...any) []T {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		return nil
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return out
}

func listAll[T any](txn *memdb.Txn, table, index string) []T {
	return list[T](txn, table, index)
}
