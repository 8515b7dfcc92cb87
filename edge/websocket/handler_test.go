package websocket

import (
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ws "github.com/gorilla/websocket"

	"github.com/meridian-xmpp/meridian/edge/c2s"
)

// fakeStreams reads the stream header the client's <open/> became and
// answers with server output written in odd pieces.
type fakeStreams struct {
	got chan string
	tr  chan c2s.Transport
}

func (f *fakeStreams) ServeTransport(conn net.Conn, t c2s.Transport) {
	f.tr <- t
	go func() {
		defer conn.Close()
		buf := make([]byte, 512)
		n, _ := io.ReadAtLeast(conn, buf, 1)
		f.got <- string(buf[:n])
		out := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='i' from='d' version='1.0' xml:lang='en'><stream:features/> <iq type='result' id='1'/></stream:stream>"
		for len(out) > 0 {
			k := min(len(out), 7)
			conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(out[:k])); err != nil {
				return
			}
			out = out[k:]
		}
	}()
}

func TestHandlerFraming(t *testing.T) {
	f := &fakeStreams{got: make(chan string, 1), tr: make(chan c2s.Transport, 1)}
	srv := httptest.NewServer(New(Options{Streams: f}))
	defer srv.Close()
	d := ws.Dialer{Subprotocols: []string{Subprotocol}}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if tr := <-f.tr; tr.Name != "websocket" || tr.Secure || tr.TLS != nil {
		t.Fatalf("transport %+v", tr)
	}
	c.WriteMessage(ws.TextMessage, []byte("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='d' version='1.0'/>"))
	if got, want := <-f.got, "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='d' version='1.0'>"; got != want {
		t.Fatalf("stream read %q, want %q", got, want)
	}
	for _, want := range []string{
		"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='d' id='i' version='1.0' xml:lang='en'/>",
		"<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>",
		"<iq xmlns='jabber:client' type='result' id='1'/>",
		"<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
	} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil || string(msg) != want {
			t.Fatalf("got %q, %v; want %q", msg, err, want)
		}
	}
	_, _, err = c.ReadMessage()
	if !ws.IsCloseError(err, ws.CloseNormalClosure) {
		t.Fatalf("after <close/>: %v, want close 1000", err)
	}
}
