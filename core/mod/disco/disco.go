// Package disco is the service discovery module (XEP-0030): it answers
// disco#info and disco#items queries to the server and, on behalf of a
// user, to a bare JID. The features it lists, and the extended
// information forms (XEP-0128) it renders after them, are exactly those
// the enabled modules announced through the host, and what an account
// serves beyond them (identities, nodes, items: personal eventing) comes
// from the modules' module.AccountDisco; it must not name any of them
// itself.
package disco

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of XEP-0030.
const (
	NSInfo  = "http://jabber.org/protocol/disco#info"
	NSItems = "http://jabber.org/protocol/disco#items"
	// NSData is the data forms namespace (XEP-0004) of XEP-0128 forms.
	NSData = stanza.NSData
)

func init() {
	module.Register(module.Info{Name: "disco", New: New})
}

// Module is a provisioned disco module.
type Module struct {
	h module.Host

	// The lists are read on the first query, when every module has been
	// provisioned and has announced its features.
	once       sync.Once
	features   [2][]string
	identities []module.Identity
	forms      [2][]*xmltok.Element
	accounts   []module.AccountDisco
}

// New provisions the module. It has no configuration.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{h: h}
	for _, t := range []module.Target{module.Server, module.Account} {
		h.AddFeature(t, NSInfo)
		h.AddFeature(t, NSItems)
	}
	h.HandleIQ(module.Server, NSInfo, m.info)
	h.HandleIQ(module.Server, NSItems, m.items)
	h.HandleIQ(module.Account, NSInfo, m.info)
	h.HandleIQ(module.Account, NSItems, m.items)
	return m, nil
}

func (m *Module) load() {
	m.once.Do(func() {
		for _, t := range []module.Target{module.Server, module.Account} {
			f := slices.Clone(m.h.Features(t))
			slices.Sort(f)
			m.features[t] = slices.Compact(f)
			for _, f := range m.h.InfoForms(t) {
				m.forms[t] = append(m.forms[t], form(f))
			}
		}
		m.identities = slices.Clone(m.h.Identities())
		m.accounts = slices.Clone(m.h.AccountDisco())
	})
}

// query checks a disco request and returns the target it is for. The core
// has already checked that another user's account exists (module.Account
// with a to that is not the sender's).
func query(iq module.IQ) (module.Target, error) {
	if iq.Set {
		// XEP-0030 defines only get.
		return 0, stanza.ErrNotAllowed
	}
	if iq.Payload.Local != "query" {
		return 0, stanza.ErrBadRequest
	}
	if iq.To.Local() == "" {
		// The server itself has no nodes: XEP-0030 §3.1, §4.1, an unknown
		// node is item-not-found.
		if iq.Payload.Attr("node") != "" {
			return 0, stanza.ErrItemNotFound
		}
		return module.Server, nil
	}
	return module.Account, nil
}

func (m *Module) info(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	t, err := query(iq)
	if err != nil {
		return nil, err
	}
	m.load()
	q := xmltok.NewElement(NSInfo, "query")
	if node := iq.Payload.Attr("node"); node != "" {
		// Only an account's nodes get here (query).
		d, err := m.accountNode(ctx, iq, node)
		if err != nil {
			return nil, err
		}
		q.SetAttr("node", node)
		for _, id := range d.Identities {
			q.Add(identity(id))
		}
		for _, f := range d.Features {
			q.Add(feature(f))
		}
		for _, f := range d.Forms {
			q.Add(f)
		}
		return q, nil
	}
	if t == module.Server {
		for _, id := range m.identities {
			q.Add(identity(id))
		}
	} else {
		// XEP-0030 §3.1: the server answers for the account it hosts.
		q.Add(identity(module.Identity{Category: "account", Type: "registered"}))
		for _, a := range m.accounts {
			if a.Identity.Category != "" {
				q.Add(identity(a.Identity))
			}
		}
	}
	for _, f := range m.features[t] {
		q.Add(feature(f))
	}
	// XEP-0128: extended information follows the features. Each
	// result gets its own copy, as the router serialises and may keep it.
	for _, f := range m.forms[t] {
		q.Add(f.Copy())
	}
	return q, nil
}

// form renders a XEP-0128 form: a result data form whose first field is
// the hidden FORM_TYPE (XEP-0068).
func form(f module.InfoForm) *xmltok.Element {
	x := xmltok.NewElement(NSData, "x", xmltok.Attr{Name: "type", Value: "result"})
	x.Add(field(module.FormField{Var: "FORM_TYPE", Type: "hidden", Values: []string{f.FormType}}))
	for _, fl := range f.Fields {
		x.Add(field(fl))
	}
	return x
}

func field(f module.FormField) *xmltok.Element {
	el := xmltok.NewElement(NSData, "field", xmltok.Attr{Name: "var", Value: f.Var})
	if f.Type != "" {
		el.SetAttr("type", f.Type)
	}
	for _, v := range f.Values {
		el.Add(xmltok.NewElement(NSData, "value").SetText(v))
	}
	return el
}

// accountNode asks the account extensions, in order, about a node.
func (m *Module) accountNode(ctx context.Context, iq module.IQ, node string) (module.DiscoInfo, error) {
	for _, a := range m.accounts {
		if a.Info == nil {
			continue
		}
		d, err := a.Info(ctx, iq.From, iq.To, node)
		if errors.Is(err, stanza.ErrItemNotFound) {
			continue
		}
		return d, err
	}
	return module.DiscoInfo{}, stanza.ErrItemNotFound
}

func feature(f string) *xmltok.Element {
	return xmltok.NewElement(NSInfo, "feature", xmltok.Attr{Name: "var", Value: f})
}

func identity(id module.Identity) *xmltok.Element {
	el := xmltok.NewElement(NSInfo, "identity",
		xmltok.Attr{Name: "category", Value: id.Category},
		xmltok.Attr{Name: "type", Value: id.Type})
	if id.Name != "" {
		el.SetAttr("name", id.Name)
	}
	return el
}

// items answers for the server with an empty list (no component is
// served yet) and for an account with what the account extensions list.
func (m *Module) items(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	t, err := query(iq)
	if err != nil {
		return nil, err
	}
	q := xmltok.NewElement(NSItems, "query")
	if t == module.Server {
		return q, nil
	}
	m.load()
	node := iq.Payload.Attr("node")
	if node != "" {
		q.SetAttr("node", node)
	}
	found := node == ""
	for _, a := range m.accounts {
		if a.Items == nil {
			continue
		}
		items, err := a.Items(ctx, iq.From, iq.To, node)
		if errors.Is(err, stanza.ErrItemNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		for _, it := range items {
			q.Add(item(it, iq.To))
		}
	}
	if !found {
		return nil, stanza.ErrItemNotFound
	}
	return q, nil
}

// item renders a disco item; an item without a JID is the account's.
func item(it module.DiscoItem, account jid.JID) *xmltok.Element {
	j := it.JID
	if j.IsZero() {
		j = account
	}
	el := xmltok.NewElement(NSItems, "item", xmltok.Attr{Name: "jid", Value: j.String()})
	if it.Node != "" {
		el.SetAttr("node", it.Node)
	}
	if it.Name != "" {
		el.SetAttr("name", it.Name)
	}
	return el
}
