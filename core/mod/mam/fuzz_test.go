package mam

import (
	"bytes"
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// FuzzStanzaBytes: whatever message the edge lets through, the archived
// form embeds as jabber:client with the same children, and the delivered
// form with a stanza-id parses and keeps every child but spoofed ids.
func FuzzStanzaBytes(f *testing.F) {
	for _, s := range []string{
		"<message to='a@b'><body>x</body></message>",
		"<message xmlns='jabber:client' to=\"x'>y\"><body/></message>",
		"<c:message xmlns:c='jabber:client'><c:body>x</c:body></c:message>",
		"<message><stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='x'/><body>a</body></message>",
		"<message\n\tfrom='a@b/c'/>",
	} {
		f.Add([]byte(s))
	}
	alice := jid.MustParse("alice@example.com")
	f.Fuzz(func(t *testing.T, b []byte) {
		el, err := xmltok.Parse(b, stanza.NSClient, nil)
		if err != nil || el.Space != stanza.NSClient || el.Local != "message" {
			return
		}
		st := &stanza.Stanza{Kind: stanza.Message, Bytes: b}
		out := clientNS(st)
		wrapped := append(append([]byte("<forwarded xmlns='urn:xmpp:forward:0'>"), out...), "</forwarded>"...)
		w, err := xmltok.Parse(wrapped, "", nil)
		if err != nil {
			t.Fatalf("archived form of %q does not parse: %q: %v", b, out, err)
		}
		if len(w.Children) != 1 || w.Children[0].Space != stanza.NSClient || len(w.Children[0].Children) != len(el.Children) {
			t.Fatalf("archived form of %q changed: %q", b, out)
		}
		d := withStanzaID(stripStanzaIDs(st, alice), alice, ID{1})
		del, err := d.Element()
		if err != nil {
			t.Fatalf("delivered form of %q does not parse: %q: %v", b, d.Bytes, err)
		}
		n := 0
		for _, c := range del.Children {
			if c.Space == NSSID && c.Local == "stanza-id" && c.Attr("by") == "alice@example.com" {
				n++
				if c.Attr("id") != (ID{1}).String() {
					t.Fatalf("spoofed stanza-id kept in %q", d.Bytes)
				}
			}
		}
		if n != 1 || !bytes.Contains(d.Bytes, []byte((ID{1}).String())) {
			t.Fatalf("delivered form of %q has %d stanza-ids: %q", b, n, d.Bytes)
		}
	})
}

// FuzzParseID: ParseID accepts exactly the text String writes.
func FuzzParseID(f *testing.F) {
	f.Add("000sgk7zhspry8xq0d7vfr41s1")
	f.Add("7zzzzzzzzzzzzzzzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := ParseID(s)
		if !ok {
			return
		}
		if back := id.String(); !bytes.EqualFold([]byte(back), []byte(s)) {
			t.Fatalf("ParseID(%q) = %v, which writes %q", s, id, back)
		}
	})
}
