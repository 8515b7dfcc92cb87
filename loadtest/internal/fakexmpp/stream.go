package fakexmpp

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// stream is the server end of one connection: a decoder over its input,
// elements out, and how to open a stream.
type stream interface {
	decoder() *xmltok.Decoder
	restart() // a new stream after SASL success
	header() string
	write(b []byte) error // one element, buffered
	flush() error
	close()
}

type tcpStream struct {
	nc  net.Conn
	dec *xmltok.Decoder
	mu  sync.Mutex
	out []byte
}

func newTCPStream(nc net.Conn) *tcpStream {
	return &tcpStream{nc: nc, dec: xmltok.NewDecoder(nc, xmltok.Limits{MaxStanzaSize: 1 << 20})}
}

func (t *tcpStream) decoder() *xmltok.Decoder { return t.dec }
func (t *tcpStream) restart()                 { t.dec.Reset(t.nc) }
func (t *tcpStream) header() string {
	return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='fake' from='localhost' version='1.0'>"
}

func (t *tcpStream) write(b []byte) error {
	t.mu.Lock()
	t.out = append(t.out, b...)
	t.mu.Unlock()
	return nil
}

func (t *tcpStream) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.out) == 0 {
		return nil
	}
	t.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := t.nc.Write(t.out)
	t.out = t.out[:0]
	return err
}

func (t *tcpStream) close() { t.nc.Close() }

// wsStream speaks RFC 7395: it reads each message as one element,
// turning <open/> into a stream header and <close/> into the end tag so
// that the same decoder and negotiation serve both transports.
type wsStream struct {
	ws  *websocket.Conn
	dec *xmltok.Decoder
	mu  sync.Mutex
	msg []byte
	pos int
}

var upgrader = websocket.Upgrader{
	Subprotocols: []string{"xmpp"},
	CheckOrigin:  func(*http.Request) bool { return true },
}

func upgrade(w http.ResponseWriter, r *http.Request) (*wsStream, error) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return nil, err
	}
	if ws.Subprotocol() != "xmpp" {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, "xmpp subprotocol required"), time.Now().Add(time.Second))
		ws.Close()
		return nil, io.EOF
	}
	s := &wsStream{ws: ws}
	s.dec = xmltok.NewDecoder(s, xmltok.Limits{MaxStanzaSize: 1 << 20})
	return s, nil
}

func (s *wsStream) Read(p []byte) (int, error) {
	for s.pos >= len(s.msg) {
		_, m, err := s.ws.ReadMessage()
		if err != nil {
			return 0, err
		}
		t := bytes.TrimSpace(m)
		switch {
		case bytes.HasPrefix(t, []byte("<open")):
			m = []byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
		case bytes.HasPrefix(t, []byte("<close")):
			m = []byte("</stream:stream>")
		}
		s.msg, s.pos = m, 0
	}
	n := copy(p, s.msg[s.pos:])
	s.pos += n
	return n, nil
}

func (s *wsStream) decoder() *xmltok.Decoder { return s.dec }
func (s *wsStream) restart()                 { s.dec.Reset(s) }
func (s *wsStream) header() string {
	return "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='fake' from='localhost' version='1.0'/>"
}

func (s *wsStream) write(b []byte) error {
	// Stream-level elements need their prefix declared: each message
	// stands alone (RFC 7395 §3.3.3).
	if bytes.HasPrefix(b, []byte("<stream:features>")) {
		b = append([]byte("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"), b[len("<stream:features>"):]...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws.WriteMessage(websocket.TextMessage, b)
}

func (s *wsStream) flush() error { return nil }

func (s *wsStream) close() {
	s.mu.Lock()
	s.ws.WriteMessage(websocket.TextMessage, []byte("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"))
	s.mu.Unlock()
	s.ws.Close()
}
