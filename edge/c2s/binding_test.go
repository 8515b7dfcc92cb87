package c2s

import (
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// The h counter wraps at 2^32 (XEP-0198 §4): acknowledgements across the
// wrap release exactly the stanzas they cover.
func TestAckWraps(t *testing.T) {
	b := &binding{acked: ^uint32(0) - 1}
	for i := 0; i < 5; i++ {
		b.unacked = append(b.unacked, &stanza.Stanza{ID: string(rune('a' + i))})
	}
	if got := b.sendCount(); got != 3 {
		t.Fatalf("send count across the wrap = %d, want 3", got)
	}
	if !b.ack(1) { // covers 3 stanzas: 2^32-1, 0, 1
		t.Fatal("ack across the wrap refused")
	}
	if len(b.unacked) != 2 || b.unacked[0].ID != "d" {
		t.Fatalf("unacked after ack = %d, first %q", len(b.unacked), b.unacked[0].ID)
	}
	if b.ack(4) {
		t.Fatal("ack of more than was sent accepted")
	}
	if !b.ack(1) || len(b.unacked) != 2 {
		t.Fatal("repeated ack changed the queue")
	}
}

func TestUrgent(t *testing.T) {
	for _, c := range []struct {
		st   stanza.Stanza
		want bool
	}{
		{stanza.Stanza{Kind: stanza.IQ, Type: "result"}, true},
		{stanza.Stanza{Kind: stanza.Presence}, false},
		{stanza.Stanza{Kind: stanza.Presence, Type: "unavailable"}, false},
		{stanza.Stanza{Kind: stanza.Presence, Type: "subscribe"}, true},
		{stanza.Stanza{Kind: stanza.Message, Type: "chat", Bytes: []byte("<message><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")}, false},
		{stanza.Stanza{Kind: stanza.Message, Type: "chat", Bytes: []byte("<message><body>hi</body></message>")}, true},
		{stanza.Stanza{Kind: stanza.Message, Bytes: []byte("<message><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>")}, true},
		{stanza.Stanza{Kind: stanza.Message, Type: "error", Bytes: []byte("<message type='error'/>")}, true},
	} {
		if got := urgent(&c.st); got != c.want {
			t.Errorf("urgent(%s %q %s) = %v", c.st.Kind, c.st.Type, c.st.Bytes, got)
		}
	}
}
