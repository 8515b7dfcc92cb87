// Package userlock serialises the read-modify-write cycles of one user's
// data (two resources changing a roster, a blocklist or a PEP node at
// once) without one lock per user: each user maps to one of 256 mutexes.
// It must hold nothing else.
package userlock

import (
	"hash/maphash"
	"sync"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Locks is a set of striped per-user locks. The zero value is ready to
// use. A holder must not take a second user's lock from the same set: two
// users may share a stripe.
type Locks struct {
	once    sync.Once
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

// Lock locks user's stripe and returns the function that unlocks it.
func (l *Locks) Lock(user jid.JID) (unlock func()) {
	l.once.Do(func() { l.seed = maphash.MakeSeed() })
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(user.Local())
	h.WriteByte('@')
	h.WriteString(user.Domain())
	mu := &l.stripes[h.Sum64()%uint64(len(l.stripes))]
	mu.Lock()
	return mu.Unlock
}

// Busy marks the users a piece of code is changing, so that it can tell
// its own changes when they come back to it (a module that observes PEP
// and writes to PEP). The zero value is ready to use.
type Busy struct {
	mu sync.Mutex
	m  map[jid.JID]bool
}

// Enter marks user busy; false when it already was.
func (b *Busy) Enter(user jid.JID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m[user] {
		return false
	}
	if b.m == nil {
		b.m = map[jid.JID]bool{}
	}
	b.m[user] = true
	return true
}

// Leave clears what Enter marked.
func (b *Busy) Leave(user jid.JID) {
	b.mu.Lock()
	delete(b.m, user)
	b.mu.Unlock()
}
