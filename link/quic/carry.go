package quic

import (
	"bytes"
	"crypto/rand"

	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of the client requests whose effect a reopened session must
// keep: a roster get makes the resource interested (RFC 6121 §2.1.6),
// carbons are enabled per resource (XEP-0280).
const (
	nsRoster  = "jabber:iq:roster"
	nsCarbons = "urn:xmpp:carbons:2"
)

// carried is the state a session gets on its core from what the client
// sent, which a core that reopens the session does not have: the edge
// learns it from the client's stanzas that the core acknowledged (so what
// is still unacknowledged is replayed in order after it), and carries it
// to the new core by sending equivalent stanzas right after Open.
type carried struct {
	presence   *stanza.Stanza // last broadcast available presence; nil: none, or unavailable since
	interested bool           // the client asked for its roster
	carbons    bool           // the client enabled carbons (and did not disable them since)
}

// note records the effect of a stanza the client sent (self is the
// session's full JID).
func (k *carried) note(st *stanza.Stanza, self jid.JID) {
	switch st.Kind {
	case stanza.Presence:
		if !st.To.IsZero() {
			return // directed presence: not the session's availability
		}
		switch st.Type {
		case "":
			k.presence = st
		case "unavailable":
			k.presence = nil
		}
	case stanza.IQ:
		if st.Type != "get" && st.Type != "set" {
			return
		}
		if !st.To.IsZero() && st.To != self.Bare() && st.To != self.DomainJID() {
			return
		}
		// Cheap test first: most IQs are neither.
		roster := st.Type == "get" && bytes.Contains(st.Bytes, []byte(nsRoster))
		carbons := st.Type == "set" && bytes.Contains(st.Bytes, []byte(nsCarbons))
		if !roster && !carbons {
			return
		}
		// Parsed here rather than through st.Element, which caches on
		// the stanza and would race with other readers of it.
		el, err := xmltok.Parse(st.Bytes, stanza.NSClient, nil)
		if err != nil || len(el.Children) == 0 {
			return
		}
		p := el.Children[0]
		switch {
		case roster && p.Space == nsRoster && p.Local == "query" && st.To != self.DomainJID():
			k.interested = true
		case carbons && p.Space == nsCarbons && p.Local == "enable":
			k.carbons = true
		case carbons && p.Space == nsCarbons && p.Local == "disable":
			k.carbons = false
		}
	}
}

// stanzas returns what carries the state to a new core, in order:
// the presence (as the client sent it), then a roster get and a carbons
// enable with fresh ids, which are also returned so that the replies are
// not handed to the client.
func (k *carried) stanzas(self jid.JID) (out []*stanza.Stanza, ids []string) {
	if k.presence != nil {
		out = append(out, k.presence)
	}
	iq := func(typ, space, local string) {
		id := "link-carry-" + rand.Text()
		el := xmltok.NewElement(stanza.NSClient, "iq")
		el.SetAttr("type", typ)
		el.SetAttr("id", id)
		el.SetAttr("from", self.String())
		el.SetAttr("to", self.Bare().String())
		el.Add(xmltok.NewElement(space, local))
		out = append(out, stanza.FromElement(el))
		ids = append(ids, id)
	}
	if k.interested {
		iq("get", nsRoster, "query")
	}
	if k.carbons {
		iq("set", nsCarbons, "enable")
	}
	return out, ids
}

// carryLocked prepares a reopen (s.f.mu is held): the carrying stanzas
// of an earlier reopen are dropped, new ones are put in front of what the
// previous core did not acknowledge, and everything is numbered afresh
// from s.f.next. Fresh numbers are above any the old core could still
// acknowledge, so a late acknowledgement from it drops nothing of the
// new attachment. It returns how many carrying stanzas it added.
func (s *csession) carryLocked(reopen bool) int {
	var front []*stanza.Stanza
	s.carryIDs = nil
	if reopen && !s.closing {
		var ids []string
		front, ids = s.state.stanzas(s.full)
		if len(ids) > 0 {
			s.carryIDs = make(map[string]struct{}, len(ids))
			for _, id := range ids {
				s.carryIDs[id] = struct{}{}
			}
		}
	}
	all := make([]sent, 0, len(front)+len(s.f.unacked))
	for _, st := range front {
		all = append(all, sent{t: wire.Stanza, st: st, carry: true})
	}
	for _, x := range s.f.unacked {
		if !x.carry {
			all = append(all, x)
		}
	}
	for i := range all {
		all[i].seq = s.f.next
		s.f.next++
	}
	s.f.unacked = all
	return len(front)
}

// ackedLocked records the effect of a frame the core acknowledged.
func (s *csession) ackedLocked(x sent) {
	if x.carry || x.t != wire.Stanza || x.st == nil {
		return
	}
	s.state.note(x.st, s.full)
}

// swallowLocked reports whether a stanza from the core is the reply to a
// carrying IQ, which the client must not see (it never sent that IQ, or
// got its reply already from the old core).
func (s *csession) swallowLocked(st *stanza.Stanza) bool {
	if st.Kind != stanza.IQ || (st.Type != "result" && st.Type != "error") || s.carryIDs == nil {
		return false
	}
	if _, ok := s.carryIDs[st.ID]; !ok {
		return false
	}
	delete(s.carryIDs, st.ID)
	return true
}
