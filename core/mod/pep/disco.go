package pep

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// visible returns a node the requester may see (XEP-0163 §6.2: disco
// lists only those), or stanza.ErrItemNotFound, so that disco does not
// tell a stranger which private nodes exist.
func (m *Module) visible(ctx context.Context, requester, owner jid.JID, node string) (Node, error) {
	n, ok, err := m.store.Node(ctx, owner, node)
	if err != nil {
		return Node{}, m.internal("reading PEP node", owner, err)
	}
	if !ok || m.contacts(owner, false).access(ctx, n.Config, requester) != nil {
		return Node{}, stanza.ErrItemNotFound
	}
	return n, nil
}

// discoInfo answers disco#info for a node (XEP-0060 §5.3, §5.4): a leaf
// with its metadata.
func (m *Module) discoInfo(ctx context.Context, requester, owner jid.JID, node string) (module.DiscoInfo, error) {
	n, err := m.visible(ctx, requester, owner, node)
	if err != nil {
		return module.DiscoInfo{}, err
	}
	x := xmltok.NewElement(NSData, "x", xmltok.Attr{Name: "type", Value: "result"})
	x.Add(hiddenFormType(FormMetaData))
	for _, f := range [][2]string{
		{"pubsub#access_model", n.Config.AccessModel},
		{"pubsub#owner", owner.String()},
		{"pubsub#title", n.Config.Title},
		{"pubsub#description", n.Config.Description},
		{"pubsub#type", n.Config.Type},
	} {
		if f[1] != "" {
			x.Add(xmltok.NewElement(NSData, "field", xmltok.Attr{Name: "var", Value: f[0]}).
				Add(xmltok.NewElement(NSData, "value").SetText(f[1])))
		}
	}
	return module.DiscoInfo{
		Identities: []module.Identity{{Category: "pubsub", Type: "leaf"}},
		Features:   []string{NSPubSub},
		Forms:      []*xmltok.Element{x},
	}, nil
}

// discoItems lists the owner's nodes the requester may see (XEP-0060
// §5.2), or the item IDs of one of them (§5.5).
func (m *Module) discoItems(ctx context.Context, requester, owner jid.JID, node string) ([]module.DiscoItem, error) {
	if node == "" {
		nodes, err := m.store.Nodes(ctx, owner)
		if err != nil {
			return nil, m.internal("reading PEP nodes", owner, err)
		}
		acl := m.contacts(owner, true)
		var out []module.DiscoItem
		for _, n := range nodes {
			if acl.access(ctx, n.Config, requester) == nil {
				out = append(out, module.DiscoItem{Node: n.Name, Name: n.Config.Title})
			}
		}
		return out, nil
	}
	n, err := m.visible(ctx, requester, owner, node)
	if err != nil {
		return nil, err
	}
	if !n.Config.PersistItems {
		return nil, nil
	}
	items, err := m.store.Items(ctx, owner, node, 0)
	if err != nil {
		return nil, m.internal("reading PEP items", owner, err)
	}
	out := make([]module.DiscoItem, len(items))
	for i, it := range items {
		out[i] = module.DiscoItem{Name: it.ID}
	}
	return out, nil
}
