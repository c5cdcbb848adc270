// Package version holds mesh's version, reported by `mesh version`,
// GET /version and the master_info of SUBSCRIBED.
package version

// Version is the Mesos API version mesh speaks; frameworks such as pymesos
// read it to gate features.
const Version = "1.11.0"

// MeshVersion is mesh's own release.
const MeshVersion = "0.1.0"

// GitSHA is set at build time by the Makefile.
var GitSHA = "dev"
