package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// The settings of the modules docs/configuration.md documents, as their
// packages declare them. They stand in for core/mod until its registry
// exists; the docs and deploy tests decode the examples with them.
type (
	rosterSettings struct {
		Versioning bool `toml:"versioning"`
		MaxItems   int  `toml:"max_items"`
	}
	versionSettings struct {
		Name   string `toml:"name"`
		ShowOS bool   `toml:"show_os"`
	}
	offlineSettings struct {
		MaxPerUser int `toml:"max_per_user"`
	}
	vcardSettings struct {
		MaxSize       int  `toml:"max_size"`
		PEPConversion bool `toml:"pep_conversion"`
	}
	privateSettings struct {
		MaxSize int `toml:"max_size"`
	}
	blockingSettings struct {
		MaxItems int `toml:"max_items"`
	}
	contactAddressesSettings struct {
		Abuse    []string `toml:"abuse"`
		Admin    []string `toml:"admin"`
		Feedback []string `toml:"feedback"`
		Sales    []string `toml:"sales"`
		Security []string `toml:"security"`
		Status   []string `toml:"status"`
		Support  []string `toml:"support"`
	}
	pepSettings struct {
		MaxItemSize   int `toml:"max_item_size"`
		MaxItemsLimit int `toml:"max_items_limit"`
		MaxNodes      int `toml:"max_nodes"`
	}
	eventPusherEndpoint struct {
		URL         string   `toml:"url"`
		Secret      string   `toml:"secret"`
		Events      []string `toml:"events"`
		Queue       int      `toml:"queue"`
		MaxAttempts int      `toml:"max_attempts"`
	}
	eventPusherSettings struct {
		Endpoints    []eventPusherEndpoint `toml:"endpoints"`
		Timeout      string                `toml:"timeout"`
		RetryInitial string                `toml:"retry_initial"`
		RetryMax     string                `toml:"retry_max"`
	}
	mamSettings struct {
		DefaultPage int    `toml:"default_page"`
		MaxPage     int    `toml:"max_page"`
		Default     string `toml:"default"`
	}
	registerSettings struct {
		RateLimit           int      `toml:"rate_limit"`
		RateWindow          Duration `toml:"rate_window"`
		AllowPasswordChange bool     `toml:"allow_password_change"`
		AllowRemove         bool     `toml:"allow_remove"`
	}
)

// documentedModules returns each documented module's defaults; nil for a
// module without settings.
func documentedModules() map[string]any {
	return map[string]any{
		"roster":       &rosterSettings{Versioning: true, MaxItems: 1000},
		"disco":        nil,
		"carbons":      nil,
		"bookmarks":    nil,
		"ping":         nil,
		"version":      &versionSettings{Name: "Meridian"},
		"time":         nil,
		"last":         nil,
		"offline":      &offlineSettings{MaxPerUser: 1000},
		"event_pusher": &eventPusherSettings{Timeout: "5s", RetryInitial: "500ms", RetryMax: "1m"},
		"mam":          &mamSettings{DefaultPage: 50, MaxPage: 250, Default: "always"},
		"pep":          &pepSettings{MaxItemSize: 256 << 10, MaxItemsLimit: 256, MaxNodes: 256},
		"register":     &registerSettings{RateLimit: 10, RateWindow: Duration{time.Minute}, AllowPasswordChange: true, AllowRemove: true},
		"vcard":        &vcardSettings{MaxSize: 65536, PEPConversion: true},
		"private":      &privateSettings{MaxSize: 65536},
		"blocking":     &blockingSettings{MaxItems: 1000},
		// The deploy file writes each list out empty ([]), which decodes
		// to an empty list rather than nil.
		"contact_addresses": &contactAddressesSettings{
			Abuse: []string{}, Admin: []string{}, Feedback: []string{}, Sales: []string{},
			Security: []string{}, Status: []string{}, Support: []string{},
		},
	}
}

func TestDecodeModule(t *testing.T) {
	const file = minimal + `
[modules.roster]
max_items = 50

[modules.ping]

[modules.version]
enabled = false
name = "Example"

[modules.register]
rate_window = "10m"
`
	c := mustParse(t, file)
	if got, want := c.ModuleNames(), []string{"ping", "register", "roster", "version"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ModuleNames() = %v, want %v", got, want)
	}

	for _, tc := range []struct {
		name             string
		v, want          any
		enabled, present bool
	}{
		{
			name: "roster", v: &rosterSettings{Versioning: true, MaxItems: 1000},
			want: &rosterSettings{Versioning: true, MaxItems: 50}, enabled: true, present: true,
		},
		{name: "ping", enabled: true, present: true},
		{name: "ping", v: &struct{}{}, want: &struct{}{}, enabled: true, present: true},
		{
			name: "version", v: &versionSettings{Name: "Meridian"},
			want: &versionSettings{Name: "Example"}, enabled: false, present: true,
		},
		{
			name: "register", v: &registerSettings{RateLimit: 10, RateWindow: Duration{time.Minute}, AllowRemove: true},
			want: &registerSettings{RateLimit: 10, RateWindow: Duration{10 * time.Minute}, AllowRemove: true}, enabled: true, present: true,
		},
		{
			name: "last", v: &struct {
				X int `toml:"x"`
			}{X: 3}, want: &struct {
				X int `toml:"x"`
			}{X: 3}, enabled: false, present: false,
		},
	} {
		enabled, present, err := c.DecodeModule(tc.name, tc.v)
		if err != nil {
			t.Errorf("DecodeModule(%s): %v", tc.name, err)
			continue
		}
		if enabled != tc.enabled || present != tc.present {
			t.Errorf("DecodeModule(%s) = enabled %v, present %v; want %v, %v", tc.name, enabled, present, tc.enabled, tc.present)
		}
		if !reflect.DeepEqual(tc.v, tc.want) {
			t.Errorf("DecodeModule(%s) decoded %+v, want %+v", tc.name, tc.v, tc.want)
		}
	}
	if err := c.CheckModules([]string{"ping", "register", "roster", "version", "last"}); err != nil {
		t.Errorf("CheckModules: %v", err)
	}
}

func TestDecodeModuleEnv(t *testing.T) {
	const file = minimal + "[modules.register]\nrate_limit = 3\n[modules.muc_light]\n"
	c := mustParse(t, file,
		"MERIDIAN_MODULES_REGISTER_RATE_WINDOW=30s",
		"MERIDIAN_MODULES_REGISTER_ALLOW_REMOVE=false",
		"MERIDIAN_MODULES_ROSTER_MAX_ITEMS=20",
		"MERIDIAN_MODULES_ROSTER_ENABLED=true",
		"MERIDIAN_MODULES_PING_ENABLED=false",
		"MERIDIAN_MODULES_MUC_ENABLED=true",
		"MERIDIAN_MODULES_MUC_LIGHT_ENABLED=false",
	)

	reg := &registerSettings{RateLimit: 10, RateWindow: Duration{time.Minute}, AllowPasswordChange: true, AllowRemove: true}
	enabled, present, err := c.DecodeModule("register", reg)
	want := &registerSettings{RateLimit: 3, RateWindow: Duration{30 * time.Second}, AllowPasswordChange: true}
	if err != nil || !enabled || !present || !reflect.DeepEqual(reg, want) {
		t.Errorf("register: %+v, %v, %v, %v; want %+v", reg, enabled, present, err, want)
	}

	// A module configured only by the environment is present.
	roster := &rosterSettings{Versioning: true, MaxItems: 1000}
	enabled, present, err = c.DecodeModule("roster", roster)
	if err != nil || !enabled || !present || roster.MaxItems != 20 || !roster.Versioning {
		t.Errorf("roster: %+v, %v, %v, %v", roster, enabled, present, err)
	}
	enabled, present, err = c.DecodeModule("ping", nil)
	if err != nil || enabled || !present {
		t.Errorf("ping: %v, %v, %v; want disabled and present", enabled, present, err)
	}

	// MUC_LIGHT_ENABLED belongs to muc_light, whose table is in the file,
	// not to a key "light_enabled" of muc.
	enabled, present, err = c.DecodeModule("muc", nil)
	if err != nil || !enabled || !present {
		t.Errorf("muc: %v, %v, %v", enabled, present, err)
	}
	enabled, present, err = c.DecodeModule("muc_light", nil)
	if err != nil || enabled || !present {
		t.Errorf("muc_light: %v, %v, %v", enabled, present, err)
	}

	if err := c.CheckModules([]string{"register", "roster", "ping", "muc", "muc_light"}); err != nil {
		t.Errorf("CheckModules: %v", err)
	}
}

func TestDecodeModuleErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module string
		file   string
		env    []string
		v      any
		want   []string
	}{
		{
			name:   "unknown key",
			module: "roster",
			file:   "[modules.roster]\nmax_itmes = 5\n",
			v:      &rosterSettings{},
			want:   []string{`config: unknown key "modules.roster.max_itmes"`},
		},
		{
			name:   "key of a module without settings",
			module: "ping",
			file:   "[modules.ping]\ninterval = \"1m\"\n",
			want:   []string{`config: unknown key "modules.ping.interval"`},
		},
		{
			name:   "bad value",
			module: "register",
			file:   "[modules.register]\nrate_window = \"a minute\"\nrate_limit = \"ten\"\n",
			v:      &registerSettings{},
			want: []string{
				`config: modules.register.rate_window: invalid duration "a minute"`,
				`config: modules.register.rate_limit: expected an integer, got string "ten"`,
			},
		},
		{
			name:   "enabled not a boolean",
			module: "roster",
			file:   "[modules.roster]\nenabled = \"no\"\n",
			v:      &rosterSettings{},
			want:   []string{`config: modules.roster.enabled: expected a boolean, got string "no"`},
		},
		{
			name:   "unknown variable",
			module: "roster",
			env:    []string{"MERIDIAN_MODULES_ROSTER_MAX_ITMES=5"},
			v:      &rosterSettings{},
			want:   []string{`config: unknown environment variable MERIDIAN_MODULES_ROSTER_MAX_ITMES (module "roster" has no key "max_itmes")`},
		},
		{
			name:   "bad variable value",
			module: "roster",
			env:    []string{"MERIDIAN_MODULES_ROSTER_MAX_ITEMS=many", "MERIDIAN_MODULES_ROSTER_ENABLED=on"},
			v:      &rosterSettings{},
			want: []string{
				`config: MERIDIAN_MODULES_ROSTER_MAX_ITEMS (modules.roster.max_items): invalid integer "many"`,
				`config: MERIDIAN_MODULES_ROSTER_ENABLED (modules.roster.enabled): invalid boolean "on"`,
			},
		},
		{
			name:   "not a pointer to a struct",
			module: "roster",
			file:   "[modules.roster]\n",
			v:      rosterSettings{},
			want:   []string{`config: module "roster": DecodeModule needs a pointer to a struct`},
		},
		{
			name:   "enabled is reserved",
			module: "roster",
			file:   "[modules.roster]\n",
			v: &struct {
				Enabled bool `toml:"enabled"`
			}{},
			want: []string{`must not have a field for the reserved key "enabled"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, minimal+tc.file, tc.env...)
			enabled, _, err := c.DecodeModule(tc.module, tc.v)
			if err == nil {
				t.Fatalf("DecodeModule(%s) succeeded", tc.module)
			}
			if enabled {
				t.Error("enabled despite the error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckModules(t *testing.T) {
	c := mustParse(t, minimal+"[modules.roster]\n[modules.rosters]\n",
		"MERIDIAN_MODULES_PINGG_ENABLED=true", "MERIDIAN_MODULES_ROSTER_MAX_ITEMS=3")
	err := c.CheckModules([]string{"roster", "ping"})
	if err == nil {
		t.Fatal("CheckModules accepted unknown modules")
	}
	for _, w := range []string{
		`config: unknown module "rosters" in [modules.rosters]`,
		`config: unknown environment variable MERIDIAN_MODULES_PINGG_ENABLED (no such module)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "MAX_ITEMS") {
		t.Errorf("CheckModules rejected a known module's variable:\n%v", err)
	}
}
