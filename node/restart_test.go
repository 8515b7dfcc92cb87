package node_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

const crashChildEnv = "MERIDIAN_TEST_CRASH_CHILD_DIR"

// TestRestartAfterKill: accounts, rosters, vCards, private XML and
// blocklists written through the protocol survive kill -9 of the node
// and a restart on the same data directory.
func TestRestartAfterKill(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRestartAfterKill$", "-test.v")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "CHILD READY") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("child exited before it was ready")
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child not ready")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	cfg := xmpptest.Config(t)
	cfg.Node.DataDir = dir
	s := xmpptest.Start(t, cfg)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "alicepw", "again")
	a.Send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
	r := a.Expect("iq")
	it := r.Child("jabber:iq:roster", "query").Child("", "item")
	if it == nil || it.Attr("jid") != "bob@localhost" || it.Attr("name") != "Bob" || it.Child("", "group").Text != "Friends" {
		t.Fatalf("roster after restart: %s", r)
	}
	// vCard, private XML and blocklist (the userdata store) too.
	r = iq(t, a, "v", "type='get'", "<vCard xmlns='vcard-temp'/>")
	if fn := r.Child(vcardNS, "vCard").Child(vcardNS, "FN"); fn == nil || fn.Text != "Alice" {
		t.Fatalf("vCard after restart: %s", r)
	}
	r = iq(t, a, "p", "type='get'", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>")
	if p := r.Child("jabber:iq:private", "query").Child("urn:example:prefs", "prefs"); p == nil || p.Attr("theme") != "dark" {
		t.Fatalf("private XML after restart: %s", r)
	}
	r = iq(t, a, "l", "type='get'", "<blocklist xmlns='urn:xmpp:blocking'/>")
	if it := r.Child("urn:xmpp:blocking", "blocklist").Child("urn:xmpp:blocking", "item"); it == nil || it.Attr("jid") != "mallory@localhost" {
		t.Fatalf("blocklist after restart: %s", r)
	}
	xmpptest.Login(t, s.C2S, "localhost", "bob", "bobpw", "again")
	// The blocklist is enforced, not only listed.
	a.Send("<message to='mallory@localhost' id='blocked'><body>x</body></message>")
	if m := a.Expect("message"); xmpptest.Condition(m) != "not-acceptable" {
		t.Fatalf("message to a blocked JID after restart: %s", m)
	}
}

// crashChild registers two users in-band, writes a roster item, a vCard,
// private XML and a blocklist, reports ready and waits to be killed.
func crashChild(t *testing.T, dir string) {
	cfg := xmpptest.Config(t)
	cfg.Node.DataDir = dir
	s := xmpptest.Start(t, cfg)
	for _, u := range [][2]string{{"alice", "alicepw"}, {"bob", "bobpw"}} {
		c := xmpptest.Dial(t, s.C2S, "localhost")
		c.Open()
		c.StartTLS()
		if r := c.Register(u[0], u[1]); r.Attr("type") != "result" {
			t.Fatalf("register: %s", r)
		}
	}
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "alicepw", "r")
	a.Send("<iq type='set' id='add'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob'><group>Friends</group></item></query></iq>")
	if r := a.Expect("iq"); r.Attr("type") != "result" {
		t.Fatalf("roster set: %s", r)
	}
	for i, p := range []string{
		"<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>",
		"<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs' theme='dark'/></query>",
		"<block xmlns='urn:xmpp:blocking'><item jid='mallory@localhost'/></block>",
	} {
		if r := iq(t, a, fmt.Sprint("u", i), "type='set'", p); r.Attr("type") != "result" {
			t.Fatalf("set %s: %s", p, r)
		}
	}
	fmt.Println("CHILD READY")
	time.Sleep(time.Minute)
}
