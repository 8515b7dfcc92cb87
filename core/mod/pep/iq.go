package pep

import (
	"context"
	"strconv"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// actions returns the children of a <pubsub/> in its own namespace.
func actions(p *xmltok.Element) []*xmltok.Element {
	var out []*xmltok.Element
	for _, c := range p.Children {
		if c.Space == p.Space {
			out = append(out, c)
		}
	}
	return out
}

// handlePubSub answers <pubsub xmlns='http://jabber.org/protocol/pubsub'/>
// to an account: the owner publishes, retracts and creates; anyone reads
// items as the access model allows.
func (m *Module) handlePubSub(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.Payload.Local != "pubsub" {
		return nil, stanza.ErrBadRequest
	}
	acts := actions(iq.Payload)
	if len(acts) == 0 {
		return nil, stanza.ErrBadRequest.WithText("no pubsub action")
	}
	owner := iq.To
	isOwner := iq.From.Bare() == owner
	first := acts[0]
	// Two children are allowed together only as publish + publish-options
	// and create + configure.
	var second *xmltok.Element
	if len(acts) == 2 {
		second = acts[1]
		if !(first.Local == "publish" && second.Local == "publish-options") && !(first.Local == "create" && second.Local == "configure") {
			return nil, stanza.ErrBadRequest.WithText("more than one pubsub action")
		}
	} else if len(acts) > 2 {
		return nil, stanza.ErrBadRequest.WithText("more than one pubsub action")
	}
	switch first.Local {
	case "items":
		if iq.Set {
			return nil, stanza.ErrBadRequest
		}
		return m.iqItems(ctx, iq, first)
	case "publish", "retract", "create":
		if !iq.Set {
			return nil, stanza.ErrBadRequest
		}
		// XEP-0163 §2.2: one publisher per node, the owner.
		if !isOwner {
			return nil, stanza.ErrForbidden
		}
	case "subscribe", "unsubscribe":
		return nil, unsupported("subscribe")
	case "options", "default":
		return nil, unsupported("subscription-options")
	case "subscriptions":
		return nil, unsupported("retrieve-subscriptions")
	case "affiliations":
		return nil, unsupported("retrieve-affiliations")
	default:
		return nil, stanza.ErrBadRequest.WithText("unknown pubsub action")
	}
	switch first.Local {
	case "publish":
		return m.iqPublish(ctx, iq, first, second)
	case "retract":
		return nil, m.iqRetract(ctx, iq, first)
	default: // create
		var f *form
		if second != nil {
			x, err := submittedForm(second, FormNodeConfig, true)
			if err != nil {
				return nil, err
			}
			f = x
		}
		return nil, m.create(ctx, owner, first.Attr("node"), f)
	}
}

// iqPublish handles <publish/> (XEP-0060 §7.1) with its options (§7.1.5).
func (m *Module) iqPublish(ctx context.Context, iq module.IQ, pub, options *xmltok.Element) (*xmltok.Element, error) {
	r := publishRequest{node: pub.Attr("node")}
	var items []*xmltok.Element
	for _, c := range pub.Children {
		if c.Space != NSPubSub || c.Local != "item" {
			return nil, stanza.ErrBadRequest.WithText("unexpected child of publish")
		}
		items = append(items, c)
	}
	switch {
	case len(items) > 1:
		// Batch publishing was removed in XEP-0060 1.13: one item.
		return nil, errInvalidPayload.WithText("one item per publish")
	case len(items) == 1:
		it := items[0]
		r.hasItem = true
		r.id = it.Attr("id")
		if it.HasAttr("id") && r.id == "" {
			return nil, stanza.ErrBadRequest.WithText("empty item ID")
		}
		switch len(it.Children) {
		case 0:
		case 1:
			r.payload = it.Children[0]
		default:
			return nil, errInvalidPayload
		}
	}
	if options != nil {
		f, err := submittedForm(options, FormPublishOpts, false)
		if err != nil {
			return nil, err
		}
		r.opts = f
	}
	id, err := m.publish(ctx, iq.To, r)
	if err != nil {
		return nil, err
	}
	p := xmltok.NewElement(NSPubSub, "publish", xmltok.Attr{Name: "node", Value: r.node})
	if r.hasItem {
		p.Add(xmltok.NewElement(NSPubSub, "item", xmltok.Attr{Name: "id", Value: id}))
	}
	return xmltok.NewElement(NSPubSub, "pubsub").Add(p), nil
}

// submittedForm reads the data form inside el (publish-options,
// configure). An element without a form is no form; a form must be of
// type submit (or cancel, returned as nil, only where cancelOK) and of
// formType when it names one.
func submittedForm(el *xmltok.Element, formType string, cancelOK bool) (*form, error) {
	xs := el.ChildrenNamed(NSData, "x")
	switch len(xs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, stanza.ErrBadRequest.WithText("more than one data form")
	}
	f, err := parseForm(xs[0])
	if err != nil {
		return nil, stanza.ErrBadRequest.WithText("malformed data form")
	}
	switch {
	case f.typ == "cancel" && cancelOK:
		return nil, nil
	case f.typ != "submit":
		return nil, stanza.ErrBadRequest.WithText("data form is not of type submit")
	case f.formType != "" && f.formType != formType:
		return nil, stanza.ErrBadRequest.WithText("wrong FORM_TYPE")
	case f.formType == "" && formType == FormPublishOpts:
		// §7.1.5: publish-options MUST carry its FORM_TYPE.
		return nil, stanza.ErrBadRequest.WithText("publish-options without FORM_TYPE")
	}
	return &f, nil
}

// iqRetract handles <retract/> (XEP-0060 §7.2).
func (m *Module) iqRetract(ctx context.Context, iq module.IQ, r *xmltok.Element) error {
	items := r.ChildrenNamed(NSPubSub, "item")
	if len(items) != 1 || items[0].Attr("id") == "" {
		if r.Attr("node") == "" {
			return errNodeIDRequired
		}
		return errItemRequired
	}
	notify := false
	switch r.Attr("notify") {
	case "1", "true":
		notify = true
	case "", "0", "false":
	default:
		return stanza.ErrBadRequest.WithText("invalid notify attribute")
	}
	return m.retract(ctx, iq.To, r.Attr("node"), items[0].Attr("id"), notify)
}

// iqItems handles <items/> (XEP-0060 §6.5): all, the newest max_items,
// or the items named.
func (m *Module) iqItems(ctx context.Context, iq module.IQ, req *xmltok.Element) (*xmltok.Element, error) {
	node := req.Attr("node")
	max := 0
	if req.HasAttr("max_items") {
		n, err := strconv.Atoi(req.Attr("max_items"))
		if err != nil || n <= 0 {
			return nil, stanza.ErrBadRequest.WithText("invalid max_items")
		}
		max = n
	}
	var ids []string
	for _, it := range req.ChildrenNamed(NSPubSub, "item") {
		id := it.Attr("id")
		if id == "" {
			return nil, stanza.ErrBadRequest.WithText("item without ID")
		}
		ids = append(ids, id)
	}
	items, err := m.items(ctx, iq.From, iq.To, node, max, ids)
	if err != nil {
		return nil, err
	}
	out := itemsElement(NSPubSub, node)
	for _, it := range items {
		el, err := m.itemElement(NSPubSub, it, true)
		if err != nil {
			return nil, err
		}
		out.Add(el)
	}
	return xmltok.NewElement(NSPubSub, "pubsub").Add(out), nil
}

// handleOwner answers <pubsub xmlns='...#owner'/>: only the account's
// owner configures, deletes and purges its nodes (XEP-0060 §8).
func (m *Module) handleOwner(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.Payload.Local != "pubsub" {
		return nil, stanza.ErrBadRequest
	}
	acts := actions(iq.Payload)
	if len(acts) != 1 {
		return nil, stanza.ErrBadRequest.WithText("one pubsub#owner action")
	}
	if iq.From.Bare() != iq.To {
		return nil, stanza.ErrForbidden
	}
	a := acts[0]
	owner, node := iq.To, a.Attr("node")
	switch a.Local {
	case "configure":
		if !iq.Set {
			return m.iqConfigForm(ctx, iq, node)
		}
		f, err := submittedForm(a, FormNodeConfig, true)
		if err != nil {
			return nil, err
		}
		if f == nil {
			if len(a.ChildrenNamed(NSData, "x")) == 0 {
				return nil, stanza.ErrBadRequest.WithText("no configuration form")
			}
			// Cancelled (§8.2.4): the configuration stays.
			if _, ok, err := m.store.Node(ctx, owner, node); err != nil || !ok {
				if err != nil {
					return nil, m.internal("reading PEP node", owner, err)
				}
				return nil, stanza.ErrItemNotFound
			}
			return nil, nil
		}
		return nil, m.configure(ctx, owner, node, *f)
	case "default":
		if iq.Set {
			return nil, stanza.ErrBadRequest
		}
		d := xmltok.NewElement(NSOwner, "default").Add(configForm(DefaultConfig(), "form", m.groups(ctx, iq)))
		return xmltok.NewElement(NSOwner, "pubsub").Add(d), nil
	case "delete":
		if !iq.Set {
			return nil, stanza.ErrBadRequest
		}
		return nil, m.deleteNode(ctx, owner, node)
	case "purge":
		if !iq.Set {
			return nil, stanza.ErrBadRequest
		}
		return nil, m.purge(ctx, owner, node)
	case "subscriptions":
		return nil, unsupported("manage-subscriptions")
	case "affiliations":
		return nil, unsupported("modify-affiliations")
	}
	return nil, stanza.ErrBadRequest.WithText("unknown pubsub#owner action")
}

// iqConfigForm returns a node's configuration form (XEP-0060 §8.2.1).
func (m *Module) iqConfigForm(ctx context.Context, iq module.IQ, node string) (*xmltok.Element, error) {
	if node == "" {
		return nil, errNodeIDRequired
	}
	n, ok, err := m.store.Node(ctx, iq.To, node)
	if err != nil {
		return nil, m.internal("reading PEP node", iq.To, err)
	}
	if !ok {
		return nil, stanza.ErrItemNotFound
	}
	c := xmltok.NewElement(NSOwner, "configure", xmltok.Attr{Name: "node", Value: node}).
		Add(configForm(n.Config, "form", m.groups(ctx, iq)))
	return xmltok.NewElement(NSOwner, "pubsub").Add(c), nil
}

// groups lists the owner's roster groups, the options of
// pubsub#roster_groups_allowed.
func (m *Module) groups(ctx context.Context, iq module.IQ) []string {
	if m.roster == nil {
		return nil
	}
	items, _, err := m.roster.Items(ctx, iq.To)
	if err != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		out = append(out, it.Groups...)
	}
	return out
}
