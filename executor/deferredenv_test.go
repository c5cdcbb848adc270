package executor

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestEnvBlockRoundTrip(t *testing.T) {
	env := []string{"PATH=/bin", "EMPTY=", "EQ=a=b", "SPACE=x y\nz"}
	b, err := encodeEnvBlock(env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseEnvBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, env) {
		t.Fatalf("round trip: got %q, want %q", got, env)
	}
	for _, bad := range [][]string{{"NOEQUALS"}, {"=value"}, {"A=b\x00c"}} {
		if _, err := encodeEnvBlock(bad); err == nil {
			t.Errorf("encodeEnvBlock(%q) accepted a bad entry", bad)
		}
	}
}

func TestParseEnvBlockErrors(t *testing.T) {
	for in, want := range map[string]string{
		"A=1\x00B=2":    "truncated",
		"A=1\x00\x00":   "not NAME=value",
		"A=1\x00=x\x00": "empty name",
	} {
		_, err := parseEnvBlock([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseEnvBlock(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

func TestLoadDeferredEnv(t *testing.T) {
	// Raw descriptors: LoadDeferredEnv closes the read end, which an
	// *os.File would close a second time.
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	w := os.NewFile(uintptr(fds[1]), "w")
	b, _ := encodeEnvBlock([]string{"MESH_TEST_DEFERRED=yes=really"})
	w.Write(b)
	w.Close()
	t.Setenv("MESH_TEST_DEFERRED", "")
	t.Setenv(EnvDeferredFD, strconv.Itoa(fds[0]))
	if err := LoadDeferredEnv(); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("MESH_TEST_DEFERRED"); got != "yes=really" {
		t.Fatalf("MESH_TEST_DEFERRED = %q", got)
	}
	if _, ok := os.LookupEnv(EnvDeferredFD); ok {
		t.Fatalf("%s still set", EnvDeferredFD)
	}
	t.Setenv(EnvDeferredFD, "stdin")
	if err := LoadDeferredEnv(); err == nil || !strings.Contains(err.Error(), "not a file descriptor") {
		t.Fatalf("bad fd: %v", err)
	}
}

func FuzzParseEnvBlock(f *testing.F) {
	f.Add([]byte("A=1\x00B=\x00"))
	f.Add([]byte(""))
	f.Add([]byte("A=1"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := parseEnvBlock(b)
		if err != nil {
			return
		}
		again, err := encodeEnvBlock(env)
		if err != nil {
			t.Fatalf("parsed %q but cannot encode it: %v", env, err)
		}
		if len(b) > 0 && string(again) != string(b) {
			t.Fatalf("re-encoding %q gives %q", b, again)
		}
	})
}
