package ctl_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/internal/ctl"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := ctl.Main("meridianctl", args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestOffline: with no node running, the commands open the store.
func TestOffline(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MERIDIAN_C2S_LISTEN", "127.0.0.1:0")
	t.Setenv("MERIDIAN_C2S_DIRECT_TLS_LISTEN", "127.0.0.1:0")
	t.Setenv("MERIDIAN_HTTP_LISTEN", "127.0.0.1:0")
	d := "--data-dir=" + dir
	if code, out, e := run(t, "", d, "user", "add", "alice@localhost", "pw"); code != 0 || !strings.Contains(out, "created alice@localhost") {
		t.Fatalf("add: %d %q %q", code, out, e)
	}
	if code, _, e := run(t, "secret\n", d, "user", "add", "bob@localhost"); code != 0 {
		t.Fatalf("add from stdin: %d %q", code, e)
	}
	if code, _, e := run(t, "", d, "user", "add", "alice@localhost", "pw"); code == 0 || !strings.Contains(e, "exists") {
		t.Fatalf("duplicate add: %d %q", code, e)
	}
	if code, out, _ := run(t, "", d, "user", "list", "localhost"); code != 0 || out != "alice@localhost\nbob@localhost\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, e := run(t, "", d, "user", "passwd", "bob@localhost", "new"); code != 0 {
		t.Fatalf("passwd: %q", e)
	}
	if code, _, e := run(t, "", d, "user", "remove", "alice@localhost"); code != 0 {
		t.Fatalf("remove: %q", e)
	}
	if code, _, e := run(t, "", d, "user", "remove", "alice@localhost"); code == 0 || !strings.Contains(e, "no such account") {
		t.Fatalf("remove twice: %d %q", code, e)
	}
	for _, bad := range [][]string{
		{"user", "add", "not a jid@@", "pw"},
		{"user", "add", "alice@elsewhere.example", "pw"},
		{"user", "frobnicate", "x"},
		{"user", "add", "carol@localhost", ""},
		{"user"},
	} {
		if code, _, _ := run(t, "", append([]string{d}, bad...)...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}

	// The accounts work on a node started on the same data dir.
	cfg := xmpptest.Config(t)
	cfg.Node.DataDir = dir
	s := xmpptest.Start(t, cfg)
	xmpptest.Login(t, s.C2S, "localhost", "bob", "new", "r")
}

// TestOnline: while a node runs, the commands go through its admin socket
// (the store is locked by the node).
func TestOnline(t *testing.T) {
	s := xmpptest.Start(t, nil)
	d := "--data-dir=" + s.Config.Node.DataDir
	if code, _, e := run(t, "", d, "user", "add", "carol@localhost", "pw"); code != 0 {
		t.Fatalf("add: %q", e)
	}
	c := xmpptest.Login(t, s.C2S, "localhost", "carol", "pw", "r")
	if code, out, _ := run(t, "", d, "user", "list", "localhost"); code != 0 || out != "carol@localhost\n" {
		t.Fatalf("list: %q", out)
	}
	if code, _, e := run(t, "", d, "user", "remove", "carol@localhost"); code != 0 {
		t.Fatalf("remove: %q", e)
	}
	// The removed user's session ends.
	c.ExpectStreamError("not-authorized")
}
