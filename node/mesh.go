package node

import (
	"errors"
	"fmt"
	"net"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/mesh"
)

// startMesh joins the Serf mesh when [mesh] enabled is set. It runs after
// the HTTP listener is bound (its address is a tag) and before the admin
// API serves (which lists the members).
func (n *Node) startMesh() error {
	mc := n.cfg.Mesh
	if !mc.Enabled {
		return nil
	}
	m, err := mesh.Start(mesh.Config{
		Name:          n.cfg.Node.Name,
		Bind:          mc.Bind,
		Advertise:     mc.Advertise,
		Seeds:         mc.Seeds,
		Secret:        n.cfg.MeshSecret(),
		Tags:          n.meshTags(),
		Load:          n.load,
		LoadInterval:  mc.LoadInterval.Duration,
		ProbeInterval: mc.ProbeInterval.Duration,
		ProbeTimeout:  mc.ProbeTimeout.Duration,
		Logger:        n.log,
	})
	var tl *mesh.TagsTooLongError
	if errors.As(err, &tl) {
		key := map[string]string{"domains": "vhosts", "region": "mesh.region", "http": "http.listen"}[tl.Largest]
		if key == "" {
			key = "the " + tl.Largest + " tag"
		}
		return fmt.Errorf("node: the mesh tags encode to %d bytes, over Serf's limit of %d; %s takes the most room: shorten it", tl.Size, mesh.MaxTagsSize, key)
	}
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.mesh = m
	n.meshP.Store(m)
	return nil
}

// meshTags is what this node announces; link is the edge link listener
// of a core (roles.go), empty on a node without one.
func (n *Node) meshTags() mesh.Tags {
	t := mesh.Tags{
		Roles:   n.cfg.Node.Roles,
		Region:  n.cfg.Mesh.Region,
		Link:    n.linkTag(),
		Domains: n.cfg.Hosts(),
		Version: admin.Version(),
	}
	if a := n.Addrs("http"); len(a) > 0 {
		t.HTTP = n.reachable(a[0].String())
	}
	if a := n.Addrs("c2s"); len(a) > 0 {
		t.C2S = n.reachable(a[0].String())
	}
	return t
}

// reachable turns a bound address into one other members can dial: an
// unspecified host (0.0.0.0, ::) becomes the mesh's advertise or bind
// host when that is specific, and is left as it is otherwise (readers then
// use the member's mesh address).
func (n *Node) reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsUnspecified() {
		return addr
	}
	for _, a := range []string{n.cfg.Mesh.Advertise, n.cfg.Mesh.Bind} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" && !net.ParseIP(h).IsUnspecified() {
			return net.JoinHostPort(h, port)
		}
	}
	return addr
}

// leaveMesh leaves the mesh gracefully, first thing on shutdown, so that
// the others stop routing here before the listeners close.
func (n *Node) leaveMesh() {
	if n.mesh == nil {
		return
	}
	if err := n.mesh.Leave(); err != nil {
		n.log.Warn("mesh: leave", "err", err)
	}
}

// Mesh returns the node's mesh membership, nil when [mesh] is off.
func (n *Node) Mesh() *mesh.Mesh { return n.mesh }

// meshMembers lists the members for /v1/mesh: every member the mesh knows
// or, with the mesh off, this node alone with its client address.
func (n *Node) meshMembers() []admin.Member {
	if n.mesh == nil {
		t := n.meshTags()
		t.Load = n.load()
		addr := ""
		if a := n.Addrs("c2s"); len(a) > 0 {
			addr = a[0].String()
		}
		return []admin.Member{adminMember(mesh.Member{Name: n.cfg.Node.Name, Addr: addr, Status: mesh.StatusAlive, Tags: t, Self: true})}
	}
	ms := n.mesh.Members()
	out := make([]admin.Member, len(ms))
	for i, m := range ms {
		out[i] = adminMember(m)
	}
	return out
}

func adminMember(m mesh.Member) admin.Member {
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return admin.Member{
		Name:     m.Name,
		Roles:    nonNil(m.Tags.Roles),
		Address:  m.Addr,
		Status:   string(m.Status),
		Self:     m.Self,
		Region:   m.Tags.Region,
		Link:     m.Tags.Link,
		HTTP:     m.Tags.HTTP,
		C2S:      m.Tags.C2S,
		Draining: m.Tags.Draining,
		Domains:  nonNil(m.Tags.Domains),
		Load:     m.Tags.Load,
		Version:  m.Tags.Version,
		Problem:  m.Problem,
	}
}
