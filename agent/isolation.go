package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mesh/executor"
)

// isolationFile (under meta/) names the isolation the executors in the
// work directory were started under: each backend finds only its own
// containers, so an agent, or a cleanup, under another one would take
// running executors for gone.
const isolationFile = "isolation"

// chooseIsolation picks the agent's isolation: the one asked for, else the
// one the work directory's executors were started under, else the
// machine's default. Asking for another isolation than the work
// directory's while executors of it are checkpointed is refused.
func (a *Agent) chooseIsolation(asked string) (string, error) {
	b, _ := os.ReadFile(a.metaPath(isolationFile))
	recorded := strings.TrimSpace(string(b))
	if recorded != executor.IsolationLinux && recorded != executor.IsolationPosix {
		recorded = ""
	}
	switch {
	case asked != "" && recorded != "" && asked != recorded && a.hasRunCheckpoints():
		return "", fmt.Errorf("%w: -isolation %s: the executors in work directory %s were started under %s isolation, "+
			"which alone can find them; restart with -isolation %s, or stop them first with mesh agent -recover cleanup -isolation %s",
			ErrBadConfig, asked, a.workDir, recorded, recorded, recorded)
	case asked != "":
		return asked, nil
	case recorded != "":
		a.log.Info("using the isolation the work directory's executors were started under", "isolation", recorded)
		return recorded, nil
	}
	iso, why := executor.DefaultIsolation()
	if why != "" {
		a.log.Warn("tasks run without resource isolation (posix): "+why, "isolation", iso)
	}
	return iso, nil
}

// recordIsolation writes the agent's isolation into the work directory.
func (a *Agent) recordIsolation() {
	name := a.containerizer.Name()
	if b, err := os.ReadFile(a.metaPath(isolationFile)); err == nil && strings.TrimSpace(string(b)) == name {
		return
	}
	if err := writeFileAtomic(a.metaPath(isolationFile), []byte(name+"\n"), 0o600); err != nil {
		a.log.Warn("cannot record the work directory's isolation", "error", err)
	}
}

// hasRunCheckpoints reports whether any executor is checkpointed.
func (a *Agent) hasRunCheckpoints() bool {
	m, _ := filepath.Glob(a.metaPath("frameworks", "*", "executors", "*"))
	return len(m) > 0
}
