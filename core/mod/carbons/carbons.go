// Package carbons is Message Carbons (XEP-0280): a user's resources that
// enable carbons get a copy of every eligible message the user's other
// resources send (<sent/>) or receive (<received/>), so that a
// conversation follows the user across devices.
package carbons

import (
	"context"
	"sync"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces.
const (
	NS        = "urn:xmpp:carbons:2"
	NSForward = stanza.NSForward
	nsHints   = "urn:xmpp:hints"
	nsMUCUser = "http://jabber.org/protocol/muc#user"
)

func init() {
	module.Register(module.Info{Name: "carbons", New: New})
}

// Module is a provisioned carbons module.
type Module struct {
	h module.Host

	mu      sync.RWMutex
	enabled map[jid.JID]map[jid.JID]struct{} // bare → full JIDs with carbons on
}

// New provisions the module. It has no configuration.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{h: h, enabled: map[jid.JID]map[jid.JID]struct{}{}}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Account, NS, m.toggle)
	h.HandleIQ(module.Server, NS, m.toggle)
	h.AddHooks(module.Hooks{
		UserSend:         m.sent,
		MessageDelivered: m.received,
		SessionClosed: func(_ context.Context, s module.SessionInfo, _ string, _ bool) {
			m.set(s.JID, false)
		},
	})
	return m, nil
}

// toggle answers <enable/> and <disable/> (XEP-0280 §4, §5). Only a
// user's own resource may change its setting.
func (m *Module) toggle(_ context.Context, iq module.IQ) (*xmltok.Element, error) {
	if !iq.Set {
		return nil, stanza.ErrBadRequest
	}
	if iq.To.Local() != "" && iq.To != iq.From.Bare() {
		return nil, stanza.ErrForbidden
	}
	switch iq.Payload.Local {
	case "enable":
		m.set(iq.From, true)
	case "disable":
		m.set(iq.From, false)
	default:
		return nil, stanza.ErrBadRequest
	}
	return nil, nil
}

func (m *Module) set(full jid.JID, on bool) {
	bare := full.Bare()
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		if m.enabled[bare] == nil {
			m.enabled[bare] = map[jid.JID]struct{}{}
		}
		m.enabled[bare][full] = struct{}{}
		return
	}
	delete(m.enabled[bare], full)
	if len(m.enabled[bare]) == 0 {
		delete(m.enabled, bare)
	}
}

// Enabled reports whether a resource has carbons on.
func (m *Module) Enabled(full jid.JID) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.enabled[full.Bare()][full]
	return ok
}

// targets lists the user's resources with carbons on, except skip.
func (m *Module) targets(bare jid.JID, skip func(jid.JID) bool) []jid.JID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []jid.JID
	for full := range m.enabled[bare] {
		if !skip(full) {
			out = append(out, full)
		}
	}
	return out
}

// sent copies a message a resource sends to the user's other resources.
func (m *Module) sent(_ context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Message {
		return st
	}
	bare := from.JID.Bare()
	to := m.targets(bare, func(full jid.JID) bool { return full == from.JID || full == st.To })
	if len(to) == 0 {
		return st
	}
	el, ok := eligible(st)
	if !ok {
		return st
	}
	for _, full := range to {
		m.h.DeliverTo(full, wrap("sent", bare, full, st.Type, el))
	}
	return st
}

// received copies a message delivered to some of the user's resources to
// the others that enabled carbons.
func (m *Module) received(_ context.Context, st *stanza.Stanza, to jid.JID, delivered []jid.JID) {
	bare := to.Bare()
	if st.From.Bare() == bare {
		// The user's own message: its sender's carbons covered it.
		return
	}
	targets := m.targets(bare, func(full jid.JID) bool {
		for _, d := range delivered {
			if d == full {
				return true
			}
		}
		return false
	})
	if len(targets) == 0 {
		return
	}
	el, ok := eligible(st)
	if !ok {
		return
	}
	for _, full := range targets {
		m.h.DeliverTo(full, wrap("received", bare, full, st.Type, el))
	}
}

// eligible applies XEP-0280 §6: chat messages, normal messages with a
// body, and messages carrying IM payloads (receipts, chat markers, chat
// states) or errors — unless marked private or no-copy, or groupchat
// (except private messages through a room).
func eligible(st *stanza.Stanza) (*xmltok.Element, bool) {
	if st.Type == "groupchat" || st.Type == "headline" {
		return nil, false
	}
	el, err := st.Element()
	if err != nil {
		return nil, false
	}
	im := st.Type == "chat" || st.Type == "error"
	for _, c := range el.Children {
		switch {
		case c.Space == NS && c.Local == "private":
			return nil, false
		case c.Space == nsHints && c.Local == "no-copy":
			return nil, false
		case c.Space == NS && (c.Local == "sent" || c.Local == "received"):
			// Already a copy.
			return nil, false
		case c.Local == "body" && (c.Space == stanza.NSClient || c.Space == ""):
			im = true
		case c.Space == "urn:xmpp:receipts", c.Space == "urn:xmpp:chat-markers:0",
			c.Space == "http://jabber.org/protocol/chatstates", c.Space == nsMUCUser,
			c.Space == "eu.siacs.conversations.axolotl", c.Space == "urn:xmpp:omemo:2":
			im = true
		}
	}
	return el, im
}

// wrap builds the carbon copy: the original inside <forwarded/> inside
// <sent/> or <received/>, from the user's bare JID (XEP-0280 §7, §8).
func wrap(kind string, bare, to jid.JID, typ string, orig *xmltok.Element) *stanza.Stanza {
	msg := xmltok.NewElement(stanza.NSClient, "message")
	msg.SetAttr("from", bare.String())
	msg.SetAttr("to", to.String())
	if typ != "" && typ != "error" {
		msg.SetAttr("type", typ)
	}
	inner := orig.Copy()
	inner.Space = stanza.NSClient
	msg.Add(xmltok.NewElement(NS, kind).Add(xmltok.NewElement(NSForward, "forwarded").Add(inner)))
	return stanza.FromElement(msg)
}
