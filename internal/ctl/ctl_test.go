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

// TestVerbs: the session, send, domains, status and mesh commands against
// a running node, over its socket and over --url with a token.
func TestVerbs(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	cfg := xmpptest.Config(t)
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Admin.Tokens = []string{token}
	cfg.Node.Name = "n1"
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	url := "http://" + s.Addrs("admin")[0].String()
	for _, tc := range []struct {
		name   string
		target []string
	}{
		{"socket", []string{"--data-dir=" + cfg.Node.DataDir}},
		{"url", []string{"--url=" + url, "--token=" + token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctl := func(stdin string, args ...string) string {
				t.Helper()
				code, out, e := run(t, stdin, append(append([]string{}, tc.target...), args...)...)
				if code != 0 {
					t.Fatalf("%v: %d %s", args, code, e)
				}
				return out
			}
			a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "phone")
			b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "r")
			if out := ctl("", "session", "list"); !strings.Contains(out, "alice@localhost/phone") || !strings.Contains(out, "bob@localhost/r") || !strings.HasPrefix(out, "JID") {
				t.Fatalf("session list:\n%s", out)
			}
			if out := ctl("", "session", "list", "bob@localhost"); strings.Contains(out, "alice") || !strings.Contains(out, "bob@localhost/r") {
				t.Fatalf("session list bob:\n%s", out)
			}
			if out := ctl("", "user", "info", "alice@localhost"); !strings.Contains(out, "1 session(s)") {
				t.Fatalf("user info:\n%s", out)
			}
			ctl("", "send", "alice@localhost", "bob@localhost/r", "hello", "there")
			if m := b.Expect("message"); m.Attr("from") != "alice@localhost" || !xmpptest.HasText(m, "hello there") {
				t.Fatalf("got %s", m)
			}
			ctl("<message to='bob@localhost/r'><body>from stdin</body></message>\n", "send", "alice@localhost/phone")
			if m := b.Expect("message"); m.Attr("from") != "alice@localhost/phone" || !xmpptest.HasText(m, "from stdin") {
				t.Fatalf("got %s", m)
			}
			if out := ctl("", "domains"); !strings.Contains(out, "localhost") || !strings.Contains(out, "2") {
				t.Fatalf("domains:\n%s", out)
			}
			if out := ctl("", "status"); !strings.Contains(out, "n1") || !strings.Contains(out, "tcp 2") {
				t.Fatalf("status:\n%s", out)
			}
			if out := ctl("", "mesh", "members"); !strings.Contains(out, "n1") || !strings.Contains(out, "alive") || !strings.Contains(out, s.C2S) {
				t.Fatalf("mesh:\n%s", out)
			}
			if out := ctl("", "--json", "status"); !strings.Contains(out, `"node": "n1"`) {
				t.Fatalf("status --json:\n%s", out)
			}
			if out := ctl("", "session", "kick", "alice@localhost/phone"); !strings.Contains(out, "ended alice@localhost/phone") {
				t.Fatalf("kick: %s", out)
			}
			a.ExpectStreamError("policy-violation")
			if out := ctl("", "session", "kick", "bob@localhost"); !strings.Contains(out, "ended 1 session(s)") {
				t.Fatalf("kick bob: %s", out)
			}
			b.ExpectStreamError("policy-violation")
			if out := ctl("", "session", "list"); strings.Contains(out, "@") {
				t.Fatalf("sessions left:\n%s", out)
			}
			for _, bad := range [][]string{
				{"session", "kick", "alice@localhost/gone"},
				{"send", "nobody@localhost", "bob@localhost", "hi"},
				{"send", "alice@localhost", "<message"},
				{"session", "frob"},
				{"mesh"},
				{"status", "extra"},
			} {
				if code, _, _ := run(t, "", append(append([]string{}, tc.target...), bad...)...); code == 0 {
					t.Errorf("%v succeeded", bad)
				}
			}
		})
	}
	// A wrong token is refused, and the error says so.
	if code, _, e := run(t, "", "--url="+url, "--token=wrong-wrong-wrong-wrong-wrong", "status"); code == 0 || !strings.Contains(e, "invalid token") {
		t.Fatalf("wrong token: %d %q", code, e)
	}
	// The token may come from the environment.
	t.Setenv("MERIDIAN_ADMIN_TOKEN", token)
	if code, out, e := run(t, "", "--url="+url, "user", "list", "localhost"); code != 0 || out != "alice@localhost\nbob@localhost\n" {
		t.Fatalf("token from env: %d %q %q", code, out, e)
	}
}

// TestNoNode: commands other than account commands need a running node.
func TestNoNode(t *testing.T) {
	t.Setenv("MERIDIAN_C2S_LISTEN", "127.0.0.1:0")
	if code, _, e := run(t, "", "--data-dir="+t.TempDir(), "session", "list"); code == 0 || !strings.Contains(e, "no node is running") {
		t.Fatalf("%d %q", code, e)
	}
}
