package executor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// EnvDeferredFD names the file descriptor a prestarted container's first
// process reads its real environment from (see Prestarter): the
// container was started before the launch it serves was known, so its
// environment arrives once the launch does.
const EnvDeferredFD = "MESH_ENV_FD"

// maxEnvBlock bounds a deferred environment.
const maxEnvBlock = 1 << 20

// LoadDeferredEnv completes this process's environment when it was
// started in a prestarted container: it reads the "NAME=value" entries
// from the descriptor EnvDeferredFD names, sets them, and closes the
// descriptor. Without EnvDeferredFD it does nothing. Programs a
// Prestarter may start (mesh's executor) call it before reading their
// environment.
func LoadDeferredEnv() error {
	v, ok := os.LookupEnv(EnvDeferredFD)
	if !ok {
		return nil
	}
	os.Unsetenv(EnvDeferredFD)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return fmt.Errorf("%s=%q is not a file descriptor to read the environment from", EnvDeferredFD, v)
	}
	f := os.NewFile(uintptr(fd), "deferred-env")
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvBlock+1))
	if err != nil {
		return fmt.Errorf("read the deferred environment: %w", err)
	}
	env, err := parseEnvBlock(b)
	if err != nil {
		return err
	}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if err := os.Setenv(name, value); err != nil {
			return fmt.Errorf("set %s from the deferred environment: %w", name, err)
		}
	}
	return nil
}

// encodeEnvBlock is env as LoadDeferredEnv reads it: NUL-terminated
// "NAME=value" entries.
func encodeEnvBlock(env []string) ([]byte, error) {
	var b bytes.Buffer
	for _, kv := range env {
		if err := validEnvEntry(kv); err != nil {
			return nil, err
		}
		b.WriteString(kv)
		b.WriteByte(0)
	}
	if b.Len() > maxEnvBlock {
		return nil, fmt.Errorf("environment of %d bytes is larger than %d", b.Len(), maxEnvBlock)
	}
	return b.Bytes(), nil
}

// parseEnvBlock decodes encodeEnvBlock's output.
func parseEnvBlock(b []byte) ([]string, error) {
	if len(b) > maxEnvBlock {
		return nil, fmt.Errorf("deferred environment is larger than %d bytes", maxEnvBlock)
	}
	if len(b) == 0 {
		return nil, nil
	}
	if b[len(b)-1] != 0 {
		return nil, errors.New("deferred environment is truncated (its last entry has no terminating NUL)")
	}
	var env []string
	for _, e := range bytes.Split(b[:len(b)-1], []byte{0}) {
		kv := string(e)
		if err := validEnvEntry(kv); err != nil {
			return nil, fmt.Errorf("deferred environment: %w", err)
		}
		env = append(env, kv)
	}
	return env, nil
}

func validEnvEntry(kv string) error {
	name, _, ok := strings.Cut(kv, "=")
	switch {
	case !ok:
		return fmt.Errorf("entry %q is not NAME=value", trimForError(kv))
	case name == "":
		return fmt.Errorf("entry %q has an empty name", trimForError(kv))
	case strings.IndexByte(kv, 0) >= 0:
		return fmt.Errorf("entry %q holds a NUL byte", trimForError(name))
	}
	return nil
}

func trimForError(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
