package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/last"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func checkLast(t *testing.T, s last.Store, user jid.JID, wantAt time.Time, wantStatus string, wantOK bool) {
	t.Helper()
	at, status, ok, err := s.GetLast(ctx(t), user)
	if err != nil {
		t.Fatalf("GetLast(%s): %v", user, err)
	}
	if ok != wantOK || !at.Equal(wantAt) || status != wantStatus {
		t.Errorf("GetLast(%s) = %v, %q, %v; want %v, %q, %v", user, at, status, ok, wantAt, wantStatus, wantOK)
	}
}

func runLast(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Run("SetGet", func(t *testing.T) {
		s := fresh(t, open).Last
		checkLast(t, s, alice, time.Time{}, "", false)
		if err := s.SetLast(ctx(t), alice, when, "Gone fishing ☺"); err != nil {
			t.Fatalf("SetLast: %v", err)
		}
		checkLast(t, s, alice, when, "Gone fishing ☺", true)
		checkLast(t, s, aliceAU, time.Time{}, "", false)
		checkLast(t, s, bob, time.Time{}, "", false)

		// Replace, with an empty status.
		later := when.Add(90 * time.Minute)
		if err := s.SetLast(ctx(t), alice, later, ""); err != nil {
			t.Fatalf("SetLast: %v", err)
		}
		checkLast(t, s, alice, later, "", true)
	})

	t.Run("DeleteUser", func(t *testing.T) {
		s := fresh(t, open).Last
		for _, u := range []jid.JID{alice, aliceAU, bob} {
			if err := s.SetLast(ctx(t), u, when, u.String()); err != nil {
				t.Fatalf("SetLast: %v", err)
			}
		}
		if err := s.DeleteUser(ctx(t), alice); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		checkLast(t, s, alice, time.Time{}, "", false)
		checkLast(t, s, aliceAU, when, aliceAU.String(), true)
		checkLast(t, s, bob, when, bob.String(), true)
		if err := s.DeleteUser(ctx(t), alice); err != nil {
			t.Errorf("DeleteUser(again) = %v, want nil", err)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := fresh(t, open).Last
		if err := s.SetLast(canceled(), alice, when, "x"); !errors.Is(err, context.Canceled) {
			t.Errorf("SetLast(canceled ctx) = %v, want context.Canceled", err)
		}
		checkLast(t, s, alice, time.Time{}, "", false)
	})
}
