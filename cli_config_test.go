package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// configValues is what the test command saw.
type configValues struct {
	Addr     string
	Count    int
	Wait     time.Duration
	Debug    bool
	Ratio    float64
	Join     string
	Attrs    string
	URIs     []string
	Required string
}

// runConfigApp runs a command with one flag of each kind, wrapped by
// withConfig, and returns the values its action saw.
func runConfigApp(t *testing.T, args ...string) (configValues, error) {
	t.Helper()
	var got configValues
	cmd := &cli.Command{
		Name: "probe",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "http-addr", Value: "default:1"},
			&cli.IntFlag{Name: "count", Value: 1},
			&cli.DurationFlag{Name: "wait", Value: time.Second},
			&cli.BoolFlag{Name: "debug"},
			&cli.Float64Flag{Name: "ratio", Value: 0.5},
			&cli.StringFlag{Name: "join", Usage: "comma-separated addresses"},
			&cli.StringFlag{Name: "attributes", Usage: "semicolon-separated attributes"},
			&cli.StringSliceFlag{Name: "uri"},
			&cli.StringFlag{Name: "name", Required: true},
		},
		Action: func(c *cli.Context) error {
			got = configValues{c.String("http-addr"), c.Int("count"), c.Duration("wait"), c.Bool("debug"),
				c.Float64("ratio"), c.String("join"), c.String("attributes"), c.StringSlice("uri"), c.String("name")}
			return nil
		},
	}
	app := &cli.App{Name: "mesh", Commands: withConfig([]*cli.Command{cmd}), Writer: &strings.Builder{}, ErrWriter: &strings.Builder{}}
	err := app.Run(append([]string{"mesh", "probe"}, args...))
	return got, err
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const probeHCL = `# every kind of flag
http-addr  = "file:1"
count      = 3
wait       = "3s"
debug      = true
ratio      = 0.25
join       = ["a:1", "b:2"]
attributes = ["rack:r1", "os:linux"]
uri        = ["http://x/a,b", "http://x/c"]
name       = "from-file"
`

// TestConfig_PrecedenceFlagsOverEnvOverFileOverDefaults: each source wins
// over those below it, flag by flag, whatever mix is given.
func TestConfig_PrecedenceFlagsOverEnvOverFileOverDefaults(t *testing.T) {
	file := writeFile(t, "probe.hcl", probeHCL)
	fromFile := configValues{"file:1", 3, 3 * time.Second, true, 0.25, "a:1,b:2", "rack:r1;os:linux", []string{"http://x/a,b", "http://x/c"}, "from-file"}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want configValues
	}{
		{"defaults", nil, []string{"-name", "n"},
			configValues{"default:1", 1, time.Second, false, 0.5, "", "", nil, "n"}},
		{"file", nil, []string{"-config", file}, fromFile},
		{"env over file", map[string]string{"MESH_HTTP_ADDR": "env:1", "MESH_COUNT": "4", "MESH_DEBUG": "false", "MESH_URI": "u1,u2"},
			[]string{"-config", file},
			configValues{"env:1", 4, 3 * time.Second, false, 0.25, "a:1,b:2", "rack:r1;os:linux", []string{"u1", "u2"}, "from-file"}},
		{"flags over env over file", map[string]string{"MESH_HTTP_ADDR": "env:1", "MESH_COUNT": "4", "MESH_WAIT": "4s"},
			[]string{"-config", file, "-http-addr", "flag:1", "-wait", "5s", "-uri", "f1"},
			configValues{"flag:1", 4, 5 * time.Second, true, 0.25, "a:1,b:2", "rack:r1;os:linux", []string{"f1"}, "from-file"}},
		{"flags over file", nil, []string{"-count", "9", "-config", file, "-debug=false"},
			configValues{"file:1", 9, 3 * time.Second, false, 0.25, "a:1,b:2", "rack:r1;os:linux", []string{"http://x/a,b", "http://x/c"}, "from-file"}},
		{"flags over env", map[string]string{"MESH_RATIO": "0.75", "MESH_NAME": "env-name"}, []string{"-ratio", "0.125"},
			configValues{"default:1", 1, time.Second, false, 0.125, "", "", nil, "env-name"}},
		{"file named by MESH_CONFIG", map[string]string{"MESH_CONFIG": file}, nil, fromFile},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			got, err := runConfigApp(t, tc.args...)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestConfig_JSONFileIsReadLikeHCL: a .json file sets the same values.
func TestConfig_JSONFileIsReadLikeHCL(t *testing.T) {
	file := writeFile(t, "probe.json", `{
  "http-addr": "file:1", "count": 3, "wait": "3s", "debug": true, "ratio": 0.25,
  "join": ["a:1", "b:2"], "attributes": "rack:r1;os:linux", "uri": "http://x/c", "name": "j"
}`)
	got, err := runConfigApp(t, "-config", file)
	if err != nil {
		t.Fatal(err)
	}
	want := configValues{"file:1", 3, 3 * time.Second, true, 0.25, "a:1,b:2", "rack:r1;os:linux", []string{"http://x/c"}, "j"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

// TestConfig_BadKeyOrTypeStopsTheStartNamingKeyFileAndLine: the command
// does not run, and the error says which key of which file and line.
func TestConfig_BadKeyOrTypeStopsTheStartNamingKeyFileAndLine(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"x.hcl", "name = \"n\"\n\nhttp-adr = \"a:1\"\n", `x.hcl:3: unknown setting "http-adr": not a flag of mesh probe`},
		{"x.hcl", "name = \"n\"\ncount = \"three\"\n", `x.hcl:2: count: want a whole number, got a string`},
		{"x.hcl", "count = 1.5\n", `x.hcl:1: count: want a whole number, got 1.5`},
		{"x.hcl", "\nwait = 10\n", `x.hcl:2: wait: want a duration string such as "10s", got a number`},
		{"x.hcl", "wait = \"soon\"\n", `x.hcl:1: wait: want a duration such as "10s" or "1m30s", got "soon"`},
		{"x.hcl", "debug = \"yes\"\n", `x.hcl:1: debug: want true or false, got a string`},
		{"x.hcl", "http-addr = [\"a\"]\n", `x.hcl:1: http-addr: want a string, got a list`},
		{"x.hcl", "uri = [1]\n", `x.hcl:1: uri: want a list of strings, got an item of type a number`},
		{"x.hcl", "name = var.x\n", `x.hcl:1: name: want a literal value`},
		{"x.hcl", "server {\n  name = \"n\"\n}\n", `x.hcl:1`},
		{"x.hcl", "name = \n", `x.hcl:1`},
		{"x.hcl", "config = \"other.hcl\"\n", `x.hcl:1: unknown setting "config"`},
		{"x.hcl", "name = \"n\"\nhttp_addr = \"a:1\"\nhttp-addr = \"a:2\"\n", `x.hcl:3: http-addr: set already, as http_addr, at line 2`},
		{"x.json", "{\n \"name\": \"n\",\n \"count\": \"3\"\n}", `x.json:3: count: want a whole number, got a string`},
		{"x.json", "{\"name\": \"n\",\n\n \"nope\": 1}", `x.json:3: unknown setting "nope"`},
		{"x.json", "{\"name\": ", `x.json:1`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			file := writeFile(t, tc.name, tc.body)
			got, err := runConfigApp(t, "-config", file)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("error = %v, want one naming %s and %q", err, file, tc.want)
			}
			if !reflect.DeepEqual(got, configValues{}) {
				t.Errorf("the command ran with %+v", got)
			}
		})
	}
}

// TestConfig_BadEnvValueNamesTheVariable: a MESH_* variable that does not
// parse stops the start naming it.
func TestConfig_BadEnvValueNamesTheVariable(t *testing.T) {
	t.Setenv("MESH_COUNT", "many")
	if _, err := runConfigApp(t, "-name", "n"); err == nil || !strings.Contains(err.Error(), `MESH_COUNT="many"`) {
		t.Fatalf("error = %v, want one naming MESH_COUNT", err)
	}
}

// TestConfig_RequiredFlagFromAnySource: a required flag may come from the
// file or the environment; from none, the start fails naming all three.
func TestConfig_RequiredFlagFromAnySource(t *testing.T) {
	if _, err := runConfigApp(t); err == nil || !strings.Contains(err.Error(), "-name is required: give the flag, MESH_NAME, or name in the -config file") {
		t.Fatalf("error = %v", err)
	}
	t.Setenv("MESH_NAME", "env")
	if got, err := runConfigApp(t); err != nil || got.Required != "env" {
		t.Fatalf("with MESH_NAME: %+v, %v", got, err)
	}
}

// TestConfig_RealServerCommandRejectsABadFileBeforeStarting: mesh server
// itself stops at a wrong key, before it touches -data-dir.
func TestConfig_RealServerCommandRejectsABadFileBeforeStarting(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	file := writeFile(t, "server.hcl", "data-dir = \""+dir+"\"\nbootstrap-expect = \"3\"\n")
	err := newApp().Run([]string{"mesh", "server", "-config", file})
	if err == nil || !strings.Contains(err.Error(), "server.hcl:2: bootstrap-expect: want a whole number, got a string") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the server made its data dir before failing: %v", err)
	}
}

// TestConfig_ServerSnapshotSettingsReachTheServer: the raft snapshot
// flags reach the server's settings, from a file as from the command
// line: an interval raft cannot take, or a log size limit too small or
// negative, is refused naming the flag, before -data-dir is touched.
func TestConfig_ServerSnapshotSettingsReachTheServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	err := newApp().Run([]string{"mesh", "server", "-data-dir", dir, "-raft-snapshot-threshold", "16384", "-raft-snapshot-interval", "1ms"})
	if err == nil || !strings.Contains(err.Error(), "-raft-snapshot-interval 1ms: must be at least 5ms") {
		t.Fatalf("error = %v", err)
	}
	file := writeFile(t, "server.hcl", "data-dir = \""+dir+"\"\nraft-snapshot-threshold = 16384\nraft-snapshot-interval = \"-1s\"\n")
	err = newApp().Run([]string{"mesh", "server", "-config", file})
	if err == nil || !strings.Contains(err.Error(), "-raft-snapshot-interval -1s: must be at least 5ms") {
		t.Fatalf("error = %v", err)
	}
	for _, zero := range [][]string{{"-raft-snapshot-threshold", "0"}, {"-raft-snapshot-interval", "0s"}} {
		err = newApp().Run(append([]string{"mesh", "server", "-data-dir", dir}, zero...))
		if err == nil || !strings.Contains(err.Error(), "neither can be 0") {
			t.Fatalf("%v: error = %v", zero, err)
		}
	}
	file = writeFile(t, "server2.hcl", "data-dir = \""+dir+"\"\nraft-snapshot-log-bytes = 1000\n")
	err = newApp().Run([]string{"mesh", "server", "-config", file})
	if err == nil || !strings.Contains(err.Error(), "-raft-snapshot-log-bytes 1000: must be at least 65536 (or 0 to turn it off)") {
		t.Fatalf("error = %v", err)
	}
	err = newApp().Run([]string{"mesh", "server", "-data-dir", dir, "-raft-snapshot-log-bytes", "-5"})
	if err == nil || !strings.Contains(err.Error(), "-raft-snapshot-log-bytes -5: cannot be negative (0 turns it off)") {
		t.Fatalf("error = %v", err)
	}
	err = newApp().Run([]string{"mesh", "server", "-data-dir", dir, "-rest-gc-percent", "-5"})
	if err == nil || !strings.Contains(err.Error(), "-rest-gc-percent -5: cannot be negative (0 turns it off)") {
		t.Fatalf("error = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the server made its data dir before failing: %v", err)
	}
}

// TestConfig_EveryCommandWithFlagsTakesConfig: -config is added to each
// visible command that has flags, subcommands' parents included.
func TestConfig_EveryCommandWithFlagsTakesConfig(t *testing.T) {
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			walk(prefix+c.Name+" ", c.Subcommands)
			if c.Hidden || len(c.Flags) == 0 {
				continue
			}
			found := false
			for _, f := range c.Flags {
				found = found || f.Names()[0] == configFlag
			}
			if !found || c.Before == nil {
				t.Errorf("mesh %s has no -config", prefix+c.Name)
			}
		}
	}
	walk("", newApp().Commands)
}

// FuzzDecodeConfig: no input makes the decoder panic, and what it accepts
// names only flags of the command.
func FuzzDecodeConfig(f *testing.F) {
	f.Add("x.hcl", []byte(probeHCL))
	f.Add("x.json", []byte(`{"count": 3, "join": ["a", "b"], "wait": "1s"}`))
	f.Add("x.hcl", []byte("count = 1e400\nratio = -0\nuri = []\n"))
	f.Add("x.hcl", []byte("name = \"${x}\"\nwait = \"1h\"\n"))
	f.Add("x.json", []byte(`{"debug": null, "uri": [["a"]], "name": {"a": 1}}`))
	f.Add("x.hcl", []byte("a {\n}\n"))
	flags := []cli.Flag{
		&cli.StringFlag{Name: "name"},
		&cli.IntFlag{Name: "count"},
		&cli.DurationFlag{Name: "wait"},
		&cli.BoolFlag{Name: "debug"},
		&cli.Float64Flag{Name: "ratio"},
		&cli.StringFlag{Name: "join", Usage: "comma-separated"},
		&cli.StringSliceFlag{Name: "uri"},
	}
	f.Fuzz(func(t *testing.T, name string, src []byte) {
		if name != "x.json" {
			name = "x.hcl"
		}
		settings, err := decodeConfig(name, src, "probe", flags)
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, s := range settings {
			known := false
			for _, fl := range flags {
				known = known || fl.Names()[0] == s.name
			}
			if !known {
				t.Errorf("setting for unknown flag %q", s.name)
			}
		}
	})
}

// TestConfig_DistExamplesDecodeAgainstTheRealFlags: the example files in
// dist/ hold only settings of their commands, with the right types, and
// every required flag, so that they cannot rot.
func TestConfig_DistExamplesDecodeAgainstTheRealFlags(t *testing.T) {
	for file, cmd := range map[string]*cli.Command{"dist/server.hcl": serverCommand(), "dist/agent.hcl": agentCommand()} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		settings, err := decodeConfig(file, src, cmd.Name, cmd.Flags)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		got := map[string]bool{}
		for _, s := range settings {
			got[s.name] = true
		}
		for _, f := range cmd.Flags {
			if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() && !got[f.Names()[0]] {
				t.Errorf("%s lacks the required %s", file, f.Names()[0])
			}
		}
		if len(settings) < 5 {
			t.Errorf("%s sets only %d flags", file, len(settings))
		}
	}
}
