package storagetest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

var (
	alice = jid.MustParse("alice@example.com")
	bob   = jid.MustParse("bob@example.com")
	// aliceAU's bare JID string has alice's as a prefix.
	aliceAU = jid.MustParse("alice@example.com.au")
)

func item(contact string, name string, groups ...string) roster.Item {
	return roster.Item{
		JID:          jid.MustParse(contact),
		Name:         name,
		Subscription: roster.SubBoth,
		Groups:       groups,
	}
}

func sameItem(a, b roster.Item) bool {
	return a.JID == b.JID && a.Name == b.Name && a.Subscription == b.Subscription &&
		a.Ask == b.Ask && a.PreApproved == b.PreApproved &&
		slices.Equal(a.Groups, b.Groups) // nil and empty are the same
}

func checkItems(t *testing.T, s roster.Store, user jid.JID, wantVer uint64, want ...roster.Item) {
	t.Helper()
	got, ver, err := s.Items(ctx(t), user)
	if err != nil {
		t.Fatalf("Items(%s): %v", user, err)
	}
	if ver != wantVer {
		t.Errorf("Items(%s) version = %d, want %d", user, ver, wantVer)
	}
	if !slices.EqualFunc(got, want, sameItem) {
		t.Errorf("Items(%s) =\n\t%+v\nwant\n\t%+v", user, got, want)
	}
}

func mustPut(t *testing.T, s roster.Store, user jid.JID, it roster.Item) uint64 {
	t.Helper()
	v, err := s.PutItem(ctx(t), user, it)
	if err != nil {
		t.Fatalf("PutItem(%s, %s): %v", user, it.JID, err)
	}
	return v
}

func mustDelete(t *testing.T, s roster.Store, user, contact jid.JID) uint64 {
	t.Helper()
	v, err := s.DeleteItem(ctx(t), user, contact)
	if err != nil {
		t.Fatalf("DeleteItem(%s, %s): %v", user, contact, err)
	}
	return v
}

func sortPending(p []roster.Pending) {
	slices.SortFunc(p, func(a, b roster.Pending) int { return cmp.Compare(a.From.String(), b.From.String()) })
}

func checkPending(t *testing.T, s roster.Store, user jid.JID, want ...roster.Pending) {
	t.Helper()
	got, err := s.PendingIn(ctx(t), user)
	if err != nil {
		t.Fatalf("PendingIn(%s): %v", user, err)
	}
	sortPending(got) // the interface promises no order
	sortPending(want)
	if !slices.EqualFunc(got, want, func(a, b roster.Pending) bool {
		return a.From == b.From && bytes.Equal(a.Stanza, b.Stanza)
	}) {
		t.Errorf("PendingIn(%s) = %q, want %q", user, got, want)
	}
}

func subscribe(from string) roster.Pending {
	return roster.Pending{
		From:   jid.MustParse(from),
		Stanza: []byte("<presence from='" + from + "' to='alice@example.com' type='subscribe'/>"),
	}
}

func runRoster(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Run("Empty", func(t *testing.T) {
		s := fresh(t, open).Roster
		checkItems(t, s, alice, 0)
		if _, ok, err := s.Item(ctx(t), alice, bob); ok || err != nil {
			t.Errorf("Item on empty roster = ok %v, err %v", ok, err)
		}
		checkPending(t, s, alice)
	})

	t.Run("PutGet", func(t *testing.T) {
		s := fresh(t, open).Roster
		want := roster.Item{
			JID:          bob,
			Name:         "Bob ☺",
			Subscription: roster.SubTo,
			Ask:          true,
			PreApproved:  true,
			Groups:       []string{"Friends", "Work", "Ünïcode"},
		}
		if v := mustPut(t, s, alice, want); v == 0 {
			t.Errorf("PutItem version = 0, want > 0")
		}
		got, ok, err := s.Item(ctx(t), alice, bob)
		if err != nil || !ok {
			t.Fatalf("Item = ok %v, err %v", ok, err)
		}
		if !sameItem(got, want) {
			t.Errorf("Item = %+v, want %+v", got, want)
		}
		// Another user's contact is not alice's.
		if _, ok, _ := s.Item(ctx(t), bob, bob); ok {
			t.Errorf("Item(bob, bob) found alice's item")
		}
		// Each subscription state and flag survives.
		for i, sub := range []string{roster.SubNone, roster.SubTo, roster.SubFrom, roster.SubBoth} {
			it := roster.Item{JID: jid.MustParse("c@example.net"), Subscription: sub, Ask: i%2 == 0, PreApproved: i%2 == 1}
			mustPut(t, s, alice, it)
			got, ok, err := s.Item(ctx(t), alice, it.JID)
			if err != nil || !ok || !sameItem(got, it) {
				t.Errorf("Item = %+v, %v, %v; want %+v", got, ok, err, it)
			}
		}
	})

	t.Run("ReplaceAndOrder", func(t *testing.T) {
		s := fresh(t, open).Roster
		contacts := []string{"zed@example.com", "bob@example.com", "bob@example.co", "example.net",
			"a@example.org", "carol@b.example", "bob@example.com.au", "0@example.com"}
		rand.Shuffle(len(contacts), func(i, j int) { contacts[i], contacts[j] = contacts[j], contacts[i] })
		var want []roster.Item
		for _, c := range contacts {
			it := item(c, "name of "+c, "g")
			mustPut(t, s, alice, it)
			want = append(want, it)
		}
		// Replace one: still one item for that contact.
		repl := item("bob@example.com", "Robert", "g1", "g2")
		repl.Subscription, repl.Ask = roster.SubNone, true
		ver := mustPut(t, s, alice, repl)
		for i := range want {
			if want[i].JID == repl.JID {
				want[i] = repl
			}
		}
		slices.SortFunc(want, func(a, b roster.Item) int { return cmp.Compare(a.JID.String(), b.JID.String()) })
		checkItems(t, s, alice, ver, want...)
	})

	t.Run("Versions", func(t *testing.T) {
		s := fresh(t, open).Roster
		seen := map[uint64]bool{}
		var last uint64
		step := func(what string, v uint64) {
			t.Helper()
			if v <= last || seen[v] {
				t.Fatalf("%s: version %d after %d (seen before: %v)", what, v, last, seen[v])
			}
			seen[v], last = true, v
		}
		step("put bob", mustPut(t, s, alice, item("bob@example.com", "")))
		step("put carol", mustPut(t, s, alice, item("carol@example.com", "")))
		step("replace bob", mustPut(t, s, alice, item("bob@example.com", "Bob")))
		step("delete bob", mustDelete(t, s, alice, bob))
		step("put bob again", mustPut(t, s, alice, item("bob@example.com", "")))
		step("delete carol", mustDelete(t, s, alice, jid.MustParse("carol@example.com")))
		step("delete bob", mustDelete(t, s, alice, bob))
		// The roster is empty again, but its version is not reset.
		checkItems(t, s, alice, last)

		// Deleting an absent item is no error and never goes back.
		v, err := s.DeleteItem(ctx(t), alice, jid.MustParse("nobody@example.com"))
		if err != nil || v < last {
			t.Errorf("DeleteItem(absent) = %d, %v; want >= %d, nil", v, err, last)
		}
		checkItems(t, s, alice, v)

		// Versions are per user.
		checkItems(t, s, bob, 0)
		if v := mustPut(t, s, bob, item("alice@example.com", "")); v == 0 {
			t.Errorf("bob's first version = 0")
		}
		checkItems(t, s, alice, v)
	})

	t.Run("Delete", func(t *testing.T) {
		s := fresh(t, open).Roster
		mustPut(t, s, alice, item("bob@example.com", ""))
		keep := item("carol@example.com", "Carol")
		mustPut(t, s, alice, keep)
		mustPut(t, s, bob, item("bob@example.com", "self"))
		ver := mustDelete(t, s, alice, bob)
		if _, ok, err := s.Item(ctx(t), alice, bob); ok || err != nil {
			t.Errorf("Item after delete = ok %v, err %v", ok, err)
		}
		checkItems(t, s, alice, ver, keep)
		if _, ok, _ := s.Item(ctx(t), bob, bob); !ok {
			t.Errorf("deleting alice's bob removed bob's own item")
		}
	})

	t.Run("UsersIsolated", func(t *testing.T) {
		s := fresh(t, open).Roster
		a := item("x@example.com", "for alice")
		au := item("x@example.com", "for alice in au")
		va := mustPut(t, s, alice, a)
		vau := mustPut(t, s, aliceAU, au)
		dom := jid.MustParse("example.com") // a domain can have a roster too
		vd := mustPut(t, s, dom, item("alice@example.com", "domain"))
		checkItems(t, s, alice, va, a)
		checkItems(t, s, aliceAU, vau, au)
		checkItems(t, s, dom, vd, item("alice@example.com", "domain"))
		checkItems(t, s, bob, 0)
	})

	t.Run("Pending", func(t *testing.T) {
		s := fresh(t, open).Roster
		p1, p2 := subscribe("bob@example.com"), subscribe("carol@example.org")
		for _, p := range []roster.Pending{p1, p2} {
			if err := s.PutPendingIn(ctx(t), alice, p); err != nil {
				t.Fatalf("PutPendingIn: %v", err)
			}
		}
		checkPending(t, s, alice, p1, p2)
		checkPending(t, s, bob)

		// Replace: one request per requester, the newest stanza.
		p1b := roster.Pending{From: p1.From, Stanza: []byte("<presence type='subscribe'><status>again</status></presence>")}
		if err := s.PutPendingIn(ctx(t), alice, p1b); err != nil {
			t.Fatalf("PutPendingIn(replace): %v", err)
		}
		// The store owns its copies, in and out.
		p1b.Stanza[1] = 'X'
		got, err := s.PendingIn(ctx(t), alice)
		if err != nil || len(got) == 0 {
			t.Fatalf("PendingIn = %v, %v", got, err)
		}
		got[0].Stanza[1] = 'Y'
		p1b.Stanza[1] = 'p'
		checkPending(t, s, alice, p1b, p2)

		if err := s.DeletePendingIn(ctx(t), alice, p1.From); err != nil {
			t.Fatalf("DeletePendingIn: %v", err)
		}
		checkPending(t, s, alice, p2)
		if err := s.DeletePendingIn(ctx(t), alice, p1.From); err != nil {
			t.Errorf("DeletePendingIn(absent) = %v, want nil", err)
		}
		checkPending(t, s, alice, p2)
	})

	t.Run("DeleteUser", func(t *testing.T) {
		s := fresh(t, open).Roster
		for _, u := range []jid.JID{alice, aliceAU, bob} {
			mustPut(t, s, u, item("x@example.com", "x"))
			mustPut(t, s, u, item("y@example.com", "y"))
			if err := s.PutPendingIn(ctx(t), u, subscribe("z@example.com")); err != nil {
				t.Fatalf("PutPendingIn: %v", err)
			}
		}
		_, verAU, _ := s.Items(ctx(t), aliceAU)
		_, verBob, _ := s.Items(ctx(t), bob)
		if err := s.DeleteUser(ctx(t), alice); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		checkItems(t, s, alice, 0)
		checkPending(t, s, alice)
		for u, ver := range map[jid.JID]uint64{aliceAU: verAU, bob: verBob} {
			checkItems(t, s, u, ver, item("x@example.com", "x"), item("y@example.com", "y"))
			checkPending(t, s, u, subscribe("z@example.com"))
		}
		if err := s.DeleteUser(ctx(t), alice); err != nil {
			t.Errorf("DeleteUser(again) = %v, want nil", err)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := fresh(t, open).Roster
		if _, err := s.PutItem(canceled(), alice, item("bob@example.com", "")); !errors.Is(err, context.Canceled) {
			t.Errorf("PutItem(canceled ctx) = %v, want context.Canceled", err)
		}
		checkItems(t, s, alice, 0)
	})
}
