package core

import (
	"context"
	"errors"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// ErrNotSendable is returned by SendAs for a stanza that only a bound
// session can send.
var ErrNotSendable = errors.New("core: only messages and directed presence can be sent without a session")

// SendAs routes a message or a directed presence as if a session bound
// to from (a local account, or a full JID of one) had sent it: the UserSend hooks
// (carbons, archive, blocking, event notifications) and, for presence,
// the outbound presence hooks (subscriptions) run, then the router. No
// session is bound, so nothing is delivered to from itself; errors the
// router bounces to from are dropped. It is how front ends without a
// stream (the client REST API) send on a user's behalf.
func (c *Core) SendAs(ctx context.Context, from jid.JID, st *stanza.Stanza) error {
	if !c.IsLocal(from.Domain()) || from.Local() == "" {
		return errors.New("core: SendAs needs a local account")
	}
	if st.To.IsZero() || (st.Kind != stanza.Message && st.Kind != stanza.Presence) {
		return ErrNotSendable
	}
	metrics.In(uint8(st.Kind))
	s := &session{c: c, jid: from}
	s.closed.Store(true) // never a delivery target
	if st = c.userSend(ctx, s, st); st == nil {
		return nil
	}
	if st.Kind == stanza.Presence {
		c.directedPresence(ctx, s, st)
		return nil
	}
	c.route(ctx, st, s)
	return nil
}

// Instances returns the provisioned modules, in provisioning order, so
// that a front end can find one by type.
func (c *Core) Instances() []module.Instance {
	return append([]module.Instance(nil), c.instances...)
}
