package node_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// streamError reads until the stream error and returns it.
func streamError(t *testing.T, c *xmpptest.Conn) string {
	t.Helper()
	return c.EndedWith()
}

// waitDrained waits, with a generous deadline, for the node to report drained.
func waitDrained(t *testing.T, n interface{ Drained() <-chan struct{} }) {
	t.Helper()
	select {
	case <-n.Drained():
	case <-time.After(30 * time.Second):
		t.Fatal("not drained")
	}
}

func startDrainNode(t *testing.T) (*xmpptest.Server, *adminClient, *contract) {
	c := newContract(t)
	s, _, local := startAdminNode(t, c)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.AddUser(t, u, "pw")
	}
	return s, local, c
}

// TestDrain: POST /v1/drain stops the node taking clients (new TCP
// connections are refused, /readyz answers 503), sends every client to
// the other edge with <see-other-host/>, spread over the period, ends the
// stream-managed session rather than keeping it for a resumption, and
// reports the node drained.
func TestDrain(t *testing.T) {
	s, api, _ := startDrainNode(t)
	clients := []*xmpptest.Conn{
		xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a"),
		xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b"),
	}
	carol, id := smLogin(t, s, "carol", "c", true)
	if id == "" {
		t.Fatal("carol's session is not resumable")
	}
	clients = append(clients, carol.Conn)
	if n := s.Core().SessionCount(); n != 3 {
		t.Fatalf("%d sessions before the drain", n)
	}
	if code, _ := get(t, "http://"+s.HTTP+"/readyz"); code != 200 {
		t.Fatalf("readyz before the drain: %d", code)
	}

	// Bad input first: nothing starts.
	for _, body := range []map[string]any{
		{"timeout": "soon"}, {"timeout": "0s"}, {"timeout": "-1m"}, {"period": "-1s"},
		{"redirect": []string{"edge 2"}}, {"redirect": []string{""}}, {"wait": true},
	} {
		if r := api.do("POST", "/v1/drain", body); r.code != 400 {
			t.Errorf("drain %v: %d %s, want 400", body, r.code, r.body)
		}
	}
	if s.Draining() {
		t.Fatal("a refused request started a drain")
	}

	start := time.Now()
	var st admin.DrainState
	api.expect(200, "POST", "/v1/drain", map[string]any{"timeout": "1m", "period": "600ms", "redirect": []string{"edge2.example.net:5222"}}).decode(t, &st)
	if !st.Draining || st.Drained || st.Period != "600ms" || len(st.Redirect) != 1 || st.Deadline.Sub(st.Since) != time.Minute {
		t.Fatalf("drain state %+v", st)
	}
	// Refused from the answer on: the c2s and direct TLS listeners are closed.
	for _, a := range []string{s.C2S, s.TLS} {
		if c, err := net.DialTimeout("tcp", a, 5*time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections while draining", a)
		}
	}
	if code, _ := get(t, "http://"+s.HTTP+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining: %d", code)
	}
	var status admin.Status
	api.expect(200, "GET", "/v1/status", nil).decode(t, &status)
	if !status.Draining {
		t.Error("status does not say draining")
	}
	// Twice: the drain under way, unchanged.
	var again admin.DrainState
	api.expect(200, "POST", "/v1/drain", map[string]any{"timeout": "2h"}).decode(t, &again)
	if !again.Deadline.Equal(st.Deadline) || again.Period != st.Period {
		t.Errorf("second drain changed it: %+v, first %+v", again, st)
	}

	for i, c := range clients {
		if got := streamError(t, c); got != "see-other-host edge2.example.net:5222" {
			t.Errorf("client %d: %s", i, got)
		}
	}
	waitDrained(t, s)
	// Three streams over 600ms: the last batch starts 400ms in.
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("drained in %s: the ends were not spread over the period", d)
	}
	if st := s.DrainState(); !st.Drained || st.Streams != 0 {
		t.Errorf("after drain: %+v", st)
	}
	// Carol's session was not kept for a resumption.
	deadline := time.Now().Add(10 * time.Second)
	for s.Core().SessionCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left after the drain", s.Core().SessionCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown after the drain: %v", err)
	}
}

// TestDrainWithoutRedirect: with no other edge named, clients get
// <system-shutdown/>; streams that outlive the timeout are ended.
func TestDrainWithoutRedirect(t *testing.T) {
	s, api, _ := startDrainNode(t)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	// A client still negotiating is closed too.
	raw := xmpptest.Dial(t, s.C2S, "localhost")
	raw.Open()
	api.expect(200, "POST", "/v1/drain", map[string]any{"timeout": "30s", "period": "0s"})
	if got := streamError(t, a); got != "system-shutdown" {
		t.Errorf("client: %s", got)
	}
	raw.Net.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [512]byte
	for {
		if _, err := raw.Net.Read(b[:]); err != nil {
			break
		}
	}
	waitDrained(t, s)
}

// TestDrainPeriodOverTimeout: a period longer than the timeout is cut to
// it; Drain called directly (as cmd/meridian's exit path sees it) reports
// drained, and a drain after that is a no-op.
func TestDrainPeriodOverTimeout(t *testing.T) {
	s, _, _ := startDrainNode(t)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	if _, err := s.Drain(200*time.Millisecond, time.Hour, []string{"edge2:5222"}); err != nil {
		t.Fatal(err)
	}
	if got := streamError(t, a); got != "see-other-host edge2:5222" {
		t.Errorf("client: %s", got)
	}
	waitDrained(t, s)
	st, err := s.Drain(time.Minute, 0, nil)
	if err != nil || !st.Drained || st.Period != "200ms" {
		t.Errorf("drain after drained: %+v %v", st, err)
	}
}

// TestDrainSplitRoles: an edge-only node drains through its admin API
// (it has no core, but drain is its own business) and its sessions end on
// the core; a core-only node has no client to drain: 409.
func TestDrainSplitRoles(t *testing.T) {
	c := newContract(t)
	caDir := filepath.Join(t.TempDir(), "ca")
	ccfg := coreConfig(t, "core-1", caDir, t.TempDir(), "127.0.0.1:0")
	core := startNode(t, ccfg)
	addUsers(t, core, "alice", "bob")
	ecfg := edgeConfig(t, "edge-1", caDir, core.Addrs("link")[0].String())
	edge := edgeServer(t, ecfg)
	a := xmpptest.Login(t, edge.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, edge.C2S, "localhost", "bob", "secret", "b")
	xmpptest.Eventually(t, "two sessions on the core", func() bool { return core.Core().SessionCount() == 2 })

	if r := adminOn(t, c, ccfg.Node.DataDir).do("POST", "/v1/drain", map[string]any{}); r.code != http.StatusConflict {
		t.Errorf("drain a core-only node: %d %s, want 409", r.code, r.body)
	}
	api := adminOn(t, c, ecfg.Node.DataDir)
	api.expect(200, "POST", "/v1/drain", map[string]any{"period": "100ms", "redirect": []string{"edge-2.example.net"}})
	for _, cl := range []*xmpptest.Conn{a, b} {
		if got := streamError(t, cl); got != "see-other-host edge-2.example.net" {
			t.Errorf("client: %s", got)
		}
	}
	waitDrained(t, edge)
	xmpptest.Eventually(t, "no session left on the core", func() bool { return core.Core().SessionCount() == 0 })
}
