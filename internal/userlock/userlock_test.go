package userlock

import (
	"sync"
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// One user's critical sections never overlap.
func TestLockSerialisesOneUser(t *testing.T) {
	var l Locks
	u := jid.MustParse("alice@example.com")
	inside := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				unlock := l.Lock(u)
				inside++
				if inside != 1 {
					t.Error("two holders of one user's lock")
				}
				inside--
				unlock()
			}
		}()
	}
	wg.Wait()
}

func TestBusy(t *testing.T) {
	var b Busy
	u, v := jid.MustParse("alice@example.com"), jid.MustParse("bob@example.com")
	if !b.Enter(u) || b.Enter(u) || !b.Enter(v) {
		t.Fatal("Enter: want true, false, true")
	}
	b.Leave(u)
	if !b.Enter(u) {
		t.Fatal("Enter after Leave refused")
	}
}
