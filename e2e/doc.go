// Package e2e holds process-level tests: they run the built mesh binary
// (MESH_BIN, or one built into a temporary directory) as real processes on
// 127.0.0.1 and check what a user would see.
package e2e
