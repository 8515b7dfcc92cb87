package bosh

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/edge/c2s"
)

func post(h *Handler, ctx context.Context, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/http-bind", strings.NewReader(body)).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const features = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' version='1.0'><stream:features/>"

const createBody = "<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='example.com' wait='30' hold='1' ver='1.11'/>"

func createSID(t *testing.T, h *Handler) string {
	t.Helper()
	w := post(h, context.Background(), createBody)
	i := strings.Index(w.Body.String(), "sid='")
	if i < 0 {
		t.Fatalf("creation: %d %s", w.Code, w.Body)
	}
	return w.Body.String()[i+5 : i+5+32]
}

// heldCount waits until the session holds n requests.
func waitHeld(t *testing.T, h *Handler, sid string, n int) *session {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		h.mu.RLock()
		s := h.sessions[sid]
		h.mu.RUnlock()
		if s == nil {
			t.Fatal("session ended")
		}
		s.mu.Lock()
		held := len(s.held)
		s.mu.Unlock()
		if held >= n {
			return s
		}
	}
	t.Fatalf("never %d held requests", n)
	return nil
}

// A session is complete before the sweeper can see it: with a sweeper
// ticking constantly, every creation request is answered.
func TestCreateRacesSweeper(t *testing.T) {
	h := New(Options{
		Serve:   func(c net.Conn, _ c2s.Transport) { c.Write([]byte(features)) },
		MaxWait: 30 * time.Second, MaxHold: 1, MaxRequests: 2,
		Inactivity: time.Minute, MaxSessions: 1 << 20,
		Tick: 20 * time.Microsecond,
	})
	defer h.Close()
	var mu sync.Mutex
	hung := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				w := post(h, ctx, createBody)
				cancel()
				if w.Header().Get("Content-Length") == "" {
					mu.Lock()
					hung++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if hung > 0 {
		t.Fatalf("%d of 4000 creation requests never answered", hung)
	}
}

// A client that sends faster than its stream reads (on TCP the socket
// would slow it down) ends with policy-violation before the unread input
// passes the bound.
func TestUnreadInputBounded(t *testing.T) {
	h := New(Options{
		Serve:   func(c net.Conn, _ c2s.Transport) { c.Write([]byte(features)) }, // never reads
		MaxWait: 30 * time.Second, MaxHold: 1, MaxRequests: 2,
		Inactivity: time.Minute, MaxSessions: 10,
	})
	defer h.Close()
	sid := createSID(t, h)
	payload := "<message xmlns='jabber:client' to='a@example.com'><body>" + strings.Repeat("x", 200<<10) + "</body></message>"
	answers := make(chan string, 100)
	for rid := 2; rid < 100; rid++ {
		go func() {
			w := post(h, context.Background(), fmt.Sprintf("<body xmlns='http://jabber.org/protocol/httpbind' rid='%d' sid='%s'>%s</body>", rid, sid, payload))
			answers <- w.Body.String()
		}()
		// Each request is held until the next one arrives; the one that
		// breaks the bound is answered with the terminal condition.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			h.mu.RLock()
			s := h.sessions[sid]
			h.mu.RUnlock()
			if s == nil {
				for range rid - 1 {
					if a := <-answers; strings.Contains(a, "condition='policy-violation'") {
						if rid*len(payload) > 2*h.maxQueue {
							t.Fatalf("ended only after %d requests (%d bytes)", rid, rid*len(payload))
						}
						return
					}
				}
				t.Fatal("session ended without policy-violation")
			}
			s.mu.Lock()
			held := len(s.held) > 0 && s.held[len(s.held)-1].rid == int64(rid)
			s.mu.Unlock()
			if held {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("request %d neither held nor refused", rid)
			}
		}
	}
	t.Fatal("a client the stream never reads was never stopped")
}

// An element larger than the output bound goes out at once in a held
// request instead of ending the stream as a slow consumer.
func TestLargeElementWithHeldRequest(t *testing.T) {
	conns := make(chan net.Conn, 1)
	h := New(Options{
		Serve: func(c net.Conn, _ c2s.Transport) {
			c.Write([]byte(features))
			conns <- c
		},
		MaxWait: 30 * time.Second, MaxHold: 1, MaxRequests: 2,
		Inactivity: time.Minute, MaxSessions: 10,
	})
	defer h.Close()
	sid := createSID(t, h)
	c := <-conns
	res := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		res <- post(h, context.Background(), "<body xmlns='http://jabber.org/protocol/httpbind' rid='2' sid='"+sid+"'/>")
	}()
	waitHeld(t, h, sid, 1)
	big := "<iq xmlns='jabber:client' type='result' id='r'><query xmlns='jabber:iq:roster'>" + strings.Repeat("<item jid='a@b' name='"+strings.Repeat("n", 1000)+"'/>", 1100) + "</query></iq>"
	if len(big) <= h.maxQueue {
		t.Fatalf("element of %d bytes does not exceed the bound %d", len(big), h.maxQueue)
	}
	if _, err := c.Write([]byte(big)); err != nil {
		t.Fatalf("write with a request held: %v", err)
	}
	if r := <-res; r.Body.Len() < len(big) || !strings.Contains(r.Body.String(), "jabber:iq:roster") {
		t.Fatalf("held request answered with %d bytes", r.Body.Len())
	}
}
