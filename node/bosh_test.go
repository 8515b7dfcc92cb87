package node_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const nsBind = "http://jabber.org/protocol/httpbind"

// boshClient is a BOSH client (XEP-0124, XEP-0206) over plain net/http.
type boshClient struct {
	t      *testing.T
	url    string
	hc     *http.Client
	sid    string
	rid    atomic.Int64
	origin string
}

func newBOSH(t *testing.T, base string) *boshClient {
	c := &boshClient{t: t, url: base + "/http-bind", hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: 8},
	}}
	c.rid.Store(1_000_000 + rand.Int64N(1_000_000))
	return c
}

type boshReply struct {
	status int
	raw    string
	el     *xmltok.Element
}

// postRaw sends bytes as they are.
func (c *boshClient) postRaw(body string) boshReply {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Errorf("post: %v", err)
		return boshReply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := boshReply{status: resp.StatusCode, raw: string(b)}
	if len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		r.el, err = xmltok.Parse(b, "", nil)
		if err != nil {
			c.t.Errorf("response not XML: %v: %s", err, b)
		}
	}
	return r
}

// wrapper builds a request <body/> with the next rid.
func (c *boshClient) wrapper(attrs, payload string) (int64, string) {
	rid := c.rid.Add(1)
	return rid, c.wrapperRID(rid, attrs, payload)
}

func (c *boshClient) wrapperRID(rid int64, attrs, payload string) string {
	s := fmt.Sprintf("<body xmlns='%s' rid='%d' sid='%s'%s>%s</body>", nsBind, rid, c.sid, attrs, payload)
	return s
}

// send posts payloads in a new request and returns the answer.
func (c *boshClient) send(attrs, payload string) boshReply {
	c.t.Helper()
	_, b := c.wrapper(attrs, payload)
	return c.postRaw(b)
}

// sendAsync posts a request in the background.
func (c *boshClient) sendAsync(attrs, payload string) <-chan boshReply {
	_, b := c.wrapper(attrs, payload)
	ch := make(chan boshReply, 1)
	go func() { ch <- c.postRaw(b) }()
	return ch
}

// create opens a session and returns the creation response.
func (c *boshClient) create(domain string, wait, hold int) *xmltok.Element {
	c.t.Helper()
	r := c.postRaw(fmt.Sprintf("<body xmlns='%s' rid='%d' to='%s' wait='%d' hold='%d' ver='1.6' xml:lang='en' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh' content='text/xml; charset=utf-8'/>",
		nsBind, c.rid.Load(), domain, wait, hold))
	if r.status != 200 || r.el == nil || r.el.Attr("sid") == "" {
		c.t.Fatalf("session creation: %d %s", r.status, r.raw)
	}
	c.sid = r.el.Attr("sid")
	return r.el
}

func child(el *xmltok.Element, local string) *xmltok.Element {
	for _, ch := range el.Children {
		if ch.Local == local {
			return ch
		}
	}
	return nil
}

// expectPayload sends a request and fails unless its answer carries an
// element with the local name.
func (c *boshClient) expectPayload(attrs, payload, local string) *xmltok.Element {
	c.t.Helper()
	r := c.send(attrs, payload)
	if r.el == nil || child(r.el, local) == nil {
		c.t.Fatalf("expected <%s/>, got %d %s", local, r.status, r.raw)
	}
	return child(r.el, local)
}

func expectTerminate(t *testing.T, r boshReply, cond string) {
	t.Helper()
	if r.status != 200 || r.el == nil || r.el.Attr("type") != "terminate" || r.el.Attr("condition") != cond {
		t.Fatalf("expected terminate %q, got %d %s", cond, r.status, r.raw)
	}
}

// scramSHA1 authenticates with SCRAM-SHA-1 (RFC 5802) over the session.
func (c *boshClient) scramSHA1(user, pass string) {
	c.t.Helper()
	saslExchange(c.t, "SCRAM-SHA-1", user, pass, nil, func(nonza string) *xmltok.Element {
		r := c.send("", nonza)
		if r.el != nil {
			for _, ch := range r.el.Children {
				if ch.Space == stanza.NSSASL {
					return ch
				}
			}
		}
		c.t.Fatalf("no SASL answer: %d %s", r.status, r.raw)
		return nil
	})
}

// login creates a session and authenticates and binds over it.
func (c *boshClient) login(domain, user, pass, res string, wait int) string {
	c.t.Helper()
	created := c.create(domain, wait, 1)
	f := child(created, "features")
	if f == nil {
		c.t.Fatalf("no features in the creation response: %s", created)
	}
	c.scramSHA1(user, pass)
	f = c.expectPayload(" xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh' to='"+domain+"' xml:lang='en'", "", "features")
	if child(f, "bind") == nil {
		c.t.Fatalf("no bind after restart: %s", f)
	}
	iq := c.expectPayload("", "<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"+res+"</resource></bind></iq>", "iq")
	b := iq.Child(stanza.NSBind, "bind")
	if iq.Attr("type") != "result" || b == nil {
		c.t.Fatalf("bind: %s", iq)
	}
	return b.Child(stanza.NSBind, "jid").Text
}

func boshConfig(t *testing.T) *config.Config {
	cfg := xmpptest.Config(t)
	cfg.Web.BOSH.Inactivity = config.Duration{Duration: 3 * time.Second}
	cfg.Web.BOSH.MaxPause = config.Duration{Duration: 10 * time.Second}
	return cfg
}

func TestBOSHSessionAndMessages(t *testing.T) {
	srv := xmpptest.Start(t, boshConfig(t))
	srv.AddUser(t, "alice", "pw")
	srv.AddUser(t, "bob", "pw")

	c := newBOSH(t, "http://"+srv.Web)
	created := c.create("localhost", 5, 1)
	for attr, want := range map[string]string{"wait": "5", "hold": "1", "requests": "2", "inactivity": "3", "maxpause": "10", "ver": "1.6", "from": "localhost", "xmpp:version": "1.0", "xmpp:restartlogic": "true"} {
		if got := created.Attr(attr); got != want {
			t.Errorf("creation response %s=%q, want %q: %s", attr, got, want, created)
		}
	}
	if created.Attr("authid") == "" || created.Attr("polling") == "" {
		t.Errorf("creation response lacks authid or polling: %s", created)
	}
	mechs := strings.Join(mechanisms(child(created, "features")), " ")
	if !strings.Contains(mechs, "SCRAM-SHA-1") || strings.Contains(mechs, "PLAIN") || strings.Contains(mechs, "-PLUS") {
		t.Fatalf("mechanisms over plain HTTP: %s", mechs)
	}
	c.scramSHA1("alice", "pw")
	f := c.expectPayload(" xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh' to='localhost'", "", "features")
	if child(f, "bind") == nil {
		t.Fatalf("features after restart: %s", f)
	}
	iq := c.expectPayload("", "<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>", "iq")
	if iq.Space != stanza.NSClient {
		t.Fatalf("stanza namespace %q: %s", iq.Space, iq)
	}
	aliceJID := iq.Child(stanza.NSBind, "bind").Child(stanza.NSBind, "jid").Text

	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "pw", "tcp")
	// BOSH → TCP: the request is held (no reply is due) in the background.
	sent := c.sendAsync("", "<message xmlns='jabber:client' to='"+bob.JID+"' type='chat'><body>hello bob</body></message>")
	if m := bob.Expect("message"); !xmpptest.HasText(m, "hello bob") || m.Attr("from") != aliceJID {
		t.Fatalf("bob got %s", m)
	}
	// TCP → BOSH while that request is held: it carries the message.
	bob.Send("<message to='" + aliceJID + "' type='chat'><body>hello alice</body></message>")
	r := <-sent
	if r.el == nil || child(r.el, "message") == nil || !strings.Contains(r.raw, "hello alice") {
		t.Fatalf("long-poll answer: %d %s", r.status, r.raw)
	}
	if m := child(r.el, "message"); m.Space != stanza.NSClient {
		t.Fatalf("message namespace %q", m.Space)
	}

	// A held empty request answers empty once wait passes.
	start := time.Now()
	r = c.send("", "")
	if r.status != 200 || r.el == nil || len(r.el.Children) != 0 || r.el.Attr("type") != "" {
		t.Fatalf("wait expiry: %d %s", r.status, r.raw)
	}
	if time.Since(start) < 4*time.Second {
		t.Fatalf("empty answer before wait passed (%v)", time.Since(start))
	}

	// Pause: held requests and the pause request answer at once; the
	// session outlives inactivity (3 s) during the pause.
	held := c.sendAsync("", "")
	time.Sleep(100 * time.Millisecond)
	r = c.send(" pause='6'", "")
	if r.status != 200 || r.el == nil || len(r.el.Children) != 0 {
		t.Fatalf("pause: %d %s", r.status, r.raw)
	}
	if h := <-held; h.status != 200 || h.el == nil || h.el.Attr("type") != "" {
		t.Fatalf("held request at pause: %d %s", h.status, h.raw)
	}
	time.Sleep(4 * time.Second)
	bob.Send("<message to='" + aliceJID + "' type='chat'><body>after pause</body></message>")
	r = c.send("", "")
	if !strings.Contains(r.raw, "after pause") {
		t.Fatalf("resume after pause: %d %s", r.status, r.raw)
	}

	// Terminate: payloads are forwarded, the session ends.
	r = c.send(" type='terminate'", "<presence type='unavailable' xmlns='jabber:client'/>")
	if r.status != 200 || r.el == nil || r.el.Attr("type") != "terminate" || r.el.Attr("condition") != "" {
		t.Fatalf("terminate: %d %s", r.status, r.raw)
	}
	expectTerminate(t, c.send("", ""), "item-not-found")
	bob.Send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	bob.Expect("iq")
}

func TestBOSHPlainOverHTTPS(t *testing.T) {
	srv := xmpptest.Start(t, boshConfig(t))
	c := newBOSH(t, "https://"+srv.WebTLS)
	mechs := strings.Join(mechanisms(child(c.create("localhost", 2, 1), "features")), " ")
	if !strings.Contains(mechs, "PLAIN") {
		t.Fatalf("mechanisms over HTTPS: %s", mechs)
	}
	// A session opened over HTTPS is not continued in clear.
	clear := newBOSH(t, "http://"+srv.Web)
	clear.sid, clear.rid = c.sid, atomic.Int64{}
	clear.rid.Store(c.rid.Load())
	if r := clear.send("", ""); r.status != http.StatusForbidden {
		t.Fatalf("secure session over plain HTTP: %d %s", r.status, r.raw)
	}
	c.send(" type='terminate'", "")
}

func TestBOSHBadInput(t *testing.T) {
	srv := xmpptest.Start(t, boshConfig(t))
	srv.AddUser(t, "alice", "pw")
	srv.AddUser(t, "bob", "pw")
	srv.AddUser(t, "carol", "pw")
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "pw", "tcp")
	base := "http://" + srv.Web

	// A bystander session, checked at the end.
	carol := newBOSH(t, base)
	carolJID := carol.login("localhost", "carol", "pw", "web", 2)
	// Carol long-polls throughout, as a client does.
	polls := make(chan string, 100)
	stop := make(chan struct{})
	go func() {
		defer close(polls)
		for {
			select {
			case <-stop:
				return
			default:
			}
			r := carol.send("", "")
			polls <- r.raw
			if r.el == nil || r.el.Attr("type") == "terminate" {
				return
			}
		}
	}()

	t.Run("forged rid", func(t *testing.T) {
		c := newBOSH(t, base)
		c.create("localhost", 2, 1)
		c.rid.Add(1000)
		expectTerminate(t, c.send("", ""), "item-not-found")
		expectTerminate(t, c.send("", ""), "item-not-found") // the session is gone
	})
	t.Run("replayed rid", func(t *testing.T) {
		c := newBOSH(t, base)
		c.login("localhost", "alice", "pw", "replay", 1)
		rid, msg := c.wrapper("", "<message xmlns='jabber:client' to='"+bob.JID+"'><body>once</body></message>")
		first := c.postRaw(msg)
		if m := bob.Expect("message"); !xmpptest.HasText(m, "once") {
			t.Fatalf("bob got %s", m)
		}
		again := c.postRaw(c.wrapperRID(rid, "", "<message xmlns='jabber:client' to='"+bob.JID+"'><body>once</body></message>"))
		if again.status != 200 || again.raw != first.raw {
			t.Fatalf("retransmission answered %d %q, first %q", again.status, again.raw, first.raw)
		}
		c.sendAsync("", "<message xmlns='jabber:client' to='"+bob.JID+"'><body>marker</body></message>")
		if m := bob.Expect("message"); !xmpptest.HasText(m, "marker") {
			t.Fatalf("replayed message delivered twice: %s", m)
		}
	})
	t.Run("stream error", func(t *testing.T) {
		c := newBOSH(t, base)
		c.login("localhost", "alice", "pw", "spoof", 1)
		r := c.send("", "<message xmlns='jabber:client' from='bob@localhost/x' to='"+bob.JID+"'><body>spoof</body></message>")
		expectTerminate(t, r, "remote-stream-error")
		if e := child(r.el, "error"); e == nil || e.Child(stanza.NSStreams, "invalid-from") == nil {
			t.Fatalf("stream error not carried: %s", r.raw)
		}
	})
	t.Run("unknown sid", func(t *testing.T) {
		c := newBOSH(t, base)
		c.sid = "0123456789abcdef"
		expectTerminate(t, c.send("", ""), "item-not-found")
	})
	t.Run("expired session", func(t *testing.T) {
		c := newBOSH(t, base)
		c.create("localhost", 1, 1)
		time.Sleep(4500 * time.Millisecond) // inactivity is 3 s
		expectTerminate(t, c.send("", ""), "item-not-found")
	})
	t.Run("malformed", func(t *testing.T) {
		c := newBOSH(t, base)
		c.create("localhost", 1, 1)
		for _, body := range []string{
			"<body xmlns='" + nsBind + "' rid='1' sid='" + c.sid + "'><message>",
			"not xml",
			"<body xmlns='urn:wrong' rid='5' sid='" + c.sid + "'/>",
			"<body xmlns='" + nsBind + "' sid='" + c.sid + "'/>",
			"<body xmlns='" + nsBind + "' rid='x' sid='" + c.sid + "'/>",
		} {
			r := c.postRaw(body)
			if r.status != http.StatusBadRequest || r.el == nil || r.el.Attr("condition") != "bad-request" {
				t.Fatalf("%q: %d %s", body, r.status, r.raw)
			}
		}
		big := c.postRaw("<body xmlns='" + nsBind + "' rid='9' sid='" + c.sid + "'>" + strings.Repeat("<a/>", 100_000) + "</body>")
		if big.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized body: %d", big.status)
		}
	})
	t.Run("too many requests", func(t *testing.T) {
		c := newBOSH(t, base)
		c.create("localhost", 5, 1)
		first := c.sendAsync("", "") // held
		time.Sleep(100 * time.Millisecond)
		c.rid.Add(1)                  // leave a gap: the next one waits for it
		second := c.sendAsync("", "") // pending
		time.Sleep(100 * time.Millisecond)
		expectTerminate(t, c.send("", ""), "policy-violation")
		expectTerminate(t, <-first, "policy-violation")
		expectTerminate(t, <-second, "policy-violation")
	})
	t.Run("host", func(t *testing.T) {
		c := newBOSH(t, base)
		r := c.postRaw("<body xmlns='" + nsBind + "' rid='10' to='nosuch.example' wait='5' hold='1' ver='1.6'/>")
		expectTerminate(t, r, "host-unknown")
		r = c.postRaw("<body xmlns='" + nsBind + "' rid='10' wait='5' hold='1' ver='1.6'/>")
		expectTerminate(t, r, "improper-addressing")
	})
	t.Run("origin", func(t *testing.T) {
		c := newBOSH(t, base)
		c.origin = "http://evil.example"
		r := c.postRaw("<body xmlns='" + nsBind + "' rid='10' to='localhost' wait='5' hold='1' ver='1.6'/>")
		if r.status != http.StatusForbidden {
			t.Fatalf("disallowed origin: %d %s", r.status, r.raw)
		}
		for _, o := range []struct {
			origin string
			status int
			cors   bool
		}{{"http://evil.example", 403, false}, {"http://" + srv.Web, 204, true}} {
			req, _ := http.NewRequest("OPTIONS", c.url, nil)
			req.Header.Set("Origin", o.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("Access-Control-Allow-Origin")
			if resp.StatusCode != o.status || (got == o.origin) != o.cors {
				t.Fatalf("preflight from %s: %d, allow-origin %q", o.origin, resp.StatusCode, got)
			}
		}
		resp := getWeb(t, c.url, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
	})

	// None of that touched carol's session.
	bob.Send("<message to='" + carolJID + "' type='chat'><body>still there?</body></message>")
	close(stop)
	var got []string
	for raw := range polls {
		got = append(got, raw)
		if strings.Contains(raw, "still there?") {
			return
		}
	}
	t.Fatalf("bystander session did not get the message: %q", got)
}

// A BOSH session that goes inactive is a lost connection to its stream:
// a stream-managed session waits, keeps what arrives, and resumes over a
// new BOSH session (XEP-0198 over XEP-0206).
func TestBOSHResumeAfterInactivity(t *testing.T) {
	srv := xmpptest.Start(t, boshConfig(t)) // inactivity 3 s
	srv.AddUser(t, "alice", "pw")
	srv.AddUser(t, "bob", "pw")
	c := newBOSH(t, "http://"+srv.Web)
	aliceJID := c.login("localhost", "alice", "pw", "web", 5)
	enabled := c.expectPayload("", "<enable xmlns='urn:xmpp:sm:3' resume='true'/>", "enabled")
	previd := enabled.Attr("id")
	if previd == "" || enabled.Attr("resume") != "true" {
		t.Fatalf("enabled: %s", enabled)
	}

	// No request for longer than inactivity: the BOSH session ends.
	time.Sleep(5 * time.Second)
	expectTerminate(t, c.send("", ""), "item-not-found")

	// What arrives meanwhile waits for the resumption.
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "pw", "tcp")
	bob.Send("<message to='" + aliceJID + "' type='chat' id='m1'><body>while away</body></message>")
	bob.Send("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	bob.Expect("iq") // the message was routed before this answer

	c2 := newBOSH(t, "http://"+srv.Web)
	c2.create("localhost", 5, 1)
	c2.scramSHA1("alice", "pw")
	c2.expectPayload(" xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh' to='localhost'", "", "features")
	r := c2.send("", "<resume xmlns='urn:xmpp:sm:3' previd='"+previd+"' h='0'/>")
	got := r.raw
	for i := 0; i < 3 && !strings.Contains(got, "while away"); i++ {
		got += c2.send("", "").raw
	}
	if !strings.Contains(got, "<resumed") || !strings.Contains(got, "while away") {
		t.Fatalf("resumption over a new BOSH session: %s", got)
	}
	// The resumed session is alice's again: bob reaches it.
	bob.Send("<message to='" + aliceJID + "' type='chat'><body>after resume</body></message>")
	got = ""
	for i := 0; i < 3 && !strings.Contains(got, "after resume"); i++ {
		got += c2.send("", "").raw
	}
	if !strings.Contains(got, "after resume") {
		t.Fatalf("after resumption: %s", got)
	}
}
