package config

import (
	"strings"
	"testing"
)

// TestParseErrors checks that each bad file or variable fails with errors
// that name the key (or variable) and the problem, and that every problem
// of a file is reported, not only the first.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  []string
		want []string // each must appear in the error
	}{
		{
			name: "unknown top-level key",
			file: "colour = \"blue\"\n" + minimal,
			want: []string{`config: unknown key "colour"`},
		},
		{
			name: "unknown top-level table",
			file: minimal + "[s2s]\nlisten = [\"0.0.0.0:5269\"]\n",
			want: []string{`config: unknown key "s2s"`},
		},
		{
			name: "unknown nested key",
			file: minimal + "[c2s]\nmax_stanza_sise = 1\n",
			want: []string{`config: unknown key "c2s.max_stanza_sise"`},
		},
		{
			name: "unknown key two levels down",
			file: minimal + "[storage.embedded]\nfile = \"x.db\"\n",
			want: []string{`config: unknown key "storage.embedded.file"`},
		},
		{
			name: "unknown backend",
			file: minimal + "[storage]\nbackend = \"mysql\"\n",
			want: []string{`config: storage.backend: "mysql" is not one of "embedded", "postgres"`},
		},
		{
			name: "postgres without a dsn",
			file: minimal + "[storage]\nbackend = \"postgres\"\n",
			want: []string{`config: storage.postgres.dsn: is required when storage.backend is "postgres"`},
		},
		{
			name: "postgres schema and pool out of range",
			file: minimal + "[storage.postgres]\nschema = \"Chat-EU\"\nmax_conns = -1\n",
			want: []string{`config: storage.postgres.schema: "Chat-EU": want lower-case letters`, `config: storage.postgres.max_conns: -1 is out of range 0..10000`},
		},
		{
			name: "keys are case-sensitive",
			file: minimal + "[c2s]\nMax_Depth = 10\n",
			want: []string{`config: unknown key "c2s.Max_Depth"`},
		},
		{
			name: "unknown key in vhosts",
			file: minimal + "[[vhosts]]\ndomain = \"example.net\"\nregistraton = true\n",
			want: []string{`config: unknown key "vhosts[1].registraton"`},
		},
		{
			name: "quoted key",
			file: minimal + "[c2s]\n\"max depth\" = 10\n",
			want: []string{`config: unknown key "c2s.\"max depth\""`},
		},
		{
			name: "bad duration",
			file: minimal + "[c2s]\nidle_timeout = \"5 minutes\"\n",
			want: []string{`config: c2s.idle_timeout: invalid duration "5 minutes"`},
		},
		{
			name: "integer for a duration",
			file: minimal + "[node]\nshutdown_grace = 10\n",
			want: []string{`config: node.shutdown_grace: expected a duration string such as "30s", got integer 10`},
		},
		{
			name: "negative duration",
			file: minimal + "[c2s]\nkeepalive_interval = \"-1s\"\n",
			want: []string{`config: c2s.keepalive_interval: must not be negative`},
		},
		{
			name: "zero write timeout",
			file: minimal + "[c2s]\nwrite_timeout = \"0s\"\n",
			want: []string{`config: c2s.write_timeout: must be greater than 0`},
		},
		{
			name: "wrong type",
			file: minimal + "[c2s]\nmax_stanza_size = \"big\"\n",
			want: []string{`config: c2s.max_stanza_size: expected an integer, got string "big"`},
		},
		{
			name: "scalar for a table",
			file: "c2s = 5\n" + minimal,
			want: []string{`config: c2s: expected a table, got integer 5`},
		},
		{
			name: "bad enum",
			file: minimal + "[log]\nlevel = \"verbose\"\n",
			want: []string{`config: log.level: invalid value "verbose" (want one of "debug", "info", "warn", "error")`},
		},
		{
			name: "bad resource_conflict",
			file: minimal + "[c2s]\nresource_conflict = \"kick\"\n",
			want: []string{`config: c2s.resource_conflict: invalid value "kick"`},
		},
		{
			name: "bad tls version",
			file: minimal + "[tls]\nmin_version = \"1.1\"\n",
			want: []string{`config: tls.min_version: invalid value "1.1"`},
		},
		{
			name: "bad role",
			file: minimal + "[node]\nroles = [\"edge\", \"router\"]\n",
			want: []string{`config: node.roles[1]: invalid value "router" (want one of "edge", "core")`},
		},
		{
			name: "no roles",
			file: minimal + "[node]\nroles = []\n",
			want: []string{`config: node.roles: must name at least one of`},
		},
		{
			name: "bad mechanism",
			file: minimal + "[auth]\nmechanisms = [\"SCRAM-SHA-256\", \"DIGEST-MD5\"]\n",
			want: []string{`config: auth.mechanisms[1]: invalid value "DIGEST-MD5"`},
		},
		{
			name: "repeated mechanism",
			file: minimal + "[auth]\nmechanisms = [\"PLAIN\", \"PLAIN\"]\n",
			want: []string{`config: auth.mechanisms[1]: "PLAIN" is listed twice`},
		},
		{
			name: "too few scram iterations",
			file: minimal + "[auth]\nscram_iterations = 1000\n",
			want: []string{`config: auth.scram_iterations: 1000 is below the minimum 4096`},
		},
		{
			name: "small stanza size",
			file: minimal + "[c2s]\nmax_stanza_size = 5000\n",
			want: []string{`config: c2s.max_stanza_size: 5000 is below the minimum 10000`},
		},
		{
			name: "bad listen address",
			file: minimal + "[c2s]\nlisten = [\"0.0.0.0:5222\", \"5222\"]\n",
			want: []string{`config: c2s.listen[1]: invalid listen address "5222" (want host:port)`},
		},
		{
			name: "bad port",
			file: minimal + "[c2s]\ndirect_tls_listen = [\"0.0.0.0:70000\"]\n",
			want: []string{`config: c2s.direct_tls_listen[0]: invalid port in listen address "0.0.0.0:70000"`},
		},
		{
			name: "named port",
			file: minimal + "[http]\nlisten = \"localhost:http\"\n",
			want: []string{`config: http.listen: invalid port`},
		},
		{
			name: "address used twice",
			file: minimal + "[http]\nlisten = \"0.0.0.0:5222\"\n",
			want: []string{`config: http.listen: address "0.0.0.0:5222" is also used by c2s.listen[0]`},
		},
		{
			name: "duplicate vhost",
			file: minimal + "[[vhosts]]\ndomain = \"EXAMPLE.com\"\n",
			want: []string{`config: vhosts[1].domain: duplicate vhost "example.com" (also vhosts[0])`},
		},
		{
			name: "missing domain",
			file: minimal + "[[vhosts]]\nregistration = true\n",
			want: []string{`config: vhosts[1].domain: is required`},
		},
		{
			name: "invalid domain",
			file: "[[vhosts]]\ndomain = \"exa_mple.com\"\n",
			want: []string{`config: vhosts[0].domain: "exa_mple.com": invalid character '_'`},
		},
		{
			name: "no vhosts",
			file: "",
			want: []string{`config: vhosts: at least one [[vhosts]] table`},
		},
		{
			name: "vhost cert without key",
			file: "[[vhosts]]\ndomain = \"example.com\"\ncert_file = \"a.crt\"\n",
			want: []string{`config: vhosts[0].key_file: is required when cert_file is set`},
		},
		{
			name: "tls key without cert",
			file: minimal + "[tls]\nkey_file = \"a.key\"\n",
			want: []string{`config: tls.cert_file: is required when key_file is set`},
		},
		{
			name: "modules not tables",
			file: minimal + "[modules]\nping = true\n",
			want: []string{`config: modules.ping: expected a table, got boolean true`},
		},
		{
			name: "bad module name",
			file: minimal + "[modules.Ping]\n",
			want: []string{`config: modules.Ping: invalid module name`},
		},
		{
			name: "syntax error",
			file: minimal + "[c2s\n",
			want: []string{`config: toml: line`},
		},
		{
			name: "every problem is reported",
			file: "[c2s]\nmax_depth = 2\nmax_stanza_sise = 1\nidle_timeout = \"soon\"\n[log]\nformat = \"xml\"\n",
			want: []string{
				`config: c2s.max_depth: 2 is below the minimum 8`,
				`config: unknown key "c2s.max_stanza_sise"`,
				`config: c2s.idle_timeout: invalid duration "soon"`,
				`config: log.format: invalid value "xml"`,
				`config: vhosts: at least one`,
			},
		},
		{
			name: "unknown variable",
			file: minimal,
			env:  []string{"MERIDIAN_C2S_MAX_STANZA_SISE=1", "HOME=/root"},
			want: []string{`config: unknown environment variable MERIDIAN_C2S_MAX_STANZA_SISE`},
		},
		{
			name: "unknown section variable",
			file: minimal,
			env:  []string{"MERIDIAN_S2S_LISTEN=:5269"},
			want: []string{`config: unknown environment variable MERIDIAN_S2S_LISTEN`},
		},
		{
			name: "unknown vhosts variable",
			file: minimal,
			env:  []string{"MERIDIAN_VHOSTS_DOMAIN=example.org"},
			want: []string{`config: unknown environment variable MERIDIAN_VHOSTS_DOMAIN`},
		},
		{
			name: "module variable without key",
			file: minimal,
			env:  []string{"MERIDIAN_MODULES_PING=true"},
			want: []string{`config: unknown environment variable MERIDIAN_MODULES_PING`},
		},
		{
			name: "bad variable value",
			file: minimal,
			env:  []string{"MERIDIAN_C2S_MAX_DEPTH=deep", "MERIDIAN_C2S_IDLE_TIMEOUT=5 minutes", "MERIDIAN_C2S_REQUIRE_STARTTLS=yes"},
			want: []string{
				`config: MERIDIAN_C2S_MAX_DEPTH (c2s.max_depth): invalid integer "deep"`,
				`config: MERIDIAN_C2S_IDLE_TIMEOUT (c2s.idle_timeout): invalid duration "5 minutes"`,
				`config: MERIDIAN_C2S_REQUIRE_STARTTLS (c2s.require_starttls): invalid boolean "yes"`,
			},
		},
		{
			name: "invalid value from a variable says so",
			file: minimal,
			env:  []string{"MERIDIAN_C2S_MAX_STANZA_SIZE=100", "MERIDIAN_C2S_LISTEN=:1,nohost"},
			want: []string{
				`config: c2s.max_stanza_size: 100 is below the minimum 10000 (RFC 6120 §13.12) (set by MERIDIAN_C2S_MAX_STANZA_SIZE)`,
				`config: c2s.listen[1]: invalid listen address "nohost" (want host:port) (set by MERIDIAN_C2S_LISTEN)`,
			},
		},
		{
			name: "empty vhost list from the environment",
			file: minimal,
			env:  []string{"MERIDIAN_VHOSTS="},
			want: []string{`config: vhosts: at least one`},
		},
		{
			name: "bad vhost from the environment",
			file: minimal,
			env:  []string{"MERIDIAN_VHOSTS=a.example,a.example"},
			want: []string{`config: vhosts[1].domain: duplicate vhost "a.example" (also vhosts[0]) (set by MERIDIAN_VHOSTS)`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.file), tc.env)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Errorf("error line %q lacks the config: prefix", line)
				}
			}
		})
	}
}

// TestValidateGood checks values at the edges of what is allowed.
func TestValidateGood(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
	}{
		{"localhost", "[[vhosts]]\ndomain = \"localhost\"\n"},
		{"idn a-label", "[[vhosts]]\ndomain = \"xn--bcher-kva.example\"\n"},
		{"no listeners", minimal + "[c2s]\nlisten = []\ndirect_tls_listen = []\n[http]\nlisten = \"\"\n"},
		{"ipv6 and port 0", minimal + "[c2s]\nlisten = [\"[::1]:0\", \"127.0.0.1:0\"]\ndirect_tls_listen = [\":5223\", \"localhost:15223\"]\n"},
		{"zero idle and keepalive", minimal + "[c2s]\nidle_timeout = \"0s\"\nkeepalive_interval = \"0s\"\n"},
		{"minimum limits", minimal + "[c2s]\nmax_stanza_size = 10000\nmax_depth = 8\nsend_queue = 1\n"},
		{"one role", minimal + "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"10.0.0.1:5270\"]\n"},
		{"tls 1.3 with cert", minimal + "[tls]\nmin_version = \"1.3\"\ncert_file = \"a.crt\"\nkey_file = \"a.key\"\n"},
		{"postgres backend", minimal + "[storage]\nbackend = \"postgres\"\n[storage.postgres]\ndsn = \"postgres://meridian@db.example/meridian\"\nschema = \"chat_eu\"\nmax_conns = 20\n"},
		{"MERIDIAN_CONFIG is not a key", minimal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.file), []string{"MERIDIAN_CONFIG=/etc/meridian.toml", "MERIDIAN_ADMIN_URL=http://127.0.0.1:5281", "MERIDIAN_ADMIN_TOKEN=x"}); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}
