package main

import (
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/urfave/cli/v2"
	"github.com/zclconf/go-cty/cty"
)

// This file gives every command three sources of settings besides its
// flags: a -config file (HCL, or JSON when it ends in .json) whose keys
// are the command's flag names, and MESH_* environment variables
// (MESH_DATA_DIR for -data-dir). A flag given on the command line wins
// over the environment, which wins over the file, which wins over the
// flag's default. It works on any urfave/cli flag set: withConfig wraps
// the commands once, in main.go.

// configFlag is the flag that names the file.
const configFlag = "config"

// envPrefix starts the environment variable of each flag.
const envPrefix = "MESH_"

// maxConfigSize bounds the file read: a config file is small.
const maxConfigSize = 1 << 20

// withConfig adds -config to every visible command that has flags (and to
// their subcommands), and a Before hook that fills the flags not given on
// the command line from the environment and the file. A required flag may
// come from either, so the hook checks required flags itself.
func withConfig(cmds []*cli.Command) []*cli.Command {
	for _, cmd := range cmds {
		cmd.Subcommands = withConfig(cmd.Subcommands)
		if cmd.Hidden || len(cmd.Flags) == 0 {
			continue
		}
		required := unrequire(cmd.Flags)
		cmd.Flags = append(cmd.Flags, &cli.StringFlag{
			Name:  configFlag,
			Usage: "read settings from this HCL (or .json) `FILE`, a name = value line per flag; flags, then MESH_<FLAG> variables (MESH_DATA_DIR for -data-dir) win over it",
		})
		flags, before := cmd.Flags, cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if err := applySettings(c, flags, required); err != nil {
				return err
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
	return cmds
}

// unrequire clears the Required field of flags, returning their names:
// urfave/cli checks required flags before any hook could fill them.
func unrequire(flags []cli.Flag) []string {
	var names []string
	for _, f := range flags {
		rf, ok := f.(cli.RequiredFlag)
		if !ok || !rf.IsRequired() {
			continue
		}
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		if field := v.Elem().FieldByName("Required"); field.IsValid() && field.CanSet() && field.Kind() == reflect.Bool {
			field.SetBool(false)
			names = append(names, f.Names()[0])
			if usage := v.Elem().FieldByName("Usage"); usage.IsValid() && usage.CanSet() && usage.Kind() == reflect.String {
				usage.SetString(usage.String() + " (required)")
			}
		}
	}
	return names
}

// applySettings sets each flag not given on the command line from its
// MESH_* variable or else from the config file, then checks that the
// required flags have a value.
func applySettings(c *cli.Context, flags []cli.Flag, required []string) error {
	given := map[string]bool{}
	for _, f := range flags {
		given[f.Names()[0]] = c.IsSet(f.Names()[0])
	}
	path := c.String(configFlag)
	if !given[configFlag] {
		path = os.Getenv(envName(configFlag))
	}
	var file []setting
	if path != "" {
		var err error
		if file, err = loadConfig(path, c.Command.FullName(), flags); err != nil {
			return err
		}
	}
	fromFile := map[string]setting{}
	for _, s := range file {
		fromFile[s.name] = s
	}
	for _, f := range flags {
		name := f.Names()[0]
		if given[name] || name == configFlag {
			continue
		}
		if v, ok := os.LookupEnv(envName(name)); ok && len(name) > 1 { // not -f
			if err := c.Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: bad value for -%s: %v", envName(name), v, name, err)
			}
			continue
		}
		if s, ok := fromFile[name]; ok {
			if err := c.Set(name, s.value); err != nil {
				return fmt.Errorf("%s: bad value for %s: %v", s.where, s.key, err)
			}
		}
	}
	for _, name := range required {
		if !c.IsSet(name) {
			return fmt.Errorf("-%s is required: give the flag, %s, or %s in the -config file", name, envName(name), name)
		}
	}
	return nil
}

// envName is the environment variable of a flag: MESH_DATA_DIR for
// data-dir.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// setting is one value read from a config file, ready for flag.Set.
type setting struct {
	name  string // the flag's name
	key   string // the key as written in the file
	value string
	where string // file:line
}

// loadConfig reads the config file at path against the flags of
// command.
func loadConfig(path, command string, flags []cli.Flag) ([]setting, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("-config: read %s: %w", path, err)
	}
	if len(src) > maxConfigSize {
		return nil, fmt.Errorf("-config: %s is larger than %d bytes", path, maxConfigSize)
	}
	return decodeConfig(path, src, command, flags)
}

// decodeConfig parses src, HCL or (for a .json name) JSON, as a flat set
// of `name = value` attributes, one per flag of flags (those of mesh
// command), and turns each
// value into what the flag's Set takes. An unknown name, a value of the
// wrong type or anything but a literal is an error naming the key, the
// file and the line.
func decodeConfig(filename string, src []byte, command string, flags []cli.Flag) ([]setting, error) {
	p := hclparse.NewParser()
	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.EqualFold(filepath.Ext(filename), ".json") {
		file, diags = p.ParseJSON(src, filename)
	} else {
		file, diags = p.ParseHCL(src, filename)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("-config: %s", firstError(diags))
	}
	attrs, diags := file.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, fmt.Errorf("-config: %s (settings are `name = value` lines, no blocks)", firstError(diags))
	}
	byName := map[string]cli.Flag{}
	for _, f := range flags {
		for _, n := range f.Names() {
			byName[n] = f
		}
	}
	var out []setting
	for key, attr := range attrs {
		where := fmt.Sprintf("%s:%d", filename, attr.NameRange.Start.Line)
		f, ok := byName[strings.ReplaceAll(key, "_", "-")]
		if !ok || f.Names()[0] == configFlag {
			return nil, fmt.Errorf("%s: unknown setting %q: not a flag of mesh %s (see mesh %s -h)", where, key, command, command)
		}
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() {
			return nil, fmt.Errorf("%s: %s: want a literal value: %s", where, key, firstError(diags))
		}
		s, err := flagValue(f, v)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", where, key, err)
		}
		out = append(out, setting{name: f.Names()[0], key: key, value: s, where: where})
	}
	seen := map[string]setting{}
	for _, s := range out {
		if prev, ok := seen[s.name]; ok {
			first, second := prev, s
			if lineOf(second.where) < lineOf(first.where) {
				first, second = second, first
			}
			return nil, fmt.Errorf("%s: %s: set already, as %s, at line %d", second.where, second.key, first.key, lineOf(first.where))
		}
		seen[s.name] = s
	}
	// Map order is random: report and apply in the file's order.
	sort.Slice(out, func(i, j int) bool { return lineOf(out[i].where) < lineOf(out[j].where) })
	return out, nil
}

// lineOf is the line number at the end of a file:line.
func lineOf(where string) int {
	n, _ := strconv.Atoi(where[strings.LastIndexByte(where, ':')+1:])
	return n
}

// firstError renders the first error of diags with its position.
func firstError(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			return d.Error()
		}
	}
	return diags.Error()
}

// flagKind is the type of value a flag takes.
type flagKind int

const (
	kindString flagKind = iota
	kindBool
	kindInt
	kindFloat
	kindDuration
	kindList
)

// kindOf classifies a flag by its urfave/cli type. A string flag whose
// usage says it is comma- or semicolon-separated also takes a list,
// joined with that separator.
func kindOf(f cli.Flag) (flagKind, string) {
	switch f := f.(type) {
	case *cli.BoolFlag:
		return kindBool, ""
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
		return kindInt, ""
	case *cli.Float64Flag:
		return kindFloat, ""
	case *cli.DurationFlag:
		return kindDuration, ""
	case *cli.StringSliceFlag, *cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag:
		return kindList, ""
	case *cli.StringFlag:
		switch {
		case strings.Contains(f.Usage, "comma-separated"):
			return kindString, ","
		case strings.Contains(f.Usage, "semicolon-separated"):
			return kindString, ";"
		}
	}
	return kindString, ""
}

// flagValue turns a config value into the text flag f's Set takes,
// checking its type.
func flagValue(f cli.Flag, v cty.Value) (string, error) {
	kind, sep := kindOf(f)
	if v.IsNull() || !v.IsWhollyKnown() {
		return "", fmt.Errorf("want %s, got null", kindName(kind, sep))
	}
	t := v.Type()
	isList := t.IsTupleType() || t.IsListType() || t.IsSetType()
	switch {
	case kind == kindList && isList:
		items, err := stringItems(v)
		if err != nil {
			return "", err
		}
		return cli.NewStringSlice(items...).Serialize(), nil
	case kind == kindList && t == cty.String:
		return cli.NewStringSlice(v.AsString()).Serialize(), nil
	case kind == kindString && sep != "" && isList:
		items, err := stringItems(v)
		if err != nil {
			return "", err
		}
		return strings.Join(items, sep), nil
	case kind == kindString && t == cty.String:
		return v.AsString(), nil
	case kind == kindBool && t == cty.Bool:
		return strconv.FormatBool(v.True()), nil
	case kind == kindInt && t == cty.Number:
		bf := v.AsBigFloat()
		if !bf.IsInt() {
			return "", fmt.Errorf("want a whole number, got %s", bf.Text('g', -1))
		}
		i, _ := bf.Int(new(big.Int))
		return i.String(), nil
	case kind == kindFloat && t == cty.Number:
		fl, _ := v.AsBigFloat().Float64()
		return strconv.FormatFloat(fl, 'g', -1, 64), nil
	case kind == kindDuration && t == cty.String:
		if _, err := time.ParseDuration(v.AsString()); err != nil {
			return "", fmt.Errorf("want a duration such as \"10s\" or \"1m30s\", got %q", v.AsString())
		}
		return v.AsString(), nil
	}
	return "", fmt.Errorf("want %s, got %s", kindName(kind, sep), typeName(t))
}

// stringItems returns the items of a list of strings.
func stringItems(v cty.Value) ([]string, error) {
	var items []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.Type() != cty.String {
			return nil, fmt.Errorf("want a list of strings, got an item of type %s", typeName(e.Type()))
		}
		items = append(items, e.AsString())
	}
	return items, nil
}

// kindName says what a flag of kind takes, for errors.
func kindName(kind flagKind, sep string) string {
	switch kind {
	case kindBool:
		return "true or false"
	case kindInt:
		return "a whole number"
	case kindFloat:
		return "a number"
	case kindDuration:
		return "a duration string such as \"10s\""
	case kindList:
		return "a list of strings"
	}
	if sep != "" {
		return "a string or a list of strings"
	}
	return "a string"
}

// typeName names a config value's type for people.
func typeName(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "a bool"
	case t.IsTupleType() || t.IsListType() || t.IsSetType():
		return "a list"
	case t.IsObjectType() || t.IsMapType():
		return "an object"
	}
	return t.FriendlyName()
}
