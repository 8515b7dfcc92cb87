package stanza

import (
	"io"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func next(t *testing.T, s string) xmltok.Raw {
	t.Helper()
	d := xmltok.NewDecoder(io.MultiReader(strings.NewReader("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"), strings.NewReader(s)), xmltok.Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	raw, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestStamp: from is set once, whatever the sender wrote, and the rest of
// the bytes are untouched (RFC 6120 §8.1.2.1).
func TestStamp(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<message to='b@x'><body>hi</body></message>", "<message from='a@x/r' to='b@x'><body>hi</body></message>"},
		{"<message from='evil@x' to='b@x'/>", "<message from='a@x/r' to='b@x'/>"},
		{"<message to='b@x' from=\"a@x\" type='chat'/>", "<message from='a@x/r' to='b@x' type='chat'/>"},
		{"<presence/>", "<presence from='a@x/r'/>"},
		{"<iq\ntype='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>", "<iq from='a@x/r'\ntype='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>"},
	} {
		raw := next(t, tc.in)
		if got := string(Stamp(&raw, "a@x/r")); got != tc.want {
			t.Errorf("Stamp(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	raw := next(t, "<message to='b@x'/>")
	if got := string(Stamp(&raw, "o'neil@x/<r>")); got != "<message from='o&apos;neil@x/&lt;r&gt;' to='b@x'/>" {
		t.Errorf("escaping: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { Stamp(&raw, "a@x/r") }); n != 1 {
		t.Errorf("Stamp allocates %v times", n)
	}
}

func TestErrorReply(t *testing.T) {
	raw := next(t, "<iq to='x' from='a@x/r' type='get' id='7'><query xmlns='urn:q'/><extra xmlns='urn:e'/></iq>")
	st := &Stanza{Kind: IQ, Bytes: raw.Bytes, Type: raw.Type, ID: raw.ID, From: jid.MustParse("a@x/r"), To: jid.MustParse("x")}
	r := ErrorReply(st, ErrServiceUnavailable, st.To)
	el, err := r.Element()
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "error" || el.Attr("to") != "a@x/r" || el.Attr("from") != "x" || el.Attr("id") != "7" || ErrorOf(r) != "service-unavailable" {
		t.Fatalf("%s", r.Bytes)
	}
	if len(el.Children) != 2 || el.Children[0].Local != "query" {
		t.Fatalf("an IQ error carries the request payload only: %s", r.Bytes)
	}
	if e := el.Child(NSClient, "error"); e.Attr("type") != "cancel" {
		t.Fatalf("%s", r.Bytes)
	}
	res := Result(st, nil, st.To)
	if res.Type != "result" || res.To != st.From || res.ID != "7" {
		t.Fatalf("%s", res.Bytes)
	}
}

// TestErrorApp: an application-specific condition follows the defined
// condition and the text (RFC 6120 §8.3.2), and ErrorOf still reports
// the defined one.
func TestErrorApp(t *testing.T) {
	raw := next(t, "<message to='b@x' from='a@x/r' id='m'><body>hi</body></message>")
	st := &Stanza{Kind: Message, Bytes: raw.Bytes, ID: raw.ID, From: jid.MustParse("a@x/r"), To: jid.MustParse("b@x")}
	e := &Error{Type: "cancel", Condition: "not-acceptable", App: xmltok.NewElement("urn:xmpp:blocking:errors", "blocked")}
	r := ErrorReply(st, e.WithText("blocked"), st.To)
	want := "<message id='m' to='a@x/r' from='b@x' type='error'><body>hi</body><error type='cancel'>" +
		"<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
		"<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>blocked</text>" +
		"<blocked xmlns='urn:xmpp:blocking:errors'/></error></message>"
	if string(r.Bytes) != want {
		t.Errorf("got  %s\nwant %s", r.Bytes, want)
	}
	if ErrorOf(r) != "not-acceptable" {
		t.Errorf("ErrorOf = %q", ErrorOf(r))
	}
}

func TestErrorApplicationCondition(t *testing.T) {
	e := ErrConflict.WithText("no").WithApp(xmltok.NewElement("http://jabber.org/protocol/pubsub#errors", "precondition-not-met"))
	if ErrConflict.App != nil {
		t.Fatal("WithApp changed the shared error")
	}
	want := `<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>` +
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text>` +
		`<precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/></error>`
	if got := e.Element().String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestPriority(t *testing.T) {
	for in, want := range map[string]int{
		"<presence/>": 0, "<presence><priority>5</priority></presence>": 5,
		"<presence><priority> -128 </priority></presence>": -128,
		"<presence><priority>128</priority></presence>":    0,
		"<presence><priority>high</priority></presence>":   0,
	} {
		el, err := xmltok.Parse([]byte(in), NSClient, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Priority(el); got != want {
			t.Errorf("%s: %d, want %d", in, got, want)
		}
	}
}
