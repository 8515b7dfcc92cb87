package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Environment variables override the file, for containers. The name of a
// key's variable is derived from the toml tags: MERIDIAN_, then the key's
// path upper-cased with "_" between the parts (c2s.max_stanza_size →
// MERIDIAN_C2S_MAX_STANZA_SIZE). Lists are comma-separated.
const (
	envPrefix = "MERIDIAN_"
	// EnvConfigFile is reserved for cmd/meridian to find the config file;
	// it is not a key, and ApplyEnv ignores it.
	EnvConfigFile = envPrefix + "CONFIG"
	// EnvAdminURL and EnvAdminToken are reserved for meridianctl (which
	// node to administer, with which token); they are not keys either.
	EnvAdminURL   = envPrefix + "ADMIN_URL"
	EnvAdminToken = envPrefix + "ADMIN_TOKEN"
	envVHosts     = envPrefix + "VHOSTS"
	envModules    = envPrefix + "MODULES_"
)

// envTarget is the key a variable sets and where that key's field is.
type envTarget struct {
	key   string
	index []int
}

// envTargets derives the variables of struct type t: every scalar or list
// field, recursing into sub-tables. Arrays of tables ([[vhosts]]) have no
// generic form and are skipped. prefix is the variable name so far and
// key the TOML key so far. Two keys that give the same name (a_b and a.b)
// are an error of the struct's author.
func envTargets(t reflect.Type, prefix, key string, index []int, out map[string]envTarget) error {
	fields := fieldsOf(t)
	for _, name := range sortedKeys(fields) {
		idx := append(append([]int(nil), index...), fields[name]...)
		ft := t.FieldByIndex(fields[name]).Type
		v := prefix + "_" + envName(name)
		k := joinKey(key, name)
		switch {
		case isScalar(ft):
		case ft.Kind() == reflect.Slice && isScalar(ft.Elem()):
		case ft.Kind() == reflect.Struct:
			if err := envTargets(ft, v, k, idx, out); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		if prev, dup := out[v]; dup {
			return fmt.Errorf("config: keys %s and %s both map to %s", prev.key, k, v)
		}
		out[v] = envTarget{key: k, index: idx}
	}
	return nil
}

// mustEnvTargets is envTargets for the fixed sections, whose names a
// package test checks.
func mustEnvTargets(t reflect.Type, prefix string) map[string]envTarget {
	out := map[string]envTarget{}
	if err := envTargets(t, prefix, "", nil, out); err != nil {
		panic(err)
	}
	return out
}

// envName is a key's part of a variable name.
func envName(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
}

func isScalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// configEnv is the variable table of the fixed sections; vhostEnv that of
// one [[vhosts]] entry (MERIDIAN_VHOSTS_<KEY>, domain excluded: the
// domains come from MERIDIAN_VHOSTS).
var (
	configEnv = sync.OnceValue(func() map[string]envTarget {
		return mustEnvTargets(reflect.TypeFor[Config](), strings.TrimSuffix(envPrefix, "_"))
	})
	vhostEnv = sync.OnceValue(func() map[string]envTarget {
		out := mustEnvTargets(reflect.TypeFor[VHost](), envVHosts)
		delete(out, envVHosts+"_DOMAIN")
		return out
	})
)

// envVars lists every variable of the fixed sections with the key it
// overrides ("MERIDIAN_C2S_LISTEN" → "c2s.listen"); per-module variables
// are not included, as modules are not known here.
func envVars() map[string]string {
	out := map[string]string{envVHosts: "vhosts"}
	for v, t := range configEnv() {
		out[v] = t.key
	}
	for v, t := range vhostEnv() {
		out[v] = "vhosts[*]." + t.key
	}
	return out
}

// ApplyEnv applies the MERIDIAN_* variables in env (KEY=VALUE strings) to
// c. It does not validate the result; call Validate after it. Load and
// Parse call it; cmd/meridian calls it on Default() when run without a
// file.
//
//   - MERIDIAN_<SECTION>_<KEY> sets a key of a fixed section; lists are
//     comma-separated ("127.0.0.1:5222,[::1]:5222"), an empty value is an
//     empty list.
//   - MERIDIAN_VHOSTS=a.example,b.example replaces the [[vhosts]] list with
//     hosts that have default settings; MERIDIAN_VHOSTS_<KEY> (for example
//     MERIDIAN_VHOSTS_REGISTRATION=true) then sets that key on every vhost.
//   - MERIDIAN_MODULES_<NAME>_<KEY> sets a module key; it is checked and
//     applied by DecodeModule, which knows the module's fields.
//   - MERIDIAN_CONFIG is left to cmd/meridian. Any other MERIDIAN_ variable
//     is an error naming it.
func (c *Config) ApplyEnv(env []string) error {
	return errors.Join(c.applyEnv(env)...)
}

func (c *Config) applyEnv(env []string) []error {
	vars := map[string]string{}
	for _, kv := range env {
		name, value, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(name, envPrefix) {
			vars[name] = value // the last assignment wins, as in a shell
		}
	}
	var errs []error
	fail := func(name, key string, err error) {
		errs = append(errs, fmt.Errorf("config: %s (%s): %w", name, key, err))
	}
	set := func(name, key string) {
		if c.fromEnv == nil {
			c.fromEnv = map[string]string{}
		}
		c.fromEnv[key] = name
	}
	// The host list first, so that MERIDIAN_VHOSTS_<KEY> applies to it.
	if value, ok := vars[envVHosts]; ok {
		c.VHosts = nil
		for _, d := range splitList(value) {
			set(envVHosts, fmt.Sprintf("vhosts[%d].domain", len(c.VHosts)))
			c.VHosts = append(c.VHosts, VHost{Domain: d})
		}
	}
	root := reflectValue(c)
	for _, name := range sortedKeys(vars) {
		value := vars[name]
		if name == envVHosts || name == EnvConfigFile || name == EnvAdminURL || name == EnvAdminToken {
			continue
		}
		if rest, ok := strings.CutPrefix(name, envModules); ok {
			// <NAME>_<KEY>: both parts must be there. Which split is
			// right is decided by DecodeModule.
			if i := strings.IndexByte(rest, '_'); i <= 0 || i == len(rest)-1 {
				errs = append(errs, fmt.Errorf("config: unknown environment variable %s (want MERIDIAN_MODULES_<NAME>_<KEY>)", name))
				continue
			}
			if c.moduleEnv == nil {
				c.moduleEnv = map[string]string{}
			}
			c.moduleEnv[name] = value
			continue
		}
		if t, ok := vhostEnv()[name]; ok {
			for i := range c.VHosts {
				key := fmt.Sprintf("vhosts[%d].%s", i, t.key)
				if err := setString(reflectValue(&c.VHosts[i]).FieldByIndex(t.index), value); err != nil {
					fail(name, key, err)
					break
				}
				set(name, key)
			}
			continue
		}
		t, ok := configEnv()[name]
		if !ok {
			errs = append(errs, fmt.Errorf("config: unknown environment variable %s", name))
			continue
		}
		if err := setString(root.FieldByIndex(t.index), value); err != nil {
			fail(name, t.key, err)
			continue
		}
		set(name, t.key)
	}
	return errs
}

// setString stores an environment value in rv, parsed by rv's type.
func setString(rv reflect.Value, s string) error {
	t := rv.Type()
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
	}
	s1 := strings.TrimSpace(s)
	switch t.Kind() {
	case reflect.String:
		rv.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s1)
		if err != nil {
			return fmt.Errorf("invalid boolean %q (want true or false)", s)
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s1, 10, t.Bits())
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s1, 10, t.Bits())
		if err != nil {
			return fmt.Errorf("invalid unsigned integer %q", s)
		}
		rv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s1, t.Bits())
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		rv.SetFloat(f)
	case reflect.Slice:
		if !isScalar(t.Elem()) {
			return fmt.Errorf("cannot be set from the environment")
		}
		items := splitList(s)
		out := reflect.MakeSlice(t, len(items), len(items))
		for i, item := range items {
			if err := setString(out.Index(i), item); err != nil {
				return err
			}
		}
		rv.Set(out)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks, so that "" is
// the empty list.
func splitList(s string) []string {
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
