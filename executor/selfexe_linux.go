//go:build linux && cgo

package executor

import (
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/opencontainers/runc/libcontainer/exeseal"
)

// warnIfInitIsCopied warns when each container's init would run from a
// copy of this binary. libcontainer starts a container's init from a
// sealed view of /proc/self/exe, so that a container cannot overwrite the
// binary: an overlayfs mount whose lower layers are the binary's directory
// and the container's state directory, or, when overlayfs refuses (the
// two directories overlap, or the kernel lacks it), a memfd holding a copy
// of the whole binary, made for every container. The copy costs the
// binary's size in memory and ~10% more cpu per container start here, and
// its pages are shared with nothing. The probe makes one such view under
// root, as libcontainer would.
func warnIfInitIsCopied(root string, log hclog.Logger) {
	dir, err := os.MkdirTemp(root, ".probe-")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	f, err := exeseal.CloneSelfExe(dir)
	if err != nil {
		log.Warn("cannot make the sealed view of the mesh binary containers start from", "error", err)
		return
	}
	defer f.Close()
	if !exeseal.IsCloned(f) {
		return // an overlayfs view: no copy
	}
	size := int64(0)
	if fi, err := os.Stat("/proc/self/exe"); err == nil {
		size = fi.Size()
	}
	why := "overlayfs refused to seal it in place"
	if exe, err := filepath.EvalSymlinks("/proc/self/exe"); err == nil {
		bin := filepath.Dir(exe)
		if r, err := filepath.EvalSymlinks(root); err == nil && (under(r, bin) || under(bin, r)) {
			why = "the binary's directory " + bin + " and the work directory overlap, which overlayfs refuses; install mesh outside the work directory (e.g. /usr/local/bin)"
		}
	}
	log.Warn("every container's init will run from a copy of the mesh binary, which costs memory and cpu per container: "+why, "binary_mb", size>>20)
}
