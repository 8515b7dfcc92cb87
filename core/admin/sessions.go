package admin

import (
	"net/http"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Session is a bound session as the API shows it.
type Session struct {
	JID        string    `json:"jid"`
	Transport  string    `json:"transport"`
	RemoteAddr string    `json:"remote_addr"`
	Since      time.Time `json:"since"`
	Available  bool      `json:"available"`
	Priority   int       `json:"priority"`
}

// sessions lists the bound sessions whose full JID passes keep.
func (a *api) sessions(keep func(jid.JID) bool) []Session {
	out := []Session{}
	for _, s := range a.c.AllSessions() {
		if keep(s.JID) {
			out = append(out, Session{JID: s.JID.String(), Transport: s.Transport, RemoteAddr: s.RemoteAddr, Since: s.Since.UTC(), Available: s.Available, Priority: s.Priority})
		}
	}
	return out
}

// GET /v1/sessions[?domain=D][&user=JID]
func (a *api) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	domain, user := q.Get("domain"), jid.JID{}
	if domain != "" && !a.c.IsLocal(domain) {
		fail(w, http.StatusNotFound, "domain not served here: "+domain)
		return
	}
	if s := q.Get("user"); s != "" {
		j, ok := a.account(w, s)
		if !ok {
			return
		}
		user = j
	}
	reply(w, http.StatusOK, map[string]any{"sessions": a.sessions(func(j jid.JID) bool {
		return (domain == "" || j.Domain() == domain) && (user.IsZero() || j.Bare() == user)
	})})
}

// DELETE /v1/sessions/{jid}: end one session with Kicked.
func (a *api) kickSession(w http.ResponseWriter, r *http.Request) {
	s := r.PathValue("jid")
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || j.IsBare() {
		fail(w, http.StatusBadRequest, "not a full JID: "+s)
		return
	}
	if !a.c.KickSession(j, Kicked) {
		fail(w, http.StatusNotFound, "no such session: "+j.String())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /v1/users/{jid}/sessions: end every session of an account.
func (a *api) kickUser(w http.ResponseWriter, r *http.Request) {
	j, ok := a.existing(w, r, r.PathValue("jid"))
	if !ok {
		return
	}
	reply(w, http.StatusOK, map[string]int{"kicked": a.c.KickUser(j, Kicked)})
}
