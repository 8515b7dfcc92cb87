package storagetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func runOffline(t *testing.T, open func(t *testing.T) *storage.Stores) {
	ctx := context.Background()
	st := open(t)
	s := st.Offline
	if s == nil {
		t.Fatal("backend has no offline store")
	}
	alice, alice2, bob := jid.MustParse("alice@example.com"), jid.MustParse("alice@example.com2"), jid.MustParse("bob@example.com")
	if got, err := s.Pop(ctx, alice); err != nil || len(got) != 0 {
		t.Fatalf("empty pop: %v %v", got, err)
	}
	for i := 0; i < 3; i++ {
		ok, err := s.Push(ctx, alice, []byte(fmt.Sprintf("<message id='%d'/>", i)), 3)
		if err != nil || !ok {
			t.Fatalf("push %d: %v %v", i, ok, err)
		}
	}
	if ok, err := s.Push(ctx, alice, []byte("<message id='over'/>"), 3); err != nil || ok {
		t.Fatalf("push over the limit: %v %v", ok, err)
	}
	if _, err := s.Push(ctx, alice2, []byte("<message id='other'/>"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(ctx, bob, []byte("<message id='bob'/>"), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx, alice); err != nil || n != 3 {
		t.Fatalf("count %d %v", n, err)
	}
	got, err := s.Pop(ctx, alice)
	if err != nil || len(got) != 3 {
		t.Fatalf("pop: %q %v", got, err)
	}
	for i, m := range got {
		if string(m) != fmt.Sprintf("<message id='%d'/>", i) {
			t.Fatalf("pop order: %q", got)
		}
	}
	if n, _ := s.Count(ctx, alice); n != 0 {
		t.Fatalf("pop left %d", n)
	}
	if n, _ := s.Count(ctx, alice2); n != 1 {
		t.Fatalf("other user's messages: %d", n)
	}
	if err := s.DeleteUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, bob); n != 0 {
		t.Fatalf("DeleteUser left %d", n)
	}
}
