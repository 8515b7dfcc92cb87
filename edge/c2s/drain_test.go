package c2s

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// TestDrainRefuses: a drain closes the listeners, closes a stream still
// negotiating, refuses any stream handed over later, and returns once no
// stream is left; a second drain and a Shutdown after it are no-ops.
func TestDrainRefuses(t *testing.T) {
	srv := New(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln, false) }()
	negotiating, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer negotiating.Close()
	for deadline := time.Now().Add(10 * time.Second); srv.Count() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams", srv.Count())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Drain(ctx, DrainOptions{Period: time.Second, Redirect: []string{"edge2:5222"}}); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if !srv.Draining() || srv.Count() != 0 {
		t.Fatalf("draining %v, %d streams", srv.Draining(), srv.Count())
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after drain: %v", err)
	}
	negotiating.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(negotiating); err != nil {
		t.Fatalf("negotiating stream not closed: %v", err)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts")
	}
	// Streams handed over by a transport (WebSocket, BOSH) are refused.
	client, server := net.Pipe()
	srv.ServeTransport(server, Transport{Name: "websocket"})
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("transport stream while draining: %v, want EOF", err)
	}
	if srv.Count() != 0 {
		t.Fatalf("%d streams", srv.Count())
	}
	// A listener handed over later is closed at once.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := srv.Serve(ln2, true); err != net.ErrClosed {
		t.Fatalf("Serve while draining: %v", err)
	}
	if err := srv.Drain(ctx, DrainOptions{}); err != nil {
		t.Fatalf("second drain: %v", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown after drain: %v", err)
	}
	if err := srv.Drain(ctx, DrainOptions{}); err != nil {
		t.Fatalf("drain after shutdown: %v", err)
	}
}

// TestDrainStopsOnShutdown: a Shutdown during a drain's period makes the
// drain return at once.
func TestDrainStopsOnShutdown(t *testing.T) {
	srv := New(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	var conns []net.Conn
	for range 3 {
		client, server := net.Pipe()
		conns = append(conns, client)
		srv.ServeConn(server, false)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() { done <- srv.Drain(ctx, DrainOptions{Period: time.Hour}) }()
	// The first batch is ended at once; the next waits 20 minutes.
	for deadline := time.Now().Add(10 * time.Second); srv.Count() != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams", srv.Count())
		}
	}
	srv.Shutdown(ctx)
	select {
	case err := <-done:
		if err != ErrShutDown {
			t.Fatalf("drain cut short by Shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("drain still waiting after Shutdown")
	}
}

// TestSeeOtherHost: the condition element carries the other host.
func TestSeeOtherHost(t *testing.T) {
	for _, c := range []struct {
		e    stanza.StreamError
		want string
	}{
		{stanza.StreamError{Condition: stanza.SeeOtherHost, Host: "edge2.example.net:5222"},
			"<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>edge2.example.net:5222</see-other-host></stream:error>"},
		{stanza.StreamError{Condition: stanza.SeeOtherHost, Host: "[2001:db8::1]:5222"},
			"<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::1]:5222</see-other-host></stream:error>"},
		{stanza.StreamError{Condition: stanza.SeeOtherHost, Host: "a<b"},
			"<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>a&lt;b</see-other-host></stream:error>"},
		{stanza.StreamError{Condition: stanza.SystemShutdown},
			"<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"},
	} {
		if got := string(c.e.Append(nil)); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
