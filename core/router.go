package core

import (
	"context"
	"errors"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Route implements module.Host: a stanza the server itself sends.
func (c *Core) Route(ctx context.Context, st *stanza.Stanza) { c.route(ctx, st, nil) }

// route delivers a stanza by its to address (RFC 6120 §10). from is the
// local session that sent it, or nil for server-generated stanzas.
func (c *Core) route(ctx context.Context, st *stanza.Stanza, from *session) {
	to := st.To
	if to.IsZero() {
		// RFC 6120 §10.3: no to means the sender's own account.
		if from == nil {
			c.drop("no_recipient")
			return
		}
		switch st.Kind {
		case stanza.IQ:
			if c.response(st) {
				return
			}
			if st = c.userReceive(ctx, from.jid.Bare(), st); st == nil {
				return
			}
			c.serveIQ(ctx, st, module.Account, from.jid.Bare(), false)
		case stanza.Message:
			if st = c.userReceive(ctx, from.jid.Bare(), st); st == nil {
				return
			}
			c.toBare(ctx, st, from.jid.Bare())
		default:
			c.drop("no_recipient")
		}
		return
	}
	if !c.IsLocal(to.Domain()) {
		// No federation yet: RFC 6120 §10.4.3.
		c.bounce(ctx, st, stanza.ErrRemoteServerNotFound)
		return
	}
	if c.response(st) {
		return
	}
	if to.Local() != "" && c.forward(ctx, st, to) {
		return
	}
	c.inbound(ctx, st, to)
}

// inbound is the recipient's side of routing to a served domain.
func (c *Core) inbound(ctx context.Context, st *stanza.Stanza, to jid.JID) {
	if to.Local() != "" && len(c.recvHooks) > 0 {
		if st = c.userReceive(ctx, to, st); st == nil {
			return
		}
	}
	switch {
	case to.Local() == "":
		c.toServer(ctx, st, to)
	case to.IsBare():
		c.toBare(ctx, st, to)
	default:
		c.toFull(ctx, st, to)
	}
}

// toServer handles stanzas to a served domain (RFC 6120 §10.4.1).
func (c *Core) toServer(ctx context.Context, st *stanza.Stanza, to jid.JID) {
	switch st.Kind {
	case stanza.IQ:
		c.serveIQ(ctx, st, module.Server, to.DomainJID(), true)
	case stanza.Message:
		if st.Type == "error" || st.Type == "headline" {
			c.drop("message_to_server")
			return
		}
		c.bounce(ctx, st, stanza.ErrServiceUnavailable)
	default:
		c.drop("presence_to_server")
	}
}

// toBare handles stanzas to a local bare JID (RFC 6121 §8.5.2).
func (c *Core) toBare(ctx context.Context, st *stanza.Stanza, to jid.JID) {
	switch st.Kind {
	case stanza.Message:
		c.messageToBare(ctx, st, to)
	case stanza.Presence:
		for _, h := range c.hooks {
			if h.InboundPresence != nil && h.InboundPresence(ctx, st) {
				return
			}
		}
		if st.Type == "probe" || isSubscription(st.Type) {
			c.drop("presence_unhandled")
			return
		}
		// Directed presence to a bare JID goes to every available resource.
		n := 0
		for _, s := range c.sessionsOf(to) {
			if s.isAvailable() {
				c.deliver(s, st)
				n++
			}
		}
		if n == 0 {
			c.drop("presence_unavailable")
		}
	case stanza.IQ:
		if st.Type != "get" && st.Type != "set" {
			c.drop("iq_response_to_account")
			return
		}
		c.serveIQ(ctx, st, module.Account, to, true)
	}
}

func (c *Core) messageToBare(ctx context.Context, st *stanza.Stanza, to jid.JID) {
	if st.Type == "groupchat" {
		c.bounce(ctx, st, stanza.ErrServiceUnavailable)
		return
	}
	var (
		best    [8]*session
		targets = best[:0]
		maxPrio = 0
	)
	for _, s := range c.sessionsOf(to) {
		s.mu.Lock()
		avail, prio := s.available, s.priority
		s.mu.Unlock()
		if !avail || prio < 0 {
			continue
		}
		if st.Type == "headline" {
			targets = append(targets, s)
			continue
		}
		// normal and chat: the available resources of highest priority
		// (RFC 6121 §8.5.2.1.1).
		switch {
		case len(targets) == 0 || prio > maxPrio:
			targets = append(targets[:0], s)
			maxPrio = prio
		case prio == maxPrio:
			targets = append(targets, s)
		}
	}
	if len(targets) > 0 {
		if len(c.deliveredHooks) == 0 {
			for _, s := range targets {
				c.deliver(s, st)
			}
			return
		}
		delivered := make([]jid.JID, 0, len(targets))
		for _, s := range targets {
			if c.deliver(s, st) {
				delivered = append(delivered, s.jid)
			}
		}
		if len(delivered) > 0 {
			c.messageDelivered(ctx, st, to, delivered)
		}
		return
	}
	if st.Type == "headline" || st.Type == "error" {
		c.drop("message_unavailable")
		return
	}
	exists, err := c.UserExists(ctx, to)
	if err != nil {
		c.bounce(ctx, st, stanza.ErrInternalServerError)
		return
	}
	if exists {
		for _, h := range c.hooks {
			if h.OfflineMessage != nil && h.OfflineMessage(ctx, st) {
				return
			}
		}
	}
	// RFC 6121 §8.5.2.2.1 (no such user) and §8.5.2.1.1 (no offline storage).
	c.bounce(ctx, st, stanza.ErrServiceUnavailable)
}

// toFull handles stanzas to a local full JID (RFC 6121 §8.5.3).
func (c *Core) toFull(ctx context.Context, st *stanza.Stanza, to jid.JID) {
	if s := c.session(to); s != nil {
		if c.deliver(s, st) && st.Kind == stanza.Message && len(c.deliveredHooks) > 0 {
			c.messageDelivered(ctx, st, to, []jid.JID{s.jid})
		}
		return
	}
	switch st.Kind {
	case stanza.Message:
		switch st.Type {
		case "groupchat":
			c.bounce(ctx, st, stanza.ErrServiceUnavailable)
		case "error":
			c.drop("message_unavailable")
		default:
			c.messageToBare(ctx, st, to.Bare())
		}
	case stanza.Presence:
		if st.Type == "probe" || isSubscription(st.Type) {
			c.toBare(ctx, st, to.Bare())
			return
		}
		c.drop("presence_unavailable")
	case stanza.IQ:
		if st.Type == "get" || st.Type == "set" {
			c.bounce(ctx, st, stanza.ErrServiceUnavailable)
			return
		}
		c.drop("iq_response_unavailable")
	}
}

// serveIQ dispatches an IQ get/set to a module handler by payload namespace.
func (c *Core) serveIQ(ctx context.Context, st *stanza.Stanza, t module.Target, to jid.JID, addressed bool) {
	if st.Type != "get" && st.Type != "set" {
		if st.Type == "result" || st.Type == "error" {
			c.drop("iq_response_to_server")
			return
		}
		c.bounce(ctx, st, stanza.ErrBadRequest)
		return
	}
	p := st.Payload()
	if p == nil {
		c.bounce(ctx, st, stanza.ErrBadRequest)
		return
	}
	if t == module.Account && to != st.From.Bare() {
		if ok, err := c.UserExists(ctx, to); err != nil || !ok {
			c.bounce(ctx, st, stanza.ErrServiceUnavailable)
			return
		}
	}
	h := c.iq[t][p.Space]
	if h == nil {
		c.bounce(ctx, st, stanza.ErrServiceUnavailable)
		return
	}
	res, err := h(ctx, iqOf(st, p, to))
	var from jid.JID
	if addressed {
		from = to
	}
	if errors.Is(err, module.ErrReplied) {
		return
	}
	if err != nil {
		c.route(ctx, stanza.ErrorReply(st, asStanzaError(err), from), nil)
		return
	}
	c.route(ctx, stanza.Result(st, res, from), nil)
}

func iqOf(st *stanza.Stanza, p *xmltok.Element, to jid.JID) module.IQ {
	return module.IQ{Stanza: st, Payload: p, From: st.From, To: to, Set: st.Type == "set"}
}

func asStanzaError(err error) *stanza.Error {
	var se *stanza.Error
	if errors.As(err, &se) {
		return se
	}
	return stanza.ErrInternalServerError
}

// bounce answers a stanza with an error (RFC 6120 §8.3), never an error
// to an error.
func (c *Core) bounce(ctx context.Context, st *stanza.Stanza, e *stanza.Error) {
	if st.IsError() {
		c.drop("error_to_error")
		return
	}
	if st.Kind == stanza.IQ && st.Type != "get" && st.Type != "set" {
		c.drop("error_to_response")
		return
	}
	if st.From.IsZero() {
		c.drop("bounce_without_sender")
		return
	}
	metrics.StanzaErrors.WithLabelValues(e.Condition).Inc()
	// RFC 6120 §8.1.2.1: the answer to a stanza without a to (handled
	// for the sender's own account) carries no from.
	c.route(ctx, stanza.ErrorReply(st, e, st.To), nil)
}

func (c *Core) drop(reason string) { metrics.Dropped.WithLabelValues(reason).Inc() }

func isSubscription(typ string) bool {
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true
	}
	return false
}

// stanzaElement builds a bare top-level element.
func stanzaElement(kind, to, from, typ string) *xmltok.Element {
	el := xmltok.NewElement(stanza.NSClient, kind)
	if to != "" {
		el.SetAttr("to", to)
	}
	if from != "" {
		el.SetAttr("from", from)
	}
	if typ != "" {
		el.SetAttr("type", typ)
	}
	return el
}
