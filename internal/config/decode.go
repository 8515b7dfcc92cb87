package config

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// decoder copies a parsed TOML document (the map[string]any that
// BurntSushi/toml produces) into typed structs. It is written here rather
// than left to toml.Decode because the config must be stricter than that
// decoder: keys match struct tags exactly (toml.Decode also accepts a
// case-insensitive match), every problem is collected instead of stopping
// at the first, and each error names the full key.
type decoder struct {
	errs []error
}

func (d *decoder) fail(key, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
}

func (d *decoder) unknown(key string) {
	d.errs = append(d.errs, fmt.Errorf("config: unknown key %q", key))
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[Duration]()
	timeType            = reflect.TypeFor[time.Time]()
)

func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

// decode stores raw, found at key, into rv, which already holds the
// default. A value that fails to decode leaves the default in place.
func (d *decoder) decode(key string, raw any, rv reflect.Value) {
	t := rv.Type()
	if t == timeType {
		if v, ok := raw.(time.Time); ok {
			rv.Set(reflect.ValueOf(v))
			return
		}
		d.fail(key, "expected a datetime, got %s", describe(raw))
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := raw.(string)
		if !ok {
			d.fail(key, "expected %s, got %s", want(t), describe(raw))
			return
		}
		if err := rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.fail(key, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		table, ok := raw.(map[string]any)
		if !ok {
			d.fail(key, "expected a table, got %s", describe(raw))
			return
		}
		fields := fieldsOf(t)
		for _, k := range sortedKeys(table) {
			sub := joinKey(key, k)
			index, ok := fields[k]
			if !ok {
				d.unknown(sub)
				continue
			}
			d.decode(sub, table[k], rv.FieldByIndex(index))
		}
	case reflect.Map:
		table, ok := raw.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			d.fail(key, "expected a table, got %s", describe(raw))
			return
		}
		if rv.IsNil() {
			rv.Set(reflect.MakeMapWithSize(t, len(table)))
		}
		for _, k := range sortedKeys(table) {
			elem := reflect.New(t.Elem()).Elem()
			mk := reflect.ValueOf(k).Convert(t.Key())
			if old := rv.MapIndex(mk); old.IsValid() {
				elem.Set(old)
			}
			d.decode(joinKey(key, k), table[k], elem)
			rv.SetMapIndex(mk, elem)
		}
	case reflect.Slice:
		list := reflect.ValueOf(raw)
		if raw == nil || list.Kind() != reflect.Slice {
			d.fail(key, "expected an array, got %s", describe(raw))
			return
		}
		// An array in the file replaces the default list; it does not
		// add to it.
		out := reflect.MakeSlice(t, list.Len(), list.Len())
		for i := range list.Len() {
			d.decode(fmt.Sprintf("%s[%d]", key, i), list.Index(i).Interface(), out.Index(i))
		}
		rv.Set(out)
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(t.Elem()))
		}
		d.decode(key, raw, rv.Elem())
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.fail(key, "cannot decode into %s", t)
			return
		}
		rv.Set(reflect.ValueOf(raw))
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.fail(key, "expected a string, got %s", describe(raw))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.fail(key, "expected a boolean, got %s", describe(raw))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(int64)
		if !ok {
			d.fail(key, "expected an integer, got %s", describe(raw))
			return
		}
		if rv.OverflowInt(n) {
			d.fail(key, "%d is out of range", n)
			return
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := raw.(int64)
		if !ok {
			d.fail(key, "expected an integer, got %s", describe(raw))
			return
		}
		if n < 0 || rv.OverflowUint(uint64(n)) {
			d.fail(key, "%d is out of range", n)
			return
		}
		rv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		switch n := raw.(type) {
		case float64:
			rv.SetFloat(n)
		case int64:
			rv.SetFloat(float64(n))
		default:
			d.fail(key, "expected a number, got %s", describe(raw))
		}
	default:
		d.fail(key, "cannot decode into %s", t)
	}
}

// modules checks the shape of the [modules] table: a table of tables with
// names an environment variable can carry.
func (d *decoder) modules(raw any) map[string]map[string]any {
	table, ok := raw.(map[string]any)
	if !ok {
		d.fail("modules", "expected a table of [modules.<name>] tables, got %s", describe(raw))
		return nil
	}
	out := make(map[string]map[string]any, len(table))
	for _, name := range sortedKeys(table) {
		key := joinKey("modules", name)
		if !moduleName.MatchString(name) {
			d.fail(key, "invalid module name: use lower-case letters, digits and _")
			continue
		}
		m, ok := table[name].(map[string]any)
		if !ok {
			d.fail(key, "expected a table, got %s", describe(table[name]))
			continue
		}
		out[name] = m
	}
	return out
}

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// fieldsOf maps the TOML keys of struct type t to field indexes. A field's
// key is its toml tag, or its Go name when untagged; "-" skips it; an
// untagged embedded struct contributes its fields.
func fieldsOf(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "-" {
				continue
			}
			idx := append(append([]int(nil), index...), i)
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			out[name] = idx
		}
	}
	walk(t, nil)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends k to the dotted key parent, quoting k as TOML would
// when it is not a bare key.
func joinKey(parent, k string) string {
	if !bareKey.MatchString(k) {
		k = fmt.Sprintf("%q", k)
	}
	if parent == "" {
		return k
	}
	return parent + "." + k
}

// want says what a TextUnmarshaler field expects.
func want(t reflect.Type) string {
	if t == durationType {
		return `a duration string such as "30s"`
	}
	return "a string"
}

// describe names a raw TOML value for an error message.
func describe(raw any) string {
	switch v := raw.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %t", v)
	case time.Time:
		return "datetime " + v.Format(time.RFC3339)
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", raw)
}
