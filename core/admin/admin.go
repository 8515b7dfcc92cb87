// Package admin is the node's administrative HTTP API for accounts. It is
// served on the local admin socket (and later on the admin REST listener);
// meridianctl speaks it. It owns request decoding and status codes; the
// account logic stays in the core.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Accounts is what the API needs from the core.
type Accounts interface {
	CreateUser(ctx context.Context, bare jid.JID, password string) error
	RemoveUser(ctx context.Context, bare jid.JID) error
	SetPassword(ctx context.Context, bare jid.JID, password string) error
	ListUsers(ctx context.Context, domain string) ([]string, error)
	IsLocal(domain string) bool
}

// Handler returns the API's routes:
//
//	POST   /v1/users                 {"jid": "...", "password": "..."}
//	GET    /v1/users?domain=D        {"users": ["alice", ...]}
//	DELETE /v1/users/{jid}
//	PUT    /v1/users/{jid}/password  {"password": "..."}
func Handler(a Accounts) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/users", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			JID      string `json:"jid"`
			Password string `json:"password"`
		}
		if !decode(w, r, &body) {
			return
		}
		j, ok := account(w, a, body.JID)
		if !ok {
			return
		}
		if body.Password == "" {
			fail(w, http.StatusBadRequest, "password must not be empty")
			return
		}
		err := a.CreateUser(r.Context(), j, body.Password)
		switch {
		case errors.Is(err, auth.ErrExists):
			fail(w, http.StatusConflict, "account exists")
		case err != nil:
			fail(w, http.StatusInternalServerError, err.Error())
		default:
			reply(w, http.StatusCreated, map[string]string{"jid": j.String()})
		}
	})
	mux.HandleFunc("GET /v1/users", func(w http.ResponseWriter, r *http.Request) {
		d := r.URL.Query().Get("domain")
		if !a.IsLocal(d) {
			fail(w, http.StatusNotFound, "domain not served here")
			return
		}
		users, err := a.ListUsers(r.Context(), d)
		if err != nil {
			fail(w, http.StatusInternalServerError, err.Error())
			return
		}
		if users == nil {
			users = []string{}
		}
		reply(w, http.StatusOK, map[string]any{"users": users})
	})
	mux.HandleFunc("DELETE /v1/users/{jid}", func(w http.ResponseWriter, r *http.Request) {
		j, ok := account(w, a, r.PathValue("jid"))
		if !ok {
			return
		}
		notFoundOr(w, a.RemoveUser(r.Context(), j))
	})
	mux.HandleFunc("PUT /v1/users/{jid}/password", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Password string `json:"password"`
		}
		if !decode(w, r, &body) {
			return
		}
		j, ok := account(w, a, r.PathValue("jid"))
		if !ok {
			return
		}
		if body.Password == "" {
			fail(w, http.StatusBadRequest, "password must not be empty")
			return
		}
		notFoundOr(w, a.SetPassword(r.Context(), j, body.Password))
	})
	return mux
}

func notFoundOr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		fail(w, http.StatusNotFound, "no such account")
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func account(w http.ResponseWriter, a Accounts, s string) (jid.JID, bool) {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || !j.IsBare() {
		fail(w, http.StatusBadRequest, "not a bare account JID: "+s)
		return jid.JID{}, false
	}
	if !a.IsLocal(j.Domain()) {
		fail(w, http.StatusNotFound, "domain not served here: "+j.Domain())
		return jid.JID{}, false
	}
	return j, true
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
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
