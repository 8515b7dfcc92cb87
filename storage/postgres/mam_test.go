//go:build postgres

package postgres

import (
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// archTestID is an ID at t whose random half is rnd repeated.
func archTestID(t time.Time, rnd byte) mam.ID {
	id := mam.FirstIDAt(t)
	for i := 8; i < len(id); i++ {
		id[i] = rnd
	}
	return id
}

// IDs sharing a microsecond sort by their random half as unsigned bytes,
// whatever its top bit.
func TestArchiveIDOrder(t *testing.T) {
	s := archive{openFresh(t)}
	user := jid.MustParse("alice@example.com")
	with := jid.MustParse("bob@example.com/phone")
	at := time.Date(2024, 2, 29, 13, 37, 42, 123456000, time.UTC)
	want := []mam.ID{archTestID(at, 0x01), archTestID(at, 0x7f), archTestID(at, 0x80), archTestID(at, 0xff)}
	for _, i := range []int{2, 0, 3, 1} {
		m := mam.Message{ID: want[i], With: with, Stanza: []byte("<message xmlns='jabber:client'/>")}
		if err := s.Append(t.Context(), mam.Entry{User: user, Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.Query(t.Context(), user, mam.Query{Max: 10})
	if err != nil || len(p.Messages) != len(want) {
		t.Fatalf("Query = %+v, %v", p, err)
	}
	for i, m := range p.Messages {
		if m.ID != want[i] || m.With != with || !m.ID.Time().Equal(at) {
			t.Errorf("message %d = %v with %v, want %v with %v", i, m.ID, m.With, want[i], with)
		}
	}
	first, last, ok, err := s.Bounds(t.Context(), user)
	if err != nil || !ok || first != want[0] || last != want[len(want)-1] {
		t.Errorf("Bounds = %v %v %v %v", first, last, ok, err)
	}
}

// An Append that fails stores none of its entries.
func TestArchiveAppendAtomic(t *testing.T) {
	s := archive{openFresh(t)}
	user := jid.MustParse("alice@example.com")
	at := time.Date(2024, 2, 29, 13, 37, 42, 0, time.UTC)
	msg := func(rnd byte) mam.Message {
		return mam.Message{ID: archTestID(at, rnd), With: jid.MustParse("bob@example.com"), Stanza: []byte("<message xmlns='jabber:client'/>")}
	}
	if err := s.Append(t.Context(), mam.Entry{User: user, Message: msg(1)}); err != nil {
		t.Fatal(err)
	}
	err := s.Append(t.Context(), mam.Entry{User: user, Message: msg(2)}, mam.Entry{User: user, Message: msg(1)})
	if err == nil {
		t.Fatal("Append of a used ID succeeded")
	}
	if p, err := s.Query(t.Context(), user, mam.Query{Max: 10}); err != nil || len(p.Messages) != 1 || p.Count != 1 {
		t.Errorf("after a failed Append: %+v, %v", p, err)
	}
}

func TestArchiveSetPrefsUnknownDefault(t *testing.T) {
	s := archive{openFresh(t)}
	if err := s.SetPrefs(t.Context(), jid.MustParse("alice@example.com"), mam.Prefs{Default: "sometimes"}); err == nil {
		t.Error("SetPrefs with an unknown default succeeded")
	}
}
