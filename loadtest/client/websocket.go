package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// RFC 7395 framing: every WebSocket message is one complete element; the
// stream is opened and closed with <open/> and <close/> in the
// urn:ietf:params:xml:ns:xmpp-framing namespace, and stanzas carry their
// own xmlns (§3.3.3). Reading translates <open/> into a stream header
// and <close/> into its end tag, so that the same tokenizer and
// negotiation code serve every transport.
const (
	wsOpenHeader = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
	wsCloseTag   = "</stream:stream>"
)

type wsTransport struct {
	ws  *websocket.Conn
	bc  *batchConn
	msg []byte // the current message (or its translation)
	pos int
}

func (t *wsTransport) Read(p []byte) (int, error) {
	for t.pos >= len(t.msg) {
		if err := t.nextMessage(); err != nil {
			return 0, err
		}
	}
	n := copy(p, t.msg[t.pos:])
	t.pos += n
	return n, nil
}

func (t *wsTransport) nextMessage() error {
	typ, r, err := t.ws.NextReader()
	if err != nil {
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
			// A close frame without <close/> still ends the stream.
			t.msg, t.pos = []byte(wsCloseTag), 0
			return nil
		}
		return err
	}
	if typ != websocket.TextMessage {
		io.Copy(io.Discard, r)
		t.msg, t.pos = nil, 0
		return nil
	}
	buf := bytes.NewBuffer(t.msg[:0])
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	m := buf.Bytes()
	t.msg, t.pos = m, 0
	switch framing(m) {
	case "open":
		t.msg = []byte(wsOpenHeader)
	case "close":
		t.msg = []byte(wsCloseTag)
	}
	return nil
}

// framing returns "open" or "close" for the RFC 7395 framing elements.
func framing(m []byte) string {
	m = bytes.TrimLeft(m, " \t\r\n")
	for _, name := range []string{"open", "close"} {
		if len(m) > len(name)+1 && m[0] == '<' && string(m[1:1+len(name)]) == name {
			switch m[1+len(name)] {
			case ' ', '/', '>', '\t', '\r', '\n':
				return name
			}
		}
	}
	return ""
}

func (t *wsTransport) writeElement(b []byte) error {
	return t.ws.WriteMessage(websocket.TextMessage, b)
}

func (t *wsTransport) flush() error { return t.bc.flush() }

func (t *wsTransport) header(domain string) string {
	return "<open xmlns='" + nsFraming + "' to='" + domain + "' version='1.0'/>"
}

func (t *wsTransport) footer() string { return "<close xmlns='" + nsFraming + "'/>" }

func (t *wsTransport) setDeadline(d time.Time) error { return t.bc.SetDeadline(d) }

func (t *wsTransport) close() error {
	t.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	t.bc.flush()
	return t.ws.Close()
}

// batchConn holds WebSocket frames until flush, so that a sender writing
// many stanzas to one connection makes one system call, as on TCP. It
// writes through until batching is switched on after the handshake.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      []byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.batching {
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= flushThreshold {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *batchConn) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	b.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := b.Conn.Write(b.buf)
	if cap(b.buf) > 4*flushThreshold {
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
	return err
}

// wsURL is the endpoint: --ws-url, or ws://ADDR/xmpp-websocket.
func wsURL(o *Options) string {
	if o.WSURL != "" {
		return o.WSURL
	}
	return "ws://" + o.Addr + "/xmpp-websocket"
}

// connectWebSocket opens an RFC 7395 stream: TCP (and TLS for wss://),
// the HTTP upgrade asking for the "xmpp" subprotocol, then <open/>.
func connectWebSocket(ctx context.Context, o *Options) (*Conn, error) {
	var (
		bc            *batchConn
		tlsT          time.Duration
		handshakeFail bool
	)
	d := websocket.Dialer{
		Subprotocols:     []string{"xmpp"},
		HandshakeTimeout: o.timeout(),
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		NetDialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			nc, err := o.dial(ctx, addr)
			if err != nil {
				return nil, err
			}
			bc = &batchConn{Conn: nc}
			return bc, nil
		},
		NetDialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			nc, err := o.dial(ctx, addr)
			if err != nil {
				return nil, err
			}
			host, _, _ := net.SplitHostPort(addr)
			cfg := o.tlsConfig("http/1.1")
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
			start := time.Now()
			tc := tls.Client(nc, cfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				nc.Close()
				handshakeFail = true
				return nil, err
			}
			tlsT = time.Since(start)
			bc = &batchConn{Conn: tc}
			return bc, nil
		},
	}
	u := wsURL(o)
	start := time.Now()
	ws, resp, err := d.DialContext(ctx, u, nil)
	total := time.Since(start)
	if err != nil {
		switch {
		case handshakeFail:
			return nil, fail(KindTLS, err)
		case resp != nil:
			return nil, failDetail(KindConnect, fmt.Sprintf("http-%d", resp.StatusCode), fmt.Errorf("websocket upgrade at %s: %s", u, resp.Status))
		}
		return nil, fail(KindConnect, err)
	}
	if ws.Subprotocol() != "xmpp" {
		ws.Close()
		// RFC 7395 §3.2: without the subprotocol there is no XMPP here.
		return nil, failDetail(KindConnect, "subprotocol", fmt.Errorf("%s did not accept the xmpp subprotocol (got %q)", u, ws.Subprotocol()))
	}
	bc.mu.Lock()
	bc.batching = true
	bc.mu.Unlock()
	tr := &wsTransport{ws: ws, bc: bc}
	ws.SetPingHandler(func(data string) error {
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		bc.flush()
		return err
	})
	c := newConn(o, tr)
	c.Timings.Connect = total - tlsT
	c.Timings.TLS = tlsT
	tr.setDeadline(time.Now().Add(o.timeout()))
	if err := c.open(); err != nil {
		tr.close()
		return nil, err
	}
	if strings.HasPrefix(u, "ws://") && c.Features.Child(nsTLS, "starttls") != nil && c.Features.Child(nsSASL, "mechanisms") == nil {
		tr.close()
		return nil, failDetail(KindTLS, "required", fmt.Errorf("%s wants STARTTLS, which WebSocket cannot do: use wss://", u))
	}
	return c, nil
}
