package admin

import (
	"crypto/rand"
	"errors"
	"net/http"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// POST /v1/stanzas {"from": "alice@example.com[/res]", "stanza": "<message .../>"}:
// route a stanza as if the account (or its bound resource) had sent it.
func (a *api) sendStanza(w http.ResponseWriter, r *http.Request) {
	var body struct {
		From   string `json:"from"`
		Stanza string `json:"stanza"`
	}
	if !decode(w, r, &body) {
		return
	}
	el, err := xmltok.Parse([]byte(body.Stanza), stanza.NSClient, nil)
	if err != nil {
		fail(w, http.StatusBadRequest, "stanza: "+err.Error())
		return
	}
	a.send(w, r, body.From, el)
}

// POST /v1/messages {"from", "to", "body", "type"}: a chat (or normal,
// headline) message with a body.
func (a *api) sendMessage(w http.ResponseWriter, r *http.Request) {
	var body struct {
		From string `json:"from"`
		To   string `json:"to"`
		Body string `json:"body"`
		Type string `json:"type"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Type == "" {
		body.Type = "chat"
	}
	if body.Type != "chat" && body.Type != "normal" && body.Type != "headline" {
		fail(w, http.StatusBadRequest, "type must be chat, normal or headline")
		return
	}
	if body.To == "" || body.Body == "" {
		fail(w, http.StatusBadRequest, "to and body are required")
		return
	}
	if !xmltok.ValidText(body.Body) {
		fail(w, http.StatusBadRequest, "body must be text without control characters")
		return
	}
	el := xmltok.NewElement(stanza.NSClient, "message").SetAttr("to", body.To).SetAttr("type", body.Type)
	el.Add(xmltok.NewElement(stanza.NSClient, "body").SetText(body.Body))
	a.send(w, r, body.From, el)
}

// send validates a stanza and its sender, stamps from (RFC 6120
// §8.1.2.1) and an id when it has none, and hands it to the core.
func (a *api) send(w http.ResponseWriter, r *http.Request, fromStr string, el *xmltok.Element) {
	from, err := jid.Parse(fromStr)
	if err != nil || from.Local() == "" {
		fail(w, http.StatusBadRequest, "from is not an account JID: "+fromStr)
		return
	}
	if _, ok := a.existing(w, r, from.Bare().String()); !ok {
		return
	}
	kind := stanza.KindOf(el.Local)
	if el.Space != stanza.NSClient || kind == stanza.Other {
		fail(w, http.StatusBadRequest, "not a jabber:client message, presence or iq")
		return
	}
	if s := el.Attr("to"); el.HasAttr("to") {
		if _, err := jid.Parse(s); err != nil {
			fail(w, http.StatusBadRequest, "to is not a JID: "+s)
			return
		}
	}
	if s := el.Attr("from"); el.HasAttr("from") {
		if f, err := jid.Parse(s); err != nil || (f != from && f != from.Bare()) {
			fail(w, http.StatusBadRequest, "the stanza's from differs from the sender: "+s)
			return
		}
	}
	if kind == stanza.IQ {
		t := el.Attr("type")
		if el.Attr("id") == "" || (t != "get" && t != "set" && t != "result" && t != "error") {
			fail(w, http.StatusBadRequest, "an iq needs an id and a type of get, set, result or error (RFC 6120 §8.2.3)")
			return
		}
	}
	if el.Attr("id") == "" {
		el.SetAttr("id", rand.Text())
	}
	el.SetAttr("from", from.String())
	st := stanza.FromElement(el)
	if a.c.HandleAs(st) {
		reply(w, http.StatusAccepted, map[string]string{"from": st.From.String(), "id": st.ID})
		return
	}
	switch err := a.c.SendAs(r.Context(), from, st); {
	case errors.Is(err, core.ErrNotSendable):
		fail(w, http.StatusBadRequest, "without a connected session only messages and directed presence (with a to) can be sent; "+from.String()+" is not connected")
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		reply(w, http.StatusAccepted, map[string]string{"from": st.From.String(), "id": st.ID})
	}
}
