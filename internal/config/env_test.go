package config

import (
	"reflect"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	const file = minimal + `
[node]
data_dir = "/var/lib/meridian"
[c2s]
max_stanza_size = 65536
listen = ["0.0.0.0:5222"]
[[vhosts]]
domain = "example.net"
registration = true
`
	for _, tc := range []struct {
		name  string
		env   []string
		check func(*Config) (got, want any)
	}{
		{
			name:  "file without variables",
			check: func(c *Config) (any, any) { return c.C2S.MaxStanzaSize, 65536 },
		},
		{
			name:  "integer",
			env:   []string{"MERIDIAN_C2S_MAX_STANZA_SIZE=524288"},
			check: func(c *Config) (any, any) { return c.C2S.MaxStanzaSize, 524288 },
		},
		{
			name:  "string",
			env:   []string{"MERIDIAN_NODE_DATA_DIR=/data"},
			check: func(c *Config) (any, any) { return c.Node.DataDir, "/data" },
		},
		{
			name:  "nested table",
			env:   []string{"MERIDIAN_STORAGE_EMBEDDED_PATH=/data/m.db"},
			check: func(c *Config) (any, any) { return c.EmbeddedPath(), "/data/m.db" },
		},
		{
			name:  "boolean",
			env:   []string{"MERIDIAN_C2S_REQUIRE_STARTTLS=false"},
			check: func(c *Config) (any, any) { return c.C2S.RequireStartTLS, false },
		},
		{
			name:  "duration",
			env:   []string{"MERIDIAN_C2S_IDLE_TIMEOUT=90s"},
			check: func(c *Config) (any, any) { return c.C2S.IdleTimeout.Duration, 90 * time.Second },
		},
		{
			name: "list",
			env:  []string{"MERIDIAN_C2S_LISTEN=127.0.0.1:15222, 127.0.0.1:15223"},
			check: func(c *Config) (any, any) {
				return c.C2S.Listen, []string{"127.0.0.1:15222", "127.0.0.1:15223"}
			},
		},
		{
			name:  "empty list",
			env:   []string{"MERIDIAN_C2S_DIRECT_TLS_LISTEN="},
			check: func(c *Config) (any, any) { return c.C2S.DirectTLSListen, []string{} },
		},
		{
			name:  "empty string disables http",
			env:   []string{"MERIDIAN_HTTP_LISTEN="},
			check: func(c *Config) (any, any) { return c.HTTP.Listen, "" },
		},
		{
			name:  "last assignment wins",
			env:   []string{"MERIDIAN_LOG_LEVEL=warn", "MERIDIAN_LOG_LEVEL=debug"},
			check: func(c *Config) (any, any) { return c.Log.Level, "debug" },
		},
		{
			name:  "other variables are ignored",
			env:   []string{"PATH=/bin", "meridian_log_level=debug", "NOEQUALS"},
			check: func(c *Config) (any, any) { return c.Log.Level, "info" },
		},
		{
			name: "vhosts replaced with defaults",
			env:  []string{"MERIDIAN_VHOSTS=a.example, B.Example"},
			check: func(c *Config) (any, any) {
				return c.VHosts, []VHost{{Domain: "a.example"}, {Domain: "b.example"}}
			},
		},
		{
			name: "vhosts with registration",
			env:  []string{"MERIDIAN_VHOSTS_REGISTRATION=true", "MERIDIAN_VHOSTS=a.example,b.example"},
			check: func(c *Config) (any, any) {
				return c.VHosts, []VHost{{Domain: "a.example", Registration: true}, {Domain: "b.example", Registration: true}}
			},
		},
		{
			name: "vhost key applies to the file's vhosts",
			env:  []string{"MERIDIAN_VHOSTS_REGISTRATION=false"},
			check: func(c *Config) (any, any) {
				return c.VHosts, []VHost{{Domain: "example.com"}, {Domain: "example.net"}}
			},
		},
		{
			name: "module variables are kept for DecodeModule",
			env:  []string{"MERIDIAN_MODULES_PING_ENABLED=false"},
			check: func(c *Config) (any, any) {
				return c.moduleEnv, map[string]string{"MERIDIAN_MODULES_PING_ENABLED": "false"}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, file, tc.env...)
			if got, want := tc.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// TestApplyEnvOnDefault is the container case: no file, settings from the
// environment on top of Default.
func TestApplyEnvOnDefault(t *testing.T) {
	c := Default()
	err := c.ApplyEnv([]string{"MERIDIAN_VHOSTS=chat.example", "MERIDIAN_NODE_ROLES=edge", "MERIDIAN_LINK_CORES=10.0.0.1:5270", "MERIDIAN_LOG_FORMAT=json"})
	if err != nil {
		t.Fatalf("ApplyEnv: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !reflect.DeepEqual(c.Hosts(), []string{"chat.example"}) || !reflect.DeepEqual(c.Node.Roles, []string{"edge"}) || c.Log.Format != "json" {
		t.Errorf("got hosts %v, roles %v, format %q", c.Hosts(), c.Node.Roles, c.Log.Format)
	}
	if err := Default().ApplyEnv([]string{"MERIDIAN_NOPE=1"}); err == nil {
		t.Error("ApplyEnv accepted MERIDIAN_NOPE")
	}
}
