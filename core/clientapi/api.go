// Package clientapi is the client REST API: a user's own messages
// (sending, and paging their archive) and roster over HTTP+JSON, for
// clients that keep no XMPP stream. It owns authentication (HTTP Basic
// with the account's JID and password, or bearer tokens it signs),
// request decoding, status codes and CORS. Everything it changes goes
// through the core and the modules' own Go APIs, so that a REST request
// has the effects of the same request from an XMPP session: it must not
// write a store the modules own.
package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/internal/cors"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Resource is the resource of the full JID that messages sent through the
// API come from (user@domain/rest-api).
const Resource = "rest-api"

// maxBody bounds a request body; larger ones get 413.
const maxBody = 64 << 10

// Core is what the API needs from the core.
type Core interface {
	IsLocal(domain string) bool
	VerifyPassword(ctx context.Context, domain, username, password string) (bool, error)
	// SendAs routes a stanza as if a session bound to from sent it.
	SendAs(ctx context.Context, from jid.JID, st *stanza.Stanza) error
}

// Accounts reads stored accounts (their credentials decide whether a
// token is still valid).
type Accounts interface {
	GetAccount(ctx context.Context, domain, username string) (auth.Account, error)
}

// Roster is the roster module's Go API.
type Roster interface {
	Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error)
	Item(ctx context.Context, user, contact jid.JID) (roster.Item, bool, error)
	SetItem(ctx context.Context, user, contact jid.JID, name string, groups []string) error
	RemoveItem(ctx context.Context, user, contact jid.JID) error
}

var _ Roster = (*roster.Module)(nil)

// Options configure the API.
type Options struct {
	Core     Core
	Accounts Accounts
	// Roster is nil when the roster module is disabled: /contacts
	// answers 501.
	Roster Roster
	// Archive is nil when the mam module is disabled: GET /messages
	// answers 501.
	Archive mam.Store
	// Key signs tokens (at least 32 bytes).
	Key      []byte
	TokenTTL time.Duration
	// AllowOrigin decides whether a browser page of the request's Origin
	// may call the API (the node's web.allowed_origins policy).
	AllowOrigin func(*http.Request) bool
	Now         func() time.Time
	Logger      *slog.Logger
}

// API is the client REST API handler.
type API struct {
	opts Options
	mux  *http.ServeMux
}

// New returns the API. Its paths are relative to the API's prefix
// (web.api.path), which the caller strips.
func New(opts Options) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AllowOrigin == nil {
		opts.AllowOrigin = func(*http.Request) bool { return true }
	}
	a := &API{opts: opts, mux: http.NewServeMux()}
	a.route("/tokens", methods{"POST": a.basicOnly(a.createToken)})
	a.route("/messages", methods{"POST": a.authed(a.sendMessage), "GET": a.authed(a.listMessages)})
	a.route("/messages/{with}", methods{"GET": a.authed(a.listMessages)})
	a.route("/contacts", methods{"GET": a.authed(a.listContacts), "POST": a.authed(a.addContact)})
	a.route("/contacts/{jid}", methods{"PUT": a.authed(a.editContact), "DELETE": a.authed(a.removeContact)})
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "no such endpoint")
	})
	return a
}

// methods maps HTTP methods to the handlers of one path.
type methods map[string]http.HandlerFunc

// allowMethods lists what a preflight may ask for.
const allowMethods = "GET, POST, PUT, DELETE, OPTIONS"

// route serves a path: CORS first, then the method (405 with Allow for
// another), then the handler.
func (a *API) route(pattern string, ms methods) {
	var allow []string
	for m := range ms {
		allow = append(allow, m)
	}
	slices.Sort(allow)
	allowed := strings.Join(allow, ", ") + ", OPTIONS"
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			a.preflight(w, r, allowed)
			return
		}
		h, ok := ms[r.Method]
		if !ok {
			w.Header().Set("Allow", allowed)
			fail(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h(w, r)
	})
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !a.opts.AllowOrigin(r) {
			fail(w, http.StatusForbidden, "origin not allowed")
			return
		}
		cors.Grant(w.Header(), r, "WWW-Authenticate", "Location")
	}
	a.mux.ServeHTTP(w, r)
}

// preflight answers a CORS preflight (the Fetch standard's CORS protocol).
func (a *API) preflight(w http.ResponseWriter, r *http.Request, allowed string) {
	h := w.Header()
	h.Set("Allow", allowed)
	cors.Preflight(h, r, allowed, "Authorization, Content-Type", 10*time.Minute)
	w.WriteHeader(http.StatusNoContent)
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	reply(w, status, errorBody{msg})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON object into v: 413 past maxBody, 400 for
// malformed JSON, unknown fields or trailing data. It reports whether v
// was filled.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	// JSON only: a browser sends other types cross-origin without a
	// preflight, and must not reach an endpoint with cached credentials.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		var extra json.RawMessage
		if dec.Decode(&extra) == nil {
			err = errors.New("trailing data after the JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		fail(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	case err != nil:
		fail(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// parseJID reads a JID given by the client: 400 when malformed.
func parseJID(w http.ResponseWriter, s, what string) (jid.JID, bool) {
	j, err := jid.Parse(s)
	if s == "" || err != nil {
		fail(w, http.StatusBadRequest, what+": not a valid JID")
		return jid.JID{}, false
	}
	return j, true
}

// stanzaStatus maps a module's stanza error to an HTTP status.
func stanzaStatus(w http.ResponseWriter, err error) {
	var se *stanza.Error
	if !errors.As(err, &se) {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	msg := se.Condition
	if se.Text != "" {
		msg = se.Text
	}
	switch se.Condition {
	case "item-not-found":
		fail(w, http.StatusNotFound, msg)
	case "bad-request", "not-acceptable", "jid-malformed":
		fail(w, http.StatusBadRequest, msg)
	case "not-allowed", "policy-violation", "forbidden":
		fail(w, http.StatusForbidden, msg)
	default:
		fail(w, http.StatusInternalServerError, msg)
	}
}
