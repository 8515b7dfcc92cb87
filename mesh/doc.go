// Package mesh is the node's membership in the cluster: every node joins
// one Serf cluster, announces itself with tags (roles, region, link and
// HTTP addresses, domains, load, version), and keeps a view of the other
// members that the rest of the node reads to route: Cores(region),
// Edges(region), Members(), Self().
//
// It owns the Serf agent, the join to the seed addresses, the tag format
// and its checks, and the consumption of Serf's events. It never blocks
// Serf: one goroutine drains the event channel into the member table, and
// subscribers are told of changes through channels that coalesce and are
// never waited on. It must not route stanzas or hold sessions; it only
// says who is where.
package mesh
