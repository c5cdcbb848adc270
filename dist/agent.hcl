# /etc/mesh/agent.hcl: settings of `mesh agent -config /etc/mesh/agent.hcl`.
# Each name is a flag of `mesh agent -h`; a flag on the command line or a
# MESH_<FLAG> variable (MESH_ATTRIBUTES for attributes) wins over this file.

# Any server will do; the agent finds the leader.
join = ["10.0.0.1:5050", "10.0.0.2:5050", "10.0.0.3:5050"]

# This machine's address: servers, the CLI and executors reach the agent here.
http-addr = "10.0.0.11:5051"
# Sandboxes and checkpoints. Not under the server's /var/lib/mesh (mode 0750,
# owned by user mesh): tasks of other users walk through it to their sandboxes.
work-dir  = "/var/lib/mesh-agent"

# Resources not named here (cpus, mem, disk) are detected; items are joined
# with ";" as in Mesos' --resources.
resources  = ["ports:[31000-32000]"]
attributes = ["rack:r1", "os:linux"]

# Linux isolation (cgroups, namespaces) is the default as root; tasks may not
# run as root unless allow-root-tasks = true.
isolation        = "linux"
allow-root-tasks = false

# Host paths tasks may mount as volumes, and capabilities they may ask for.
host-volumes      = [] # e.g. ["/srv/data"]
task-capabilities = []

# Sandboxes of ended executors are kept this long (less as the disk fills).
gc-delay         = "168h"
gc-disk-headroom = 0.1

# Downloads marked cache, in MB.
fetcher-cache-size = 2048

# TLS and authentication (docs/security.md): the agent certificate from
# `mesh tls init`, and the servers' credentials file, which callers of this
# agent's files, state and operator API authenticate against. An agent on a
# non-loopback address, as above, refuses to start without them (unless
# insecure = true): uncomment once the files exist. The join token, when the
# servers take one, is an alternative proof of being an agent.
# tls-cert         = "/etc/mesh/tls/agent.pem"
# tls-key          = "/etc/mesh/tls/agent-key.pem"
# tls-ca           = "/etc/mesh/tls/ca.pem"
# credentials      = "/etc/mesh/credentials.json"
# agent-join-token = "/etc/mesh/agent-join-token"

log-level = "info"
log-json  = true
