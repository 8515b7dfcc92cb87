package pep

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// This file is the service itself, shared by the IQ handlers and the Go
// API that other modules call. Every method takes the owner's bare JID
// and acts with the owner's rights; errors are *stanza.Error values
// that an IQ handler can return as they are.

// Options are publish-options preconditions (XEP-0060 §7.1.5) as a
// client sends them: field var ("pubsub#access_model") → values.
type Options map[string][]string

// form turns o into the form a client would send; nil for no options.
func (o Options) form() *form {
	if len(o) == 0 {
		return nil
	}
	f := &form{typ: "submit", formType: FormPublishOpts}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		f.fields = append(f.fields, formField{name: k, values: o[k]})
	}
	return f
}

// Event tells observers what changed in a node.
type Event struct {
	Owner     jid.JID
	Node      string
	Published *Item    // the item just published, nil otherwise
	Retracted []string // IDs of items removed (retracted, or past max_items)
	Purged    bool     // every item was removed
	Deleted   bool     // the node was deleted
	Config    bool     // the configuration changed
}

// Observe registers fn to be called after every change to any node, once
// it is stored and its notifications sent. fn must not block.
func (m *Module) Observe(fn func(ctx context.Context, ev Event)) {
	m.obsMu.Lock()
	defer m.obsMu.Unlock()
	m.observers = append(m.observers, fn)
}

func (m *Module) changed(ctx context.Context, ev Event) {
	m.obsMu.Lock()
	obs := slices.Clone(m.observers)
	m.obsMu.Unlock()
	for _, fn := range obs {
		fn(ctx, ev)
	}
}

// Publish publishes payload as item id ("" to have one generated) to a
// node of owner (a local account: the caller checks it exists), creating
// the node when it does not exist; opts are preconditions on its
// configuration, applied to a node it creates. It sends the
// notifications and returns the item ID.
func (m *Module) Publish(ctx context.Context, owner jid.JID, node, id string, payload *xmltok.Element, opts Options) (string, error) {
	return m.publish(ctx, owner.Bare(), publishRequest{node: node, id: id, hasItem: true, payload: payload, opts: opts.form()})
}

// Items returns the newest max items of a node of owner (all when max
// <= 0), oldest first, whatever its access model; stanza.ErrItemNotFound
// when there is no such node.
func (m *Module) Items(ctx context.Context, owner jid.JID, node string, max int) ([]Item, error) {
	return m.items(ctx, owner.Bare(), owner.Bare(), node, max, nil)
}

// Item returns one item of a node of owner; ok is false when there is no
// such item, stanza.ErrItemNotFound when there is no such node.
func (m *Module) Item(ctx context.Context, owner jid.JID, node, id string) (Item, bool, error) {
	items, err := m.items(ctx, owner.Bare(), owner.Bare(), node, 0, []string{id})
	if err != nil || len(items) == 0 {
		return Item{}, false, err
	}
	return items[0], true, nil
}

// Retract removes an item and notifies its removal when notify is true
// or the node is configured to (pubsub#notify_retract).
func (m *Module) Retract(ctx context.Context, owner jid.JID, node, id string, notify bool) error {
	return m.retract(ctx, owner.Bare(), node, id, notify)
}

// Node returns the configuration of a node of owner; ok is false when
// there is no such node.
func (m *Module) Node(ctx context.Context, owner jid.JID, node string) (NodeConfig, bool, error) {
	n, ok, err := m.store.Node(ctx, owner.Bare(), node)
	if err != nil {
		return NodeConfig{}, false, stanza.ErrInternalServerError
	}
	return n.Config, ok, nil
}

// Configure changes fields of a node's configuration (opts as in a
// configuration form); the node must exist.
func (m *Module) Configure(ctx context.Context, owner jid.JID, node string, opts Options) error {
	f := opts.form()
	if f == nil {
		return nil
	}
	return m.configure(ctx, owner.Bare(), node, *f)
}

// DeleteNode deletes a node and its items and notifies it.
func (m *Module) DeleteNode(ctx context.Context, owner jid.JID, node string) error {
	return m.deleteNode(ctx, owner.Bare(), node)
}

// publishRequest is one publication (XEP-0060 §7.1.1).
type publishRequest struct {
	node    string
	id      string
	hasItem bool
	payload *xmltok.Element // the item's one payload, nil for none
	opts    *form           // publish-options, nil for none
}

func checkNode(node string) error {
	switch {
	case node == "":
		return errNodeIDRequired
	case len(node) > maxNodeLen:
		return stanza.ErrNotAcceptable.WithText("node name too long")
	case strings.IndexByte(node, 0) >= 0: // only through the Go API: XML has no NUL
		return stanza.ErrBadRequest.WithText("NUL in node name")
	}
	return nil
}

func checkID(id string) error {
	switch {
	case len(id) > maxIDLen:
		return stanza.ErrNotAcceptable.WithText("item ID too long")
	case strings.IndexByte(id, 0) >= 0:
		return stanza.ErrBadRequest.WithText("NUL in item ID")
	}
	return nil
}

// checkOptions rejects publish-options with fields this service does not
// know or values no node could have (XEP-0060 §7.1.5: unknown fields
// are rejected); a valid value it does not offer is left to the
// precondition check.
func (m *Module) checkOptions(f *form) error {
	if f == nil {
		return nil
	}
	scratch := DefaultConfig()
	for _, ff := range f.fields {
		cf := lookupField(ff.name)
		if cf == nil {
			return stanza.ErrBadRequest.WithText("unknown publish option " + ff.name)
		}
		if err := cf.set(&scratch, ff.values, m.cfg.MaxItemsLimit); errors.Is(err, errBadValue) {
			return stanza.ErrBadRequest.WithText("invalid value for " + ff.name)
		}
	}
	return nil
}

func (m *Module) publish(ctx context.Context, owner jid.JID, r publishRequest) (string, error) {
	if err := checkNode(r.node); err != nil {
		return "", err
	}
	if err := m.checkOptions(r.opts); err != nil {
		return "", err
	}
	var raw []byte
	if r.payload != nil {
		raw = r.payload.Append(nil, "")
		if len(raw) > m.cfg.MaxItemSize {
			return "", errPayloadTooBig
		}
		// What is stored must read back: a payload whose attributes use
		// a prefix declared outside it does not.
		if _, err := m.parsePayload(raw); err != nil {
			return "", errInvalidPayload.WithText("payload is not well-formed on its own")
		}
	}
	id := r.id
	if err := checkID(id); err != nil {
		return "", err
	}
	if id == "" && r.hasItem {
		id = newID()
	}
	limit := m.cfg.MaxItemsLimit
	unlock := lock(owner)
	n, exists, err := m.store.Node(ctx, owner, r.node)
	if err != nil {
		unlock()
		return "", m.internal("reading PEP node", owner, err)
	}
	switch {
	case exists && r.opts != nil:
		if field, ok := preconditionsMet(n.Config, *r.opts, limit); !ok {
			unlock()
			return "", errPreconditionNotMet.WithText("node configuration does not match " + field)
		}
	case !exists:
		if err := m.roomForNode(ctx, owner); err != nil {
			unlock()
			return "", err
		}
		// XEP-0060 §7.1.5: auto-created with the default configuration
		// except what the preconditions ask.
		n = Node{Name: r.node, Config: DefaultConfig()}
		if r.opts != nil {
			if field, err := applyForm(&n.Config, *r.opts, limit); err != nil {
				unlock()
				return "", stanza.ErrNotAcceptable.WithText("unsupported value for " + field)
			}
		}
	}
	cfg := n.Config
	// XEP-0060 §7.1.3.6: what a publication must carry for the node's
	// event type.
	switch {
	case !r.hasItem && (cfg.PersistItems || cfg.DeliverPayloads):
		unlock()
		return "", errItemRequired
	case r.hasItem && !cfg.PersistItems && !cfg.DeliverPayloads:
		unlock()
		return "", errItemForbidden
	case r.hasItem && r.payload == nil && cfg.DeliverPayloads:
		unlock()
		return "", errPayloadRequired
	}
	it := Item{ID: id, Payload: raw, Published: m.now()}
	var removed []string
	switch {
	case cfg.PersistItems:
		removed, err = m.store.Publish(ctx, owner, n, it, cfg.effectiveMax(limit))
	case !exists:
		err = m.store.PutNode(ctx, owner, n)
	}
	unlock()
	if err != nil {
		return "", m.internal("storing PEP item", owner, err)
	}
	if len(removed) > 0 && cfg.NotifyRetract {
		m.fanout(ctx, owner, r.node, cfg, retractEvent(r.node, removed))
	}
	items := itemsElement(NSEvent, r.node)
	if r.hasItem {
		el := xmltok.NewElement(NSEvent, "item", xmltok.Attr{Name: "id", Value: id})
		if cfg.DeliverPayloads && r.payload != nil {
			el.Add(r.payload)
		}
		items.Add(el)
	}
	m.fanout(ctx, owner, r.node, cfg, event(items))
	ev := Event{Owner: owner, Node: r.node, Retracted: removed}
	if r.hasItem {
		ev.Published = &it
	}
	m.changed(ctx, ev)
	return id, nil
}

// roomForNode refuses a node past the per-user limit. The owner's lock
// is held.
func (m *Module) roomForNode(ctx context.Context, owner jid.JID) error {
	nodes, err := m.store.Nodes(ctx, owner)
	if err != nil {
		return m.internal("reading PEP nodes", owner, err)
	}
	if len(nodes) >= m.cfg.MaxNodes {
		return stanza.ErrPolicyViolation.WithText("too many PEP nodes")
	}
	return nil
}

// items reads items for requester, as the node's access model allows
// (XEP-0060 §6.5). ids, when given, selects items by ID.
func (m *Module) items(ctx context.Context, requester, owner jid.JID, node string, max int, ids []string) ([]Item, error) {
	if err := checkNode(node); err != nil {
		return nil, err
	}
	n, ok, err := m.store.Node(ctx, owner, node)
	if err != nil {
		return nil, m.internal("reading PEP node", owner, err)
	}
	if !ok {
		return nil, stanza.ErrItemNotFound
	}
	if err := m.contacts(owner, false).access(ctx, n.Config, requester); err != nil {
		return nil, err
	}
	if !n.Config.PersistItems {
		return nil, errNotPersistent
	}
	if len(ids) == 0 {
		items, err := m.store.Items(ctx, owner, node, max)
		if err != nil {
			return nil, m.internal("reading PEP items", owner, err)
		}
		return items, nil
	}
	var out []Item
	for _, id := range ids {
		if checkID(id) != nil {
			continue // no such item
		}
		it, ok, err := m.store.Item(ctx, owner, node, id)
		if err != nil {
			return nil, m.internal("reading PEP item", owner, err)
		}
		if ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// retract deletes an item (XEP-0060 §7.2).
func (m *Module) retract(ctx context.Context, owner jid.JID, node, id string, notify bool) error {
	if err := checkNode(node); err != nil {
		return err
	}
	if id == "" {
		return errItemRequired
	}
	if err := checkID(id); err != nil {
		return stanza.ErrItemNotFound
	}
	unlock := lock(owner)
	n, ok, err := m.store.Node(ctx, owner, node)
	if err != nil {
		unlock()
		return m.internal("reading PEP node", owner, err)
	}
	if !ok {
		unlock()
		return stanza.ErrItemNotFound
	}
	if !n.Config.PersistItems {
		unlock()
		return errNotPersistent
	}
	deleted, err := m.store.DeleteItem(ctx, owner, node, id)
	unlock()
	if err != nil {
		return m.internal("retracting PEP item", owner, err)
	}
	if !deleted {
		return stanza.ErrItemNotFound
	}
	// §7.2.2.1: notify='true' asks for it; pubsub#notify_retract makes it
	// the node's habit.
	if notify || n.Config.NotifyRetract {
		m.fanout(ctx, owner, node, n.Config, retractEvent(node, []string{id}))
	}
	m.changed(ctx, Event{Owner: owner, Node: node, Retracted: []string{id}})
	return nil
}

// create creates a node (XEP-0060 §8.1), configured by f when given.
func (m *Module) create(ctx context.Context, owner jid.JID, node string, f *form) error {
	if node == "" {
		// No instant nodes (§8.1.2).
		return pubsubError(stanza.ErrNotAcceptable, "nodeid-required", "")
	}
	if err := checkNode(node); err != nil {
		return err
	}
	n := Node{Name: node, Config: DefaultConfig()}
	if f != nil {
		if err := m.applyConfig(&n.Config, *f); err != nil {
			return err
		}
	}
	unlock := lock(owner)
	defer unlock()
	_, exists, err := m.store.Node(ctx, owner, node)
	if err != nil {
		return m.internal("reading PEP node", owner, err)
	}
	if exists {
		return stanza.ErrConflict
	}
	if err := m.roomForNode(ctx, owner); err != nil {
		return err
	}
	if err := m.store.PutNode(ctx, owner, n); err != nil {
		return m.internal("creating PEP node", owner, err)
	}
	return nil
}

// applyConfig applies a submitted configuration form to c (XEP-0060
// §8.2.4); a refused field is not-acceptable (§8.2.5.2).
func (m *Module) applyConfig(c *NodeConfig, f form) error {
	if field, err := applyForm(c, f, m.cfg.MaxItemsLimit); err != nil {
		if errors.Is(err, errUnknownField) {
			return stanza.ErrNotAcceptable.WithText("unknown field " + field)
		}
		return stanza.ErrNotAcceptable.WithText("invalid value for " + field)
	}
	return nil
}

// configure changes a node's configuration (XEP-0060 §8.2); items past a
// lowered max_items, or all when items stop persisting, are removed.
func (m *Module) configure(ctx context.Context, owner jid.JID, node string, f form) error {
	if err := checkNode(node); err != nil {
		return err
	}
	unlock := lock(owner)
	n, ok, err := m.store.Node(ctx, owner, node)
	if err != nil {
		unlock()
		return m.internal("reading PEP node", owner, err)
	}
	if !ok {
		unlock()
		return stanza.ErrItemNotFound
	}
	old := n.Config
	n.Config.RosterGroups = slices.Clone(old.RosterGroups)
	if err := m.applyConfig(&n.Config, f); err != nil {
		unlock()
		return err
	}
	cfg := n.Config
	var removed []string
	err = m.store.PutNode(ctx, owner, n)
	switch {
	case err != nil:
	case !cfg.PersistItems && old.PersistItems:
		err = m.store.Purge(ctx, owner, node)
	case cfg.PersistItems:
		removed, err = m.store.Trim(ctx, owner, node, cfg.effectiveMax(m.cfg.MaxItemsLimit))
	}
	unlock()
	if err != nil {
		return m.internal("configuring PEP node", owner, err)
	}
	if len(removed) > 0 && cfg.NotifyRetract {
		m.fanout(ctx, owner, node, cfg, retractEvent(node, removed))
	}
	// §8.2.5.3: the configuration, in full when payloads are delivered.
	if cfg.NotifyConfig {
		c := xmltok.NewElement(NSEvent, "configuration", xmltok.Attr{Name: "node", Value: node})
		if cfg.DeliverPayloads {
			c.Add(configForm(cfg, "result", nil))
		}
		m.fanout(ctx, owner, node, cfg, event(c))
	}
	m.changed(ctx, Event{Owner: owner, Node: node, Retracted: removed, Config: true})
	return nil
}

// deleteNode deletes a node and its items (XEP-0060 §8.4).
func (m *Module) deleteNode(ctx context.Context, owner jid.JID, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	unlock := lock(owner)
	n, ok, err := m.store.Node(ctx, owner, node)
	if err == nil && ok {
		ok, err = m.store.DeleteNode(ctx, owner, node)
	}
	unlock()
	if err != nil {
		return m.internal("deleting PEP node", owner, err)
	}
	if !ok {
		return stanza.ErrItemNotFound
	}
	if n.Config.NotifyDelete {
		m.fanout(ctx, owner, node, n.Config, event(xmltok.NewElement(NSEvent, "delete", xmltok.Attr{Name: "node", Value: node})))
	}
	m.changed(ctx, Event{Owner: owner, Node: node, Deleted: true})
	return nil
}

// purge removes every item of a node (XEP-0060 §8.5).
func (m *Module) purge(ctx context.Context, owner jid.JID, node string) error {
	if err := checkNode(node); err != nil {
		return err
	}
	unlock := lock(owner)
	n, ok, err := m.store.Node(ctx, owner, node)
	switch {
	case err != nil:
	case !ok:
		unlock()
		return stanza.ErrItemNotFound
	case !n.Config.PersistItems:
		unlock()
		return errNotPersistent
	default:
		err = m.store.Purge(ctx, owner, node)
	}
	unlock()
	if err != nil {
		return m.internal("purging PEP node", owner, err)
	}
	// §8.5.2: one notification, when item removals are notified.
	if n.Config.NotifyRetract {
		m.fanout(ctx, owner, node, n.Config, event(xmltok.NewElement(NSEvent, "purge", xmltok.Attr{Name: "node", Value: node})))
	}
	m.changed(ctx, Event{Owner: owner, Node: node, Purged: true})
	return nil
}

// internal logs a store failure once and returns the stanza error.
func (m *Module) internal(what string, owner jid.JID, err error) error {
	m.log.Error(what+" failed", "user", owner.String(), "err", err)
	return stanza.ErrInternalServerError
}
