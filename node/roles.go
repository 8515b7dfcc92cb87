package node

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	linkquic "github.com/meridian-xmpp/meridian/link/quic"
	"github.com/meridian-xmpp/meridian/mesh"
	"github.com/meridian-xmpp/meridian/storage"
)

// Roles (config node.roles) decide what a node builds:
//
//   - core: the store, core.Core and its modules; the edge link server on
//     link.listen when set (required on a core-only node).
//   - edge: the client listeners (c2s, web) and their TLS; the c2s server's
//     link.Core is the node's own core when it has the core role, else a
//     QUIC link client to the cores (link.cores, or the mesh).
//
// A core-only node binds no client listener; an edge-only node opens no
// store and runs no modules.

// roleState is what the roles add to a Node.
type roleState struct {
	linkID     *ca.Node
	linkServer *linkquic.Server
	linkPC     net.PacketConn
	linkClient *linkquic.Client
	// meshP is the mesh for the link client's goroutine (n.mesh is set
	// by Start after that goroutine exists).
	meshP atomic.Pointer[mesh.Mesh]
	// linkOn gates the link client's dialing until Start (New binds and
	// dials nothing).
	linkOn atomic.Bool

	started time.Time // for an edge-only node's status (a core has its own)

	coresMu sync.Mutex
	cores   []string // last core list logged
}

// newCore builds the core role: store, modules, core.
func (n *Node) newCore() error {
	cfg := n.cfg
	mods, err := Modules(cfg)
	if err != nil {
		return err
	}
	n.stores, err = storage.Open(cfg.Storage.Backend, cfg.Node.DataDir, cfg.StorageOptions())
	if err != nil {
		return err
	}
	n.core, err = core.New(core.Options{
		Logger:           n.log,
		Hosts:            cfg.Hosts(),
		Stores:           n.stores,
		Modules:          mods,
		ScramIterations:  cfg.Auth.ScramIterations,
		ResourceConflict: cfg.C2S.ResourceConflict,
		MaxResources:     cfg.C2S.MaxResources,
	})
	if err != nil {
		n.stores.Close()
		n.stores = nil
		return err
	}
	return nil
}

// usesLink reports whether the node is an end of the edge link.
func (n *Node) usesLink() bool {
	return n.cfg.EdgeOnly() || (n.core != nil && n.cfg.Link.Listen != "")
}

// linkIdentity loads the node's link certificate: the operator's files,
// or the automatic development CA.
func (n *Node) linkIdentity() error {
	l := n.cfg.Link
	var (
		id  *ca.Node
		err error
	)
	if l.CertFile != "" {
		id, err = ca.LoadNode(l.CAFile, l.CertFile, l.KeyFile, n.log)
	} else {
		dir := n.cfg.LinkCADir()
		id, err = ca.DevIn(dir, n.cfg.Node.Name, n.linkHosts(), n.log)
		if err == nil {
			n.log.Warn("edge link uses the automatic development CA: for a local cluster only", "ca_dir", dir)
		}
	}
	if err != nil {
		return fmt.Errorf("node: edge link certificate: %w", err)
	}
	n.linkID = id
	return nil
}

// linkHosts are the extra names of a development certificate: the link
// listener's host when it is specific. Edges do not check host names (see
// link/ca), so this is for operators reading the certificate.
func (n *Node) linkHosts() []string {
	if h, _, err := net.SplitHostPort(n.cfg.Link.Listen); err == nil && h != "" && !net.ParseIP(h).IsUnspecified() {
		return []string{h}
	}
	return nil
}

// edgeCore is what the c2s server calls: the node's own core, or the edge
// link client to the region's cores.
func (n *Node) edgeCore() link.Core {
	if n.cluster != nil {
		// A clustered core+edge node relays its own clients' sessions to
		// their users' cores as it does for remote edges.
		return n.cluster.LinkCore()
	}
	if n.core != nil {
		return n.core
	}
	n.linkClient = linkquic.NewClient(linkquic.ClientOptions{
		Addrs:  n.coreAddrs,
		TLS:    n.linkID.ClientConfig(),
		Name:   n.cfg.Node.Name,
		Logger: n.log,
	})
	return n.linkClient
}

// coreAddrs is the link client's list of cores, asked before every dial:
// link.cores as configured, or the mesh's cores of this region in this
// edge's order (coreOrder). A change is logged.
func (n *Node) coreAddrs() []string {
	if !n.linkOn.Load() {
		return nil
	}
	var addrs []string
	from := "link.cores"
	if n.cfg.Mesh.Enabled {
		m := n.meshP.Load()
		if m == nil {
			return nil // not joined yet
		}
		from = "mesh region " + n.cfg.Mesh.Region
		for _, a := range n.regionCores(m) {
			addrs = append(addrs, a)
		}
		addrs = coreOrder(n.cfg.Node.Name, addrs)
	} else {
		addrs = n.cfg.Link.Cores
	}
	n.coresMu.Lock()
	changed := !slices.Equal(addrs, n.cores)
	n.cores = slices.Clone(addrs)
	n.coresMu.Unlock()
	if changed {
		if len(addrs) == 0 {
			n.log.Warn("edge: no core to connect to", "from", from)
		} else {
			n.log.Info("edge: cores", "from", from, "addrs", strings.Join(addrs, ","))
		}
	}
	return addrs
}

// regionCores maps the mesh's cores of this node's region to the link
// address to dial (those that announce one); this node is left out.
func (n *Node) regionCores(m *mesh.Mesh) map[string]string {
	out := map[string]string{}
	for _, c := range m.Cores(n.cfg.Mesh.Region) {
		if c.Name == n.cfg.Node.Name {
			continue
		}
		if a := dialAddr(c.Tags.Link, c.Addr); a != "" {
			out[c.Name] = a
		}
	}
	return out
}

// dialAddr is the address to dial for a member's address tag (link,
// c2s): the tag, with an unspecified host (a node bound to 0.0.0.0
// without a specific mesh address) replaced by the host of the member's
// mesh address. "" when the member announces no such address.
func dialAddr(tag, meshAddr string) string {
	host, port, err := net.SplitHostPort(tag)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if mh, _, err := net.SplitHostPort(meshAddr); err == nil {
			return net.JoinHostPort(mh, port)
		}
	}
	return tag
}

// coreOrder sorts the cores by a hash of (edge, core) (rendezvous
// hashing): each edge gets its own order, so the edges of a region spread
// over the cores, and it stays the same as cores come and go, so an edge
// keeps its preferred core and a failed core's edges spread over the rest.
func coreOrder(edge string, addrs []string) []string {
	score := func(a string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(edge))
		h.Write([]byte{0})
		h.Write([]byte(a))
		return h.Sum64()
	}
	out := slices.Clone(addrs)
	slices.SortFunc(out, func(a, b string) int {
		sa, sb := score(a), score(b)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// startLink binds the edge link listener of a core (UDP) and serves it;
// on an edge it lets the link client start dialing. It runs before the
// mesh starts, whose link tag is the bound address.
func (n *Node) startLink() error {
	if n.linkClient != nil {
		n.linkOn.Store(true)
		return nil
	}
	if n.core == nil || n.cfg.Link.Listen == "" {
		return nil
	}
	pc, err := net.ListenPacket("udp", n.cfg.Link.Listen)
	if err != nil {
		return fmt.Errorf("node: listen link on %s: %w", n.cfg.Link.Listen, err)
	}
	n.linkPC = pc
	var served link.Core = n.core
	if n.cluster != nil {
		served = n.cluster.LinkCore()
	}
	n.linkServer = linkquic.NewServer(linkquic.ServerOptions{
		Core:   served,
		TLS:    n.linkID.ServerConfig(),
		Name:   n.cfg.Node.Name,
		Logger: n.log,
	})
	n.mu.Lock()
	n.addrs["link"] = append(n.addrs["link"], pc.LocalAddr())
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.linkServer.Serve(pc); err != nil {
			n.log.Error("edge link server stopped", "err", err)
		}
	}()
	n.log.Info("core: serving the edge link", "addr", pc.LocalAddr().String())
	return nil
}

// stopLink closes the link: a core closes its edges' connections (they
// move their sessions to another core) and its socket; an edge closes its
// client after its client streams have ended.
func (n *Node) stopLink() {
	if n.linkServer != nil {
		n.linkServer.Close()
	}
	if n.linkPC != nil {
		n.linkPC.Close()
	}
	if n.linkClient != nil {
		n.linkClient.Close()
	}
}

// linkTag is the link address this node announces in the mesh: the bound
// address, or, bound to an unspecified host, the mesh's advertise or bind
// host with the bound port. "" without a link listener.
func (n *Node) linkTag() string {
	if a := n.Addrs("link"); len(a) > 0 {
		return n.reachable(a[0].String())
	}
	return ""
}

// streams is the node's open client streams (0 without the edge role).
func (n *Node) streams() int {
	if n.c2s == nil {
		return 0
	}
	return n.c2s.Count()
}

// load is the mesh load tag: open client streams on a node with the edge
// role, sessions on a core-only node.
func (n *Node) load() int {
	if n.c2s == nil && n.core != nil {
		return n.core.SessionCount()
	}
	return n.streams()
}

// LinkConnected names the core an edge-only node's link is connected to
// ("" when none, or on a node with its own core).
func (n *Node) LinkConnected() string {
	if n.linkClient == nil {
		return ""
	}
	return n.linkClient.Connected()
}

// hostKnown reports whether domain is one of the node's vhosts (what the
// core's IsLocal answers, without needing a core).
func (n *Node) hostKnown(domain string) bool {
	_, ok := n.cfg.VHost(domain)
	return ok
}

// noCoreHandler answers what needs a core on an edge-only node: 503 with
// a JSON error saying so.
func (n *Node) noCoreHandler(what string) http.Handler {
	msg, _ := json.Marshal(map[string]string{"error": "this node has no core role: " + what + " is served by nodes with the core role"})
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write(append(msg, '\n'))
	})
}
