package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mesh/executor"
	"mesh/mesos"
)

// usesFetcherCache reports whether a command asks to cache a URI.
func usesFetcherCache(c *mesos.CommandInfo) bool {
	if c == nil {
		return false
	}
	for _, u := range c.URIs {
		if u.Cache != nil && *u.Cache {
			return true
		}
	}
	return false
}

// fetcherCacheDir is the fetcher cache's root.
func (a *Agent) fetcherCacheDir() string {
	if a.cfg.FetcherCacheDir != "" {
		return a.cfg.FetcherCacheDir
	}
	return filepath.Join(a.workDir, "fetcher-cache")
}

// userFetcherCache makes (if need be) and returns the cache directory of
// one task user, who owns it: as in Mesos, users never share downloads,
// so no task can plant a file another user's task runs.
func (a *Agent) userFetcherCache(user string) (string, error) {
	name := user
	if name == "" {
		name = "_agent"
	}
	if err := safeID(name); err != nil {
		return "", fmt.Errorf("fetcher cache for user %q: %w", user, err)
	}
	root := a.fetcherCacheDir()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("fetcher cache: %w", err)
	}
	dir := filepath.Join(root, name)
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return "", fmt.Errorf("fetcher cache: %w", err)
	}
	if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("fetcher cache: %s is not a directory", dir)
	}
	if user != "" && os.Geteuid() == 0 {
		id, err := executor.LookupUser(user)
		if err != nil {
			return "", err
		}
		if err := os.Lchown(dir, int(id.UID), int(id.GID)); err != nil {
			return "", fmt.Errorf("fetcher cache: %w", err)
		}
	}
	return dir, nil
}

// evictFetcherCache removes the least recently used downloads (by
// modification time, which the executor renews on each use) until the
// cache holds at most limit bytes, and partial downloads abandoned for
// over an hour. It returns the bytes kept.
func evictFetcherCache(root string, limit int64) (int64, error) {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var entries []entry
	var total int64
	users, err := os.ReadDir(root)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, nil
		}
		return 0, err
	}
	for _, u := range users {
		if !u.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(root, u.Name()))
		for _, f := range files {
			fi, err := f.Info()
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			p := filepath.Join(root, u.Name(), f.Name())
			if strings.Contains(f.Name(), ".part-") {
				if time.Since(fi.ModTime()) > time.Hour {
					os.Remove(p)
				}
				continue
			}
			entries = append(entries, entry{p, fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].used.Before(entries[j].used) })
	for _, e := range entries {
		if total <= limit {
			break
		}
		if err := os.Remove(e.path); err == nil {
			total -= e.size
		}
	}
	return total, nil
}

// trimFetcherCache runs evictFetcherCache in the background, one at a
// time.
func (a *Agent) trimFetcherCache() {
	if !a.cacheTrimming.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer a.cacheTrimming.Store(false)
		kept, err := evictFetcherCache(a.fetcherCacheDir(), a.cfg.FetcherCacheSize)
		if err != nil {
			a.log.Warn("cannot trim the fetcher cache", "dir", a.fetcherCacheDir(), "error", err)
			return
		}
		a.log.Debug("fetcher cache trimmed", "bytes", kept, "limit", a.cfg.FetcherCacheSize)
	}()
}
