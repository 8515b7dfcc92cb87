package node_test

import (
	"slices"
	"testing"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/node"
)

// TestDeployConfigModules checks deploy/meridian.toml against the modules
// themselves (internal/config checks it against the documented settings):
// a table for every registered module, every key one the module decodes.
func TestDeployConfigModules(t *testing.T) {
	cfg, err := config.Load("../deploy/meridian.toml")
	if err != nil {
		t.Fatal(err)
	}
	mods, err := node.Modules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.ModuleNames(), module.Names(); !slices.Equal(got, want) {
		t.Errorf("deploy/meridian.toml has tables for %v, registered modules are %v", got, want)
	}
	if len(mods) != len(module.Names()) {
		t.Errorf("%d modules enabled, %d registered", len(mods), len(module.Names()))
	}
}
