package mam

import (
	"context"
	"strings"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// maxPrefsJIDs bounds the always and never lists together.
const maxPrefsJIDs = 1000

func validPolicy(s string) bool { return s == Always || s == Never || s == Roster }

// allows decides whether a message to or from target is archived
// (XEP-0441 §2.3): a listed full JID is compared as it is, a listed bare
// JID with target's bare JID; a full-JID entry wins over a bare one, and
// never wins over always at the same level. Unlisted targets follow the
// default; inRoster is asked only for the 'roster' default.
func (p Prefs) allows(target jid.JID, inRoster func() bool) bool {
	bare := target.Bare()
	if !target.IsBare() {
		if contains(p.Never, target) {
			return false
		}
		if contains(p.Always, target) {
			return true
		}
	}
	if contains(p.Never, bare) {
		return false
	}
	if contains(p.Always, bare) {
		return true
	}
	switch p.Default {
	case Always:
		return true
	case Roster:
		return inRoster()
	}
	return false
}

func contains(list []jid.JID, j jid.JID) bool {
	for _, l := range list {
		if l == j {
			return true
		}
	}
	return false
}

// prefsIQ gets or sets the user's preferences (XEP-0441 §2.1).
func (m *Module) prefsIQ(ctx context.Context, iq module.IQ, user jid.JID) (*xmltok.Element, error) {
	if !iq.Set {
		p, ok, err := m.store.Prefs(ctx, user)
		if err != nil {
			m.log.Error("reading archiving preferences failed", "user", user.String(), "err", err)
			return nil, stanza.ErrInternalServerError
		}
		if !ok {
			p = Prefs{Default: m.cfg.Default}
		}
		return prefsElement(p), nil
	}
	p, err := parsePrefs(iq.Payload)
	if err != nil {
		return nil, err
	}
	if err := m.store.SetPrefs(ctx, user, p); err != nil {
		m.log.Error("storing archiving preferences failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	return prefsElement(p), nil
}

func parsePrefs(el *xmltok.Element) (Prefs, error) {
	p := Prefs{Default: el.Attr("default")}
	if !validPolicy(p.Default) {
		return Prefs{}, stanza.ErrBadRequest.WithText("default must be always, roster or never")
	}
	n := 0
	for _, list := range []struct {
		name string
		dst  *[]jid.JID
	}{{"always", &p.Always}, {"never", &p.Never}} {
		lists := el.ChildrenNamed(NS, list.name)
		if len(lists) > 1 {
			return Prefs{}, stanza.ErrBadRequest.WithText("more than one <" + list.name + "/>")
		}
		if len(lists) == 0 {
			continue
		}
		for _, c := range lists[0].ChildrenNamed(NS, "jid") {
			j, err := jid.Parse(strings.TrimSpace(c.Text))
			if err != nil {
				return Prefs{}, stanza.ErrJIDMalformed.WithText("invalid JID in <" + list.name + "/>")
			}
			if n++; n > maxPrefsJIDs {
				return Prefs{}, stanza.ErrNotAcceptable.WithText("too many JIDs")
			}
			if !contains(*list.dst, j) {
				*list.dst = append(*list.dst, j)
			}
		}
	}
	return p, nil
}

func prefsElement(p Prefs) *xmltok.Element {
	el := xmltok.NewElement(NS, "prefs", xmltok.Attr{Name: "default", Value: p.Default})
	for _, list := range []struct {
		name string
		jids []jid.JID
	}{{"always", p.Always}, {"never", p.Never}} {
		l := xmltok.NewElement(NS, list.name)
		for _, j := range list.jids {
			l.Add(xmltok.NewElement(NS, "jid").SetText(j.String()))
		}
		el.Add(l)
	}
	return el
}
