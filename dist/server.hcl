# /etc/mesh/server.hcl: settings of `mesh server -config /etc/mesh/server.hcl`.
# Each name is a flag of `mesh server -h`; a flag on the command line or a
# MESH_<FLAG> variable (MESH_HTTP_ADDR for http-addr) wins over this file.
# This is server 1 of 3: on the others change the addresses and join.

data-dir = "/var/lib/mesh/server"

# The scheduler, agent and operator APIs and the web UI.
http-addr = "10.0.0.1:5050"
# Raft listens here and dials its peers from this address's IP.
raft-addr = "10.0.0.1:5052"

# The quorum: the same number on every server; join lists the others.
bootstrap-expect = 3
join             = ["10.0.0.2:5050", "10.0.0.3:5050"]

# How long a disconnected agent has before its tasks are lost, and the
# least time frameworks get to come back after a leader change.
agent-reregister-timeout   = "10m"
framework-failover-minimum = "1m"

# History kept in the replicated state (and shown by /state).
max-completed-tasks-per-framework = 1000
max-completed-frameworks          = 50

# TLS and authentication (docs/security.md). A server on a non-loopback
# address, as above, refuses to start without them (unless insecure = true):
# uncomment once the files exist. Certificates from `mesh tls init`; the
# credentials of frameworks and operators in Mesos' JSON; the token agents
# join with. Every authenticate-* flag is then on by default.
# tls-cert         = "/etc/mesh/tls/server.pem"
# tls-key          = "/etc/mesh/tls/server-key.pem"
# tls-ca           = "/etc/mesh/tls/ca.pem"
# credentials      = "/etc/mesh/credentials.json"
# agent-join-token = "/etc/mesh/agent-join-token"

log-level = "info"
log-json  = true
