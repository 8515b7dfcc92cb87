package admin

import (
	_ "embed"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"
)

// Domain is one served domain with its counts.
type Domain struct {
	Domain   string `json:"domain"`
	Users    int    `json:"users"`
	Sessions int    `json:"sessions"`
}

// GET /v1/domains
func (a *api) domains(w http.ResponseWriter, r *http.Request) {
	perDomain := map[string]int{}
	for _, s := range a.c.AllSessions() {
		perDomain[s.JID.Domain()]++
	}
	out := []Domain{}
	for _, d := range a.c.Hosts() {
		users, err := a.c.ListUsers(r.Context(), d)
		if err != nil {
			fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		out = append(out, Domain{Domain: d, Users: len(users), Sessions: perDomain[d]})
	}
	reply(w, http.StatusOK, map[string]any{"domains": out})
}

// Status is the node's state at a glance.
type Status struct {
	Node                string         `json:"node"`
	Version             string         `json:"version"`
	Roles               []string       `json:"roles"`
	Started             time.Time      `json:"started"`
	UptimeSeconds       int64          `json:"uptime_seconds"`
	Sessions            int            `json:"sessions"`
	SessionsByTransport map[string]int `json:"sessions_by_transport"`
	Streams             int            `json:"streams"`
	Goroutines          int            `json:"goroutines"`
	Memory              Memory         `json:"memory"`
	// Draining: a lame-duck drain is under way (POST /v1/drain).
	Draining bool `json:"draining"`
	// LinkCore is the core an edge-only node is connected to ("" when
	// none, or on a node with its own core).
	LinkCore string `json:"link_core"`
	// ClusterPeers are the other cores a core exchanges stanzas and
	// sessions with (empty when it runs alone).
	ClusterPeers []string `json:"cluster_peers"`
}

// Memory is what the Go runtime holds.
type Memory struct {
	HeapAllocBytes uint64 `json:"heap_alloc_bytes"`
	SysBytes       uint64 `json:"sys_bytes"`
	GCCycles       uint32 `json:"gc_cycles"`
}

// GET /v1/status
func (a *api) status(w http.ResponseWriter, r *http.Request) {
	started := a.node.Started
	if a.c != nil {
		started = a.c.Started()
	}
	s := Status{
		Node:                a.node.Name,
		Version:             Version(),
		Roles:               a.roles(),
		Started:             started.UTC(),
		UptimeSeconds:       int64(time.Since(started) / time.Second),
		SessionsByTransport: map[string]int{},
		Goroutines:          runtime.NumGoroutine(),
	}
	if a.c != nil { // sessions live on the cores
		for _, ss := range a.c.AllSessions() {
			s.Sessions++
			s.SessionsByTransport[ss.Transport]++
		}
	}
	if a.node.Streams != nil {
		s.Streams = a.node.Streams()
	}
	if a.node.Draining != nil {
		s.Draining = a.node.Draining()
	}
	if a.node.LinkCore != nil {
		s.LinkCore = a.node.LinkCore()
	}
	s.ClusterPeers = []string{}
	if a.node.ClusterPeers != nil {
		s.ClusterPeers = append(s.ClusterPeers, a.node.ClusterPeers()...)
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.Memory = Memory{HeapAllocBytes: m.HeapAlloc, SysBytes: m.Sys, GCCycles: m.NumGC}
	reply(w, http.StatusOK, s)
}

// Member is one node of the mesh, with what it announces.
type Member struct {
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	Address string   `json:"address"`
	Status  string   `json:"status"`
	Self    bool     `json:"self"`
	Region  string   `json:"region"`
	Link    string   `json:"link"`
	HTTP    string   `json:"http"`
	C2S     string   `json:"c2s"`
	// Draining: an edge in lame-duck drain, offered to no new client.
	Draining bool     `json:"draining"`
	Domains  []string `json:"domains"`
	Load     int      `json:"load"`
	Version  string   `json:"version"`
	// Problem names a malformed tag; such a member is not routed to.
	Problem string `json:"problem,omitempty"`
}

// GET /v1/mesh: the members Node.Members lists, or this node alone.
func (a *api) mesh(w http.ResponseWriter, r *http.Request) {
	if a.node.Members != nil {
		reply(w, http.StatusOK, map[string]any{"members": a.node.Members()})
		return
	}
	self := Member{Name: a.node.Name, Roles: a.roles(), Address: a.node.Address, Status: "alive", Self: true,
		Domains: a.c.Hosts(), Load: len(a.c.AllSessions()), Version: Version()}
	reply(w, http.StatusOK, map[string]any{"members": []Member{self}})
}

func (a *api) roles() []string {
	if a.node.Roles == nil {
		return []string{}
	}
	return a.node.Roles
}

// Version is the module version the binary was built from, "dev" for a
// build outside a module version.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Document is the API's OpenAPI 3 document. docs/admin-api.yaml is a copy
// (a test holds them equal; go generate makes the copy).
//
//go:generate cp openapi.yaml ../../docs/admin-api.yaml
//go:embed openapi.yaml
var Document []byte

// GET /v1/openapi.yaml
func (a *api) document(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(Document)
}
