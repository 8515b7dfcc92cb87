package node_test

import (
	"testing"

	"github.com/meridian-xmpp/meridian/internal/config"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func mustJID(t *testing.T, s string) jid.JID {
	t.Helper()
	j, err := jid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// testConfig parses a config file for a node on loopback ports chosen by
// the kernel, with extra appended (e.g. module tables). The web listeners
// come from the environment so that extra may hold a [web] table.
func testConfig(t *testing.T, extra string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`
[[vhosts]]
domain = "localhost"
[c2s]
listen = ["127.0.0.1:0"]
direct_tls_listen = ["127.0.0.1:0"]
[http]
listen = "127.0.0.1:0"
`+extra), []string{"MERIDIAN_NODE_DATA_DIR=" + t.TempDir(), "MERIDIAN_WEB_LISTEN=127.0.0.1:0", "MERIDIAN_WEB_TLS_LISTEN=127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
