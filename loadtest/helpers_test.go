package loadtest_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// server starts an in-process Meridian with users load0..load(n-1).
func server(t *testing.T, n int) *xmpptest.Server {
	t.Helper()
	return serverWith(t, n, "")
}

// serverWith is server with module tables (e.g. "[modules.mam]\nenabled
// = false") in its config.
func serverWith(t *testing.T, n int, modules string) *xmpptest.Server {
	t.Helper()
	var cfg *config.Config
	if modules != "" {
		var err error
		cfg, err = config.Parse([]byte("[[vhosts]]\ndomain = \"localhost\"\n"+modules), []string{"MERIDIAN_NODE_DATA_DIR=" + t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		cfg.C2S.Listen = []string{"127.0.0.1:0"}
		cfg.C2S.DirectTLSListen = []string{"127.0.0.1:0"}
		cfg.HTTP.Listen = "127.0.0.1:0"
		cfg.Web.TLSListen = nil
	}
	s := xmpptest.Start(t, cfg)
	for i := range n {
		s.AddUser(t, fmt.Sprintf("load%d", i), "secret")
	}
	return s
}

// delayProxy forwards TCP both ways and holds every server-to-client
// chunk for delay before passing it on, in order: a known latency on the
// path to the harness.
func delayProxy(t *testing.T, target string, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
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
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(s, c); s.Close() }()
			go func() {
				defer wg.Done()
				type chunk struct {
					b  []byte
					at time.Time
				}
				q := make(chan chunk, 1<<14)
				go func() {
					defer c.Close()
					for ch := range q {
						time.Sleep(time.Until(ch.at))
						if _, err := c.Write(ch.b); err != nil {
							for range q {
							}
							return
						}
					}
				}()
				buf := make([]byte, 64<<10)
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

// slowDial is a dialer that waits before connecting: a known delay on the
// TCP connect path, which a user-space proxy cannot add (the kernel
// completes the handshake before accept).
func slowDial(delay time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		time.Sleep(delay)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}
