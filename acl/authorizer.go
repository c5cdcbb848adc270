package acl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DefaultReloadInterval is how often a watched ACL file is read for
// changes.
const DefaultReloadInterval = 2 * time.Second

// Authorizer holds the rules of an ACL file and swaps in a new version of
// the file, when asked or when it changes, without a restart. A new file
// that does not parse is refused with a log line and the rules in force
// stay. A nil *Authorizer (no file given) allows everything.
type Authorizer struct {
	path   string
	logger hclog.Logger
	// cur is read on every request without a lock: a reload swaps the
	// pointer, so one request sees one version of the rules throughout.
	cur atomic.Pointer[ACLs]

	// mu serializes reloads and guards the digests.
	mu sync.Mutex
	// loaded is the digest of the file whose rules are in force; refused,
	// that of the last version refused (so a bad file is reported once,
	// not at every poll).
	loaded, refused [sha256.Size]byte
}

// Load reads the ACL file at path. A file that cannot be read or parsed
// is an error that names it.
func Load(path string, logger hclog.Logger) (*Authorizer, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	a := &Authorizer{path: path, logger: logger.Named("acl")}
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	acls, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("acl file %s: %w", path, err)
	}
	a.cur.Store(acls)
	a.loaded = sha256.Sum256(data)
	a.logLoaded(acls, "acls loaded")
	return a, nil
}

// Path is the file the rules come from.
func (a *Authorizer) Path() string { return a.path }

// ACLs returns the rules in force; nil, which allows everything, for a
// nil Authorizer.
func (a *Authorizer) ACLs() *ACLs {
	if a == nil {
		return nil
	}
	return a.cur.Load()
}

// Reload reads the file again and puts its rules in force if they parse;
// otherwise it keeps the rules in force and returns why. It reports
// whether the rules changed.
func (a *Authorizer) Reload() (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	data, err := readFile(a.path)
	if err != nil {
		a.logger.Error("cannot read the acl file; keeping the rules in force", "path", a.path, "error", err)
		return false, err
	}
	sum := sha256.Sum256(data)
	if sum == a.loaded {
		return false, nil
	}
	acls, err := Parse(data)
	if err != nil {
		if sum != a.refused {
			a.refused = sum
			a.logger.Error("refusing the new acl file; keeping the rules in force", "path", a.path, "error", err)
		}
		return false, fmt.Errorf("acl file %s: %w", a.path, err)
	}
	a.cur.Store(acls)
	a.loaded = sum
	a.logLoaded(acls, "acls reloaded")
	return true, nil
}

// Watch reloads the file whenever reload delivers (the process's SIGHUP)
// and whenever its content changes, read every interval, until ctx ends.
func (a *Authorizer) Watch(ctx context.Context, interval time.Duration, reload <-chan os.Signal) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload:
		case <-t.C:
		}
		_, _ = a.Reload() // a failure is logged and the rules in force stay
	}
}

func (a *Authorizer) logLoaded(acls *ACLs, msg string) {
	n := 0
	for _, rs := range acls.rules {
		n += len(rs)
	}
	a.logger.Info(msg, "path", a.path, "rules", n, "permissive", acls.Permissive)
	if len(acls.ignored) > 0 {
		a.logger.Warn("the acl file has rules for actions mesh does not check", "actions", strings.Join(acls.ignored, ","))
	}
}

// readFile reads at most MaxFileBytes (+1, to tell a larger file).
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open acl file: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(f, MaxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("read acl file %s: %w", path, err)
	}
	return buf.Bytes(), nil
}
