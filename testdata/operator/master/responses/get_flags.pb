ù
!
agent-reregister-timeout1m15s

allocation-interval100ms

	allocatordrf

bootstrap-expect1
)
data-dir/tmp/TestZZDump2941829070/001

enable-debugfalse
!
framework-failover-minimum30s

heartbeat-interval1s

	http-addr127.0.0.1:0

join

max-completed-frameworks50
)
!max-completed-tasks-per-framework1000

	raft-addr127.0.0.1:0

raft-advertise

raft-election-timeout150ms

raft-heartbeat-timeout150ms

raft-leader-lease100ms

raft-store-timeout5s