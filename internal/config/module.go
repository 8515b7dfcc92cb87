package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// enabledKey is the one key every [modules.<name>] table has; it belongs
// to the config, not to the module's struct.
const enabledKey = "enabled"

// ModuleNames returns the names of the [modules.<name>] tables in the
// file, sorted.
func (c *Config) ModuleNames() []string {
	return sortedKeys(c.modules)
}

// DecodeModule decodes the [modules.<name>] table strictly into v, then
// applies the module's MERIDIAN_MODULES_<NAME>_<KEY> variables, each
// parsed by the type of the field it sets.
//
// v must be a pointer to a struct with toml tags, filled with the module's
// defaults beforehand: keys the table leaves out keep them. A module
// without settings may pass nil. The key "enabled" (a boolean, true when
// the table exists) is handled here and must not be a field of v. A key
// that v lacks is an error naming "modules.<name>.<key>"; an unknown
// variable is an error naming the variable.
//
// present reports whether the module is configured: its table is in the
// file, or a variable of the environment sets one of its keys (the only
// way a container can switch a module on). When it is not, v is left
// alone and enabled is false; the registry decides what an unconfigured
// module does. DecodeModule does not change c, so modules may decode
// concurrently.
func (c *Config) DecodeModule(name string, v any) (enabled, present bool, err error) {
	var rv reflect.Value
	if v != nil {
		rv = reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
			return false, false, fmt.Errorf("config: module %q: DecodeModule needs a pointer to a struct, got %T", name, v)
		}
		rv = rv.Elem()
		if _, ok := fieldsOf(rv.Type())[enabledKey]; ok {
			return false, false, fmt.Errorf("config: module %q: %s must not have a field for the reserved key %q", name, rv.Type(), enabledKey)
		}
	}
	table, inFile := c.modules[name]
	vars := c.moduleVars(name)
	if !inFile && len(vars) == 0 {
		return false, false, nil
	}
	key := joinKey("modules", name)
	d := decoder{}
	enabled = true
	rest := make(map[string]any, len(table))
	for k, raw := range table {
		if k != enabledKey {
			rest[k] = raw
			continue
		}
		b, ok := raw.(bool)
		if !ok {
			d.fail(joinKey(key, k), "expected a boolean, got %s", describe(raw))
			continue
		}
		enabled = b
	}
	if rv.IsValid() {
		d.decode(key, rest, rv)
	} else {
		for _, k := range sortedKeys(rest) {
			d.unknown(joinKey(key, k))
		}
	}

	// The variables of this module: MERIDIAN_MODULES_<NAME>_ENABLED and one
	// per scalar or list key of v.
	prefix := envModules + envName(name)
	targets := map[string]envTarget{}
	if rv.IsValid() {
		if err := envTargets(rv.Type(), prefix, key, nil, targets); err != nil {
			return false, true, err
		}
	}
	for _, vname := range vars {
		value := c.moduleEnv[vname]
		if vname == prefix+"_ENABLED" {
			b, err := strconv.ParseBool(strings.TrimSpace(value))
			if err != nil {
				d.errs = append(d.errs, fmt.Errorf("config: %s (%s.%s): invalid boolean %q (want true or false)", vname, key, enabledKey, value))
				continue
			}
			enabled = b
			continue
		}
		t, ok := targets[vname]
		if !ok {
			d.errs = append(d.errs, fmt.Errorf("config: unknown environment variable %s (module %q has no key %q)",
				vname, name, strings.ToLower(strings.TrimPrefix(vname, prefix+"_"))))
			continue
		}
		if err := setString(rv.FieldByIndex(t.index), value); err != nil {
			d.errs = append(d.errs, fmt.Errorf("config: %s (%s): %w", vname, t.key, err))
		}
	}
	if len(d.errs) > 0 {
		return false, true, errors.Join(d.errs...)
	}
	return enabled, true, nil
}

// moduleVars returns the MERIDIAN_MODULES_ variables that belong to the
// module name, sorted. Module and key are both joined with "_", so
// MERIDIAN_MODULES_MUC_LIGHT_X could be module "muc" or "muc_light": a
// variable goes to the longest name that has a table in the file. Two
// modules where one name extends the other therefore need the longer
// one's table in the file to be told apart in the environment.
func (c *Config) moduleVars(name string) []string {
	prefix := envModules + envName(name) + "_"
	var out []string
	for _, v := range sortedKeys(c.moduleEnv) {
		if !strings.HasPrefix(v, prefix) {
			continue
		}
		longer := false
		for other := range c.modules {
			p := envModules + envName(other) + "_"
			if len(p) > len(prefix) && strings.HasPrefix(v, p) {
				longer = true
				break
			}
		}
		if !longer {
			out = append(out, v)
		}
	}
	return out
}

// CheckModules reports configuration for modules that do not exist: a
// [modules.<name>] table or a MERIDIAN_MODULES_ variable that belongs to
// none of known (the registered module names). The module registry calls
// it once, with DecodeModule for each known module, so that a misspelt
// module is an error rather than silently off.
func (c *Config) CheckModules(known []string) error {
	known = slices.Sorted(slices.Values(known))
	var errs []error
	for _, name := range c.ModuleNames() {
		if !slices.Contains(known, name) {
			errs = append(errs, fmt.Errorf("config: unknown module %q in [%s] (have %s)", name, joinKey("modules", name), quoteList(known)))
		}
	}
	for _, v := range sortedKeys(c.moduleEnv) {
		owned := slices.ContainsFunc(known, func(name string) bool {
			return strings.HasPrefix(v, envModules+envName(name)+"_")
		})
		if !owned {
			errs = append(errs, fmt.Errorf("config: unknown environment variable %s (no such module)", v))
		}
	}
	return errors.Join(errs...)
}
