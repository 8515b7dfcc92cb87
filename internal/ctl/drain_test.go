package ctl_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// TestDrain: `drain` over --url checks the node's name, starts the drain
// with the given options, and the node's client goes to the named edge.
func TestDrain(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	cfg := xmpptest.Config(t)
	cfg.Node.Name = "edge-a"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Admin.Tokens = []string{token}
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	remote := []string{"--url=http://" + s.Addrs("admin")[0].String(), "--token=" + token}

	for _, bad := range [][]string{
		{"drain", "--timeout=soon"},
		{"drain", "--timeout=0s"},
		{"drain", "--period=-1s"},
		{"drain", "edge-a", "edge-b"},
		{"drain", "--frobnicate"},
	} {
		if code, _, e := run(t, "", append(remote, bad...)...); code != 2 {
			t.Errorf("%v: %d %q, want usage error", bad, code, e)
		}
	}
	if code, _, e := run(t, "", append(remote, "drain", "edge-b")...); code != 1 || !strings.Contains(e, `reached is "edge-a", not "edge-b"`) {
		t.Fatalf("drain of the wrong node: %d %q", code, e)
	}
	if s.Draining() {
		t.Fatal("a refused command started a drain")
	}
	// --json prints the drain's state only (the name check's answer is
	// not output), and the drain starts.
	code, out, e := run(t, "", append(remote, "--json", "drain", "--timeout=2m", "--period=0s", "--to=edge-b.example.net:5222", "edge-a")...)
	var st admin.DrainState
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Draining || st.Streams != 1 || len(st.Redirect) != 1 || st.Redirect[0] != "edge-b.example.net:5222" {
		t.Fatalf("drain --json: %d %q %q", code, out, e)
	}
	// Again, as a table: the drain under way.
	code, out, e = run(t, "", append(remote, "drain", "edge-a")...)
	if code != 0 || !strings.Contains(out, "<see-other-host/> to edge-b.example.net:5222") || !strings.Contains(out, "streams left") {
		t.Fatalf("drain: %d %q %q", code, out, e)
	}
	a.Net.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		el, err := a.TryNext()
		if err != nil {
			t.Fatalf("no stream error: %v", err)
		}
		if el.Local == "error" {
			if !strings.Contains(el.String(), ">edge-b.example.net:5222</see-other-host>") {
				t.Fatalf("stream error %s", el)
			}
			break
		}
	}
	select {
	case <-s.Drained():
	case <-time.After(30 * time.Second):
		t.Fatal("not drained")
	}
	// Again, over the socket: the drain under way, reported.
	code, out, e = run(t, "", "--data-dir="+cfg.Node.DataDir, "drain")
	if code != 0 || !strings.Contains(out, "0 streams left") || !strings.Contains(out, "edge-b.example.net:5222") {
		t.Fatalf("second drain: %d %q %q", code, out, e)
	}
	if code, out, _ := run(t, "", append(remote, "status")...); code != 0 || !strings.Contains(out, "draining:") {
		t.Fatalf("status: %d %q", code, out)
	}
}
