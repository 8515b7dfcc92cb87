package register

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// account answers a registration IQ of an authenticated user about their
// own account (XEP-0077 §3.1 already registered, §3.2 removal, §3.3
// password change). XEP-0077 addresses these to the server, or sends them
// with no to; an IQ to the user's own bare JID is accepted too.
func (m *Module) account(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	user := iq.From.Bare()
	own := iq.To == user
	if iq.To.Local() == "" {
		own = iq.To.Domain() == user.Domain()
	}
	if !own || user.Local() == "" {
		return nil, stanza.ErrForbidden
	}
	q := iq.Payload
	if q.Local != "query" {
		return nil, stanza.ErrBadRequest
	}
	if !iq.Set {
		return xmltok.NewElement(NS, "query").Add(
			xmltok.NewElement(NS, "registered"),
			xmltok.NewElement(NS, "username").SetText(user.Local()),
		), nil
	}
	if q.Child(NS, "remove") != nil {
		return m.remove(ctx, iq, user)
	}
	return m.changePassword(ctx, q, user)
}

// remove cancels the registration (XEP-0077 §3.2). The result must reach
// the client before its sessions end, and RemoveUser ends them: so the
// result is delivered here, then the account removed, and the core is told
// not to reply again.
func (m *Module) remove(ctx context.Context, iq module.IQ, user jid.JID) (*xmltok.Element, error) {
	if !m.cfg.AllowRemove {
		return nil, stanza.ErrNotAllowed
	}
	var from jid.JID
	if !iq.Stanza.To.IsZero() {
		from = iq.To
	}
	m.h.DeliverTo(iq.From, stanza.Result(iq.Stanza, nil, from))
	if err := m.h.RemoveUser(ctx, user); err != nil {
		// The client was told it worked; the account is still there, so
		// it can log in and try again.
		m.log.Error("removing account failed after the result was sent", "user", user.String(), "err", err)
		return nil, module.ErrReplied
	}
	m.log.Info("account removed", "user", user.String())
	return nil, module.ErrReplied
}

// changePassword sets a new password (XEP-0077 §3.3).
func (m *Module) changePassword(ctx context.Context, q *xmltok.Element, user jid.JID) (*xmltok.Element, error) {
	if !m.cfg.AllowPasswordChange {
		return nil, stanza.ErrNotAllowed
	}
	username, password, err := fields(q)
	if err != nil {
		return nil, err
	}
	if named, err := jid.New(username, user.Domain(), ""); err != nil || named != user {
		return nil, stanza.ErrBadRequest.WithText("the username is not the account's own")
	}
	if err := m.h.SetPassword(ctx, user, password); err != nil {
		m.log.Warn("changing password failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	return nil, nil
}
