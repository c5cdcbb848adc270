package fsm

import (
	"fmt"
	"runtime"
	"testing"

	"mesh/mesos"
)

// BenchmarkState_HeapPerFilterSet reports the live heap the state holds
// per decline filter set, after a GC: 100 frameworks each decline the
// offer of each of 200 agents, as frameworks with nothing to launch do,
// each filter decoded from a log entry of its own (its own copies of the
// ids and of the agent's unused cpus, mem, disk and ports), the 100
// declines of one agent committed together. The frameworks and agents
// are in the state before, and not counted.
func BenchmarkState_HeapPerFilterSet(b *testing.B) {
	const frameworks, agents = 100, 200
	left := func() mesos.Resources {
		return mesos.Resources{mesos.ScalarResource("cpus", 3.5), mesos.ScalarResource("mem", 14000),
			mesos.ScalarResource("disk", 50000), mesos.RangesResource("ports", mesos.Range{Begin: 31000, End: 32000})}
	}
	for i := 0; i < b.N; i++ {
		db := newDB()
		txn := db.Txn(true)
		for fw := 0; fw < frameworks; fw++ {
			mustInsert(txn, tableFrameworks, &Framework{ID: fmt.Sprintf("c1-%04d", fw)})
		}
		for a := 0; a < agents; a++ {
			mustInsert(txn, tableAgents, &Agent{ID: fmt.Sprintf("c1-S%d", a)})
		}
		txn.Commit()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for a := 0; a < agents; a++ {
			txn := db.Txn(true)
			for fw := 0; fw < frameworks; fw++ {
				addFilters(txn, 1, []OfferFilter{{FrameworkID: fmt.Sprintf("c1-%04d", fw), AgentID: fmt.Sprintf("c1-S%d", a),
					Role: "*", Resources: left(), Until: 3600e9}})
			}
			txn.Commit()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(frameworks*agents), "heap-bytes/set")
		runtime.KeepAlive(db)
	}
}
