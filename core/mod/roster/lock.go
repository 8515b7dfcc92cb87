package roster

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// A user's roster changes are read-modify-write: two subscription
// exchanges crossing for the same user must not lose an update. A
// striped per-user lock (internal/userlock) serialises each user's
// changes. Stanzas to route are queued while the lock is held and routed
// after it is released, because routing may run the contact's handler,
// which takes the contact's lock (possibly the same stripe, or in the
// opposite order).
var locks userlock.Locks

func (m *Module) lock(user jid.JID) (unlock func()) { return locks.Lock(user) }

// queue holds stanzas to route once the lock is released.
type queue []*stanza.Stanza

func (q *queue) add(st *stanza.Stanza) {
	if st != nil {
		*q = append(*q, st)
	}
}

func (q queue) flush(ctx context.Context, h module.Host) {
	for _, st := range q {
		h.Route(ctx, st)
	}
}
