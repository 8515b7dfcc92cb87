package pep

import (
	"context"
	"sync"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Bounds on the presence a node tracks: the available resources one PEP
// service knows (its owner's and its contacts'), and the caps being
// resolved at once.
const (
	maxWatchers = 4096
	maxPending  = 256
)

// watcher is an available resource whose presence reached a PEP service:
// one of the owner's own, or a contact's (XEP-0163 §4: auto-subscribe,
// filtered notifications).
type watcher struct {
	caps     caps      // zero when its presence carried none
	notify   notifySet // nil until its caps are resolved
	prev     notifySet // the set before its caps changed, until resolved
	priority int
}

// interest is every PEP service's watchers. Lock order: interest.mu is
// taken alone; no store, host or hook call is made while holding it
// (only starting a resolver goroutine).
type interest struct {
	mu      sync.Mutex
	stopped bool
	owners  map[jid.JID]map[jid.JID]*watcher // owner → full JID → watcher
	byJID   map[jid.JID]map[jid.JID]struct{} // full JID → owners it is a watcher of
	pending map[capsKey]*query               // caps being resolved
}

// query is the resolution of one caps ver: one disco#info request at a
// time, to target; waiters are the JIDs that advertised it meanwhile.
type query struct {
	target  jid.JID
	waiters map[jid.JID]struct{}
}

// lastItems asks for the last published item of nodes to be sent to a
// resource newly interested in them (XEP-0163 §4.3.4).
type lastItems struct {
	owner, to jid.JID
	nodes     notifySet
	priority  int
}

func newInterest() *interest {
	return &interest{
		owners:  map[jid.JID]map[jid.JID]*watcher{},
		byJID:   map[jid.JID]map[jid.JID]struct{}{},
		pending: map[capsKey]*query{},
	}
}

// ownPresence sees the presence broadcasts of local sessions: each is a
// watcher of its own account's service.
func (m *Module) ownPresence(ctx context.Context, s module.SessionInfo, st *stanza.Stanza, _ bool) {
	m.sawPresence(ctx, s.JID.Bare(), s.JID, st)
}

func (m *Module) sessionClosed(_ context.Context, s module.SessionInfo, _ string, _ bool) {
	m.presence.remove(s.JID.Bare(), s.JID)
}

// received sees stanzas to local accounts: the presence of contacts
// (broadcast to the owner's bare JID, probe answers, directed presence).
func (m *Module) received(ctx context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Presence || st.From.IsZero() {
		return st
	}
	switch st.Type {
	case "", "unavailable", "error":
		if owner := to.Bare(); st.From.Bare() != owner {
			m.sawPresence(ctx, owner, st.From, st)
		}
	}
	return st
}

// sawPresence records presence from a resource to owner's service and,
// when the resource became interested in more nodes, sends their last
// items.
func (m *Module) sawPresence(ctx context.Context, owner, from jid.JID, st *stanza.Stanza) {
	if st.Type != "" {
		m.presence.remove(owner, from)
		return
	}
	el, err := st.Element()
	if err != nil {
		return
	}
	c, hasCaps := capsOf(el)
	known, watched := m.presence.known(owner, from)
	if !hasCaps && !watched {
		return // no interest possible: nothing to keep
	}
	if !known && from.Bare() != owner {
		// Only existing accounts get a table: presence to a made-up
		// user must not grow it.
		if ok, err := m.h.UserExists(ctx, owner); err != nil || !ok {
			return
		}
	}
	if job, ok := m.update(owner, from, c, hasCaps, stanza.Priority(el)); ok {
		m.sendLast(ctx, job)
	}
}

// known reports whether owner has a table, and from a watcher in it.
func (p *interest) known(owner, from jid.JID) (table, watcher bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ws := p.owners[owner]
	return ws != nil, ws[from] != nil
}

// update records an available presence. It returns the last items to
// send when the notify set is known at once.
func (m *Module) update(owner, from jid.JID, c caps, hasCaps bool, prio int) (lastItems, bool) {
	p := m.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	ws := p.owners[owner]
	w := ws[from]
	if w == nil {
		if !hasCaps || len(ws) >= maxWatchers {
			return lastItems{}, false
		}
		if ws == nil {
			ws = map[jid.JID]*watcher{}
			p.owners[owner] = ws
		}
		w = &watcher{}
		ws[from] = w
		if p.byJID[from] == nil {
			p.byJID[from] = map[jid.JID]struct{}{}
		}
		p.byJID[from][owner] = struct{}{}
	}
	w.priority = prio
	// A presence without caps keeps the ones sent before (XEP-0115 §6.4
	// asks for caps in every presence; not every client does).
	if !hasCaps {
		return lastItems{}, false
	}
	k := c.key()
	if w.caps == c && (w.notify != nil || p.pending[k] != nil) {
		return lastItems{}, false
	}
	if w.caps != c {
		if w.notify != nil {
			w.prev = w.notify
		}
		w.caps, w.notify = c, nil
	}
	if set, ok := m.caps.get(k); ok {
		return p.resolve(owner, from, w, set), true
	}
	if q := p.pending[k]; q != nil {
		q.waiters[from] = struct{}{}
		return lastItems{}, false
	}
	if len(p.pending) < maxPending && !p.stopped {
		q := &query{target: from, waiters: map[jid.JID]struct{}{from: {}}}
		p.pending[k] = q
		m.startQuery(owner, from, c)
	}
	return lastItems{}, false
}

// resolve gives w its notify set and returns what it is newly
// interested in. p.mu is held.
func (p *interest) resolve(owner, from jid.JID, w *watcher, set notifySet) lastItems {
	newly := notifySet{}
	for n := range set {
		if !w.prev.has(n) {
			newly[n] = struct{}{}
		}
	}
	w.notify, w.prev = set, nil
	return lastItems{owner: owner, to: from, nodes: newly, priority: w.priority}
}

func (p *interest) remove(owner, from jid.JID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ws := p.owners[owner]; ws != nil {
		delete(ws, from)
		if len(ws) == 0 {
			delete(p.owners, owner)
		}
	}
	if os := p.byJID[from]; os != nil {
		delete(os, owner)
		if len(os) == 0 {
			delete(p.byJID, from)
		}
	}
}

// dropOwner forgets a removed account's service.
func (p *interest) dropOwner(owner jid.JID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for from := range p.owners[owner] {
		if os := p.byJID[from]; os != nil {
			delete(os, owner)
			if len(os) == 0 {
				delete(p.byJID, from)
			}
		}
	}
	delete(p.owners, owner)
}

// interested lists the resources to notify about node of owner:
// available with a non-negative priority and asking for it (XEP-0163
// §4.3.2).
func (p *interest) interested(owner jid.JID, node string) []jid.JID {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []jid.JID
	for from, w := range p.owners[owner] {
		if w.priority >= 0 && w.notify.has(node) {
			out = append(out, from)
		}
	}
	return out
}

// startQuery sends a disco#info request for c to target in a tracked
// goroutine. m.presence.mu is held, so Stop cannot be waiting yet.
func (m *Module) startQuery(owner, target jid.JID, c caps) {
	m.wg.Add(1)
	go m.queryCaps(owner, target, c)
}

// queryCaps asks target what its caps mean (XEP-0115 §6.2) and applies
// the answer: to every resource that advertised the same caps when it
// verifies, to target alone when it does not (§5.4 step 2 and 3.9).
func (m *Module) queryCaps(owner, target jid.JID, c caps) {
	defer m.wg.Done()
	ctx, cancel := context.WithTimeout(m.ctx, module.RequestTimeout)
	defer cancel()
	iq := xmltok.NewElement(stanza.NSClient, "iq",
		xmltok.Attr{Name: "type", Value: "get"},
		xmltok.Attr{Name: "from", Value: owner.String()},
		xmltok.Attr{Name: "to", Value: target.String()})
	iq.Add(xmltok.NewElement(NSDisco, "query", xmltok.Attr{Name: "node", Value: c.node + "#" + c.ver}))
	var (
		set           notifySet
		got, verified bool
	)
	res, err := m.h.Request(ctx, stanza.FromElement(iq))
	if err == nil && res.Type == "result" {
		if q := res.Payload(); q != nil && q.Space == NSDisco && q.Local == "query" {
			set, got, verified = notifyOf(q), true, verify(c, q)
		}
	}
	if err != nil && ctx.Err() == nil {
		m.log.Debug("caps query failed", "to", target.String(), "err", err)
	}
	jobs := m.answered(c, target, set, got, verified)
	for _, j := range jobs {
		m.sendLast(m.ctx, j)
	}
}

// answered applies a caps answer and moves the query on to the next
// waiter when it could not be verified.
func (m *Module) answered(c caps, target jid.JID, set notifySet, got, verified bool) []lastItems {
	p := m.presence
	p.mu.Lock()
	defer p.mu.Unlock()
	k := c.key()
	q := p.pending[k]
	if q == nil {
		return nil
	}
	var jobs []lastItems
	apply := func(from jid.JID) {
		for owner := range p.byJID[from] {
			if w := p.owners[owner][from]; w != nil && w.caps.key() == k && w.notify == nil {
				jobs = append(jobs, p.resolve(owner, from, w, set))
			}
		}
	}
	if verified {
		m.caps.put(k, set)
		for from := range q.waiters {
			apply(from)
		}
		delete(p.pending, k)
		return jobs
	}
	if got {
		apply(target)
	}
	delete(q.waiters, target)
	for from := range q.waiters {
		owner, w := p.watching(from, k)
		if w == nil {
			delete(q.waiters, from)
			continue
		}
		if p.stopped {
			break
		}
		q.target = from
		m.startQuery(owner, from, w.caps)
		return jobs
	}
	delete(p.pending, k)
	return jobs
}

// watching returns a service from watches with caps k still unresolved.
func (p *interest) watching(from jid.JID, k capsKey) (jid.JID, *watcher) {
	for owner := range p.byJID[from] {
		if w := p.owners[owner][from]; w != nil && w.caps.key() == k && w.notify == nil {
			return owner, w
		}
	}
	return jid.JID{}, nil
}

// sendLast sends the last published item of each node j asks for, as
// the node allows (XEP-0163 §4.3.4, XEP-0060 §9.3.3).
func (m *Module) sendLast(ctx context.Context, j lastItems) {
	if len(j.nodes) == 0 || j.priority < 0 || ctx.Err() != nil {
		return
	}
	nodes, err := m.store.Nodes(ctx, j.owner)
	if err != nil {
		m.log.Error("reading PEP nodes failed", "user", j.owner.String(), "err", err)
		return
	}
	acl := m.contacts(j.owner, false)
	for _, n := range nodes {
		cfg := n.Config
		if !j.nodes.has(n.Name) || !cfg.DeliverNotifications || !cfg.PersistItems || cfg.SendLastPublished != SendOnSubAndPresence {
			continue
		}
		if acl.access(ctx, cfg, j.to) != nil {
			continue
		}
		items, err := m.store.Items(ctx, j.owner, n.Name, 1)
		if err != nil {
			m.log.Error("reading PEP items failed", "user", j.owner.String(), "err", err)
			continue
		}
		if len(items) == 0 {
			continue
		}
		it, err := m.itemElement(NSEvent, items[0], cfg.DeliverPayloads)
		if err != nil {
			continue
		}
		delay := stanza.Delay(j.owner.String(), items[0].Published)
		m.h.Route(ctx, m.message(j.owner, j.to, cfg, event(itemsElement(NSEvent, n.Name, it)), delay))
	}
}
