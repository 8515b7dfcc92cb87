package node_test

import (
	"bytes"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"

// wsClient is an RFC 7395 client on a real gorilla/websocket connection
// that checks every message it receives: one element, with its namespace
// declared on itself (RFC 7395 §3.3.3).
type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func wsURL(srv *xmpptest.Server, secure bool) string {
	if secure {
		return "wss://" + srv.WebTLS + "/xmpp-websocket"
	}
	return "ws://" + srv.Web + "/xmpp-websocket"
}

func wsDialer() *websocket.Dialer {
	return &websocket.Dialer{
		Subprotocols:     []string{"xmpp"},
		TLSClientConfig:  &tls.Config{InsecureSkipVerify: true},
		HandshakeTimeout: 10 * time.Second,
	}
}

func dialWS(t *testing.T, srv *xmpptest.Server, secure bool) *wsClient {
	t.Helper()
	return dialWSURL(t, wsURL(srv, secure))
}

func dialWSURL(t *testing.T, url string) *wsClient {
	t.Helper()
	c, resp, err := wsDialer().Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "xmpp" {
		t.Fatalf("subprotocol %q, want xmpp", got)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, ws: c}
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// tryNext reads one message and parses it as an element.
func (c *wsClient) tryNext() (*xmltok.Element, error) {
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, msg, err := c.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("message of type %d", typ)
	}
	checkOneElement(c.t, msg)
	return xmltok.Parse(msg, "", nil)
}

func (c *wsClient) next() *xmltok.Element {
	c.t.Helper()
	el, err := c.tryNext()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return el
}

// expect reads until an element with the local name, skipping the
// server's XEP-0198 <r/> requests.
func (c *wsClient) expect(local string) *xmltok.Element {
	c.t.Helper()
	for range 20 {
		el := c.next()
		if el.Local == local {
			return el
		}
		if el.Local == "r" && el.Space == stanza.NSSM {
			continue
		}
		c.t.Fatalf("expected <%s/>, got %s", local, el)
	}
	c.t.Fatalf("no <%s/>", local)
	return nil
}

// checkOneElement fails unless msg is exactly one element whose namespace
// (and its prefix's) is declared on the element itself.
func checkOneElement(t *testing.T, msg []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(msg))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("message %q: %v", msg, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				switch {
				case tok.Name.Local == "features" || tok.Name.Local == "error":
					if tok.Name.Space != stanza.NSStream {
						t.Fatalf("message %q: <%s/> in namespace %q", msg, tok.Name.Local, tok.Name.Space)
					}
				case tok.Name.Space == "" || !strings.Contains(tok.Name.Space, ":"):
					t.Fatalf("message %q: no namespace declared", msg)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				t.Fatalf("message %q: text outside the element", msg)
			}
		case xml.ProcInst:
			t.Fatalf("message %q: processing instruction", msg)
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("message %q: %d elements", msg, roots)
	}
}

// open sends <open/> and checks the server's <open/> and features.
func (c *wsClient) open() *xmltok.Element {
	c.t.Helper()
	c.send("<open xmlns='" + nsFraming + "' to='localhost' version='1.0'/>")
	o := c.next()
	if o.Local != "open" || o.Space != nsFraming || o.Attr("from") != "localhost" || o.Attr("id") == "" || o.Attr("version") != "1.0" {
		c.t.Fatalf("expected <open/>, got %s", o)
	}
	f := c.next()
	if f.Local != "features" {
		c.t.Fatalf("expected features, got %s", f)
	}
	return f
}

func mechanisms(f *xmltok.Element) []string {
	var out []string
	if ms := f.Child(stanza.NSSASL, "mechanisms"); ms != nil {
		for _, m := range ms.Children {
			out = append(out, strings.TrimSpace(m.Text))
		}
	}
	return out
}

// auth runs SASL with mech, then restarts the stream with a new <open/>.
// A -PLUS mechanism binds to the client's end of the wss:// connection.
func (c *wsClient) auth(mech, user, pass string) *xmltok.Element {
	c.t.Helper()
	var cs *tls.ConnectionState
	if tc, ok := c.ws.NetConn().(*tls.Conn); ok {
		st := tc.ConnectionState()
		cs = &st
	}
	saslExchange(c.t, mech, user, pass, cs, func(nonza string) *xmltok.Element {
		c.send(nonza)
		return c.next()
	})
	return c.open()
}

func (c *wsClient) bind(res string) string {
	c.t.Helper()
	c.send("<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind></iq>")
	el := c.expect("iq")
	j := el.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind")
	if el.Attr("type") != "result" || j == nil {
		c.t.Fatalf("bind: %s", el)
	}
	return j.Child("urn:ietf:params:xml:ns:xmpp-bind", "jid").Text
}

func loginWS(t *testing.T, srv *xmpptest.Server, secure bool, mech, user, res string) (*wsClient, string) {
	t.Helper()
	c := dialWS(t, srv, secure)
	c.open()
	c.auth(mech, user, "secret")
	return c, c.bind(res)
}

// expectClose reads until the server's WebSocket close frame and returns
// its code (-1 when the connection ended without one).
func (c *wsClient) expectClose() int {
	c.t.Helper()
	for range 20 {
		_, err := c.tryNext()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		return -1
	}
	c.t.Fatal("no close")
	return 0
}

// expectStreamError reads the stream error, the server's <close/> and
// its close frame 1000 after the client's <close/> (RFC 7395 §3.6).
func (c *wsClient) expectStreamError(cond string) {
	c.t.Helper()
	el := c.expect("error")
	if el.Space != stanza.NSStream || streamCondition(el) != cond {
		c.t.Fatalf("expected stream error %s, got %s", cond, el)
	}
	if cl := c.next(); cl.Local != "close" || cl.Space != nsFraming {
		c.t.Fatalf("expected <close/>, got %s", cl)
	}
	c.ws.WriteMessage(websocket.TextMessage, []byte("<close xmlns='"+nsFraming+"'/>"))
	if code := c.expectClose(); code != websocket.CloseNormalClosure {
		c.t.Fatalf("close code %d, want 1000", code)
	}
}

// wsCloses reads meridian_websocket_closes_total for a reason.
func wsCloses(t *testing.T, reason string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "meridian_websocket_closes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no meridian_websocket_closes_total{reason=%q}", reason)
	return 0
}

func streamCondition(el *xmltok.Element) string {
	for _, ch := range el.Children {
		if ch.Space == "urn:ietf:params:xml:ns:xmpp-streams" && ch.Local != "text" {
			return ch.Local
		}
	}
	return ""
}

// TestWebSocketSession runs a whole session over ws:// and wss://: open,
// SASL (PLAIN only over wss://), restart, bind, XEP-0198, a message to a
// TCP client and back, and the <close/> handshake.
func TestWebSocketSession(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "secret")
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "secret", "tcp")
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "ws", true: "wss"}[secure]
		t.Run(name, func(t *testing.T) {
			c := dialWS(t, srv, secure)
			f := c.open()
			ms := mechanisms(f)
			if !slices.Contains(ms, "SCRAM-SHA-1") || slices.Contains(ms, "PLAIN") != secure {
				t.Fatalf("mechanisms over %s: %v", name, ms)
			}
			if f.Child(stanza.NSTLS, "starttls") != nil {
				t.Fatal("STARTTLS offered over WebSocket")
			}
			mech := "SCRAM-SHA-1"
			if secure {
				mech = "PLAIN"
			}
			if secure && !slices.Contains(ms, "SCRAM-SHA-256-PLUS") {
				t.Fatalf("no -PLUS over wss:// (TLS 1.3): %v", ms)
			}
			f = c.auth(mech, "alice", "secret")
			if f.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind") == nil || f.Child(stanza.NSSM, "sm") == nil {
				t.Fatalf("features after SASL: %s", f)
			}
			full := c.bind(name)

			c.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
			if el := c.expect("enabled"); el.Space != stanza.NSSM {
				t.Fatalf("enable: %s", el)
			}
			c.send("<message xmlns='jabber:client' to='bob@localhost/tcp' type='chat' id='m1'><body>hello from " + name + "</body></message>")
			got := bob.Expect("message")
			if got.Attr("from") != full || !xmpptest.HasText(got, "hello from "+name) {
				t.Fatalf("bob got %s", got)
			}
			bob.Send("<message to='" + full + "' type='chat' id='m2'><body>hello back</body></message>")
			back := c.expect("message")
			if back.Space != stanza.NSClient || back.Attr("from") != "bob@localhost/tcp" || !xmpptest.HasText(back, "hello back") {
				t.Fatalf("alice got %s", back)
			}
			c.send("<r xmlns='urn:xmpp:sm:3'/>")
			// h counts the stanzas handled since <enable/>: message m1.
			if a := c.expect("a"); a.Attr("h") != "1" {
				t.Fatalf("expected <a h='1'/>, got %s", a)
			}

			c.send("<close xmlns='" + nsFraming + "'/>")
			if cl := c.expect("close"); cl.Space != nsFraming {
				t.Fatalf("expected <close/>, got %s", cl)
			}
			if code := c.expectClose(); code != websocket.CloseNormalClosure {
				t.Fatalf("close code %d, want 1000", code)
			}
		})
	}
}

// TestWebSocketChannelBinding: SCRAM-SHA-256-PLUS over wss:// binds to
// the HTTPS connection's TLS (RFC 9266 tls-exporter).
func TestWebSocketChannelBinding(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "secret")
	c := dialWS(t, srv, true)
	c.open()
	c.auth("SCRAM-SHA-256-PLUS", "alice", "secret")
	if j := c.bind("plus"); j != "alice@localhost/plus" {
		t.Fatalf("bound %s", j)
	}
}

// TestWebSocketHandshakeRefused: without the xmpp subprotocol the
// upgrade is refused with 400 (RFC 7395 §3.1; see edge/websocket), from a
// disallowed origin with 403.
func TestWebSocketHandshakeRefused(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	for _, tt := range []struct {
		name   string
		protos []string
		origin string
		status int
	}{
		{"no subprotocol", nil, "", http.StatusBadRequest},
		{"other subprotocol", []string{"chat"}, "", http.StatusBadRequest},
		{"disallowed origin", []string{"xmpp"}, "https://elsewhere.example", http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := wsDialer()
			d.Subprotocols = tt.protos
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := d.Dial(wsURL(srv, false), h)
			if err == nil {
				c.Close()
				t.Fatal("upgraded")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("response %v, err %v; want %d", resp, err, tt.status)
			}
		})
	}
	// A same-origin page is allowed.
	d := wsDialer()
	c, _, err := d.Dial(wsURL(srv, false), http.Header{"Origin": {"http://" + srv.Web}})
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	c.Close()
}

// TestWebSocketBadInput: each kind of bad input gets its own answer, and
// a client connected meanwhile keeps exchanging messages.
func TestWebSocketBadInput(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "secret")
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "secret", "tcp")
	alice, aliceJID := loginWS(t, srv, false, "SCRAM-SHA-1", "alice", "web")
	stillServed := func(t *testing.T, n string) {
		t.Helper()
		alice.send("<message xmlns='jabber:client' to='bob@localhost/tcp' id='" + n + "'><body>" + n + "</body></message>")
		if m := bob.Expect("message"); !xmpptest.HasText(m, n) {
			t.Fatalf("bob got %s", m)
		}
		bob.Send("<message to='" + aliceJID + "' id='" + n + "r'><body>" + n + " back</body></message>")
		if m := alice.expect("message"); !xmpptest.HasText(m, n+" back") {
			t.Fatalf("alice got %s", m)
		}
	}

	t.Run("binary message", func(t *testing.T) {
		c := dialWS(t, srv, false)
		c.open()
		before := wsCloses(t, "unsupported_data")
		c.ws.WriteMessage(websocket.BinaryMessage, []byte("<presence/>"))
		if code := c.expectClose(); code != websocket.CloseUnsupportedData {
			t.Fatalf("close code %d, want 1003", code)
		}
		if n := wsCloses(t, "unsupported_data"); n <= before {
			t.Fatalf("1003 closes counted: %v, before %v", n, before)
		}
		stillServed(t, "after-binary")
	})
	t.Run("oversized message", func(t *testing.T) {
		_, full := loginWS(t, srv, false, "SCRAM-SHA-1", "alice", "big")
		c := dialWS(t, srv, false)
		c.open()
		big := "<message xmlns='jabber:client' to='" + full + "'><body>" + strings.Repeat("x", srv.Config.C2S.MaxStanzaSize) + "</body></message>"
		before := wsCloses(t, "message_too_big")
		c.ws.WriteMessage(websocket.TextMessage, []byte(big))
		if code := c.expectClose(); code != websocket.CloseMessageTooBig {
			t.Fatalf("close code %d, want 1009", code)
		}
		// gorilla sends the 1009 frame itself before the read returns, so
		// the count may follow the client's view of the close.
		n := wsCloses(t, "message_too_big")
		for deadline := time.Now().Add(5 * time.Second); n <= before && time.Now().Before(deadline); n = wsCloses(t, "message_too_big") {
			time.Sleep(5 * time.Millisecond)
		}
		if n <= before {
			t.Fatalf("1009 closes counted: %v, before %v", n, before)
		}
		stillServed(t, "after-oversized")
	})
	for _, tt := range []struct {
		name, first, msg, cond string
	}{
		// Balanced but mismatched: the stream's tokenizer finds it.
		{"malformed XML", "open", "<message xmlns='jabber:client'><body>hi</bdy></message>", stanza.NotWellFormed},
		{"unbalanced XML", "open", "<message xmlns='jabber:client'><body>hi</message>", stanza.NotWellFormed},
		{"two elements in one message", "open", "<presence xmlns='jabber:client'/><presence xmlns='jabber:client'/>", stanza.NotWellFormed},
		{"unfinished element", "open", "<message xmlns='jabber:client'>", stanza.NotWellFormed},
		{"stanza before open", "", "<message xmlns='jabber:client' to='bob@localhost'/>", stanza.InvalidNamespace},
		{"open in another namespace", "", "<open xmlns='jabber:client' to='localhost' version='1.0'/>", stanza.InvalidNamespace},
		{"stream header instead of open", "", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", stanza.InvalidNamespace},
		{"open mid-stream", "open", "<open xmlns='" + nsFraming + "' to='localhost' version='1.0'/>", stanza.UnsupportedStanzaType},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWS(t, srv, false)
			if tt.first == "open" {
				c.open()
			}
			c.send(tt.msg)
			if tt.first == "" {
				// RFC 6120 §4.9.1.1: a header before the error.
				if o := c.next(); o.Local != "open" || o.Space != nsFraming {
					t.Fatalf("expected <open/>, got %s", o)
				}
			}
			c.expectStreamError(tt.cond)
			stillServed(t, strings.ReplaceAll(tt.name, " ", "-"))
		})
	}
	t.Run("malformed XML in a bound session", func(t *testing.T) {
		c, _ := loginWS(t, srv, false, "SCRAM-SHA-1", "alice", "bad")
		c.send("<iq xmlns='jabber:client' type='get' id='x'><ping xmlns='urn:xmpp:ping'></pong></iq>")
		c.expectStreamError(stanza.NotWellFormed)
		stillServed(t, "after-bound-malformed")
	})
}

// TestWebSocketPing: a client that answers pings stays connected; one
// that answers nothing is dropped after two intervals, and its
// stream-managed session can be resumed on a new connection (XEP-0198).
func TestWebSocketPing(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.Web.WebSocket.PingInterval.Duration = 100 * time.Millisecond
	srv := xmpptest.Start(t, cfg)
	srv.AddUser(t, "alice", "secret")
	srv.AddUser(t, "bob", "secret")
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "secret", "tcp")

	// Answering: gorilla's client answers pings while it reads.
	live, _ := loginWS(t, srv, false, "SCRAM-SHA-1", "alice", "live")
	pings := 0
	live.ws.SetPingHandler(func(data string) error {
		pings++
		return live.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	live.ws.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := live.ws.ReadMessage(); err == nil {
		t.Fatal("unexpected message")
	} else if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		t.Fatalf("answering client lost its connection: %v", err)
	}
	if pings < 2 {
		t.Fatalf("%d pings in a second of silence with a 100 ms interval", pings)
	}

	// Silent: enable resumption, then stop reading.
	silent, silentJID := loginWS(t, srv, false, "SCRAM-SHA-1", "alice", "silent")
	silent.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	enabled := silent.expect("enabled")
	id := enabled.Attr("id")
	if id == "" {
		t.Fatalf("no resumption id: %s", enabled)
	}
	timeouts := wsCloses(t, "ping_timeout")
	time.Sleep(time.Second) // not reading: pings go unanswered
	silent.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := silent.ws.ReadMessage()
		if err == nil {
			continue
		}
		// 1006: gorilla's code for a connection that ended without a
		// close frame.
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
			t.Fatalf("silent client got close frame %d; want the connection dropped", ce.Code)
		}
		break
	}
	if n := wsCloses(t, "ping_timeout"); n <= timeouts {
		t.Fatalf("ping timeouts counted: %v, before %v", n, timeouts)
	}
	bob.Send("<message to='" + silentJID + "' id='q'><body>while away</body></message>")

	c := dialWS(t, srv, false)
	c.open()
	c.auth("SCRAM-SHA-1", "alice", "secret")
	c.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	if r := c.expect("resumed"); r.Space != stanza.NSSM {
		t.Fatalf("resume: %s", r)
	}
	if m := c.expect("message"); !xmpptest.HasText(m, "while away") {
		t.Fatalf("after resumption: %s", m)
	}
}
