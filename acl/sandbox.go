package acl

import (
	"path"
	"strings"
)

// SandboxOwner names the framework and executor whose sandbox a files
// path (agent /files/*, READ_FILE, LIST_FILES) lies in: the segments that
// follow the first "frameworks/<fid>/executors/<eid>" of the cleaned
// path. A path above the sandboxes ("/frameworks", or a framework's
// directory) yields what it names, possibly nothing; access_sandboxes is
// then asked about every sandbox (AllowedAny), or the framework's.
func SandboxOwner(p string) (fid, eid string) {
	segs := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	for i, s := range segs {
		if s != "frameworks" {
			continue
		}
		if i+1 < len(segs) {
			fid = segs[i+1]
		}
		if i+3 < len(segs) && segs[i+2] == "executors" {
			eid = segs[i+3]
		}
		return fid, eid
	}
	return "", ""
}
