package websocket

import (
	"bytes"
	"github.com/meridian-xmpp/meridian/edge/framing"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func TestFromClient(t *testing.T) {
	tests := []struct {
		name, msg  string
		expectOpen bool
		want       string // bytes for the stream, when no error
		open       bool
		cond       string // stream error condition
	}{
		{"open", `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="example.com" version="1.0" xml:lang='en'/>`, true,
			`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to="example.com" version="1.0" xml:lang='en'>`, true, ""},
		{"open with prefix", `<f:open xmlns:f='urn:ietf:params:xml:ns:xmpp-framing' to='a'/>`, true,
			`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='a'>`, true, ""},
		{"close", `<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`, false, `</stream:stream>`, false, ""},
		{"stanza", "\n<message xmlns='jabber:client' to='a@b'><body>x > y</body></message> ", false,
			`<message xmlns='jabber:client' to='a@b'><body>x > y</body></message>`, false, ""},
		{"quoted markup", `<message xmlns='jabber:client' id='/>'><body><![CDATA[</message>]]></body></message>`, false,
			`<message xmlns='jabber:client' id='/>'><body><![CDATA[</message>]]></body></message>`, false, ""},
		{"whitespace", " \r\n", false, " ", false, ""},
		{"open not in framing namespace", `<open xmlns='jabber:client' to='a'/>`, true, "", false, stanza.InvalidNamespace},
		{"stream header instead of open", `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='a' version='1.0'>`, true, "", false, stanza.InvalidNamespace},
		{"stanza before open", `<message xmlns='jabber:client'/>`, true, "", false, stanza.InvalidNamespace},
		{"open mid-stream", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`, false, "", false, stanza.UnsupportedStanzaType},
		{"two elements", `<presence/><presence/>`, false, "", false, stanza.NotWellFormed},
		{"unfinished element", `<message><body>`, false, "", false, stanza.NotWellFormed},
		{"text", `hello`, false, "", false, stanza.NotWellFormed},
		{"trailing text", `<presence/>x`, false, "", false, stanza.NotWellFormed},
		{"end tag", `</message>`, false, "", false, stanza.NotWellFormed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, open, se := fromClient([]byte(tt.msg), tt.expectOpen)
			if tt.cond != "" {
				if se == nil || se.Condition != tt.cond {
					t.Fatalf("got %q, %v; want stream error %s", got, se, tt.cond)
				}
				return
			}
			if se != nil {
				t.Fatalf("stream error %v", se)
			}
			if string(got) != tt.want || open != tt.open {
				t.Fatalf("got %q (open %v), want %q (open %v)", got, open, tt.want, tt.open)
			}
		})
	}
}

// TestSplitToClient feeds the stream's output in pieces of every size and
// checks the messages: one element each, namespaces declared.
func TestSplitToClient(t *testing.T) {
	out := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='example.com' version='1.0' xml:lang='en'>" +
		"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>" +
		" <message to='a@b' id='x>y'><body>1 &lt; 2 <![CDATA[<b>]]></body></message>  " +
		"<r xmlns='urn:xmpp:sm:3'/>" +
		"<presence/>" +
		"<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
	want := []string{
		"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='example.com' id='abc' version='1.0' xml:lang='en'/>",
		"<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>",
		"<message xmlns='jabber:client' to='a@b' id='x>y'><body>1 &lt; 2 <![CDATA[<b>]]></body></message>",
		"<r xmlns='urn:xmpp:sm:3'/>",
		"<presence xmlns='jabber:client'/>",
		"<stream:error xmlns:stream='http://etherx.jabber.org/streams'><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
		"<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
	}
	for size := 1; size <= len(out); size++ {
		var s framing.Splitter
		var got []string
		emit := func(k framing.Kind, item []byte) error {
			var b bytes.Buffer
			toClient(&b, k, item)
			got = append(got, b.String())
			return nil
		}
		for i := 0; i < len(out); i += size {
			s.Feed([]byte(out[i:min(i+size, len(out))]), emit)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("pieces of %d:\n%s\nwant\n%s", size, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !s.Idle() {
			t.Fatalf("pieces of %d: something left buffered", size)
		}
	}
}

func TestIsSASLSuccess(t *testing.T) {
	for msg, want := range map[string]bool{
		"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>":              true,
		"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj1=</success>": true,
		"<success xmlns='urn:other'/>":                                     false,
		"<message/>":                                                       false,
	} {
		if got := isSASLSuccess([]byte(msg)); got != want {
			t.Errorf("%s: %v", msg, got)
		}
	}
}

func BenchmarkSplitToClient(b *testing.B) {
	out := []byte("<message to='a@b' from='c@d/r' id='1' type='chat'><body>hello there</body></message>")
	var s framing.Splitter
	emit := func(k framing.Kind, item []byte) error { return toClient(discard{}, k, item) }
	b.ReportAllocs()
	for b.Loop() {
		s.Feed(out, emit)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error)       { return len(p), nil }
func (discard) WriteString(s string) (int, error) { return len(s), nil }
