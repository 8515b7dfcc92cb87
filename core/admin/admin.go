// Package admin is the node's administrative REST API: accounts,
// sessions, stanzas sent on a user's behalf, domains, status and the mesh.
// It is served on the local admin socket and, behind bearer tokens
// (RequireToken), on the [admin] TCP listener; meridianctl speaks it. The
// contract is the OpenAPI document served at /v1/openapi.yaml (a copy of
// docs/admin-api.yaml). It owns request decoding, status codes and JSON
// shapes; the account, session and routing logic stays in the core, and
// it never owns a listener.
package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Core is what the API needs from the core (implemented by *core.Core).
type Core interface {
	CreateUser(ctx context.Context, bare jid.JID, password string) error
	RemoveUser(ctx context.Context, bare jid.JID) error
	SetPassword(ctx context.Context, bare jid.JID, password string) error
	ListUsers(ctx context.Context, domain string) ([]string, error)
	UserExists(ctx context.Context, bare jid.JID) (bool, error)
	IsLocal(domain string) bool
	Hosts() []string
	Started() time.Time
	AllSessions() []core.SessionSummary
	KickSession(full jid.JID, e *stanza.StreamError) bool
	KickUser(bare jid.JID, e *stanza.StreamError) int
	HandleAs(st *stanza.Stanza) bool
	SendAs(ctx context.Context, from jid.JID, st *stanza.Stanza) error
}

var _ Core = (*core.Core)(nil)

// Node describes the node around the core, for /v1/status and /v1/mesh.
type Node struct {
	Name    string
	Roles   []string
	Started time.Time  // when the node started, for a node without a core
	Address string     // where clients reach the node ("" when it listens nowhere)
	Streams func() int // open client streams, authenticated or not
	// Members lists the mesh's members for /v1/mesh; nil: this node alone.
	Members func() []Member
	// Drain starts the node's lame-duck drain (POST /v1/drain; drain.go);
	// nil: the node cannot drain. Draining reports one under way.
	Drain    func(timeout, period time.Duration, redirect []string) (DrainState, error)
	Draining func() bool
	// LinkCore names the core an edge-only node's link is connected to;
	// ClusterPeers the other cores of a clustered core. nil: none.
	LinkCore     func() string
	ClusterPeers func() []string
	// Places lists an account's sessions on every core of the region
	// (the cluster's registry); nil on a node that is not in a cluster.
	Places func(ctx context.Context, bare jid.JID) ([]Place, error)
}

// Place is one session of the region as the session registry has it.
type Place struct {
	JID       string    `json:"jid"`
	Core      string    `json:"core"`
	Edge      string    `json:"edge"`
	Available bool      `json:"available"`
	Priority  int       `json:"priority"`
	Since     time.Time `json:"since"`
}

// Kicked is the stream error a session ended through the API gets: RFC
// 6120 §4.9.3.14, the entity broke a local service policy.
var Kicked = &stanza.StreamError{Condition: stanza.PolicyViolation, Text: "session ended by an administrator"}

type api struct {
	c    Core
	node Node
}

// table is every route the API serves.
var table = []struct {
	pattern string
	serve   func(*api, http.ResponseWriter, *http.Request)
}{
	{"POST /v1/users", (*api).createUser},
	{"GET /v1/users", (*api).listUsers},
	{"GET /v1/users/{jid}", (*api).getUser},
	{"DELETE /v1/users/{jid}", (*api).removeUser},
	{"PUT /v1/users/{jid}/password", (*api).setPassword},
	{"DELETE /v1/users/{jid}/sessions", (*api).kickUser},
	{"GET /v1/sessions", (*api).listSessions},
	{"DELETE /v1/sessions/{jid}", (*api).kickSession},
	{"POST /v1/stanzas", (*api).sendStanza},
	{"POST /v1/messages", (*api).sendMessage},
	{"GET /v1/domains", (*api).domains},
	{"GET /v1/status", (*api).status},
	{"GET /v1/mesh", (*api).mesh},
	{"POST /v1/drain", (*api).drain},
	{"GET /v1/openapi.yaml", (*api).document},
}

// Routes lists the "METHOD /path" patterns the API serves, so that tests
// can hold them against the OpenAPI document.
func Routes() []string {
	out := make([]string, len(table))
	for i, r := range table {
		out[i] = r.pattern
	}
	return out
}

// withoutCore are the routes a node without the core role (an edge-only
// node) serves; the others answer 503.
var withoutCore = map[string]bool{"GET /v1/status": true, "GET /v1/mesh": true, "GET /v1/openapi.yaml": true, "POST /v1/drain": true}

// Handler returns the API bound to a core and a node. c is nil on a node
// without the core role: accounts, sessions and stanzas live on the
// cores, so only status, mesh and the document are served, and the other
// routes answer 503 saying so.
func Handler(c Core, n Node) http.Handler {
	a := &api{c: c, node: n}
	mux := http.NewServeMux()
	for _, r := range table {
		serve := r.serve
		if c == nil && !withoutCore[r.pattern] {
			serve = (*api).noCore
		}
		mux.HandleFunc(r.pattern, func(w http.ResponseWriter, req *http.Request) { serve(a, w, req) })
	}
	return jsonErrors(mux)
}

// ErrNoCore is the error text of what a node without the core role does
// not serve.
const ErrNoCore = "this node has no core role: ask a node with the core role"

func (a *api) noCore(w http.ResponseWriter, _ *http.Request) {
	fail(w, http.StatusServiceUnavailable, ErrNoCore)
}

// jsonErrors answers what the mux itself refuses (no such path: 404,
// wrong method: 405 with Allow) in the API's JSON error shape.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			fail(w, rec.code, "method not allowed")
		case http.StatusNotFound:
			fail(w, rec.code, "no such endpoint")
		default: // redirects for unclean paths
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.code)
		}
	})
}

// statusRecorder keeps the status and headers of a response, not its body.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.code = code }

// maxBody bounds request bodies; a stanza fits well within it.
const maxBody = 1 << 16

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		fail(w, http.StatusBadRequest, "malformed JSON: data after the object")
		return false
	}
	return true
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	reply(w, code, map[string]string{"error": msg})
}
