package postgres

import (
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/storage"
)

// TestOpenerBadOptions: every mistake in [storage.postgres] is refused
// before any connection, naming the option; a password in a DSN that
// does not parse is not repeated in the error; a server that is not
// there is an error, not a hang.
func TestOpenerBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		options map[string]any
		want    string
	}{
		{"no dsn", nil, "empty dsn"},
		{"unknown", map[string]any{"dsn": "postgres://x@127.0.0.1/db", "dbname": "x"}, `unknown option "dbname"`},
		{"dsn type", map[string]any{"dsn": 5}, "option dsn: want a string"},
		{"schema type", map[string]any{"dsn": "postgres://x@127.0.0.1/db", "schema": true}, "option schema: want a string"},
		{"schema name", map[string]any{"dsn": "postgres://x@127.0.0.1/db", "schema": "x; DROP TABLE accounts"}, `schema "x; DROP TABLE accounts"`},
		{"max_conns type", map[string]any{"dsn": "postgres://x@127.0.0.1/db", "max_conns": "8"}, "option max_conns"},
		{"max_conns range", map[string]any{"dsn": "postgres://x@127.0.0.1/db", "max_conns": -1}, "option max_conns"},
		{"dsn syntax", map[string]any{"dsn": "postgres://meridian:hunter2@[::1/db"}, "dsn does not parse"},
		{"no server", map[string]any{"dsn": "postgres://meridian@127.0.0.1:1/db?connect_timeout=5"}, "storage/postgres:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := storage.Open("postgres", t.TempDir(), tc.options)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error repeats the password: %v", err)
			}
		})
	}
}
