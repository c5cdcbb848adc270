package executor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// ErrUnknownUser is returned when a container or task asks for a user
// that does not exist on this machine.
var ErrUnknownUser = errors.New("unknown user")

// Identity is a resolved user: ids and supplementary groups.
type Identity struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32
	Home   string
}

// LookupUser resolves a user name.
func LookupUser(name string) (*Identity, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("%w: user %q does not exist", ErrUnknownUser, name)
		}
		return nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q has a non-numeric uid %q", name, u.Uid)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %q has a non-numeric gid %q", name, u.Gid)
	}
	id := &Identity{Name: name, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir}
	gids, err := u.GroupIds()
	if err != nil {
		// Without the group database the primary group still applies.
		gids = nil
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			id.Groups = append(id.Groups, uint32(n))
		}
	}
	return id, nil
}

// credential returns the SysProcAttr credential that runs a process as
// the named user, or nil when no switch is needed (no user given, the
// process already runs as that user, or it is not root and so cannot
// switch). An unknown user is an error either way.
func credential(name string) (*syscall.Credential, *Identity, error) {
	if name == "" {
		return nil, nil, nil
	}
	id, err := LookupUser(name)
	if err != nil {
		return nil, nil, err
	}
	if os.Geteuid() != 0 || uint32(os.Geteuid()) == id.UID {
		return nil, id, nil
	}
	return &syscall.Credential{Uid: id.UID, Gid: id.GID, Groups: id.Groups}, id, nil
}

// chownTree gives dir and everything below it (symlinks themselves, not
// their targets) to the user name.
func chownTree(dir, name string) error {
	id, err := LookupUser(name)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(id.UID), int(id.GID))
	})
}
