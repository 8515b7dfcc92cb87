package framing

import (
	"strings"
	"testing"
)

// The stream's output, cut anywhere into two writes, gives the same items,
// each with the declarations it inherited from the header.
func TestSplitterQualified(t *testing.T) {
	out := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='localhost' version='1.0'>" +
		"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>" +
		" <message to='a@b' title='x>y'><body>hi <![CDATA[</body>]]></body></message><iq xmlns='jabber:client' type='result' id='1'/>" +
		"<!-- note --><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"
	want := []string{
		"H:abc",
		"E:<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		"E:<message xmlns='jabber:client' to='a@b' title='x>y'><body>hi <![CDATA[</body>]]></body></message>",
		"E:<iq xmlns='jabber:client' type='result' id='1'/>",
		"E:<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
		"END",
	}
	for cut := 0; cut <= len(out); cut++ {
		var sp Splitter
		var got []string
		emit := func(k Kind, item []byte) error {
			switch k {
			case Header:
				id, _, _ := Attr(item, "id")
				got = append(got, "H:"+string(id))
			case Element:
				got = append(got, "E:"+string(Qualified(item)))
			case End:
				got = append(got, "END")
			}
			return nil
		}
		sp.Feed([]byte(out[:cut]), emit)
		sp.Feed([]byte(out[cut:]), emit)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("cut at %d:\n%s", cut, strings.Join(got, "\n"))
		}
		if !sp.Idle() {
			t.Fatalf("cut at %d: bytes left buffered", cut)
		}
	}
}
