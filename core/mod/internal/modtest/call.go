package modtest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

var nextID atomic.Uint64

// Request builds an IQ stanza; to may be "".
func Request(t testing.TB, from, to, typ string, payload *xmltok.Element) *stanza.Stanza {
	t.Helper()
	el := xmltok.NewElement(stanza.NSClient, "iq",
		xmltok.Attr{Name: "type", Value: typ},
		xmltok.Attr{Name: "id", Value: "q" + strconv.FormatUint(nextID.Add(1), 10)})
	if from != "" {
		el.SetAttr("from", JID(t, from).String())
	}
	if to != "" {
		el.SetAttr("to", JID(t, to).String())
	}
	if payload != nil {
		el.Add(payload)
	}
	return stanza.FromElement(el)
}

// IQ sends an IQ get or set from a client the way the core's router does
// (RFC 6120 §10.3, §10.4): no to or a bare JID goes to the Account handler
// (after checking that another user's account exists), a domain to the
// Server handler; no handler is service-unavailable. It returns what the
// handler returned, module.ErrReplied included.
func (h *Host) IQ(ctx context.Context, t testing.TB, from, to, typ string, payload *xmltok.Element) (*xmltok.Element, error) {
	t.Helper()
	st := Request(t, from, to, typ, payload)
	p := st.Payload()
	if p == nil {
		return nil, stanza.ErrBadRequest
	}
	target, addr := module.Account, st.From.Bare()
	switch {
	case st.To.IsZero():
	case st.To.Local() == "":
		target, addr = module.Server, st.To.DomainJID()
	case st.To.IsBare():
		addr = st.To
	default:
		t.Fatalf("modtest: IQ to a full JID %s is delivered to the client, not to a module", st.To)
	}
	if target == module.Account && addr != st.From.Bare() {
		if ok, _ := h.UserExists(ctx, addr); !ok {
			return nil, stanza.ErrServiceUnavailable
		}
	}
	h.mu.Lock()
	fn := h.iq[target][p.Space]
	h.mu.Unlock()
	if fn == nil {
		return nil, stanza.ErrServiceUnavailable
	}
	return fn(ctx, module.IQ{Stanza: st, Payload: p, From: st.From, To: addr, Set: typ == "set"})
}

// PreAuthIQ sends an IQ of an unauthenticated client on a stream to domain
// from remoteAddr, the way the core's PreAuth does.
func (h *Host) PreAuthIQ(ctx context.Context, t testing.TB, domain, remoteAddr, typ string, payload *xmltok.Element) (*xmltok.Element, error) {
	t.Helper()
	st := Request(t, "", "", typ, payload)
	p := st.Payload()
	if p == nil {
		return nil, stanza.ErrBadRequest
	}
	h.mu.Lock()
	fn := h.preAuth[p.Space]
	h.mu.Unlock()
	if fn == nil {
		return nil, stanza.ErrServiceUnavailable
	}
	server, _ := jid.New("", domain, "")
	return fn(ctx, domain, remoteAddr, module.IQ{Stanza: st, Payload: p, To: server, Set: typ == "set"})
}

// Condition returns the condition of a stanza error, "" for nil, and
// "not a stanza error" for any other error.
func Condition(err error) string {
	if err == nil {
		return ""
	}
	var se *stanza.Error
	if errors.As(err, &se) {
		return se.Condition
	}
	return "not a stanza error: " + err.Error()
}
