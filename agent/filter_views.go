package agent

import (
	"context"
	"fmt"
	"net/http"

	"mesh/acl"
	"mesh/auth"
	"mesh/mesos/operator"
)

// As the server does, the agent filters what a caller reads of it (-acls):
// /state, GET_STATE, GET_FRAMEWORKS, GET_EXECUTORS and GET_TASKS show the
// frameworks whose user the caller may view (view_frameworks), of them
// the executors it may view by the user they run as (view_executors), and
// of those the tasks it may view by theirs (view_tasks); the flags are
// shown only with view_flags.

// callerACLs are the rules in force and the caller of ctx.
func (a *Agent) callerACLs(ctx context.Context) (*acl.ACLs, string) {
	return a.cfg.ACLs.ACLs(), auth.FromContext(ctx).Principal
}

// viewFor is the registry as the caller of ctx may see it.
func (a *Agent) viewFor(ctx context.Context) agentView {
	acls, principal := a.callerACLs(ctx)
	return a.view().only(acls, principal)
}

func (v agentView) only(acls *acl.ACLs, principal string) agentView {
	if acls == nil {
		return v
	}
	fws := make([]fwView, 0, len(v.frameworks))
	for _, f := range v.frameworks {
		if !acls.Allowed(acl.ViewFrameworks, principal, f.info.User) {
			continue
		}
		f.live = visibleRuns(acls, principal, f.info.User, f.live)
		f.completed = visibleRuns(acls, principal, f.info.User, f.completed)
		fws = append(fws, f)
	}
	v.frameworks = fws
	return v
}

// visibleRuns keeps the runs whose executor may be viewed, each with the
// tasks that may be.
func visibleRuns(acls *acl.ACLs, principal, fwUser string, runs []runView) []runView {
	var out []runView
	for _, r := range runs {
		execUser := fwUser
		if c := r.info.Command; c != nil && c.User != "" {
			execUser = c.User
		}
		if !acls.Allowed(acl.ViewExecutors, principal, execUser) {
			continue
		}
		r.tasks = visibleTasks(acls, principal, execUser, r.tasks)
		r.completed = visibleTasks(acls, principal, execUser, r.completed)
		out = append(out, r)
	}
	return out
}

func visibleTasks(acls *acl.ACLs, principal, execUser string, tasks []taskView) []taskView {
	var out []taskView
	for _, t := range tasks {
		user := execUser
		if c := t.info.Command; c != nil && c.User != "" {
			user = c.User
		}
		if acls.Allowed(acl.ViewTasks, principal, user) {
			out = append(out, t)
		}
	}
	return out
}

// flagsFor are the agent's flags if the caller of ctx may view them.
func (a *Agent) flagsFor(ctx context.Context) map[string]string {
	acls, principal := a.callerACLs(ctx)
	if !acls.AllowedAny(acl.ViewFlags, principal) {
		return map[string]string{}
	}
	return a.flags()
}

// authorizeFlags refuses GET_FLAGS to a caller without view_flags.
func (a *Agent) authorizeFlags(ctx context.Context) error {
	acls, principal := a.callerACLs(ctx)
	if acls.AllowedAny(acl.ViewFlags, principal) {
		return nil
	}
	who := "an anonymous caller"
	if principal != "" {
		who = fmt.Sprintf("principal %q", principal)
	}
	return operator.Errorf(http.StatusForbidden, "%s is not authorized to view flags (view_flags)", who)
}

// authorizeEndpoint checks get_endpoints for a GET of an endpoint whose
// answer is not filtered per caller (/metrics, /metrics/snapshot,
// /monitor/statistics, /containers, as Mesos' agent checks them): the
// path is the object. It answers 403 itself and returns false when the
// caller may not read it.
func (a *Agent) authorizeEndpoint(w http.ResponseWriter, r *http.Request) bool {
	acls, principal := a.callerACLs(r.Context())
	if acls.Allowed(acl.GetEndpoints, principal, r.URL.Path) {
		return true
	}
	who := "an anonymous caller"
	if principal != "" {
		who = fmt.Sprintf("principal %q", principal)
	}
	httpError(w, http.StatusForbidden, "%s is not authorized to GET %s (get_endpoints)", who, r.URL.Path)
	return false
}
