package node_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/node"
)

// TestDeployModules: deploy/meridian.toml has a table for every
// registered module, each holding that module's real defaults (the
// config package checks the file against its own copy of them; this
// checks that copy against the modules).
func TestDeployModules(t *testing.T) {
	data, err := os.ReadFile("../deploy/meridian.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	enabled, err := node.Modules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(enabled) != len(module.Names()) {
		t.Errorf("%d modules enabled by the deploy file, %d registered", len(enabled), len(module.Names()))
	}
	tables := map[string]bool{}
	for _, n := range cfg.ModuleNames() {
		tables[n] = true
	}
	for _, e := range enabled {
		name := e.Info.Name
		if !tables[name] {
			t.Errorf("deploy/meridian.toml has no [modules.%s]", name)
		}
		if e.Info.Config == nil {
			continue
		}
		// %+v prints a nil and an empty list alike.
		if got, want := fmt.Sprintf("%+v", e.Config), fmt.Sprintf("%+v", e.Info.Config()); got != want {
			t.Errorf("[modules.%s] = %s, want the defaults %s", name, got, want)
		}
	}
}
