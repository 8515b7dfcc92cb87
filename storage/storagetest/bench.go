package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// Benchmark runs the same store operations on a backend, for
// docs/benchmarks.md: an account read, a roster write, a 100-item roster
// read, an offline push and pop, an archive append of both copies of a
// message. open returns new, empty stores; Benchmark closes them.
func Benchmark(b *testing.B, open func(b *testing.B) *storage.Stores) {
	for _, bm := range []struct {
		name string
		run  func(*testing.B, *storage.Stores)
	}{
		{"GetAccount", benchGetAccount},
		{"PutItem", benchPutItem},
		{"Items100", benchItems100},
		{"OfflinePushPop", benchOffline},
		{"ArchiveAppend", benchArchive},
	} {
		b.Run(bm.name, func(b *testing.B) {
			s := open(b)
			if s.Close != nil {
				defer s.Close()
			}
			b.ReportAllocs()
			bm.run(b, s)
		})
	}
}

func benchCreds(seed byte) sasl.Credentials {
	p := make([]byte, 32)
	for i := range p {
		p[i] = seed + byte(i)
	}
	return sasl.Credentials{Salt: p[:16], Iterations: 4096, StoredKey: p, ServerKey: p}
}

func benchGetAccount(b *testing.B, st *storage.Stores) {
	ctx := context.Background()
	for i := range 1000 {
		a := auth.Account{Domain: "example.com", Username: fmt.Sprintf("user%04d", i), SHA1: benchCreds(1), SHA256: benchCreds(2), Created: time.Now()}
		if err := st.Accounts.CreateAccount(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.Accounts.GetAccount(ctx, "example.com", "user0500"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPutItem is one durable roster change: the item and the version.
func benchPutItem(b *testing.B, st *storage.Stores) {
	ctx := context.Background()
	user := jid.MustParse("alice@example.com")
	it := roster.Item{JID: jid.MustParse("bob@example.com"), Name: "Bob", Subscription: roster.SubBoth, Groups: []string{"Friends"}}
	for b.Loop() {
		if _, err := st.Roster.PutItem(ctx, user, it); err != nil {
			b.Fatal(err)
		}
	}
}

func benchItems100(b *testing.B, st *storage.Stores) {
	ctx := context.Background()
	user := jid.MustParse("alice@example.com")
	for i := range 100 {
		it := roster.Item{JID: jid.MustParse(fmt.Sprintf("contact%03d@example.org", i)), Name: fmt.Sprint("Contact ", i), Subscription: roster.SubBoth, Groups: []string{"Friends"}}
		if _, err := st.Roster.PutItem(ctx, user, it); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		items, _, err := st.Roster.Items(ctx, user)
		if err != nil || len(items) != 100 {
			b.Fatal(len(items), err)
		}
	}
}

var benchMsg = []byte("<message xmlns='jabber:client' type='chat' from='alice@example.com/a' to='bob@example.com'><body>hello</body></message>")

// benchOffline stores a message (with a per-user limit) and takes it back.
func benchOffline(b *testing.B, st *storage.Stores) {
	ctx := context.Background()
	user := jid.MustParse("bob@example.com")
	for b.Loop() {
		if ok, err := st.Offline.Push(ctx, user, benchMsg, 1000); err != nil || !ok {
			b.Fatal(ok, err)
		}
		if got, err := st.Offline.Pop(ctx, user); err != nil || len(got) != 1 {
			b.Fatal(len(got), err)
		}
	}
}

// benchArchive appends both copies of a chat message (sender's and
// recipient's archive) in one call, as the mam module does.
func benchArchive(b *testing.B, st *storage.Stores) {
	ctx := context.Background()
	alice, bob := jid.MustParse("alice@example.com"), jid.MustParse("bob@example.com")
	id := mam.FirstIDAt(time.Now())
	for b.Loop() {
		id = id.Next()
		if err := st.Archive.Append(ctx,
			mam.Entry{User: alice, Message: mam.Message{ID: id, With: bob, Stanza: benchMsg}},
			mam.Entry{User: bob, Message: mam.Message{ID: id, With: alice, Stanza: benchMsg}},
		); err != nil {
			b.Fatal(err)
		}
	}
}
