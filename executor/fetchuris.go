package executor

import (
	"context"
	"os"

	"mesh/mesos"
)

// FetchURIs fetches uris into the sandbox dir with the fetcher of command
// tasks, as the agent does for a custom executor before it starts it.
// cache, when set, is the fetcher cache of the executor's user. When the
// agent is root and the executor runs as another user, that user is
// handed what was fetched, and local files are refused (the agent would
// read, as root, files the user may not). An error says which URI failed
// and why.
func FetchURIs(ctx context.Context, dir, cache, user string, uris []mesos.CommandURI) error {
	asOther := os.Geteuid() == 0 && user != "" && user != "root"
	f := &fetcher{dir: dir, cache: cache, localFiles: !asOther}
	if err := f.fetchAll(ctx, uris); err != nil {
		return err
	}
	if !asOther {
		return nil
	}
	return chownTree(dir, user)
}
