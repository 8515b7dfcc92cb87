package mam_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/storage/embedded"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func provision(t testing.TB, cfg mam.Config, users int) (*modtest.Host, module.Hooks, *embedded.DB) {
	t.Helper()
	h := modtest.New(time.Now(), "example.com")
	db, err := embedded.Open(filepath.Join(t.TempDir(), "meridian.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.SetStore("archive", db.Archive())
	for i := range users {
		h.AddUser(jid.MustParse(fmt.Sprintf("user%d@example.com", i)), "pw")
	}
	if _, err := mam.New(h, &cfg); err != nil {
		t.Fatal(err)
	}
	return h, h.RunHooks()[0], db
}

func TestConfig(t *testing.T) {
	h := modtest.New(time.Now(), "example.com")
	db, err := embedded.Open(filepath.Join(t.TempDir(), "meridian.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := mam.New(h, &mam.Config{DefaultPage: 50, MaxPage: 250, Default: mam.Always}); err == nil || !strings.Contains(err.Error(), "no archive store") {
		t.Errorf("without a store: %v", err)
	}
	h.SetStore("archive", db.Archive())
	for _, tc := range []struct {
		cfg  mam.Config
		want string
	}{
		{mam.Config{DefaultPage: 0, MaxPage: 250, Default: mam.Always}, "default_page"},
		{mam.Config{DefaultPage: 50, MaxPage: 10, Default: mam.Always}, "max_page"},
		{mam.Config{DefaultPage: 50, MaxPage: 250, Default: "sometimes"}, "modules.mam.default"},
	} {
		if _, err := mam.New(h, &tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := mam.New(h, &mam.Config{DefaultPage: 50, MaxPage: 50, Default: mam.Roster}); err != nil {
		t.Error(err)
	}
}

// TestHooks: the hooks archive what they should, on the right side and
// at the right time, and UserRemoved empties the archive.
func TestHooks(t *testing.T) {
	h, hooks, db := provision(t, mam.Config{DefaultPage: 50, MaxPage: 250, Default: mam.Always}, 2)
	ctx := context.Background()
	alice, bob := jid.MustParse("user0@example.com"), jid.MustParse("user1@example.com")
	from := module.SessionInfo{JID: jid.MustParse("user0@example.com/a")}
	// Between local users: nothing on sending, both sides on receipt.
	out := benchMessage("user0@example.com/a", "user1@example.com")
	if got := hooks.UserSend(ctx, from, out); got != out {
		t.Error("UserSend changed an outgoing message")
	}
	if p, _ := db.Archive().Query(ctx, alice, mam.Query{Max: 10}); len(p.Messages) != 0 {
		t.Error("UserSend archived a message to a local user")
	}
	in := hooks.UserReceive(ctx, bob, out)
	if !strings.Contains(string(in.Bytes), "<stanza-id xmlns='urn:xmpp:sid:0' by='user1@example.com' id='") {
		t.Errorf("UserReceive: %s", in.Bytes)
	}
	// Nobody's archive: no account, no archive, no stanza-id.
	nobody := jid.MustParse("nobody@example.com")
	if got := hooks.UserReceive(ctx, nobody, benchMessage("user0@example.com/a", "nobody@example.com")); strings.Contains(string(got.Bytes), "stanza-id") {
		t.Errorf("message to nobody: %s", got.Bytes)
	}
	// IQs and presences pass untouched.
	iq := &stanza.Stanza{Kind: stanza.IQ, Bytes: []byte("<iq type='get'/>")}
	if hooks.UserReceive(ctx, bob, iq) != iq || hooks.UserSend(ctx, from, iq) != iq {
		t.Error("an IQ was changed")
	}
	// To another domain: the sender's side, on sending.
	remote := benchMessage("user0@example.com/a", "carol@example.org")
	if got := hooks.UserSend(ctx, from, remote); got != remote {
		t.Error("UserSend changed a message to another domain")
	}
	for user, want := range map[jid.JID]int{alice: 3, bob: 1, nobody: 0} {
		p, err := db.Archive().Query(ctx, user, mam.Query{Max: 10})
		if err != nil || len(p.Messages) != want {
			t.Errorf("%s's archive: %d messages, %v; want %d", user, len(p.Messages), err, want)
		}
	}
	if err := h.RemoveUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.Archive().Query(ctx, alice, mam.Query{Max: 10}); len(p.Messages) != 0 {
		t.Error("archive left after the user was removed")
	}
}

// benchMessage is a 200-byte chat message as the router hands it on.
func benchMessage(from, to string) *stanza.Stanza {
	b := []byte("<message from='" + from + "' to='" + to + "' type='chat' id='a1b2c3d4-e5f6'><body>The quick brown fox jumps again.</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	return &stanza.Stanza{Kind: stanza.Message, Bytes: b, From: jid.MustParse(from), To: jid.MustParse(to), Type: "chat", ID: "a1b2c3d4-e5f6"}
}

// BenchmarkArchiveMessage is archiving as the router sees it: the
// UserReceive hook on a 200-byte chat message to one of 1,000 local users
// (checks, preferences, IDs, the durable append to the embedded store,
// the stanza-id spliced in), from parallel senders. From a remote sender
// that is one archive write; from a local one two (the sender's copy
// too), in one append.
func BenchmarkArchiveMessage(b *testing.B) {
	const users = 1000
	for _, sender := range []string{"remote", "local"} {
		for _, writers := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("sender=%s/writers=%d", sender, writers), func(b *testing.B) {
				_, hooks, _ := provision(b, mam.Config{DefaultPage: 50, MaxPage: 250, Default: mam.Always}, users)
				msgs := make([]*stanza.Stanza, users)
				tos := make([]jid.JID, users)
				for i := range msgs {
					tos[i] = jid.MustParse(fmt.Sprintf("user%d@example.com", i))
					from := "bob@example.org/phone"
					if sender == "local" {
						from = fmt.Sprintf("user%d@example.com/phone", (i+1)%users)
					}
					msgs[i] = benchMessage(from, tos[i].String())
				}
				if n := len(msgs[0].Bytes); n < 190 || n > 210 {
					b.Fatalf("message is %d bytes", n)
				}
				ctx := context.Background()
				var next atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							n := next.Add(1)
							if n > int64(b.N) {
								return
							}
							i := n % users
							// A fresh stanza each time, as from the wire: the
							// hook parses it.
							st := *msgs[i]
							if out := hooks.UserReceive(ctx, tos[i], &st); len(out.Bytes) == len(st.Bytes) {
								b.Error("not archived")
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			})
		}
	}
}
