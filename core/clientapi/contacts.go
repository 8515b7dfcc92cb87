package clientapi

import (
	"context"
	"net/http"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// contact is a roster item in JSON.
type contact struct {
	JID          string   `json:"jid"`
	Name         string   `json:"name"`
	Subscription string   `json:"subscription"`
	Ask          bool     `json:"ask"`
	Groups       []string `json:"groups"`
}

func contactOf(it roster.Item) contact {
	c := contact{JID: it.JID.String(), Name: it.Name, Subscription: it.Subscription, Ask: it.Ask, Groups: it.Groups}
	if c.Subscription == "" {
		c.Subscription = roster.SubNone
	}
	if c.Groups == nil {
		c.Groups = []string{}
	}
	return c
}

type contactsReply struct {
	Contacts []contact `json:"contacts"`
}

// contactRequest is the body of POST /contacts and PUT /contacts/{jid}.
type contactRequest struct {
	JID    *string   `json:"jid"`
	Name   *string   `json:"name"`
	Groups *[]string `json:"groups"`
	Action *string   `json:"action"`
}

// rosterOn answers 501 when the roster module is disabled.
func (a *API) rosterOn(w http.ResponseWriter) bool {
	if a.opts.Roster == nil {
		fail(w, http.StatusNotImplemented, "roster disabled")
		return false
	}
	return true
}

func (a *API) listContacts(w http.ResponseWriter, r *http.Request) {
	if !a.rosterOn(w) {
		return
	}
	items, _, err := a.opts.Roster.Items(r.Context(), user(r))
	if err != nil {
		stanzaStatus(w, err)
		return
	}
	out := contactsReply{Contacts: make([]contact, 0, len(items))}
	for _, it := range items {
		out.Contacts = append(out.Contacts, contactOf(it))
	}
	reply(w, http.StatusOK, out)
}

// contactJID reads a contact's address: a bare JID other than the user's.
func contactJID(w http.ResponseWriter, r *http.Request, s string) (jid.JID, bool) {
	j, ok := parseJID(w, s, "jid")
	if !ok {
		return jid.JID{}, false
	}
	if !j.IsBare() {
		fail(w, http.StatusBadRequest, "jid: a contact is a bare JID")
		return jid.JID{}, false
	}
	if j == user(r) {
		fail(w, http.StatusBadRequest, "jid: the user's own address")
		return jid.JID{}, false
	}
	return j, true
}

// addContact adds a roster item (RFC 6121 §2.3): 201 with the item, 409
// when it exists (PUT changes it).
func (a *API) addContact(w http.ResponseWriter, r *http.Request) {
	if !a.rosterOn(w) {
		return
	}
	var req contactRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Action != nil {
		fail(w, http.StatusBadRequest, "action: only for PUT /contacts/{jid}")
		return
	}
	if req.JID == nil {
		fail(w, http.StatusBadRequest, "jid is required")
		return
	}
	c, ok := contactJID(w, r, *req.JID)
	if !ok {
		return
	}
	ctx, u := r.Context(), user(r)
	if _, exists, err := a.opts.Roster.Item(ctx, u, c); err != nil || exists {
		if err != nil {
			stanzaStatus(w, err)
		} else {
			fail(w, http.StatusConflict, "contact exists")
		}
		return
	}
	var name string
	var groups []string
	if req.Name != nil {
		name = *req.Name
	}
	if req.Groups != nil {
		groups = *req.Groups
	}
	if err := a.opts.Roster.SetItem(ctx, u, c, name, groups); err != nil {
		stanzaStatus(w, err)
		return
	}
	a.replyItem(ctx, w, u, c, http.StatusCreated)
}

func (a *API) replyItem(ctx context.Context, w http.ResponseWriter, u, c jid.JID, status int) {
	it, ok, err := a.opts.Roster.Item(ctx, u, c)
	if err != nil {
		stanzaStatus(w, err)
		return
	}
	if !ok {
		it = roster.Item{JID: c, Subscription: roster.SubNone}
	}
	reply(w, status, contactOf(it))
}

// editContact changes a contact's name and groups (the fields given; 404
// for an unknown contact), or with "action" sends a subscription request
// ("invite": subscribe) or approves the contact's ("accept":
// subscribed), as a client's presence would (RFC 6121 §3.1). It answers
// the item as it is afterwards.
func (a *API) editContact(w http.ResponseWriter, r *http.Request) {
	if !a.rosterOn(w) {
		return
	}
	c, ok := contactJID(w, r, r.PathValue("jid"))
	if !ok {
		return
	}
	var req contactRequest
	if !decode(w, r, &req) {
		return
	}
	ctx, u := r.Context(), user(r)
	if req.JID != nil {
		fail(w, http.StatusBadRequest, "jid: given by the path")
		return
	}
	if req.Action != nil {
		if req.Name != nil || req.Groups != nil {
			fail(w, http.StatusBadRequest, "action excludes name and groups")
			return
		}
		typ := map[string]string{"invite": "subscribe", "accept": "subscribed"}[*req.Action]
		if typ == "" {
			fail(w, http.StatusBadRequest, `action: one of "invite", "accept"`)
			return
		}
		if err := a.subscription(ctx, u, c, typ); err != nil {
			a.opts.Logger.Error("client API: subscription failed", "user", u.String(), "err", err)
			fail(w, http.StatusInternalServerError, "cannot send the subscription")
			return
		}
		a.replyItem(ctx, w, u, c, http.StatusOK)
		return
	}
	if req.Name == nil && req.Groups == nil {
		fail(w, http.StatusBadRequest, "nothing to change: give name, groups or action")
		return
	}
	it, exists, err := a.opts.Roster.Item(ctx, u, c)
	if err != nil {
		stanzaStatus(w, err)
		return
	}
	if !exists {
		fail(w, http.StatusNotFound, "no such contact")
		return
	}
	if req.Name != nil {
		it.Name = *req.Name
	}
	if req.Groups != nil {
		it.Groups = *req.Groups
	}
	if err := a.opts.Roster.SetItem(ctx, u, c, it.Name, it.Groups); err != nil {
		stanzaStatus(w, err)
		return
	}
	a.replyItem(ctx, w, u, c, http.StatusOK)
}

// subscription sends a subscription presence from the user, through the
// core, as a session would.
func (a *API) subscription(ctx context.Context, u, c jid.JID, typ string) error {
	from, err := u.WithResource(Resource)
	if err != nil {
		return err
	}
	el := xmltok.NewElement(stanza.NSClient, "presence",
		xmltok.Attr{Name: "from", Value: from.String()},
		xmltok.Attr{Name: "to", Value: c.String()},
		xmltok.Attr{Name: "type", Value: typ})
	return a.opts.Core.SendAs(ctx, from, stanza.FromElement(el))
}

// removeContact removes a roster item and cancels the subscriptions both
// ways (RFC 6121 §2.5.2): 204, or 404 for an unknown contact.
func (a *API) removeContact(w http.ResponseWriter, r *http.Request) {
	if !a.rosterOn(w) {
		return
	}
	c, ok := contactJID(w, r, r.PathValue("jid"))
	if !ok {
		return
	}
	if err := a.opts.Roster.RemoveItem(r.Context(), user(r), c); err != nil {
		stanzaStatus(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
