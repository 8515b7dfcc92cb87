package node

import (
	"fmt"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/core/mod/register"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/config"
)

// Modules decodes [modules.<name>] for every registered module and
// returns the enabled ones. A module without a table is enabled with its
// defaults; an unknown module name is an error. A module config that
// has a Validate() error method is checked here, so that
// `meridian config check` reports a bad value before any start.
func Modules(cfg *config.Config) ([]core.Enabled, error) {
	if err := cfg.CheckModules(module.Names()); err != nil {
		return nil, err
	}
	var out []core.Enabled
	on := map[string]bool{}
	for _, name := range module.Names() {
		info, _ := module.Lookup(name)
		var v any
		if info.Config != nil {
			v = info.Config()
		}
		e, present, err := cfg.DecodeModule(name, v)
		if err != nil {
			return nil, err
		}
		// A module without a table runs with its defaults.
		if present && !e {
			continue
		}
		if vc, ok := v.(interface{ Validate() error }); ok {
			if err := vc.Validate(); err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
		}
		if rc, ok := v.(*register.Config); ok {
			// Which hosts allow registration is a [[vhosts]] setting.
			for _, vh := range cfg.VHosts {
				if vh.Registration {
					rc.Domains = append(rc.Domains, vh.Domain)
				}
			}
		}
		on[name] = true
		out = append(out, core.Enabled{Info: info, Config: v})
	}
	for _, m := range out {
		for _, r := range m.Info.Requires {
			if !on[r] {
				return nil, fmt.Errorf("config: modules.%s requires modules.%s to be enabled", m.Info.Name, r)
			}
		}
	}
	return out, nil
}
