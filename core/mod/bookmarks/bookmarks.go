// Package bookmarks is the compatibility layer of PEP native bookmarks
// (XEP-0402 §5): one set of room bookmarks, kept as urn:xmpp:bookmarks:1
// items in the user's PEP service, seen the same way by clients that
// still use XEP-0048 in private XML storage (XEP-0049) or in the PEP node
// storage:bookmarks (XEP-0223). It owns no storage: PEP holds the
// bookmarks, and it must not know how PEP or private storage keep them.
package bookmarks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces.
const (
	NS        = "urn:xmpp:bookmarks:1" // XEP-0402 node and payload
	NSLegacy  = "storage:bookmarks"    // XEP-0048 payload and PEP node
	NSPrivate = "jabber:iq:private"
	// LegacyItem is the item XEP-0223 clients keep their storage in.
	LegacyItem = "current"
)

// nodeOptions are the publish-options XEP-0402 §3 requires.
var nodeOptions = pep.Options{
	"pubsub#persist_items":            {"true"},
	"pubsub#max_items":                {"max"},
	"pubsub#send_last_published_item": {"never"},
	"pubsub#access_model":             {"whitelist"},
}

// legacyOptions are those of XEP-0223 private data in PEP.
var legacyOptions = pep.Options{
	"pubsub#persist_items": {"true"},
	"pubsub#access_model":  {"whitelist"},
}

func init() {
	module.Register(module.Info{Name: "bookmarks", New: New, Requires: []string{"pep"}})
}

// Module is a provisioned bookmarks layer.
type Module struct {
	h   module.Host
	log *slog.Logger

	once sync.Once
	pep  *pep.Module

	syncing userlock.Busy // owners whose nodes this module is rewriting
}

// New provisions the module.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{h: h, log: h.Logger().With("module", "bookmarks")}
	h.AddFeature(module.Account, NS+"#compat")
	h.AddFeature(module.Account, NS+"#compat-pep")
	h.AddHooks(module.Hooks{
		UserSend:      m.userSend,
		SessionOpened: func(context.Context, module.SessionInfo) { m.service() },
	})
	return m, nil
}

// service returns the PEP module, watching it from the first call on (it
// may be provisioned after this module).
func (m *Module) service() *pep.Module {
	m.once.Do(func() {
		m.pep = pep.Lookup(m.h)
		if m.pep != nil {
			m.pep.Observe(m.observe)
		}
	})
	return m.pep
}

// Bookmark is one room bookmark.
type Bookmark struct {
	JID      jid.JID
	Name     string
	Autojoin bool
	Nick     string
	Password string
	// Extensions are XEP-0402 <extensions/> children, kept as they are.
	Extensions []*xmltok.Element
}

// fromLegacy reads the conferences of a XEP-0048 <storage/>. URL
// bookmarks have no XEP-0402 form and are not carried over.
func fromLegacy(storage *xmltok.Element) ([]Bookmark, error) {
	var out []Bookmark
	for _, c := range storage.ChildrenNamed(NSLegacy, "conference") {
		j, err := jid.Parse(c.Attr("jid"))
		if err != nil || j.IsZero() {
			return nil, stanza.ErrBadRequest.WithText("conference without a valid jid")
		}
		out = append(out, read(c, NSLegacy, j))
	}
	return out, nil
}

// legacy renders bookmarks as a XEP-0048 <storage/>.
func legacy(bs []Bookmark) *xmltok.Element {
	st := xmltok.NewElement(NSLegacy, "storage")
	for _, b := range bs {
		c := xmltok.NewElement(NSLegacy, "conference", xmltok.Attr{Name: "jid", Value: b.JID.String()})
		st.Add(write(c, NSLegacy, b))
	}
	return st
}

// conference renders a bookmark as a XEP-0402 item payload.
func conference(b Bookmark) *xmltok.Element {
	c := write(xmltok.NewElement(NS, "conference"), NS, b)
	if len(b.Extensions) > 0 {
		c.Add(xmltok.NewElement(NS, "extensions").Add(b.Extensions...))
	}
	return c
}

// fromItem reads a XEP-0402 item; ok is false for one that is not a
// conference with a JID for an ID.
func fromItem(it pep.Item) (Bookmark, bool) {
	j, err := jid.Parse(it.ID)
	if err != nil || len(it.Payload) == 0 {
		return Bookmark{}, false
	}
	c, err := xmltok.Parse(it.Payload, "", nil)
	if err != nil || c.Space != NS || c.Local != "conference" {
		return Bookmark{}, false
	}
	b := read(c, NS, j)
	if x := c.Child(NS, "extensions"); x != nil {
		b.Extensions = x.Children
	}
	return b, true
}

// read takes what XEP-0048 and XEP-0402 conferences share: the name and
// autojoin attributes, nick and password children in namespace ns.
func read(c *xmltok.Element, ns string, room jid.JID) Bookmark {
	b := Bookmark{JID: room, Name: c.Attr("name"), Autojoin: c.Attr("autojoin") == "true" || c.Attr("autojoin") == "1"}
	if n := c.Child(ns, "nick"); n != nil {
		b.Nick = n.Text
	}
	if p := c.Child(ns, "password"); p != nil {
		b.Password = p.Text
	}
	return b
}

// write adds what read takes to c.
func write(c *xmltok.Element, ns string, b Bookmark) *xmltok.Element {
	if b.Name != "" {
		c.SetAttr("name", b.Name)
	}
	c.SetAttr("autojoin", boolAttr(b.Autojoin))
	if b.Nick != "" {
		c.Add(xmltok.NewElement(ns, "nick").SetText(b.Nick))
	}
	if b.Password != "" {
		c.Add(xmltok.NewElement(ns, "password").SetText(b.Password))
	}
	return c
}

func boolAttr(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// current reads the user's bookmarks from the XEP-0402 node; ok is false
// when the node does not exist.
func (m *Module) current(ctx context.Context, p *pep.Module, owner jid.JID) ([]Bookmark, bool, error) {
	items, err := p.Items(ctx, owner, NS, 0)
	if err != nil {
		if se := (*stanza.Error)(nil); errors.As(err, &se) && se.Condition == stanza.ErrItemNotFound.Condition {
			return nil, false, nil
		}
		return nil, false, err
	}
	var out []Bookmark
	for _, it := range items {
		if b, ok := fromItem(it); ok {
			out = append(out, b)
		}
	}
	return out, true, nil
}

// store makes the XEP-0402 node hold exactly bs: new and changed
// bookmarks are published, the others retracted. Extensions a modern
// client added survive a rewrite from a legacy client.
func (m *Module) store(ctx context.Context, p *pep.Module, owner jid.JID, bs []Bookmark) error {
	old, _, err := m.current(ctx, p, owner)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, b := range bs {
		keep[b.JID.String()] = true
		for _, o := range old {
			if o.JID == b.JID && b.Extensions == nil {
				b.Extensions = o.Extensions
			}
		}
		if slices.ContainsFunc(old, func(o Bookmark) bool { return same(o, b) }) {
			continue
		}
		if _, err := p.Publish(ctx, owner, NS, b.JID.String(), conference(b), nodeOptions); err != nil {
			return err
		}
	}
	for _, o := range old {
		if !keep[o.JID.String()] {
			if err := p.Retract(ctx, owner, NS, o.JID.String(), true); err != nil {
				return err
			}
		}
	}
	return nil
}

func same(a, b Bookmark) bool {
	if a.JID != b.JID || a.Name != b.Name || a.Autojoin != b.Autojoin || a.Nick != b.Nick || a.Password != b.Password || len(a.Extensions) != len(b.Extensions) {
		return false
	}
	for i := range a.Extensions {
		if a.Extensions[i].String() != b.Extensions[i].String() {
			return false
		}
	}
	return true
}

// userSend answers XEP-0048 bookmarks in private storage from the
// XEP-0402 node (XEP-0402 §5.1): a get reads the node, a set rewrites it
// and is stored by the private module as well.
func (m *Module) userSend(ctx context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.IQ || (st.Type != "get" && st.Type != "set") {
		return st
	}
	owner := from.JID.Bare()
	if !st.To.IsZero() && st.To != owner {
		return st
	}
	q := st.Payload()
	if q == nil || q.Space != NSPrivate || q.Local != "query" || len(q.Children) != 1 {
		return st
	}
	storage := q.Children[0]
	if storage.Space != NSLegacy || storage.Local != "storage" {
		return st
	}
	p := m.service()
	if p == nil {
		return st
	}
	if st.Type == "get" {
		bs, ok, err := m.current(ctx, p, owner)
		if err != nil {
			m.reply(from.JID, stanza.ErrorReply(st, stanza.ErrInternalServerError, jid.JID{}))
			return nil
		}
		if !ok {
			// Nothing in PEP yet: what private storage holds is the answer.
			return st
		}
		res := xmltok.NewElement(NSPrivate, "query").Add(legacy(bs))
		m.reply(from.JID, stanza.Result(st, res, jid.JID{}))
		return nil
	}
	bs, err := fromLegacy(storage)
	if err != nil {
		m.reply(from.JID, stanza.ErrorReply(st, err.(*stanza.Error), jid.JID{}))
		return nil
	}
	if m.syncing.Enter(owner) {
		err = m.store(ctx, p, owner, bs)
		if err == nil {
			err = m.mirrorLegacy(ctx, p, owner, bs)
		}
		m.syncing.Leave(owner)
	}
	if err != nil {
		se, ok := err.(*stanza.Error)
		if !ok {
			se = stanza.ErrInternalServerError
		}
		m.reply(from.JID, stanza.ErrorReply(st, se, jid.JID{}))
		return nil
	}
	// Private storage keeps the document too, for the URLs and for when
	// this layer is switched off; it answers the set.
	return st
}

func (m *Module) reply(to jid.JID, st *stanza.Stanza) { m.h.DeliverTo(to, st) }

// mirrorLegacy rewrites the XEP-0223 storage:bookmarks node, when the user
// has one, to hold bs.
func (m *Module) mirrorLegacy(ctx context.Context, p *pep.Module, owner jid.JID, bs []Bookmark) error {
	if _, ok, err := p.Node(ctx, owner, NSLegacy); err != nil || !ok {
		return err
	}
	_, err := p.Publish(ctx, owner, NSLegacy, LegacyItem, legacy(bs), legacyOptions)
	return err
}

// observe keeps the two PEP forms in step (XEP-0402 §5.2): a XEP-0223
// client publishing storage:bookmarks rewrites the XEP-0402 node, and a
// change to the XEP-0402 node rewrites storage:bookmarks when it exists.
func (m *Module) observe(ctx context.Context, ev pep.Event) {
	if ev.Node != NS && ev.Node != NSLegacy {
		return
	}
	p := m.pep
	if !m.syncing.Enter(ev.Owner) {
		return
	}
	defer m.syncing.Leave(ev.Owner)
	var err error
	switch {
	case ev.Node == NSLegacy && ev.Published != nil && len(ev.Published.Payload) > 0:
		st, perr := xmltok.Parse(ev.Published.Payload, "", nil)
		if perr != nil || st.Space != NSLegacy || st.Local != "storage" {
			return
		}
		bs, lerr := fromLegacy(st)
		if lerr != nil {
			m.log.Info("storage:bookmarks item with a bad conference left alone", "user", ev.Owner.String())
			return
		}
		err = m.store(ctx, p, ev.Owner, bs)
	case ev.Node == NS:
		var bs []Bookmark
		bs, _, err = m.current(ctx, p, ev.Owner)
		if err == nil {
			err = m.mirrorLegacy(ctx, p, ev.Owner, bs)
		}
	}
	if err != nil {
		m.log.Error("keeping bookmarks in step failed", "user", ev.Owner.String(), "node", ev.Node, "err", err)
	}
}
