package xmltok

import (
	"io"
	"strings"
	"testing"
)

const benchHeader = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>`

// benchStanzas is a realistic mix of client traffic: chat messages with
// receipts and chat states, presence with entity capabilities (XEP-0115),
// an iq get and result, a stream management ack request.
var benchStanzas = []string{
	`<message to='juliet@capulet.example/balcony' from='romeo@montague.example/orchard' type='chat' id='ktx72v49'><body>Art thou not Romeo, and a Montague?</body><active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>`,
	"\n",
	`<presence from='romeo@montague.example/orchard' id='pres1' xml:lang='en'><show>away</show><status>I shall return!</status><priority>5</priority><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>`,
	`<iq type='get' from='romeo@montague.example/orchard' to='montague.example' id='disco1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
	`<message to='juliet@capulet.example' type='chat' id='b2'><body>Wherefore art thou &amp; why? &#x1F339;</body></message>`,
	`<iq type='result' to='romeo@montague.example/orchard' from='montague.example' id='disco1'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='Meridian'/><feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:mam:2'/><feature var='urn:xmpp:carbons:2'/></query></iq>`,
	`<r xmlns='urn:xmpp:sm:3'/>`,
	` `,
}

// loopReader serves data forever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

func BenchmarkDecoderNext(b *testing.B) {
	body := strings.Join(benchStanzas, "")
	elems := 0
	for _, s := range benchStanzas {
		if strings.TrimSpace(s) != "" {
			elems++
		}
	}
	d := NewDecoder(io.MultiReader(strings.NewReader(benchHeader), &loopReader{data: []byte(body)}), Limits{})
	if _, err := d.ReadStart(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body) / elems))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := d.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecoderNextMessage(b *testing.B) {
	msg := benchStanzas[0]
	d := NewDecoder(io.MultiReader(strings.NewReader(benchHeader), &loopReader{data: []byte(msg)}), Limits{})
	if _, err := d.ReadStart(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := d.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"message", "presence", "iq-result"} {
		var s string
		switch name {
		case "message":
			s = benchStanzas[0]
		case "presence":
			s = benchStanzas[2]
		default:
			s = benchStanzas[5]
		}
		in := []byte(s)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for range b.N {
				if _, err := Parse(in, "jabber:client", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecoderNextLarge measures raw scanning speed on a stanza that
// is mostly character data (a file transfer in-band, a long MUC history).
func BenchmarkDecoderNextLarge(b *testing.B) {
	msg := `<message to='a@b' type='chat' id='x'><body>` + strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 1000) + `</body></message>`
	d := NewDecoder(io.MultiReader(strings.NewReader(benchHeader), &loopReader{data: []byte(msg)}), Limits{})
	if _, err := d.ReadStart(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := d.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
