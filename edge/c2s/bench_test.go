package c2s

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/storage"
	_ "github.com/meridian-xmpp/meridian/storage/embedded"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// loopReader returns the same bytes forever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// writeSink serialises delivered stanzas synchronously, like the writer
// loop does, without its goroutine hop.
type writeSink struct{ bw *bufio.Writer }

func (s writeSink) Deliver(st *stanza.Stanza) bool { s.bw.Write(st.Bytes); return true }
func (s writeSink) Close(*stanza.StreamError)      {}

const streamHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"

// chatMessage is a 200-byte chat message as clients send it (no from).
const chatMessage = "<message to='bob@localhost' type='chat' id='a1b2c3d4-e5f6-4711-8899-aabbccddeeff'><body>The quick brown fox jumps over the lazy dog, twice over, to make this body long enough.</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"

// BenchmarkRouteChatMessage measures one 200-byte chat message from
// alice's socket bytes to bob's serialised output: tokenize, check the
// addresses, stamp from, route through the core, write. Budget: < 2 µs and
// <= 5 allocations per stanza (DESIGN, performance stance).
func BenchmarkRouteChatMessage(b *testing.B) {
	if len(chatMessage) < 190 || len(chatMessage) > 260 {
		b.Fatalf("message is %d bytes", len(chatMessage))
	}
	stores, err := storage.Open("embedded", b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer stores.Close()
	c, err := core.New(core.Options{Hosts: []string{"localhost"}, Stores: stores})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	out := bufio.NewWriterSize(io.Discard, 64<<10)
	bob, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("bob@localhost"), Resource: "laptop"}, writeSink{out})
	if err != nil {
		b.Fatal(err)
	}
	bob.Handle(&stanza.Stanza{Kind: stanza.Presence, Bytes: []byte("<presence from='bob@localhost/laptop'/>"), From: bob.JID()})
	alice, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "phone"}, writeSink{bufio.NewWriter(io.Discard)})
	if err != nil {
		b.Fatal(err)
	}
	s := &stream{sess: alice, b: &binding{sess: alice}, full: alice.JID(), fullStr: alice.JID().String()}
	s.dec = xmltok.NewDecoder(io.MultiReader(strings.NewReader(streamHeader), &loopReader{data: []byte(strings.Repeat(chatMessage, 64))}), xmltok.Limits{})
	if _, err := s.dec.ReadStart(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(chatMessage)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		raw, err := s.dec.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.handle(&raw); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	out.Flush()
}
