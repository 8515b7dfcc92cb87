package quic

import (
	"strconv"
	"testing"

	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// An acknowledgement drops exactly the frames it covers, in order, and
// an emptied list keeps its array unless a burst made it large.
func TestFlowAck(t *testing.T) {
	var f flow
	f.init()
	a := jid.MustParse("a@localhost/r")
	push := func(n int) {
		f.mu.Lock()
		for range n {
			f.pushLocked(wire.Stanza, message(a, a, strconv.Itoa(int(f.next))))
		}
		f.mu.Unlock()
	}
	seqs := func() []uint64 {
		var s []uint64
		for _, x := range f.unacked {
			s = append(s, x.seq)
		}
		return s
	}
	push(5)
	f.ack(2)
	if got := seqs(); len(got) != 3 || got[0] != 3 || got[2] != 5 || f.unacked[0].st.ID != "3" {
		t.Fatalf("after ack 2: %v", got)
	}
	f.ack(2) // again: nothing more goes
	if len(f.unacked) != 3 {
		t.Fatalf("repeated ack dropped frames: %v", seqs())
	}
	if tail := f.unacked[:cap(f.unacked)][3:5]; tail[0].st != nil || tail[1].st != nil {
		t.Fatal("dropped frames still referenced by the array")
	}
	f.ack(5)
	if len(f.unacked) != 0 || cap(f.unacked) == 0 {
		t.Fatalf("emptied small list: len %d cap %d, want its array kept", len(f.unacked), cap(f.unacked))
	}
	st := message(a, a, "x")
	if n := testing.AllocsPerRun(100, func() {
		f.mu.Lock()
		f.pushLocked(wire.Stanza, st)
		f.mu.Unlock()
		f.ack(f.next - 1)
	}); n != 0 {
		t.Fatalf("%v allocations per pushed and acknowledged frame, want 0", n)
	}
	push(keepUnacked * 4)
	f.ack(f.next - 1)
	if f.unacked != nil {
		t.Fatalf("emptied list after a burst keeps %d frames' room", cap(f.unacked))
	}
}
