package storagetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func checkValue(t *testing.T, s userdata.Store, user jid.JID, key string, want []byte, wantOK bool) {
	t.Helper()
	got, ok, err := s.Get(ctx(t), user, key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", user, key, err)
	}
	if ok != wantOK || !bytes.Equal(got, want) {
		t.Errorf("Get(%s, %q) = %q, %v; want %q, %v", user, key, got, ok, want, wantOK)
	}
}

func runUserData(t *testing.T, open func(t *testing.T) *storage.Stores) {
	store := func(t *testing.T) userdata.Store {
		t.Helper()
		s := fresh(t, open).UserData
		if s == nil {
			t.Fatal("backend has no userdata store")
		}
		return s
	}

	t.Run("PutGetDelete", func(t *testing.T) {
		s := store(t)
		checkValue(t, s, alice, "vcard", nil, false)
		v := []byte("<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>")
		if err := s.Put(ctx(t), alice, "vcard", v); err != nil {
			t.Fatalf("Put: %v", err)
		}
		v[1] = 'X' // Put must not keep the caller's slice
		checkValue(t, s, alice, "vcard", []byte("<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>"), true)
		// Keys and users are separate, including a user whose bare JID
		// has alice's as a prefix.
		checkValue(t, s, alice, "private", nil, false)
		checkValue(t, s, aliceAU, "vcard", nil, false)
		checkValue(t, s, bob, "vcard", nil, false)

		// Replace; the returned slice is the caller's to change.
		if err := s.Put(ctx(t), alice, "vcard", []byte("two")); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, _, _ := s.Get(ctx(t), alice, "vcard")
		got[0] = 'X'
		checkValue(t, s, alice, "vcard", []byte("two"), true)

		// A full JID stands for its bare JID.
		full := jid.MustParse("alice@example.com/phone")
		checkValue(t, s, full, "vcard", []byte("two"), true)

		if err := s.Delete(ctx(t), alice, "vcard"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		checkValue(t, s, alice, "vcard", nil, false)
		if err := s.Delete(ctx(t), alice, "vcard"); err != nil {
			t.Errorf("Delete(absent) = %v, want nil", err)
		}
	})

	t.Run("Values", func(t *testing.T) {
		s := store(t)
		binary := []byte{0, 1, 2, 0xff, 0, '\n', 0}
		big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
		cases := []struct {
			key   string
			value []byte
		}{
			{"empty", []byte{}},
			{"binary", binary},
			{"big", big},
			{"private/storage:bookmarks", []byte("<storage xmlns='storage:bookmarks'/>")},
			{"ключ ☺", []byte("unicode key")},
			{strings.Repeat("k", userdata.MaxKeyLen), []byte("longest key")},
		}
		for _, c := range cases {
			if err := s.Put(ctx(t), alice, c.key, c.value); err != nil {
				t.Fatalf("Put(%q): %v", c.key, err)
			}
		}
		for _, c := range cases {
			checkValue(t, s, alice, c.key, c.value, true)
		}
	})

	t.Run("BadKeys", func(t *testing.T) {
		s := store(t)
		for _, key := range []string{"", "a\x00b", strings.Repeat("k", userdata.MaxKeyLen+1)} {
			if err := s.Put(ctx(t), alice, key, []byte("x")); !errors.Is(err, userdata.ErrBadKey) {
				t.Errorf("Put(key %q) = %v, want ErrBadKey", key, err)
			}
			if _, _, err := s.Get(ctx(t), alice, key); !errors.Is(err, userdata.ErrBadKey) {
				t.Errorf("Get(key %q) = %v, want ErrBadKey", key, err)
			}
			if err := s.Delete(ctx(t), alice, key); !errors.Is(err, userdata.ErrBadKey) {
				t.Errorf("Delete(key %q) = %v, want ErrBadKey", key, err)
			}
		}
		if err := s.Put(ctx(t), jid.JID{}, "vcard", []byte("x")); err == nil {
			t.Error("Put for the empty JID succeeded")
		}
	})

	t.Run("RemoveUser", func(t *testing.T) {
		s := store(t)
		for _, u := range []jid.JID{alice, aliceAU, bob} {
			for _, k := range []string{"vcard", "private", "blocklist"} {
				if err := s.Put(ctx(t), u, k, []byte(u.String()+k)); err != nil {
					t.Fatalf("Put: %v", err)
				}
			}
		}
		if err := s.RemoveUser(ctx(t), alice); err != nil {
			t.Fatalf("RemoveUser: %v", err)
		}
		for _, k := range []string{"vcard", "private", "blocklist"} {
			checkValue(t, s, alice, k, nil, false)
			checkValue(t, s, aliceAU, k, []byte(aliceAU.String()+k), true)
			checkValue(t, s, bob, k, []byte(bob.String()+k), true)
		}
		if err := s.RemoveUser(ctx(t), alice); err != nil {
			t.Errorf("RemoveUser(again) = %v, want nil", err)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := store(t)
		if err := s.Put(canceled(), alice, "vcard", []byte("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Put(canceled ctx) = %v, want context.Canceled", err)
		}
		checkValue(t, s, alice, "vcard", nil, false)
		if _, _, err := s.Get(canceled(), alice, "vcard"); !errors.Is(err, context.Canceled) {
			t.Errorf("Get(canceled ctx) = %v, want context.Canceled", err)
		}
	})
}
