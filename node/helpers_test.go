package node_test

import (
	"testing"

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
