package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// archID builds an ID at t whose random half is seq, so that tests know
// the order of IDs sharing a microsecond.
func archID(t time.Time, seq uint64) mam.ID {
	id := mam.FirstIDAt(t)
	for i := 15; i >= 8; i-- {
		id[i] = byte(seq)
		seq >>= 8
	}
	id[8] |= 0x80 // never the smallest ID of its microsecond
	return id
}

// archFixture is an archive of 20 messages, one a second from when:
// with bob's phone (0, 3, 6, ...), bob's laptop (1, 4, ...), and carol
// (2, 5, ...); message 10 is alice to herself. They are appended out of
// order, as concurrent writers may.
type archFixture struct {
	s     mam.Store
	alice jid.JID
	msgs  []mam.Message // in ID order
}

var (
	archAlice  = jid.MustParse("alice@example.com")
	archPhone  = jid.MustParse("bob@example.com/phone")
	archLaptop = jid.MustParse("bob@example.com/laptop")
	archBob    = jid.MustParse("bob@example.com")
	archCarol  = jid.MustParse("carol@example.org")
	archSelf   = jid.MustParse("alice@example.com/desk")
)

func newArchFixture(t *testing.T, open func(t *testing.T) *storage.Stores) archFixture {
	t.Helper()
	st := fresh(t, open)
	if st.Archive == nil {
		t.Fatal("backend has no archive store")
	}
	f := archFixture{s: st.Archive, alice: archAlice}
	for i := range 20 {
		with := []jid.JID{archPhone, archLaptop, archCarol}[i%3]
		if i == 10 {
			with = archSelf
		}
		m := mam.Message{
			ID:     archID(when.Add(time.Duration(i)*time.Second), uint64(i)),
			With:   with,
			Stanza: fmt.Appendf(nil, "<message xmlns='jabber:client' id='m%d'><body>%d ☃</body></message>", i, i),
		}
		f.msgs = append(f.msgs, m)
	}
	order := slices.Clone(f.msgs)
	order[3], order[4] = order[4], order[3]
	order[17], order[12] = order[12], order[17]
	for _, m := range order {
		if err := f.s.Append(ctx(t), mam.Entry{User: archAlice, Message: m}); err != nil {
			t.Fatalf("Append %d: %v", m.ID, err)
		}
	}
	// Another user's archive, which no query of alice's may see.
	other := mam.Message{ID: archID(when.Add(5*time.Second), 99), With: archAlice, Stanza: []byte("<message xmlns='jabber:client'/>")}
	if err := f.s.Append(ctx(t), mam.Entry{User: archBob, Message: other}); err != nil {
		t.Fatal(err)
	}
	return f
}

// pick returns the fixture's messages at the given indexes.
func (f archFixture) pick(idx ...int) []mam.Message {
	out := make([]mam.Message, len(idx))
	for i, n := range idx {
		out[i] = f.msgs[n]
	}
	return out
}

// where returns the indexes of the messages for which keep is true.
func (f archFixture) where(keep func(i int, m mam.Message) bool) []int {
	var out []int
	for i, m := range f.msgs {
		if keep(i, m) {
			out = append(out, i)
		}
	}
	return out
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func describe(ms []mam.Message) string {
	out := "["
	for i, m := range ms {
		if i > 0 {
			out += " "
		}
		out += string(m.Stanza[len("<message xmlns='jabber:client' id='"):][:3])
	}
	return out + "]"
}

// check runs q and compares the page with the messages at want, its
// Complete with complete, and Count and Index, when the backend gives
// them, with count and the position of want[0] in the set (index).
func (f archFixture) check(t *testing.T, name string, q mam.Query, want []int, complete bool, count, index int) mam.Page {
	t.Helper()
	p, err := f.s.Query(ctx(t), f.alice, q)
	if err != nil {
		t.Fatalf("%s: Query: %v", name, err)
	}
	w := f.pick(want...)
	if len(p.Messages) != len(w) {
		t.Fatalf("%s: got %s, want %s", name, describe(p.Messages), describe(w))
	}
	for i := range w {
		if p.Messages[i].ID != w[i].ID || p.Messages[i].With != w[i].With || string(p.Messages[i].Stanza) != string(w[i].Stanza) {
			t.Fatalf("%s: got %s, want %s (message %d: %+v)", name, describe(p.Messages), describe(w), i, p.Messages[i])
		}
	}
	if p.Complete != complete {
		t.Errorf("%s: Complete = %v, want %v", name, p.Complete, complete)
	}
	if p.Count != -1 && p.Count != count {
		t.Errorf("%s: Count = %d, want %d (or -1)", name, p.Count, count)
	}
	if len(w) == 0 && p.Index != -1 {
		t.Errorf("%s: Index = %d on an empty page", name, p.Index)
	}
	if len(w) > 0 && p.Index != -1 && p.Index != index {
		t.Errorf("%s: Index = %d, want %d (or -1)", name, p.Index, index)
	}
	return p
}

func runArchive(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Run("Empty", func(t *testing.T) {
		s := fresh(t, open).Archive
		if s == nil {
			t.Fatal("backend has no archive store")
		}
		p, err := s.Query(ctx(t), archAlice, mam.Query{Max: 10})
		if err != nil || len(p.Messages) != 0 || !p.Complete || (p.Count != 0 && p.Count != -1) {
			t.Errorf("Query of an empty archive = %+v, %v", p, err)
		}
		if _, _, ok, err := s.Bounds(ctx(t), archAlice); ok || err != nil {
			t.Errorf("Bounds of an empty archive = %v, %v", ok, err)
		}
		if _, err := s.Query(ctx(t), archAlice, mam.Query{Max: 10, After: archID(when, 1)}); !errors.Is(err, mam.ErrUnknownID) {
			t.Errorf("After an unknown ID in an empty archive: %v, want ErrUnknownID", err)
		}
		if _, err := s.Query(ctx(t), archAlice, mam.Query{Max: 10, IDs: []mam.ID{archID(when, 1)}}); !errors.Is(err, mam.ErrUnknownID) {
			t.Errorf("IDs with an unknown ID in an empty archive: %v, want ErrUnknownID", err)
		}
	})

	t.Run("Forward", func(t *testing.T) {
		f := newArchFixture(t, open)
		f.check(t, "all", mam.Query{Max: 100}, span(0, 20), true, 20, 0)
		f.check(t, "exactly all", mam.Query{Max: 20}, span(0, 20), true, 20, 0)
		// Page through 7 at a time with After.
		var got []mam.Message
		q := mam.Query{Max: 7}
		for i := 0; ; i++ {
			end := min(20, 7*(i+1))
			p := f.check(t, fmt.Sprintf("page %d", i), q, span(7*i, end), end == 20, 20, 7*i)
			got = append(got, p.Messages...)
			if p.Complete {
				break
			}
			q.After = p.Messages[len(p.Messages)-1].ID
		}
		if len(got) != 20 {
			t.Errorf("paging forward gave %d messages", len(got))
		}
		f.check(t, "after the last", mam.Query{Max: 5, After: f.msgs[19].ID}, nil, true, 20, 0)
		f.check(t, "max 0", mam.Query{Max: 0}, nil, false, 20, 0)
	})

	t.Run("Backward", func(t *testing.T) {
		f := newArchFixture(t, open)
		f.check(t, "last page", mam.Query{Max: 6, Last: true}, span(14, 20), false, 20, 14)
		f.check(t, "last page, all", mam.Query{Max: 50, Last: true}, span(0, 20), true, 20, 0)
		// Page back 6 at a time with Before.
		q := mam.Query{Max: 6, Last: true}
		var got []mam.Message
		for i := 0; ; i++ {
			start := max(0, 20-6*(i+1))
			p := f.check(t, fmt.Sprintf("page %d", i), q, span(start, 20-6*i), start == 0, 20, start)
			got = append(p.Messages, got...)
			if p.Complete {
				break
			}
			q.Before = p.Messages[0].ID
		}
		if len(got) != 20 || got[0].ID != f.msgs[0].ID {
			t.Errorf("paging backward gave %s", describe(got))
		}
		f.check(t, "before the first", mam.Query{Max: 5, Last: true, Before: f.msgs[0].ID}, nil, true, 20, 0)
		f.check(t, "after and before", mam.Query{Max: 5, Last: true, After: f.msgs[3].ID, Before: f.msgs[8].ID}, span(4, 8), true, 20, 4)
		f.check(t, "after and before, forward", mam.Query{Max: 2, After: f.msgs[3].ID, Before: f.msgs[8].ID}, span(4, 6), false, 20, 4)
	})

	t.Run("With", func(t *testing.T) {
		f := newArchFixture(t, open)
		bob := f.where(func(i int, m mam.Message) bool { return m.With.Bare() == archBob })
		phone := f.where(func(i int, m mam.Message) bool { return m.With == archPhone })
		carol := f.where(func(i int, m mam.Message) bool { return m.With.Bare() == archCarol })
		f.check(t, "bare", mam.Query{With: archBob, Max: 100}, bob, true, len(bob), 0)
		f.check(t, "full", mam.Query{With: archPhone, Max: 100}, phone, true, len(phone), 0)
		f.check(t, "carol", mam.Query{With: archCarol, Max: 100}, carol, true, len(carol), 0)
		f.check(t, "self", mam.Query{With: archAlice, Max: 100}, []int{10}, true, 1, 0)
		f.check(t, "self, full", mam.Query{With: archSelf, Max: 100}, []int{10}, true, 1, 0)
		f.check(t, "nobody", mam.Query{With: jid.MustParse("dave@example.com"), Max: 100}, nil, true, 0, 0)
		f.check(t, "no such resource", mam.Query{With: jid.MustParse("bob@example.com/tv"), Max: 100}, nil, true, 0, 0)
		f.check(t, "bare, last page", mam.Query{With: archBob, Max: 3, Last: true}, bob[len(bob)-3:], false, len(bob), len(bob)-3)
		// After a message that is not in the set: paging bounds need
		// only be in the archive.
		next := slices.IndexFunc(bob, func(i int) bool { return i > carol[2] })
		f.check(t, "bare, after carol's", mam.Query{With: archBob, Max: 3, After: f.msgs[carol[2]].ID},
			bob[next:next+3], false, len(bob), next)
		f.check(t, "full, after", mam.Query{With: archPhone, Max: 2, After: f.msgs[phone[1]].ID}, phone[2:4], false, len(phone), 2)
	})

	t.Run("Time", func(t *testing.T) {
		f := newArchFixture(t, open)
		at := func(i int) time.Time { return f.msgs[i].ID.Time() }
		f.check(t, "start", mam.Query{Start: at(5), Max: 100}, span(5, 20), true, 15, 0)
		f.check(t, "start between", mam.Query{Start: at(5).Add(time.Microsecond), Max: 100}, span(6, 20), true, 14, 0)
		f.check(t, "end", mam.Query{End: at(5), Max: 100}, span(0, 6), true, 6, 0)
		f.check(t, "end between", mam.Query{End: at(5).Add(-time.Microsecond), Max: 100}, span(0, 5), true, 5, 0)
		f.check(t, "start and end", mam.Query{Start: at(3), End: at(8), Max: 100}, span(3, 9), true, 6, 0)
		f.check(t, "start and end, other zone", mam.Query{Start: at(3).In(time.FixedZone("X", -7*3600)), End: at(8), Max: 100}, span(3, 9), true, 6, 0)
		f.check(t, "end before start", mam.Query{Start: at(8), End: at(3), Max: 100}, nil, true, 0, 0)
		f.check(t, "start, paged", mam.Query{Start: at(3), Max: 4}, span(3, 7), false, 17, 0)
		f.check(t, "start, last page", mam.Query{Start: at(3), End: at(12), Max: 4, Last: true}, span(9, 13), false, 10, 6)
		f.check(t, "start, with", mam.Query{Start: at(9), With: archCarol, Max: 100}, []int{11, 14, 17}, true, 3, 0)
		f.check(t, "long ago", mam.Query{End: when.Add(-time.Hour), Max: 100}, nil, true, 0, 0)
		f.check(t, "zero time is unbounded", mam.Query{Start: time.Time{}, End: time.Time{}, Max: 100}, span(0, 20), true, 20, 0)
	})

	t.Run("IDBounds", func(t *testing.T) {
		f := newArchFixture(t, open)
		id := func(i int) mam.ID { return f.msgs[i].ID }
		f.check(t, "after-id", mam.Query{AfterID: id(15), Max: 100}, span(16, 20), true, 4, 0)
		f.check(t, "before-id", mam.Query{BeforeID: id(4), Max: 100}, span(0, 4), true, 4, 0)
		f.check(t, "between", mam.Query{AfterID: id(4), BeforeID: id(9), Max: 100}, span(5, 9), true, 4, 0)
		f.check(t, "between, with", mam.Query{AfterID: id(0), BeforeID: id(9), With: archPhone, Max: 100}, []int{3, 6}, true, 2, 0)
		f.check(t, "between, paged back", mam.Query{AfterID: id(4), BeforeID: id(15), Max: 3, Last: true}, span(12, 15), false, 10, 7)
		f.check(t, "empty range", mam.Query{AfterID: id(9), BeforeID: id(10), Max: 100}, nil, true, 0, 0)
		f.check(t, "after-id with RSM after", mam.Query{AfterID: id(2), After: id(6), Max: 3}, span(7, 10), false, 17, 4)
	})

	t.Run("IDs", func(t *testing.T) {
		f := newArchFixture(t, open)
		ids := func(idx ...int) []mam.ID {
			var out []mam.ID
			for _, i := range idx {
				out = append(out, f.msgs[i].ID)
			}
			return out
		}
		f.check(t, "ids", mam.Query{IDs: ids(9, 2, 14, 2), Max: 100}, []int{2, 9, 14}, true, 3, 0)
		f.check(t, "one", mam.Query{IDs: ids(7), Max: 100}, []int{7}, true, 1, 0)
		f.check(t, "ids, with", mam.Query{IDs: ids(0, 1, 2, 3), With: archPhone, Max: 100}, []int{0, 3}, true, 2, 0)
		f.check(t, "ids, start", mam.Query{IDs: ids(0, 1, 2, 3), Start: f.msgs[2].ID.Time(), Max: 100}, []int{2, 3}, true, 2, 0)
		f.check(t, "ids, paged", mam.Query{IDs: ids(1, 3, 5, 7, 9), Max: 2}, []int{1, 3}, false, 5, 0)
		f.check(t, "ids, after", mam.Query{IDs: ids(1, 3, 5, 7, 9), Max: 2, After: f.msgs[3].ID}, []int{5, 7}, false, 5, 2)
		f.check(t, "ids, after one outside", mam.Query{IDs: ids(1, 3, 5, 7, 9), Max: 2, After: f.msgs[4].ID}, []int{5, 7}, false, 5, 2)
		f.check(t, "ids, last page", mam.Query{IDs: ids(1, 3, 5, 7, 9), Max: 2, Last: true}, []int{7, 9}, false, 5, 3)
		f.check(t, "ids, before", mam.Query{IDs: ids(1, 3, 5, 7, 9), Max: 2, Last: true, Before: f.msgs[5].ID}, []int{1, 3}, true, 5, 0)
		f.check(t, "no ids", mam.Query{IDs: []mam.ID{}, Max: 100}, nil, true, 0, 0)
		if _, err := f.s.Query(ctx(t), archAlice, mam.Query{IDs: append(ids(1), archID(when, 12345)), Max: 100}); !errors.Is(err, mam.ErrUnknownID) {
			t.Errorf("an unknown ID: %v, want ErrUnknownID", err)
		}
	})

	t.Run("UnknownIDs", func(t *testing.T) {
		f := newArchFixture(t, open)
		unknown := archID(when.Add(3*time.Second), 777)
		bobs := archID(when.Add(5*time.Second), 99) // in bob's archive, not alice's
		for _, q := range []mam.Query{
			{After: unknown}, {Before: unknown, Last: true}, {AfterID: unknown}, {BeforeID: unknown},
			{After: bobs}, {IDs: []mam.ID{bobs}},
		} {
			q.Max = 10
			if _, err := f.s.Query(ctx(t), archAlice, q); !errors.Is(err, mam.ErrUnknownID) {
				t.Errorf("Query(%+v) = %v, want ErrUnknownID", q, err)
			}
		}
	})

	t.Run("Bounds", func(t *testing.T) {
		f := newArchFixture(t, open)
		first, last, ok, err := f.s.Bounds(ctx(t), archAlice)
		if err != nil || !ok || first != f.msgs[0].ID || last != f.msgs[19].ID {
			t.Errorf("Bounds = %v %v %v %v", first, last, ok, err)
		}
		if !first.Time().Equal(when) {
			t.Errorf("first message at %v, want %v", first.Time(), when)
		}
	})

	t.Run("Prefs", func(t *testing.T) {
		s := fresh(t, open).Archive
		if _, ok, err := s.Prefs(ctx(t), archAlice); ok || err != nil {
			t.Fatalf("Prefs before any = %v, %v", ok, err)
		}
		p := mam.Prefs{Default: mam.Roster, Always: []jid.JID{archBob, archPhone}, Never: []jid.JID{archCarol}}
		if err := s.SetPrefs(ctx(t), archAlice, p); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.Prefs(ctx(t), archAlice)
		if err != nil || !ok || got.Default != mam.Roster || !slices.Equal(got.Always, p.Always) || !slices.Equal(got.Never, p.Never) {
			t.Errorf("Prefs = %+v, %v, %v; want %+v", got, ok, err, p)
		}
		p = mam.Prefs{Default: mam.Never}
		if err := s.SetPrefs(ctx(t), archAlice, p); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Prefs(ctx(t), archAlice); err != nil || !ok || got.Default != mam.Never || len(got.Always)+len(got.Never) != 0 {
			t.Errorf("Prefs after replacing = %+v, %v, %v", got, ok, err)
		}
		if _, ok, _ := s.Prefs(ctx(t), archBob); ok {
			t.Error("bob has alice's preferences")
		}
	})

	t.Run("DeleteUser", func(t *testing.T) {
		f := newArchFixture(t, open)
		if err := f.s.SetPrefs(ctx(t), archAlice, mam.Prefs{Default: mam.Never}); err != nil {
			t.Fatal(err)
		}
		if err := f.s.DeleteUser(ctx(t), archAlice); err != nil {
			t.Fatal(err)
		}
		f.check(t, "after delete", mam.Query{Max: 100}, nil, true, 0, 0)
		if _, _, ok, _ := f.s.Bounds(ctx(t), archAlice); ok {
			t.Error("Bounds after delete")
		}
		if _, ok, _ := f.s.Prefs(ctx(t), archAlice); ok {
			t.Error("Prefs after delete")
		}
		if p, err := f.s.Query(ctx(t), archBob, mam.Query{Max: 10}); err != nil || len(p.Messages) != 1 {
			t.Errorf("bob's archive after deleting alice's: %+v, %v", p, err)
		}
		if err := f.s.DeleteUser(ctx(t), archAlice); err != nil {
			t.Errorf("second DeleteUser: %v", err)
		}
		// The archive starts again.
		m := mam.Message{ID: archID(when.Add(time.Hour), 1), With: archBob, Stanza: []byte("<message xmlns='jabber:client'/>")}
		if err := f.s.Append(ctx(t), mam.Entry{User: archAlice, Message: m}); err != nil {
			t.Fatal(err)
		}
		if p, err := f.s.Query(ctx(t), archAlice, mam.Query{Max: 10}); err != nil || len(p.Messages) != 1 || (p.Count != -1 && p.Count != 1) {
			t.Errorf("archive after deleting and appending: %+v, %v", p, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := fresh(t, open).Archive
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					m := mam.Message{
						ID:     archID(when.Add(time.Duration(i)*time.Millisecond), uint64(w)),
						With:   jid.MustParse(fmt.Sprintf("c%d@example.net/r", w)),
						Stanza: fmt.Appendf(nil, "<message xmlns='jabber:client' id='%d-%d'/>", w, i),
					}
					if err := s.Append(context.Background(), mam.Entry{User: archAlice, Message: m}); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		p, err := s.Query(ctx(t), archAlice, mam.Query{Max: writers*each + 1})
		if err != nil || len(p.Messages) != writers*each || !p.Complete {
			t.Fatalf("after concurrent appends: %d messages, complete %v, %v", len(p.Messages), p.Complete, err)
		}
		for i := 1; i < len(p.Messages); i++ {
			if p.Messages[i-1].ID.Compare(p.Messages[i].ID) >= 0 {
				t.Fatalf("messages out of ID order at %d", i)
			}
		}
		p, err = s.Query(ctx(t), archAlice, mam.Query{With: jid.MustParse("c3@example.net"), Max: 100})
		if err != nil || len(p.Messages) != each {
			t.Errorf("one writer's share: %d, %v", len(p.Messages), err)
		}
	})

	t.Run("Several", func(t *testing.T) {
		s := fresh(t, open).Archive
		if err := s.Append(ctx(t)); err != nil {
			t.Errorf("Append of nothing: %v", err)
		}
		in := mam.Message{ID: archID(when, 1), With: archPhone, Stanza: []byte("<message xmlns='jabber:client' id='in'/>")}
		out := mam.Message{ID: archID(when, 2), With: archAlice, Stanza: []byte("<message xmlns='jabber:client' id='out'/>")}
		if err := s.Append(ctx(t), mam.Entry{User: archAlice, Message: in}, mam.Entry{User: archBob, Message: out}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			user jid.JID
			want mam.Message
		}{{archAlice, in}, {archBob, out}} {
			p, err := s.Query(ctx(t), c.user, mam.Query{Max: 10})
			if err != nil || len(p.Messages) != 1 || p.Messages[0].ID != c.want.ID || string(p.Messages[0].Stanza) != string(c.want.Stanza) {
				t.Errorf("%s's archive: %+v, %v", c.user, p.Messages, err)
			}
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := fresh(t, open).Archive
		m := mam.Message{ID: archID(when, 1), With: archBob, Stanza: []byte("<message xmlns='jabber:client'/>")}
		if err := s.Append(canceled(), mam.Entry{User: archAlice, Message: m}); err == nil {
			t.Error("Append with a canceled context succeeded")
		}
		if _, err := s.Query(canceled(), archAlice, mam.Query{Max: 1}); err == nil {
			t.Error("Query with a canceled context succeeded")
		}
		if p, err := s.Query(ctx(t), archAlice, mam.Query{Max: 1}); err != nil || len(p.Messages) != 0 {
			t.Errorf("a canceled Append stored: %+v %v", p, err)
		}
	})
}
