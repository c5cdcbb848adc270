package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConfig_ServerStartsWithTheFilesSettings: `mesh server -config f.hcl`
// serves on the file's HTTP address and keeps its data where the file
// says, with a flag given next to the file still applied.
func TestConfig_ServerStartsWithTheFilesSettings(t *testing.T) {
	dir, httpAddr := filepath.Join(t.TempDir(), "data"), freePort(t)
	file := filepath.Join(t.TempDir(), "server.hcl")
	body := fmt.Sprintf("data-dir = %q\nhttp-addr = %q\nbootstrap-expect = 1\nlog-level = \"debug\"\n", dir, httpAddr)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "server", "-config", file, "-raft-addr", freePort(t))
	waitFor(t, 60*time.Second, "the server to lead on the file's http-addr", func() bool {
		var h health
		return getHealth(httpAddr, &h) == nil && h.IsLeader
	})
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the file's data-dir was not used: %v", err)
	}
	p.stop(t)
}

// TestConfig_DistExamplesStartAServerAndAnAgent: the example files of
// dist/, with only their machine-specific addresses and directories
// overridden by flags, start a server that leads and an agent that
// registers with it.
func TestConfig_DistExamplesStartAServerAndAnAgent(t *testing.T) {
	httpAddr := freePort(t)
	start(t, "server", "-config", "../dist/server.hcl", "-data-dir", t.TempDir(), "-http-addr", httpAddr,
		"-raft-addr", freePort(t), "-bootstrap-expect", "1", "-join", "")
	start(t, "agent", "-config", "../dist/agent.hcl", "-join", httpAddr, "-http-addr", freePort(t), "-work-dir", t.TempDir())
	waitAgents(t, httpAddr, 1)
}
