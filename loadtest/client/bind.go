package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// bind binds a resource (RFC 6120 §7) and, when the server advertises the
// legacy session feature without <optional/> (RFC 3921 §3; Prosody and
// ejabberd configurations may), establishes the session.
func (c *Conn) bind() error {
	if c.Features.Child(nsBind, "bind") == nil {
		return failDetail(KindBind, "not-offered", errors.New("the server offers no resource binding"))
	}
	res := c.opts.Resource
	if res == "" {
		res = "load"
	}
	if err := c.sendNow("<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='" + nsBind + "'><resource>" + escape(res) + "</resource></bind></iq>"); err != nil {
		return fail(KindBind, err)
	}
	el, err := c.iqAnswer("bind1")
	if err != nil {
		return fail(KindBind, err)
	}
	b := el.Child(nsBind, "bind")
	if el.Attr("type") != "result" || b == nil || b.Child("", "jid") == nil {
		return failDetail(KindBind, stanzaCondition(el), fmt.Errorf("bind refused: %s", el))
	}
	c.JID = strings.TrimSpace(b.Child("", "jid").Text)
	if s := c.Features.Child(nsSession, "session"); s != nil && s.Child("", "optional") == nil {
		if err := c.sendNow("<iq xmlns='jabber:client' type='set' id='sess1'><session xmlns='" + nsSession + "'/></iq>"); err != nil {
			return fail(KindBind, err)
		}
		el, err := c.iqAnswer("sess1")
		if err != nil {
			return fail(KindBind, err)
		}
		if el.Attr("type") != "result" {
			return failDetail(KindBind, "session-"+stanzaCondition(el), fmt.Errorf("session refused: %s", el))
		}
	}
	return nil
}

// iqAnswer reads until the answer to the IQ with this id, skipping what
// the server may send first (e.g. a stream management offer).
func (c *Conn) iqAnswer(id string) (*xmltok.Element, error) {
	for range 32 {
		el, err := c.nextElement()
		if err != nil {
			return nil, err
		}
		if el.Local == "iq" && el.Attr("id") == id {
			return el, nil
		}
	}
	return nil, fmt.Errorf("no answer to iq %s", id)
}

// stanzaCondition is the defined condition of a stanza error (RFC 6120
// §8.3.3), or "unknown".
func stanzaCondition(el *xmltok.Element) string {
	if e := el.Child("", "error"); e != nil {
		for _, ch := range e.Children {
			if ch.Space == nsStanzas && ch.Local != "text" {
				return ch.Local
			}
		}
	}
	return "unknown"
}

// StanzaCondition parses an error stanza's bytes and returns its defined
// condition.
func StanzaCondition(b []byte) string {
	el, err := xmltok.Parse(b, nsClient, nil)
	if err != nil {
		return "malformed"
	}
	return stanzaCondition(el)
}

func escape(s string) string {
	return string(xmltok.EscapeText(nil, s))
}
