package agent

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"mesh/executor"
	"mesh/mesos"
)

// volumeSource is the part of a Mesos Volume.Source mesh mounts.
type volumeSource struct {
	Type     string `json:"type"`
	HostPath *struct {
		Path string `json:"path"`
	} `json:"host_path"`
	SandboxPath *struct {
		Type string `json:"type"`
		Path string `json:"path"`
	} `json:"sandbox_path"`
}

// taskVolumes turns the volumes of a container's ContainerInfo into bind
// mounts, as Mesos' filesystem isolator does for host paths (`host_path`,
// or a HOST_PATH source) and the container's own sandbox paths (a
// relative `host_path`, or a SANDBOX_PATH source of type SELF). A host
// path must lie in one of allowed (the agent's -host-volumes, symlinks
// resolved). Image, Docker, secret and CSI volumes are refused rather
// than left out: a task would otherwise run without its data.
func taskVolumes(c *mesos.ContainerInfo, allowed []string) ([]executor.Volume, error) {
	if c == nil {
		return nil, nil
	}
	var out []executor.Volume
	for i, v := range c.Volumes {
		vol := executor.Volume{Target: v.ContainerPath}
		what := fmt.Sprintf("volume %d (container path %q)", i, v.ContainerPath)
		switch v.Mode {
		case "RW":
		case "RO":
			vol.ReadOnly = true
		default:
			return nil, fmt.Errorf("%s: mode %q is neither RW nor RO", what, v.Mode)
		}
		if v.ContainerPath == "" {
			return nil, fmt.Errorf("%s: no container_path", what)
		}
		if !filepath.IsAbs(v.ContainerPath) && !filepath.IsLocal(v.ContainerPath) {
			return nil, fmt.Errorf("%s: a relative container_path must stay inside the sandbox", what)
		}
		var src volumeSource
		if len(v.Source) > 0 && string(v.Source) != "null" {
			if err := json.Unmarshal(v.Source, &src); err != nil {
				return nil, fmt.Errorf("%s: source: %w", what, err)
			}
		}
		switch {
		case v.Image != nil:
			return nil, fmt.Errorf("%s: image volumes are not supported by this agent", what)
		case src.Type == "" && v.HostPath == "":
			return nil, fmt.Errorf("%s: no host_path or source", what)
		case src.Type == "" || src.Type == "HOST_PATH":
			p := v.HostPath
			if src.Type == "HOST_PATH" {
				if src.HostPath == nil || src.HostPath.Path == "" {
					return nil, fmt.Errorf("%s: a HOST_PATH source without host_path.path", what)
				}
				p = src.HostPath.Path
			}
			if !filepath.IsAbs(p) {
				if src.Type == "HOST_PATH" || !filepath.IsLocal(p) {
					return nil, fmt.Errorf("%s: host path %q is neither absolute nor inside the sandbox", what, p)
				}
				vol.Source = p // the sandbox's own, as Mesos takes a relative host_path
				break
			}
			resolved, err := allowedHostPath(p, allowed)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			vol.Source = resolved
		case src.Type == "SANDBOX_PATH":
			if src.SandboxPath == nil || (src.SandboxPath.Type != "SELF" && src.SandboxPath.Type != "") {
				return nil, fmt.Errorf("%s: only SELF sandbox paths are supported (nested containers are not)", what)
			}
			if !filepath.IsLocal(src.SandboxPath.Path) {
				return nil, fmt.Errorf("%s: sandbox path %q must be relative and stay inside the sandbox", what, src.SandboxPath.Path)
			}
			vol.Source = src.SandboxPath.Path
		default:
			return nil, fmt.Errorf("%s: %s volumes are not supported by this agent", what, src.Type)
		}
		out = append(out, vol)
	}
	return out, nil
}

// allowedHostPath resolves p's symlinks and returns it when it lies in one
// of allowed.
func allowedHostPath(p string, allowed []string) (string, error) {
	if len(allowed) == 0 {
		return "", fmt.Errorf("host path %s: this agent lets tasks mount no host paths (its -host-volumes is empty)", p)
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("host path %s: %w", p, err)
	}
	for _, a := range allowed {
		ra, err := filepath.EvalSymlinks(a)
		if err != nil {
			continue
		}
		if resolved == ra || strings.HasPrefix(resolved, strings.TrimSuffix(ra, "/")+"/") {
			return resolved, nil
		}
	}
	return "", fmt.Errorf("host path %s (%s) is not in the agent's -host-volumes %s", p, resolved, strings.Join(allowed, ","))
}
