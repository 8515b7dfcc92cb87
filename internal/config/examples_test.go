package config

import (
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const (
	docsFile   = "../../docs/configuration.md"
	deployFile = "../../deploy/meridian.toml"
)

// checkModules decodes every module table of c with the documented
// module settings, so that a misspelt module key in an example fails.
func checkModules(t *testing.T, c *Config) {
	t.Helper()
	modules := documentedModules()
	if err := c.CheckModules(slices.Collect(maps.Keys(modules))); err != nil {
		t.Error(err)
	}
	for _, name := range c.ModuleNames() {
		if _, _, err := c.DecodeModule(name, modules[name]); err != nil {
			t.Error(err)
		}
	}
}

// TestDeployExample checks deploy/meridian.toml: it parses, sets every key
// of the fixed sections (node.name aside, whose default is the host name)
// to its default, and has a table for every documented module holding
// that module's defaults.
func TestDeployExample(t *testing.T) {
	data, err := os.ReadFile(deployFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, nil)
	if err != nil {
		t.Fatalf("Parse(%s): %v", deployFile, err)
	}
	want := Default()
	want.VHosts = []VHost{{Domain: "example.com"}, {Domain: "example.net"}}
	got := *c
	got.modules = nil
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("%s is not the defaults:\n got %+v\nwant %+v", deployFile, &got, want)
	}

	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		t.Fatal(err)
	}
	for _, key := range leafKeys(reflect.TypeFor[Config](), "") {
		if key != "node.name" && !hasKey(raw, key) {
			t.Errorf("%s does not set %s", deployFile, key)
		}
	}

	modules := documentedModules()
	if got, want := c.ModuleNames(), slices.Sorted(maps.Keys(modules)); !slices.Equal(got, want) {
		t.Errorf("%s has modules %v, want %v", deployFile, got, want)
	}
	for name, defaults := range modules {
		var v any
		if defaults != nil {
			// Decode into a zero value: every key must be in the file.
			v = reflect.New(reflect.TypeOf(defaults).Elem()).Interface()
		}
		enabled, present, err := c.DecodeModule(name, v)
		if err != nil || !enabled || !present {
			t.Errorf("DecodeModule(%s) = %v, %v, %v", name, enabled, present, err)
		}
		if !reflect.DeepEqual(v, defaults) {
			t.Errorf("%s: [modules.%s] = %+v, want the defaults %+v", deployFile, name, v, defaults)
		}
	}
}

var tomlBlock = regexp.MustCompile("(?ms)^```toml\\n(.*?)^```")

// TestDocsExamples parses every ```toml block of docs/configuration.md. A
// block without [[vhosts]] is a fragment and gets one from the
// environment.
func TestDocsExamples(t *testing.T) {
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	blocks := tomlBlock.FindAllSubmatch(data, -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d toml blocks in %s", len(blocks), docsFile)
	}
	for i, b := range blocks {
		var env []string
		if !strings.Contains(string(b[1]), "[[vhosts]]") {
			env = []string{"MERIDIAN_VHOSTS=example.com"}
		}
		c, err := Parse(b[1], env)
		if err != nil {
			t.Errorf("%s toml block %d:\n%s\n%v", docsFile, i+1, b[1], err)
			continue
		}
		checkModules(t, c)
	}
}

// TestDocsComplete checks that docs/configuration.md names every key, its
// environment variable, and every documented module's keys and
// variables.
func TestDocsComplete(t *testing.T) {
	data, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, key := range leafKeys(reflect.TypeFor[Config](), "") {
		last := key[strings.LastIndexByte(key, '.')+1:]
		if !strings.Contains(doc, "| `"+last+"` |") {
			t.Errorf("%s has no table row for %s", docsFile, key)
		}
	}
	for name := range envVars() {
		if !strings.Contains(doc, name) {
			t.Errorf("%s does not mention %s", docsFile, name)
		}
	}
	for name, defaults := range documentedModules() {
		if !strings.Contains(doc, "| `"+name+"` |") {
			t.Errorf("%s does not list module %s", docsFile, name)
		}
		if defaults == nil {
			continue
		}
		targets := map[string]envTarget{}
		if err := envTargets(reflect.TypeOf(defaults).Elem(), envModules+envName(name), "", nil, targets); err != nil {
			t.Fatal(err)
		}
		for v, target := range targets {
			if !strings.Contains(doc, v) || !strings.Contains(doc, "`"+target.key+"`") {
				t.Errorf("%s does not document modules.%s.%s (%s)", docsFile, name, target.key, v)
			}
		}
	}
}

// leafKeys lists the dotted keys of every scalar or list field of t;
// [[vhosts]] fields are listed as vhosts.<key>.
func leafKeys(t reflect.Type, prefix string) []string {
	var out []string
	fields := fieldsOf(t)
	for _, name := range sortedKeys(fields) {
		ft := t.FieldByIndex(fields[name]).Type
		key := joinKey(prefix, name)
		switch {
		case isScalar(ft):
			out = append(out, key)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, leafKeys(ft.Elem(), key)...)
		case ft.Kind() == reflect.Slice:
			out = append(out, key)
		case ft.Kind() == reflect.Struct:
			out = append(out, leafKeys(ft, key)...)
		}
	}
	return out
}

// hasKey reports whether the dotted key is set in raw; for an array of
// tables, in every entry.
func hasKey(raw any, key string) bool {
	head, rest, more := strings.Cut(key, ".")
	switch v := raw.(type) {
	case map[string]any:
		sub, ok := v[head]
		if !ok {
			return false
		}
		if !more {
			return true
		}
		return hasKey(sub, rest)
	case []map[string]any:
		for _, entry := range v {
			if !hasKey(entry, key) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}
