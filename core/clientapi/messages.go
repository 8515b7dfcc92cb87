package clientapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Page sizes of GET /messages (the mam module's defaults).
const (
	defaultLimit = 50
	maxLimit     = 250
)

// sendRequest is the body of POST /messages.
type sendRequest struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// sendReply is the answer of POST /messages.
type sendReply struct {
	ID string `json:"id"`
}

// sendMessage sends a chat message from user/rest-api through the core,
// as a session of the user would: carbons, the archive, blocking,
// offline storage and event notifications all apply.
func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !decode(w, r, &req) {
		return
	}
	to, ok := parseJID(w, req.To, "to")
	if !ok {
		return
	}
	if req.Body == "" || !xmltok.ValidText(req.Body) {
		fail(w, http.StatusBadRequest, "body must be non-empty text without control characters")
		return
	}
	from, err := user(r).WithResource(Resource)
	if err != nil {
		fail(w, http.StatusInternalServerError, "internal error")
		return
	}
	id := newID()
	el := xmltok.NewElement(stanza.NSClient, "message",
		xmltok.Attr{Name: "from", Value: from.String()},
		xmltok.Attr{Name: "to", Value: to.String()},
		xmltok.Attr{Name: "type", Value: "chat"},
		xmltok.Attr{Name: "id", Value: id})
	el.Add(xmltok.NewElement(stanza.NSClient, "body").SetText(req.Body))
	if err := a.opts.Core.SendAs(r.Context(), from, stanza.FromElement(el)); err != nil {
		a.opts.Logger.Error("client API: sending failed", "user", from.String(), "err", err)
		fail(w, http.StatusInternalServerError, "cannot send")
		return
	}
	reply(w, http.StatusAccepted, sendReply{ID: id})
}

func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return "rest-" + hex.EncodeToString(b[:])
}

// archived is one message of GET /messages.
type archived struct {
	ID        string    `json:"id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Timestamp time.Time `json:"timestamp"`
	Body      string    `json:"body"`
}

// pageReply is the answer of GET /messages.
type pageReply struct {
	Messages []archived `json:"messages"`
	First    string     `json:"first,omitempty"`
	Last     string     `json:"last,omitempty"`
	Complete bool       `json:"complete"`
}

// listMessages pages the user's archive. Without after, the page is the
// newest messages (before the given ID, if any); with after, the oldest
// messages after it. Each page is in chronological order; complete tells
// whether the archive holds no more in the paging direction.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request) {
	if a.opts.Archive == nil {
		fail(w, http.StatusNotImplemented, "message archive disabled")
		return
	}
	qv := r.URL.Query()
	var q mam.Query
	with := r.PathValue("with")
	if with == "" {
		with = qv.Get("with")
	} else if qv.Has("with") {
		fail(w, http.StatusBadRequest, "with given twice")
		return
	}
	if with != "" || qv.Has("with") {
		j, ok := parseJID(w, with, "with")
		if !ok {
			return
		}
		q.With = j
	}
	q.Max = defaultLimit
	if s := qv.Get("limit"); s != "" || qv.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			fail(w, http.StatusBadRequest, "limit must be an integer from 1 to "+strconv.Itoa(maxLimit))
			return
		}
		q.Max = n
	}
	if qv.Has("before") && qv.Has("after") {
		fail(w, http.StatusBadRequest, "before and after exclude each other")
		return
	}
	q.Last = true
	for _, p := range []struct {
		name string
		id   *mam.ID
	}{{"before", &q.Before}, {"after", &q.After}} {
		if !qv.Has(p.name) {
			continue
		}
		id, ok := mam.ParseID(qv.Get(p.name))
		if !ok {
			fail(w, http.StatusBadRequest, p.name+": not a message id")
			return
		}
		*p.id = id
		q.Last = p.name == "before"
	}
	page, err := a.opts.Archive.Query(r.Context(), user(r), q)
	if errors.Is(err, mam.ErrUnknownID) {
		fail(w, http.StatusNotFound, "no such message in the archive")
		return
	}
	if err != nil {
		a.opts.Logger.Error("client API: archive query failed", "user", user(r).String(), "err", err)
		fail(w, http.StatusInternalServerError, "archive query failed")
		return
	}
	out := pageReply{Messages: make([]archived, 0, len(page.Messages)), Complete: page.Complete}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, archivedOf(m))
	}
	if n := len(page.Messages); n > 0 {
		out.First, out.Last = page.Messages[0].ID.String(), page.Messages[n-1].ID.String()
	}
	reply(w, http.StatusOK, out)
}

// archivedOf reads the addresses and body of a stored message.
func archivedOf(m mam.Message) archived {
	out := archived{ID: m.ID.String(), Timestamp: m.ID.Time()}
	el, err := xmltok.Parse(m.Stanza, stanza.NSClient, nil)
	if err != nil {
		return out
	}
	out.From, out.To = el.Attr("from"), el.Attr("to")
	if b := el.Child(stanza.NSClient, "body"); b != nil {
		out.Body = b.Text
	}
	return out
}
