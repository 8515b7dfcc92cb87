package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest valid file.
const minimal = "[[vhosts]]\ndomain = \"example.com\"\n"

func mustParse(t *testing.T, data string, env ...string) *Config {
	t.Helper()
	c, err := Parse([]byte(data), env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestDefault(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	h, _ := os.Hostname()
	checks := []struct {
		name      string
		got, want any
	}{
		{"node.name", c.Node.Name, h},
		{"node.data_dir", c.Node.DataDir, "./meridian-data"},
		{"node.roles", c.Node.Roles, []string{"edge", "core"}},
		{"node.shutdown_grace", c.Node.ShutdownGrace.Duration, 10 * time.Second},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"vhosts", c.VHosts, []VHost{{Domain: "localhost", Registration: true}}},
		{"tls.min_version", c.TLS.MinVersion, "1.2"},
		{"tls.cert_file", c.TLS.CertFile, ""},
		{"c2s.listen", c.C2S.Listen, []string{"0.0.0.0:5222"}},
		{"c2s.direct_tls_listen", c.C2S.DirectTLSListen, []string{"0.0.0.0:5223"}},
		{"c2s.require_starttls", c.C2S.RequireStartTLS, true},
		{"c2s.max_stanza_size", c.C2S.MaxStanzaSize, 262144},
		{"c2s.max_depth", c.C2S.MaxDepth, 64},
		{"c2s.handshake_timeout", c.C2S.HandshakeTimeout.Duration, 60 * time.Second},
		{"c2s.idle_timeout", c.C2S.IdleTimeout.Duration, 5 * time.Minute},
		{"c2s.keepalive_interval", c.C2S.KeepaliveInterval.Duration, 60 * time.Second},
		{"c2s.write_timeout", c.C2S.WriteTimeout.Duration, 30 * time.Second},
		{"c2s.send_queue", c.C2S.SendQueue, 1024},
		{"c2s.max_unacked", c.C2S.MaxUnacked, 5000},
		{"c2s.resource_conflict", c.C2S.ResourceConflict, "replace"},
		{"c2s.max_resources", c.C2S.MaxResources, 0},
		{"http.listen", c.HTTP.Listen, "0.0.0.0:5280"},
		{"storage.backend", c.Storage.Backend, "embedded"},
		{"storage.embedded.path", c.Storage.Embedded.Path, ""},
		{"EmbeddedPath", c.EmbeddedPath(), filepath.Join("meridian-data", "meridian.db")},
		{"auth.scram_iterations", c.Auth.ScramIterations, 4096},
		{"auth.mechanisms", c.Auth.Mechanisms, []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}},
		{"Hosts", c.Hosts(), []string{"localhost"}},
		{"ModuleNames", len(c.ModuleNames()), 0},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestParseDefaults checks that a file naming only its vhosts gets the
// same settings as Default, and that vhosts default to closed
// registration.
func TestParseDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	want := Default()
	want.VHosts = []VHost{{Domain: "example.com"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(minimal) =\n%+v\nwant\n%+v", c, want)
	}
}

func TestVHostLookup(t *testing.T) {
	c := mustParse(t, `
[[vhosts]]
domain = "Example.COM."
registration = true
[[vhosts]]
domain = "example.net"
cert_file = "net.crt"
key_file = "net.key"
`)
	if got, want := c.Hosts(), []string{"example.com", "example.net"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Hosts() = %v, want %v", got, want)
	}
	for _, q := range []string{"example.com", "EXAMPLE.com", "example.com."} {
		if v, ok := c.VHost(q); !ok || !v.Registration {
			t.Errorf("VHost(%q) = %+v, %v", q, v, ok)
		}
	}
	if v, ok := c.VHost("example.net"); !ok || v.CertFile != "net.crt" || v.Registration {
		t.Errorf("VHost(example.net) = %+v, %v", v, ok)
	}
	if _, ok := c.VHost("example.org"); ok {
		t.Error("VHost(example.org) found")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meridian.toml")
	if err := os.WriteFile(path, []byte(minimal+"[c2s]\nmax_depth = 32\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MERIDIAN_C2S_SEND_QUEUE", "7")
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.C2S.MaxDepth != 32 || c.C2S.SendQueue != 7 {
		t.Errorf("max_depth, send_queue = %d, %d; want 32, 7", c.C2S.MaxDepth, c.C2S.SendQueue)
	}

	missing := filepath.Join(dir, "nope.toml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) = %v, want an error naming %s", err, missing)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[c2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "toml: line") {
		t.Errorf("Load(bad syntax) = %v, want an error naming %s and the line", err, bad)
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		text string
	}{
		{"30s", 30 * time.Second, "30s"},
		{"5m", 5 * time.Minute, "5m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"2h", 2 * time.Hour, "2h"},
		{"0", 0, "0s"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"250ms", 250 * time.Millisecond, "250ms"},
	} {
		var d Duration
		if err := d.UnmarshalText([]byte(tc.in)); err != nil || d.Duration != tc.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tc.in, d.Duration, err, tc.want)
		}
		text, _ := d.MarshalText()
		if string(text) != tc.text {
			t.Errorf("MarshalText(%v) = %q, want %q", tc.want, text, tc.text)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("5 minutes")); err == nil || err.Error() != `invalid duration "5 minutes"` {
		t.Errorf("UnmarshalText(5 minutes) = %v", err)
	}
}

// TestEnvNames checks the derived variable table: no two keys collide
// (mustEnvTargets would panic) and the documented names exist.
func TestEnvNames(t *testing.T) {
	vars := envVars()
	for name, key := range map[string]string{
		"MERIDIAN_NODE_DATA_DIR":          "node.data_dir",
		"MERIDIAN_NODE_ROLES":             "node.roles",
		"MERIDIAN_C2S_MAX_STANZA_SIZE":    "c2s.max_stanza_size",
		"MERIDIAN_C2S_LISTEN":             "c2s.listen",
		"MERIDIAN_C2S_DIRECT_TLS_LISTEN":  "c2s.direct_tls_listen",
		"MERIDIAN_STORAGE_EMBEDDED_PATH":  "storage.embedded.path",
		"MERIDIAN_AUTH_MECHANISMS":        "auth.mechanisms",
		"MERIDIAN_VHOSTS":                 "vhosts",
		"MERIDIAN_VHOSTS_REGISTRATION":    "vhosts[*].registration",
		"MERIDIAN_VHOSTS_CERT_FILE":       "vhosts[*].cert_file",
		"MERIDIAN_TLS_MIN_VERSION":        "tls.min_version",
		"MERIDIAN_HTTP_LISTEN":            "http.listen",
		"MERIDIAN_LOG_LEVEL":              "log.level",
		"MERIDIAN_C2S_KEEPALIVE_INTERVAL": "c2s.keepalive_interval",
		"MERIDIAN_NODE_SHUTDOWN_GRACE":    "node.shutdown_grace",
		"MERIDIAN_C2S_RESOURCE_CONFLICT":  "c2s.resource_conflict",
		"MERIDIAN_AUTH_SCRAM_ITERATIONS":  "auth.scram_iterations",
		"MERIDIAN_C2S_REQUIRE_STARTTLS":   "c2s.require_starttls",
		"MERIDIAN_STORAGE_BACKEND":        "storage.backend",
		"MERIDIAN_C2S_MAX_RESOURCES":      "c2s.max_resources",
		"MERIDIAN_C2S_HANDSHAKE_TIMEOUT":  "c2s.handshake_timeout",
		"MERIDIAN_NODE_NAME":              "node.name",
		"MERIDIAN_TLS_CERT_FILE":          "tls.cert_file",
		"MERIDIAN_C2S_WRITE_TIMEOUT":      "c2s.write_timeout",
		"MERIDIAN_LOG_FORMAT":             "log.format",
		"MERIDIAN_C2S_SEND_QUEUE":         "c2s.send_queue",
		"MERIDIAN_C2S_IDLE_TIMEOUT":       "c2s.idle_timeout",
		"MERIDIAN_C2S_MAX_DEPTH":          "c2s.max_depth",
		"MERIDIAN_TLS_KEY_FILE":           "tls.key_file",
		"MERIDIAN_VHOSTS_KEY_FILE":        "vhosts[*].key_file",
	} {
		if vars[name] != key {
			t.Errorf("%s sets %q, want %q", name, vars[name], key)
		}
	}
	if _, ok := vars["MERIDIAN_VHOSTS_DOMAIN"]; ok {
		t.Error("MERIDIAN_VHOSTS_DOMAIN exists; domains come from MERIDIAN_VHOSTS")
	}
}
