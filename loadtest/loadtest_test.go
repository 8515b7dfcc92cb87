package loadtest_test

import (
	"context"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/loadtest"
)

func server(t *testing.T) *xmpptest.Server {
	cfg := xmpptest.Config(t)
	s := xmpptest.Start(t, cfg)
	for _, u := range []string{"load0", "load1", "load2", "load3", "load4", "load5"} {
		s.AddUser(t, u, "secret")
	}
	return s
}

func TestLoginStorm(t *testing.T) {
	s := server(t)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 6, Every: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 6 || res.Auth.Count != 6 || res.Connect.Count != 6 || res.LoginsPerSec <= 0 || len(res.Errors) != 0 {
		t.Fatalf("%+v", res)
	}
	// Direct TLS and SCRAM too.
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.TLS, Domain: "localhost", Transport: "tls", Mechanism: "SCRAM-SHA-256", Scenario: "login", Users: 3,
	})
	if err != nil || res.Connected != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	// A wrong password is counted, not fatal.
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, Password: "wrong",
	})
	if err != nil || res.Connected != 0 || res.Errors["auth"] != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestChatCountsAddUp(t *testing.T) {
	s := server(t)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 6, RosterSize: 2,
		Rate: 500, Duration: time.Second, Drain: 500 * time.Millisecond, Every: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MessagesSent < 400 || res.MessagesSent != res.MessagesReceived || res.Latency.Count != res.MessagesReceived {
		t.Fatalf("sent %d received %d latency count %d", res.MessagesSent, res.MessagesReceived, res.Latency.Count)
	}
	var series int64
	for _, p := range res.Series {
		series += p.Received
	}
	if series < res.MessagesReceived {
		t.Fatalf("series holds %d of %d", series, res.MessagesReceived)
	}
}

// delayProxy forwards TCP both ways, holding each server-to-client chunk
// for delay before passing it on (in order).
func delayProxy(t *testing.T, target string, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				type chunk struct {
					b  []byte
					at time.Time
				}
				q := make(chan chunk, 4096)
				var once sync.Once
				go func() {
					for ch := range q {
						time.Sleep(time.Until(ch.at))
						if _, err := c.Write(ch.b); err != nil {
							break
						}
					}
					once.Do(func() { c.Close() })
				}()
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						q <- chunk{append([]byte(nil), buf[:n]...), time.Now().Add(delay)}
					}
					if err != nil {
						close(q)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestReportsInjectedDelay: the latencies the harness reports follow a
// delay injected on the server-to-client path.
func TestReportsInjectedDelay(t *testing.T) {
	s := server(t)
	const delay = 40 * time.Millisecond
	addr := delayProxy(t, s.C2S, delay)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: addr, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 100, Duration: time.Second, Drain: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Latency
	if l.Count < 50 || l.P50 < 40 || l.P50 > 40+60 || l.Max < 40 {
		t.Fatalf("latency with %v injected: %+v", delay, l)
	}
	// Every step of the login that waits for the server includes the delay.
	if res.TLS.P50 < 40 || res.Auth.P50 < 40 {
		t.Fatalf("TLS %+v auth %+v", res.TLS, res.Auth)
	}
	// Without the proxy the same run is far faster: the delay is what we saw.
	direct, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 100, Duration: 500 * time.Millisecond, Drain: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if direct.Latency.P50 >= 20 {
		t.Fatalf("direct p50 %.2f ms", direct.Latency.P50)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []loadtest.Config{
		{Domain: "localhost", Scenario: "chat", Users: 1},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "nope", Users: 1},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 0},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 1, UsersFrom: "carrier-pigeon"},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 1, UsersFrom: "file:/nonexistent"},
	} {
		if _, err := loadtest.Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	// An unreachable server is counted as connect errors.
	res, err := loadtest.Run(context.Background(), loadtest.Config{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "login", Users: 2})
	if err != nil || res.Errors["connect"] != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

// TestUserSources: in-band registration and a users file.
func TestUserSources(t *testing.T) {
	s := xmpptest.Start(t, nil)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 3, UserPrefix: "ibr", UsersFrom: "ibr",
	})
	if err != nil || res.Connected != 3 {
		t.Fatalf("ibr: %v %+v", err, res)
	}
	f := t.TempDir() + "/users.txt"
	if err := os.WriteFile(f, []byte("# accounts\nibr0@localhost secret\nibr2@localhost secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, UsersFrom: "file:" + f,
	})
	if err != nil || res.Connected != 2 {
		t.Fatalf("file: %v %+v", err, res)
	}
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, UserPrefix: "adm",
		UsersFrom: "admin:" + s.Config.Node.DataDir + "/admin.sock",
	})
	if err != nil || res.Connected != 2 {
		t.Fatalf("admin: %v %+v", err, res)
	}
}
