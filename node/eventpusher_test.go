package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/eventpusher"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
)

// receiver is a local webhook endpoint that checks signatures.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	events []eventpusher.Event
	bad    int // deliveries with a wrong signature or header
	down   bool
	drop   bool // close connections without an answer
	tries  int  // requests refused while down or dropping
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drop {
		r.tries++
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	if r.down {
		r.tries++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var ev eventpusher.Event
	if req.Header.Get(eventpusher.HeaderSignature) != eventpusher.Sign(r.secret, body) ||
		json.Unmarshal(body, &ev) != nil || req.Header.Get(eventpusher.HeaderEvent) != ev.Event ||
		req.Header.Get(eventpusher.HeaderDelivery) != ev.ID {
		r.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.events = append(r.events, ev)
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// wait returns the first event of a kind that matches ok.
func (r *receiver) wait(kind string, ok func(eventpusher.Event) bool) eventpusher.Event {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, ev := range r.events {
			if ev.Event == kind && (ok == nil || ok(ev)) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t.Fatalf("no %s event; got %+v (bad deliveries %d)", kind, r.events, r.bad)
	return eventpusher.Event{}
}

func pusherServer(t *testing.T, url string) *xmpptest.Server {
	cfg := testConfig(t, `
[modules.event_pusher]
retry_initial = "10ms"
retry_max = "50ms"
[[modules.event_pusher.endpoints]]
url = "`+url+`"
secret = "s3cret"
`)
	s := xmpptest.Start(t, cfg)
	return s
}

func TestEventPusher(t *testing.T) {
	r := &receiver{t: t, secret: "s3cret"}
	hs := httptest.NewServer(r)
	defer hs.Close()
	s := pusherServer(t, hs.URL+"/hook")
	if err := s.Core().CreateUser(t.Context(), mustJID(t, "alice@localhost"), "pw"); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "bob", "pw")
	r.wait(eventpusher.UserRegistered, func(ev eventpusher.Event) bool { return ev.User == "alice@localhost" })

	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "phone")
	r.wait(eventpusher.SessionOpened, func(ev eventpusher.Event) bool { return ev.User == "alice@localhost" && ev.Resource == "phone" })
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	b.Send("<presence><show>away</show><status>lunch</status><priority>3</priority></presence>")
	p := r.wait(eventpusher.Presence, func(ev eventpusher.Event) bool { return ev.User == "bob@localhost" })
	if p.Show != "away" || p.Status != "lunch" || p.Available == nil || !*p.Available || p.Priority == nil || *p.Priority != 3 {
		t.Fatalf("presence event: %+v", p)
	}
	a.Send("<message to='bob@localhost' type='chat' id='m1'><body>hi bob</body></message>")
	sent := r.wait(eventpusher.MessageSent, nil)
	if sent.User != "alice@localhost" || sent.From != "alice@localhost/phone" || sent.To != "bob@localhost" || sent.Body != "hi bob" || sent.MessageID != "m1" || sent.Type != "chat" {
		t.Fatalf("message_sent: %+v", sent)
	}
	got := r.wait(eventpusher.MessageReceived, nil)
	if got.User != "bob@localhost" || got.Body != "hi bob" {
		t.Fatalf("message_received: %+v", got)
	}
	// A chat state is not a message event.
	a.Send("<message to='bob@localhost' type='chat' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	a.Close()
	r.wait(eventpusher.SessionClosed, func(ev eventpusher.Event) bool { return ev.User == "alice@localhost" })
	if err := s.Core().RemoveUser(t.Context(), mustJID(t, "alice@localhost")); err != nil {
		t.Fatal(err)
	}
	r.wait(eventpusher.UserRemoved, func(ev eventpusher.Event) bool { return ev.User == "alice@localhost" })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		if ev.MessageID == "cs" {
			t.Fatalf("chat state became an event: %+v", ev)
		}
	}
	if r.bad != 0 {
		t.Fatalf("%d deliveries with a bad signature", r.bad)
	}
}

// Events are retried while the receiver is down and delivered, once and
// in order, when it is back: first connections die without an answer,
// then it answers 503.
func TestEventPusherRetries(t *testing.T) {
	r := &receiver{t: t, secret: "s3cret", drop: true}
	hs := httptest.NewServer(r)
	defer hs.Close()
	s := pusherServer(t, hs.URL+"/hook")
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<message to='bob@localhost' type='chat' id='while-dropping'><body>1</body></message>")
	waitTries := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			r.mu.Lock()
			tries := r.tries
			r.mu.Unlock()
			if tries >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d tries, want %d", tries, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitTries(3)
	r.mu.Lock()
	r.drop, r.down = false, true
	r.mu.Unlock()
	a.Send("<message to='bob@localhost' type='chat' id='while-503'><body>2</body></message>")
	waitTries(6)
	r.setDown(false)
	first := r.wait(eventpusher.MessageSent, func(ev eventpusher.Event) bool { return ev.MessageID == "while-dropping" })
	second := r.wait(eventpusher.MessageSent, func(ev eventpusher.Event) bool { return ev.MessageID == "while-503" })
	r.mu.Lock()
	defer r.mu.Unlock()
	n, iFirst, iSecond := 0, -1, -1
	for i, ev := range r.events {
		if ev.ID == first.ID {
			n++
			iFirst = i
		}
		if ev.ID == second.ID {
			iSecond = i
		}
	}
	if n != 1 || iFirst > iSecond {
		t.Fatalf("delivered %d times, order %d/%d: %+v", n, iFirst, iSecond, r.events)
	}
}

func TestEventPusherBadConfig(t *testing.T) {
	for _, c := range []struct{ extra, want string }{
		{"[[modules.event_pusher.endpoints]]\nurl = \"ftp://x\"\nsecret = \"s\"\n", "endpoints[0].url"},
		{"[[modules.event_pusher.endpoints]]\nurl = \"http://127.0.0.1:1/\"\n", "endpoints[0].secret"},
		{"[[modules.event_pusher.endpoints]]\nurl = \"http://127.0.0.1:1/\"\nsecret = \"s\"\nevents = [\"nope\"]\n", "endpoints[0].events"},
		{"[modules.event_pusher]\nretry_initial = \"soon\"\n", "retry_initial"},
	} {
		cfg := testConfig(t, c.extra)
		_, err := node.Modules(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %s", c.extra, err, c.want)
		}
	}
}
