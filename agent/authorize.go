package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"mesh/acl"
	"mesh/auth"
)

// errForbidden is a files API request the caller's ACLs refuse.
var errForbidden = errors.New("forbidden")

// authorizeSandbox checks access_sandboxes (-acls) for the caller of ctx
// and each of paths: the path as asked and the file actually opened, so
// a symlink in one sandbox cannot lead into another's. The object is the
// user the sandbox's executor runs as (its command task's, for a command
// executor), else its framework's; a path above the sandboxes needs
// access to every sandbox, and one of a framework the agent does not
// know is refused.
func (a *Agent) authorizeSandbox(ctx context.Context, paths ...string) error {
	acls := a.cfg.ACLs.ACLs()
	if acls == nil {
		return nil
	}
	principal := auth.FromContext(ctx).Principal
	for _, p := range paths {
		fid, eid := acl.SandboxOwner(a.relativeToWorkDir(p))
		ok := false
		if fid == "" {
			ok = acls.AllowedAny(acl.AccessSandboxes, principal)
		} else if user, known := a.sandboxUser(fid, eid); known {
			ok = acls.Allowed(acl.AccessSandboxes, principal, user)
		}
		if !ok {
			who := "an anonymous caller"
			if principal != "" {
				who = fmt.Sprintf("principal %q", principal)
			}
			return fmt.Errorf("%w: %s is not authorized to access the sandbox at %q (access_sandboxes)", errForbidden, who, p)
		}
	}
	return nil
}

// relativeToWorkDir strips the work directory (as resolved or as
// configured) from a files path, so that only the part under it is read
// for the framework and executor.
func (a *Agent) relativeToWorkDir(p string) string {
	clean := filepath.Clean("/" + p)
	for _, dir := range []string{a.workDir, a.workDirGiven} {
		if dir != "" && within(clean, dir) {
			return strings.TrimPrefix(clean, dir)
		}
	}
	return clean
}

// sandboxUser is the user executor eid of framework fid runs as; known
// is false when the agent knows nothing of the framework.
func (a *Agent) sandboxUser(fid, eid string) (user string, known bool) {
	a.mu.Lock()
	fw := a.frameworks[fid]
	if fw == nil {
		a.mu.Unlock()
		return "", false
	}
	user = fw.info.User
	r := fw.executors[eid]
	for _, c := range fw.completed {
		if r == nil && c.id == eid {
			r = c
		}
	}
	a.mu.Unlock()
	if r == nil {
		return user, true
	}
	v := r.view() // the run's lock, taken without the agent's
	if c := v.info.Command; c != nil && c.User != "" {
		return c.User, true
	}
	for _, t := range append(v.tasks, v.completed...) {
		if c := t.info.Command; c != nil && c.User != "" {
			return c.User, true
		}
	}
	return user, true
}
