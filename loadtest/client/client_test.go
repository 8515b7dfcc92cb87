package client_test

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/internal/fakexmpp"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func fake(t *testing.T) (*fakexmpp.Server, string, string) {
	t.Helper()
	f, err := fakexmpp.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go f.ServeTLS(ln)
	web := httptest.NewServer(f.WebSocket())
	t.Cleanup(web.Close)
	return f, ln.Addr().String(), "ws" + strings.TrimPrefix(web.URL, "http") + "/xmpp-websocket"
}

// TestWebSocket logs two users in over RFC 7395 and passes a message.
func TestWebSocket(t *testing.T) {
	_, _, url := fake(t)
	ctx := context.Background()
	dial := func(user string) *client.Conn {
		c, err := client.Dial(ctx, client.Options{Domain: "localhost", Transport: client.WebSocket, WSURL: url, User: user, Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	if bob.JID != "bob@localhost/load" || bob.Timings.Connect <= 0 || bob.Timings.TLS != 0 || bob.Timings.Auth <= 0 {
		t.Fatalf("%s %+v", bob.JID, bob.Timings)
	}
	got := make(chan string, 1)
	go bob.Serve(func(raw *xmltok.Raw) {
		if raw.Local == "message" {
			got <- raw.ID
		}
	})
	served := make(chan error, 1)
	go func() { served <- alice.Serve(func(*xmltok.Raw) {}) }()
	if err := alice.Ping(ctx); err != nil { // a request answered over WebSocket
		t.Fatal(err)
	}
	alice.Send([]byte("<message xmlns='jabber:client' to='bob@localhost' id='m1'><body>hi</body></message>"))
	alice.Flush()
	select {
	case id := <-got:
		if id != "m1" {
			t.Fatalf("id %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message over WebSocket")
	}
	alice.Close()
	if err := <-served; err != nil {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestWebSocketRefusedUpgrade: no WebSocket endpoint is a counted
// connect error naming the HTTP status.
func TestWebSocketRefusedUpgrade(t *testing.T) {
	s := httptest.NewServer(nil) // 404 everywhere
	defer s.Close()
	_, err := client.Dial(context.Background(), client.Options{Domain: "localhost", Transport: client.WebSocket, WSURL: "ws" + strings.TrimPrefix(s.URL, "http"), User: "u"})
	var e *client.Error
	if !errors.As(err, &e) || e.Key() != "connect:http-404" {
		t.Fatalf("%v", err)
	}
}

// TestSessionWhenRequired: the legacy session IQ is sent only when the
// feature lacks <optional/> (RFC 3921 §3, as Prosody and ejabberd may
// advertise it).
func TestSessionWhenRequired(t *testing.T) {
	f, addr, _ := fake(t)
	c, err := client.Dial(context.Background(), client.Options{Addr: addr, Domain: "localhost", Transport: client.DirectTLS, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := f.Sessions.Load(); n != 0 {
		t.Fatalf("%d session IQs for an optional session", n)
	}
	f.RequireSession = true
	c, err = client.Dial(context.Background(), client.Options{Addr: addr, Domain: "localhost", Transport: client.DirectTLS, User: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := f.Sessions.Load(); n != 1 {
		t.Fatalf("%d session IQs for a required session", n)
	}
}

func TestQUIC(t *testing.T) {
	_, err := client.Dial(context.Background(), client.Options{Addr: "127.0.0.1:1", Domain: "localhost", Transport: client.QUIC})
	if !errors.Is(err, client.ErrNoQUIC) || !strings.Contains(err.Error(), "server does not offer QUIC") {
		t.Fatalf("%v", err)
	}
}

// TestMeridian: every mechanism over both TCP transports against a real
// Meridian, the server's pings answered, errors classified.
func TestMeridian(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "secret")
	ctx := context.Background()
	for _, tr := range []struct{ transport, addr string }{{client.StartTLS, s.C2S}, {client.DirectTLS, s.TLS}} {
		for _, mech := range client.Mechanisms {
			c, err := client.Dial(ctx, client.Options{Addr: tr.addr, Domain: "localhost", Transport: tr.transport, User: "alice", Password: "secret", Mechanism: mech, Resource: "r1"})
			if err != nil {
				t.Fatalf("%s %s: %v", tr.transport, mech, err)
			}
			if c.JID != "alice@localhost/r1" || c.Timings.TLS <= 0 {
				t.Fatalf("%s %s: %s %+v", tr.transport, mech, c.JID, c.Timings)
			}
			var n atomic.Int32
			go c.Serve(func(*xmltok.Raw) { n.Add(1) })
			if err := c.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	}
	_, err := client.Dial(ctx, client.Options{Addr: s.C2S, Domain: "localhost", User: "alice", Password: "nope", Mechanism: "SCRAM-SHA-1"})
	if k := client.Key("connect", err); k != "auth:not-authorized" {
		t.Fatalf("wrong password: %s (%v)", k, err)
	}
	_, err = client.Dial(ctx, client.Options{Addr: s.C2S, Domain: "elsewhere.example", User: "alice", Password: "secret"})
	if k := client.Key("connect", err); k != "stream:host-unknown" {
		t.Fatalf("unknown host: %s (%v)", k, err)
	}
	// An id from the server reaches Request's caller, not the handler.
	c, err := client.Dial(ctx, client.Options{Addr: s.C2S, Domain: "localhost", User: "alice", Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var leaked atomic.Int32
	go c.Serve(func(raw *xmltok.Raw) {
		if raw.Local == "iq" {
			leaked.Add(1)
		}
	})
	id := c.NewID()
	el, err := c.Request(ctx, id, []byte("<iq xmlns='jabber:client' type='get' id='"+id+"'><query xmlns='jabber:iq:roster'/></iq>"))
	if err != nil || el.Attr("type") != "result" || leaked.Load() != 0 {
		t.Fatalf("%v %v %d", el, err, leaked.Load())
	}
}
