package cluster

import (
	"slices"

	linkquic "github.com/meridian-xmpp/meridian/link/quic"
)

// Relayed sessions (a user's second session, opened on this core, that
// lives on the user's core) go over a link client of their own per
// user's core, not the peer's client that carries the cluster's batches:
// when that core is lost, the relay client moves its sessions to another
// core of the region, as an edge moves its own — with what the sessions'
// clients set carried over and the unacknowledged stanzas replayed — and
// their clients keep their streams. The peer's client must not follow: its
// batches are for that core only.

// relay returns the relay client of the sessions of users whose core is
// home, made on first use.
func (c *Cluster) relay(home string) *linkquic.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.relays[home]; r != nil {
		return r
	}
	if c.done {
		return nil
	}
	r := linkquic.NewClient(linkquic.ClientOptions{
		Addrs:  func() []string { return c.relayAddrs(home) },
		TLS:    c.o.TLS,
		Name:   c.o.Node,
		Logger: c.o.Logger.With("relay", home),
	})
	c.relays[home] = r
	return r
}

// relayAddrs is a relay client's list of cores: the users' core alone
// while it is a peer (a blip on that link must not send its sessions
// elsewhere: the client dials its list in turn); once that core is lost,
// where its sessions go: this core (the sessions' edges are linked here),
// then the region's other cores by name.
func (c *Cluster) relayAddrs(home string) []string {
	self := c.self()
	names := c.Peers() // by name
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p := c.peers[home]; p != nil {
		return []string{p.addr()}
	}
	var addrs []string
	if self != "" {
		addrs = append(addrs, self)
	}
	for _, n := range names {
		if p := c.peers[n]; p != nil {
			addrs = append(addrs, p.addr())
		}
	}
	return addrs
}

// self is this core's link address, "" when unknown.
func (c *Cluster) self() string {
	if c.o.Self == nil {
		return ""
	}
	return c.o.Self()
}

// relayLost handles the relay client of a core that left the peers: its
// sessions move to this core or another (the client is retired: new relays
// to that core, should it come back, get a new client); with nowhere to
// go they end.
func (c *Cluster) relayLost(home string) {
	self := c.self()
	c.mu.Lock()
	if c.peers[home] != nil {
		c.mu.Unlock() // back already: its relay client stays
		return
	}
	r := c.relays[home]
	delete(c.relays, home)
	move := r != nil && !c.done && (self != "" || len(c.peers) > 0)
	if move {
		c.retired = append(c.retired, r)
	}
	c.mu.Unlock()
	switch {
	case r == nil:
	case move:
		if r.Abandon(home) {
			c.log.Info("cluster: moving the sessions relayed to a core that left", "peer", home)
		}
	default:
		r.Close()
	}
}

// closeIdleRelays closes the retired relay clients left with no session.
func (c *Cluster) closeIdleRelays() {
	c.mu.Lock()
	var idle []*linkquic.Client
	c.retired = slices.DeleteFunc(c.retired, func(r *linkquic.Client) bool {
		if r.Idle() {
			idle = append(idle, r)
			return true
		}
		return false
	})
	c.mu.Unlock()
	for _, r := range idle {
		r.Close()
	}
}

// closeRelays closes every relay client (the core is stopping).
func (c *Cluster) closeRelays() {
	c.mu.Lock()
	rs := c.retired
	for _, r := range c.relays {
		rs = append(rs, r)
	}
	c.relays, c.retired = map[string]*linkquic.Client{}, nil
	c.mu.Unlock()
	for _, r := range rs {
		r.Close()
	}
}
