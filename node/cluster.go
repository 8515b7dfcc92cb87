package node

import (
	"context"
	"fmt"
	"slices"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/core/cluster"
	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/mesh"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// clusterState is what a core of a multi-core region adds to a Node: the
// cluster (core/cluster) and its session registry. A core joins its
// region's cluster when it serves the edge link and the mesh is on; an
// all-in-one node, or a core without the mesh, runs alone.
type clusterState struct {
	cluster  *cluster.Cluster
	registry registry.Registry
	meshStop func()
}

func (n *Node) clustered() bool {
	return n.core != nil && n.cfg.Link.Listen != "" && n.cfg.Mesh.Enabled
}

// newCluster builds the cluster and its registry ([cluster]) and gives
// them to the core.
func (n *Node) newCluster() error {
	if !n.clustered() {
		return nil
	}
	cfg := n.cfg.Cluster
	cl := cluster.New(cluster.Options{
		Node:    n.cfg.Node.Name,
		Core:    n.core,
		TLS:     n.linkID.ClientConfig(),
		Refresh: cfg.Refresh.Duration,
		Logger:  n.log,
		Self: func() string {
			if a := n.Addrs("link"); len(a) > 0 {
				return dialAddr(a[0].String(), n.cfg.Mesh.Bind)
			}
			return ""
		},
	})
	switch cfg.Registry {
	case "redis":
		r, err := registry.NewRedis(registry.RedisOptions{Node: n.cfg.Node.Name, URL: cfg.RedisURL, TTL: cfg.TTL.Duration, Resync: cl.Places, Log: n.log})
		if err != nil {
			return fmt.Errorf("node: cluster.redis_url: %w", err)
		}
		cl.Attach(r, nil)
		n.registry = r
	default:
		m, err := registry.NewMemory(registry.MemoryOptions{Node: n.cfg.Node.Name, TTL: cfg.TTL.Duration, Peers: cl, Log: n.log})
		if err != nil {
			return fmt.Errorf("node: cluster: %w", err)
		}
		cl.Attach(m, m)
		n.registry = m
	}
	n.cluster = cl
	n.core.SetCluster(cl)
	return nil
}

// followMesh acts on mesh changes: on a clustered core the region's
// other cores are the cluster's peers; on an edge, a core that leaves the
// route view while the edge is connected to it is abandoned, so that its
// sessions move at once rather than after the link's idle timeout.
func (n *Node) followMesh() {
	if n.mesh == nil || (n.cluster == nil && n.linkClient == nil) {
		return
	}
	m := n.mesh
	ch, stop := m.Subscribe()
	n.meshStop = stop
	apply := func() {
		if n.cluster != nil {
			n.setPeers(m)
		}
		if n.linkClient != nil {
			if cur := n.linkClient.Connected(); cur != "" && !slices.ContainsFunc(m.Cores(n.cfg.Mesh.Region), func(c mesh.Member) bool { return c.Name == cur }) {
				n.linkClient.Abandon(cur)
			}
		}
	}
	apply()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for range ch {
			apply()
		}
	}()
}

func (n *Node) setPeers(m *mesh.Mesh) { n.cluster.SetPeers(n.regionCores(m)) }

// stopCluster stops following the mesh, then the peers and the registry;
// it runs after the link server closed (the core's sessions are gone).
func (n *Node) stopCluster() {
	if n.cluster == nil {
		return
	}
	n.cluster.Close()
	n.registry.Close()
}

// ClusterPeers names the other cores this core exchanges stanzas with
// (nil when it runs alone).
func (n *Node) ClusterPeers() []string {
	if n.cluster == nil {
		return nil
	}
	return n.cluster.Peers()
}

// places is the admin API's view of an account's sessions across the
// region (nil when the node is not in a cluster).
func (n *Node) places() func(context.Context, jid.JID) ([]admin.Place, error) {
	if n.registry == nil {
		return nil
	}
	return func(ctx context.Context, bare jid.JID) ([]admin.Place, error) {
		ps, err := n.registry.Sessions(ctx, bare)
		if err != nil {
			return nil, err
		}
		out := make([]admin.Place, 0, len(ps))
		for _, p := range ps {
			out = append(out, admin.Place{JID: p.JID.String(), Core: p.Core, Edge: p.Edge, Available: p.Available, Priority: p.Priority, Since: p.BoundAt.UTC()})
		}
		return out, nil
	}
}
