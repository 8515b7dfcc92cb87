package register

import (
	"context"
	"errors"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const instructions = "Choose a username and password to register with this server."

// Outcomes counted in metrics.Registrations.
const (
	resultCreated     = "created"
	resultConflict    = "conflict"
	resultRateLimited = "rate_limited"
	resultInvalid     = "invalid"
	resultDisabled    = "disabled"
	resultError       = "error"
)

func count(result string) { metrics.Registrations.WithLabelValues(result).Inc() }

// preAuth answers a registration IQ of a client that has not
// authenticated (XEP-0077 §3.1).
func (m *Module) preAuth(ctx context.Context, domain, remoteAddr string, iq module.IQ) (*xmltok.Element, error) {
	if !m.domains[domain] {
		count(resultDisabled)
		return nil, stanza.ErrNotAllowed
	}
	q := iq.Payload
	if q.Local != "query" {
		return nil, stanza.ErrBadRequest
	}
	if !iq.Set {
		return xmltok.NewElement(NS, "query").Add(
			xmltok.NewElement(NS, "instructions").SetText(instructions),
			xmltok.NewElement(NS, "username"),
			xmltok.NewElement(NS, "password"),
		), nil
	}
	if m.limit != nil && !m.limit.allow(remoteAddr) {
		count(resultRateLimited)
		return nil, stanza.ErrResourceConstraint
	}
	if q.Child(NS, "remove") != nil {
		// XEP-0077 §3.2: only an authenticated user can cancel a
		// registration.
		count(resultInvalid)
		return nil, stanza.ErrNotAuthorized
	}
	username, password, err := fields(q)
	if err != nil {
		count(resultInvalid)
		return nil, err
	}
	user, err := jid.New(username, domain, "")
	if err != nil {
		count(resultInvalid)
		return nil, stanza.ErrJIDMalformed
	}
	switch err := m.h.CreateUser(ctx, user, password); {
	case errors.Is(err, auth.ErrExists):
		count(resultConflict)
		return nil, stanza.ErrConflict
	case err != nil:
		count(resultError)
		m.log.Warn("creating account failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	count(resultCreated)
	m.log.Info("account registered", "user", user.String())
	return nil, nil
}

// fields returns the username and password of a registration form;
// XEP-0077 §3.1: a form without them is not-acceptable.
func fields(q *xmltok.Element) (username, password string, err error) {
	u, p := q.Child(NS, "username"), q.Child(NS, "password")
	if u == nil || p == nil || u.Text == "" || p.Text == "" {
		return "", "", stanza.ErrNotAcceptable.WithText("username and password are required")
	}
	return u.Text, p.Text, nil
}
