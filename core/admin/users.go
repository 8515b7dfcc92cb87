package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// POST /v1/users {"jid": "...", "password": "..."}
func (a *api) createUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		JID      string `json:"jid"`
		Password string `json:"password"`
	}
	if !decode(w, r, &body) {
		return
	}
	j, ok := a.account(w, body.JID)
	if !ok {
		return
	}
	if body.Password == "" {
		fail(w, http.StatusBadRequest, "password must not be empty")
		return
	}
	err := a.c.CreateUser(r.Context(), j, body.Password)
	switch {
	case errors.Is(err, auth.ErrExists):
		fail(w, http.StatusConflict, "account exists")
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		reply(w, http.StatusCreated, map[string]string{"jid": j.String()})
	}
}

// maxPage bounds a page of the account list.
const maxPage = 1000

// GET /v1/users?domain=D[&after=NAME][&limit=N]: the accounts of a domain
// sorted by name; with limit, "next" is the after of the next page.
func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := q.Get("domain")
	if d == "" {
		fail(w, http.StatusBadRequest, "domain is required")
		return
	}
	if !a.c.IsLocal(d) {
		fail(w, http.StatusNotFound, "domain not served here: "+d)
		return
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPage {
			fail(w, http.StatusBadRequest, "limit must be 1.."+strconv.Itoa(maxPage))
			return
		}
		limit = n
	}
	users, err := a.c.ListUsers(r.Context(), d)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	slices.Sort(users)
	if after := q.Get("after"); after != "" {
		i, found := slices.BinarySearch(users, after)
		if found {
			i++
		}
		users = users[i:]
	}
	out := map[string]any{}
	if limit > 0 && len(users) > limit {
		users = users[:limit]
		out["next"] = users[limit-1]
	}
	if users == nil {
		users = []string{}
	}
	out["users"] = users
	reply(w, http.StatusOK, out)
}

// GET /v1/users/{jid}: an account and its sessions.
func (a *api) getUser(w http.ResponseWriter, r *http.Request) {
	j, ok := a.existing(w, r, r.PathValue("jid"))
	if !ok {
		return
	}
	out := map[string]any{"jid": j.String(), "sessions": a.sessions(func(s jid.JID) bool { return s.Bare() == j })}
	if a.node.Places != nil {
		places, err := a.node.Places(r.Context(), j)
		if err != nil {
			fail(w, http.StatusServiceUnavailable, "session registry: "+err.Error())
			return
		}
		slices.SortFunc(places, func(x, y Place) int { return strings.Compare(x.JID, y.JID) })
		out["region_sessions"] = places
	}
	reply(w, http.StatusOK, out)
}

// DELETE /v1/users/{jid}
func (a *api) removeUser(w http.ResponseWriter, r *http.Request) {
	j, ok := a.account(w, r.PathValue("jid"))
	if !ok {
		return
	}
	noContentOr(w, a.c.RemoveUser(r.Context(), j))
}

// PUT /v1/users/{jid}/password {"password": "..."}
func (a *api) setPassword(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Password string `json:"password"`
	}
	if !decode(w, r, &body) {
		return
	}
	j, ok := a.account(w, r.PathValue("jid"))
	if !ok {
		return
	}
	if body.Password == "" {
		fail(w, http.StatusBadRequest, "password must not be empty")
		return
	}
	noContentOr(w, a.c.SetPassword(r.Context(), j, body.Password))
}

func noContentOr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		fail(w, http.StatusNotFound, "no such account")
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// account parses an account JID of a served domain: 400 when it is not a
// bare JID with a local part, 404 when its domain is not served here.
func (a *api) account(w http.ResponseWriter, s string) (jid.JID, bool) {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || !j.IsBare() {
		fail(w, http.StatusBadRequest, "not a bare account JID: "+s)
		return jid.JID{}, false
	}
	if !a.c.IsLocal(j.Domain()) {
		fail(w, http.StatusNotFound, "domain not served here: "+j.Domain())
		return jid.JID{}, false
	}
	return j, true
}

// existing is account for an account that must exist: 404 otherwise.
func (a *api) existing(w http.ResponseWriter, r *http.Request, s string) (jid.JID, bool) {
	j, ok := a.account(w, s)
	if !ok {
		return j, false
	}
	found, err := a.c.UserExists(r.Context(), j)
	switch {
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
		return j, false
	case !found:
		fail(w, http.StatusNotFound, "no such account: "+j.String())
		return j, false
	}
	return j, true
}
