package registry

import (
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func TestUpdateRoundTrip(t *testing.T) {
	p := Place{JID: jid.MustParse("alice@example.com/phone"), Core: "c1", Edge: "e1", Stream: "s-1", Priority: -5, Available: true, BoundAt: time.Unix(1_700_000_000, 42)}
	for _, u := range []Update{{Op: OpSet, Place: p}, {Op: OpDel, Place: p}, {Op: OpDrop, Node: "core-7"}} {
		b, err := u.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Update
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if got.Op != u.Op || got.Node != u.Node || !got.Place.Same(u.Place) || got.Place.Priority != u.Place.Priority ||
			got.Place.Available != u.Place.Available || !got.Place.BoundAt.Equal(u.Place.BoundAt) {
			t.Fatalf("round trip of %+v gave %+v", u, got)
		}
	}
	if _, err := (Update{Op: 'q'}).MarshalBinary(); err == nil {
		t.Fatal("unknown op encoded")
	}
}

func FuzzUpdate(f *testing.F) {
	f.Add([]byte("salice@example.com/r\x1fc1\x1fe1\x1fs\x1f0\x1f1\x1f12"))
	f.Add([]byte("xnode"))
	f.Add([]byte("d\x1f\x1f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var u Update
		if u.UnmarshalBinary(b) != nil {
			return
		}
		// Whatever decodes must encode and decode to the same update.
		b2, err := u.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %q but cannot encode %+v: %v", b, u, err)
		}
		var u2 Update
		if err := u2.UnmarshalBinary(b2); err != nil || u2.Op != u.Op || u2.Node != u.Node || !u2.Place.Same(u.Place) {
			t.Fatalf("%q: %+v then %+v (%v)", b, u, u2, err)
		}
	})
}
