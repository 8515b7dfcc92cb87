package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestRoundTrip(t *testing.T) {
	st := &stanza.Stanza{Kind: stanza.Message, Type: "chat", ID: "m1",
		From: jid.MustParse("alice@example.com/phone"), To: jid.MustParse("bob@example.com"),
		Bytes: []byte("<message type='chat' id='m1'><body>hi</body></message>")}
	app := xmltok.NewElement("urn:xmpp:blocking:errors", "blocked")
	var b []byte
	b = AppendStanza(b, Stanza, 42, st)
	b = AppendSeq(b, Ack, 1<<40)
	b = AppendOpen(b, link.OpenRequest{User: jid.MustParse("alice@example.com"), Resource: "r", RemoteAddr: "192.0.2.1:5", Transport: "websocket", Reopen: true})
	b = AppendOpened(b, jid.MustParse("alice@example.com/r"))
	eb, start := Begin(b, OpenFailed)
	b = Finish(AppendStanzaError(eb, stanza.ErrForbidden.WithText("no").WithApp(app)), start)
	b = AppendEnd(b, &stanza.StreamError{Condition: stanza.Conflict, Text: "t", Extra: "<x/>"})
	b = AppendEnd(b, nil)
	b = AppendHello(b, Hello, "edge1")

	r := NewReader(bytes.NewReader(b), 0)
	next := func(want Type) []byte {
		t.Helper()
		ty, p, err := r.Next()
		if err != nil || ty != want {
			t.Fatalf("got %s %v, want %s", ty, err, want)
		}
		return p
	}
	seq, got, err := DecodeStanza(next(Stanza))
	if err != nil || seq != 42 || got.Kind != st.Kind || got.Type != st.Type || got.ID != st.ID || got.From != st.From || got.To != st.To || !bytes.Equal(got.Bytes, st.Bytes) {
		t.Fatalf("stanza %d %+v %v", seq, got, err)
	}
	if v, err := DecodeSeq(next(Ack)); v != 1<<40 || err != nil {
		t.Fatal(v, err)
	}
	req, err := DecodeOpen(next(Open))
	if err != nil || req.User.String() != "alice@example.com" || req.Resource != "r" || req.RemoteAddr != "192.0.2.1:5" || req.Transport != "websocket" || !req.Reopen {
		t.Fatalf("%+v %v", req, err)
	}
	if j, err := DecodeOpened(next(Opened)); err != nil || j.String() != "alice@example.com/r" {
		t.Fatal(j, err)
	}
	se := DecodeStanzaError(NewDec(next(OpenFailed)))
	if se.Type != "auth" || se.Condition != "forbidden" || se.Text != "no" || se.App == nil || se.App.Space != app.Space {
		t.Fatalf("%+v", se)
	}
	if e, err := DecodeEnd(next(End)); err != nil || *e != (stanza.StreamError{Condition: stanza.Conflict, Text: "t", Extra: "<x/>"}) {
		t.Fatal(e, err)
	}
	if e, err := DecodeEnd(next(End)); err != nil || e != nil {
		t.Fatal(e, err)
	}
	if v, n, err := DecodeHello(next(Hello)); v != Version || n != "edge1" || err != nil {
		t.Fatal(v, n, err)
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatal(err)
	}
}

func TestReaderLimits(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want error
	}{
		{[]byte{0, 0, 0, 0}, ErrEmpty},
		{[]byte{0, 0, 0, 101, 1}, ErrTooLarge},
		{[]byte{0, 0, 0, 10, 1, 2}, io.ErrUnexpectedEOF},
		{[]byte{0, 0}, io.ErrUnexpectedEOF},
	} {
		if _, _, err := NewReader(bytes.NewReader(tc.in), 100).Next(); !errors.Is(err, tc.want) {
			t.Errorf("%x: %v, want %v", tc.in, err, tc.want)
		}
	}
}

// FuzzDecode: no payload crashes a decoder.
func FuzzDecode(f *testing.F) {
	st := &stanza.Stanza{Kind: stanza.IQ, Type: "get", ID: "1", From: jid.MustParse("a@b/c"), Bytes: []byte("<iq/>")}
	f.Add(AppendStanza(nil, Stanza, 1, st)[5:])
	f.Add(AppendOpen(nil, link.OpenRequest{User: jid.MustParse("a@b")})[5:])
	f.Fuzz(func(t *testing.T, p []byte) {
		DecodeStanza(p)
		DecodeOpen(p)
		DecodeOpened(p)
		DecodeEnd(p)
		DecodeHello(p)
		DecodeSeq(p)
		DecodeStanzaError(NewDec(p))
		DecodeStanzaValue(NewDec(p))
		r := NewReader(bytes.NewReader(p), 64)
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
	})
}

// TestOpenReopenFlag: the reopen flag is optional (an Open from before it
// existed is a first open) and only 0 or 1.
func TestOpenReopenFlag(t *testing.T) {
	p := AppendOpen(nil, link.OpenRequest{User: jid.MustParse("a@b"), Resource: "r", Reopen: true})[5:]
	if r, err := DecodeOpen(p); err != nil || !r.Reopen {
		t.Fatalf("with flag: %+v %v", r, err)
	}
	if r, err := DecodeOpen(p[:len(p)-1]); err != nil || r.Reopen || r.Resource != "r" {
		t.Fatalf("without flag: %+v %v", r, err)
	}
	bad := append(append([]byte(nil), p[:len(p)-1]...), 2)
	if _, err := DecodeOpen(bad); err == nil {
		t.Fatal("reopen flag 2 accepted")
	}
}
