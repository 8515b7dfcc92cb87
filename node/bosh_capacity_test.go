package node_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// TestBOSHHeldSessionsCapacity opens MERIDIAN_BOSH_SESSIONS BOSH sessions
// (created: stream features received, SASL not started; with
// MERIDIAN_BOSH_LOGIN=1 authenticated with SCRAM-SHA-1 and bound, each a
// resource of one account) over loopback
// HTTP, each with one long-poll held by the node, and reports the heap,
// goroutines and RSS they cost per session. The held requests are written
// on raw TCP connections that nobody reads, so the client side costs a
// socket and no goroutine. See docs/benchmarks.md, "BOSH".
func TestBOSHHeldSessionsCapacity(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MERIDIAN_BOSH_SESSIONS"))
	if n <= 0 {
		t.Skip("set MERIDIAN_BOSH_SESSIONS=N")
	}
	cfg := xmpptest.Config(t)
	long := config.Duration{Duration: 10 * time.Minute}
	cfg.Web.BOSH.MaxWait, cfg.Web.BOSH.Inactivity, cfg.C2S.HandshakeTimeout = long, long, long
	srv := xmpptest.Start(t, cfg)
	login := os.Getenv("MERIDIAN_BOSH_LOGIN") != ""
	if login {
		srv.AddUser(t, "u", "pw")
	}
	url := "http://" + srv.Web + "/http-bind"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

	before := sample()
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				c := &boshClient{t: t, url: url, hc: hc}
				c.rid.Store(int64(1000 + i))
				if login {
					c.login("localhost", "u", "pw", "r"+strconv.Itoa(i), 600)
				} else {
					c.create("localhost", 600, 1)
				}
				conn, err := net.Dial("tcp", srv.Web)
				if err != nil {
					t.Errorf("session %d: %v", i, err)
					continue
				}
				body := fmt.Sprintf("<body xmlns='%s' rid='%d' sid='%s'/>", nsBind, c.rid.Load()+1, c.sid)
				fmt.Fprintf(conn, "POST /http-bind HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s", srv.Web, len(body), body)
				conns[i] = conn
			}
		})
	}
	start := time.Now()
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	hc.CloseIdleConnections()
	time.Sleep(2 * time.Second) // the last held requests arrive
	after := sample()
	t.Logf("%d sessions (logged in: %v) with a held request in %v; bound sessions: %d", n, login, time.Since(start).Round(time.Millisecond), srv.Core().SessionCount())
	t.Logf("per session: heap %.1f KB, stacks %.1f KB, goroutines %.2f, RSS %.1f KB (the test's client sockets included)",
		(float64(after.heap)-float64(before.heap))/float64(n)/1024, (float64(after.stack)-float64(before.stack))/float64(n)/1024,
		float64(after.goroutines-before.goroutines)/float64(n), (float64(after.rss)-float64(before.rss))/float64(n)/1024)
	for _, c := range conns {
		c.Close()
	}
}
