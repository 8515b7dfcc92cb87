package mam

import (
	"bytes"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// payloads are the children, besides <body/>, that make a message worth
// archiving (XEP-0313 §7.1.1 leaves "additional non-conversation
// messages" to the server): end-to-end encrypted messages, which carry
// no body or only a fallback, and the messages that change earlier ones
// or make up a call log. Chat states, receipts and markers alone are not
// archived.
var payloads = map[[2]string]bool{
	{"eu.siacs.conversations.axolotl", "encrypted"}: true, // OMEMO (legacy, XEP-0384 0.3)
	{"urn:xmpp:omemo:2", "encrypted"}:               true, // OMEMO (XEP-0384)
	{"urn:xmpp:openpgp:0", "openpgp"}:               true, // OpenPGP for XMPP (XEP-0373)
	{"jabber:x:encrypted", "x"}:                     true, // legacy OpenPGP (XEP-0027)
	{"urn:xmpp:message-retract:1", "retract"}:       true, // XEP-0424
	{"urn:xmpp:reactions:0", "reactions"}:           true, // XEP-0444
	{"urn:xmpp:jingle-message:0", "propose"}:        true, // XEP-0353 call log
	{"urn:xmpp:jingle-message:0", "retract"}:        true,
	{"urn:xmpp:jingle-message:0", "accept"}:         true,
	{"urn:xmpp:jingle-message:0", "proceed"}:        true,
	{"urn:xmpp:jingle-message:0", "reject"}:         true,
	{"urn:xmpp:jingle-message:0", "finish"}:         true,
}

// archivable reports whether a message goes into a user archive:
// type chat or normal (XEP-0313 §7.1.1: not groupchat, headline or
// error) with a body or one of the payloads above, unless it carries a
// no-store or no-permanent-store hint; a store hint archives a message
// without content too (XEP-0334).
func archivable(st *stanza.Stanza) bool {
	switch st.Type {
	case "", "normal", "chat":
	default:
		return false
	}
	el, err := st.Element()
	if err != nil {
		return false
	}
	keep := false
	for _, c := range el.Children {
		switch {
		case c.Space == stanza.NSClient && c.Local == "body":
			keep = true
		case c.Space == stanza.NSClient && c.Local == "error":
			return false
		case c.Space == NSHints:
			switch c.Local {
			case "no-store", "no-permanent-store":
				return false
			case "store":
				keep = true
			}
		case payloads[[2]string{c.Space, c.Local}]:
			keep = true
		}
	}
	return keep
}

// clientNS returns the stanza's bytes as they are kept in the archive:
// unchanged (mixed content such as XHTML-IM survives byte for byte), but
// with xmlns='jabber:client' on the top element when it does not declare
// its default namespace already, so that it can be embedded in another
// namespace (XEP-0297).
func clientNS(st *stanza.Stanza) []byte {
	b := st.Bytes
	nameEnd, hasXMLNS, ok := scanStartTag(b)
	if !ok {
		// Not the bytes the edge promises: re-serialise from the tree.
		el, err := st.Element()
		if err != nil {
			return append([]byte(nil), b...)
		}
		return el.Append(nil, "")
	}
	if hasXMLNS {
		return append([]byte(nil), b...)
	}
	const attr = " xmlns='jabber:client'"
	out := make([]byte, 0, len(b)+len(attr))
	out = append(out, b[:nameEnd]...)
	out = append(out, attr...)
	return append(out, b[nameEnd:]...)
}

// scanStartTag reads the start tag at the head of b, which must be
// well-formed: it returns the offset just after the element name and
// whether an attribute named exactly "xmlns" is among its attributes.
func scanStartTag(b []byte) (nameEnd int, hasXMLNS, ok bool) {
	if len(b) < 2 || b[0] != '<' {
		return 0, false, false
	}
	i := 1
	for i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
		i++
	}
	nameEnd = i
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			return 0, false, false
		}
		if b[i] == '>' || b[i] == '/' {
			return nameEnd, hasXMLNS, nameEnd > 1
		}
		start := i
		for i < len(b) && !isSpace(b[i]) && b[i] != '=' {
			i++
		}
		name := b[start:i]
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '=' {
			return 0, false, false
		}
		i++
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) || (b[i] != '\'' && b[i] != '"') {
			return 0, false, false
		}
		q := b[i]
		end := bytes.IndexByte(b[i+1:], q)
		if end < 0 {
			return 0, false, false
		}
		i += end + 2
		if string(name) == "xmlns" {
			hasXMLNS = true
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// stripStanzaIDs removes the <stanza-id/> children whose by is user: a
// sender may not speak for the user's archive (XEP-0359 §3, rule 3).
func stripStanzaIDs(st *stanza.Stanza, user jid.JID) *stanza.Stanza {
	if !bytes.Contains(st.Bytes, []byte(NSSID)) {
		return st
	}
	el, err := st.Element()
	if err != nil {
		return st
	}
	spoofed := func(c *xmltok.Element) bool {
		if c.Space != NSSID || c.Local != "stanza-id" {
			return false
		}
		by, err := jid.Parse(c.Attr("by"))
		return err == nil && by == user
	}
	n := 0
	for _, c := range el.Children {
		if spoofed(c) {
			n++
		}
	}
	if n == 0 {
		return st
	}
	cp := el.Copy()
	kept := cp.Children[:0]
	for _, c := range cp.Children {
		if !spoofed(c) {
			kept = append(kept, c)
		}
	}
	cp.Children = kept
	return stanza.FromElement(cp)
}

// withStanzaID returns st with <stanza-id by='user' id='id'/> as its
// last child (XEP-0313 §3.5).
func withStanzaID(st *stanza.Stanza, user jid.JID, id ID) *stanza.Stanza {
	const end = "</message>"
	if b := st.Bytes; bytes.HasSuffix(b, []byte(end)) {
		// The common case: splice, keeping the bytes as they came.
		by := user.String()
		out := make([]byte, 0, len(b)+len(by)+len(NSSID)+70)
		out = append(out, b[:len(b)-len(end)]...)
		out = appendStanzaID(out, by, id)
		out = append(out, end...)
		return &stanza.Stanza{Kind: st.Kind, Bytes: out, To: st.To, From: st.From, Type: st.Type, ID: st.ID}
	}
	el, err := st.Element()
	if err != nil {
		return st
	}
	cp := el.Copy()
	cp.Add(xmltok.NewElement(NSSID, "stanza-id",
		xmltok.Attr{Name: "by", Value: user.String()},
		xmltok.Attr{Name: "id", Value: id.String()}))
	return stanza.FromElement(cp)
}

func appendStanzaID(b []byte, by string, id ID) []byte {
	b = append(b, "<stanza-id xmlns='"+NSSID+"' by='"...)
	b = xmltok.EscapeAttr(b, by)
	b = append(b, "' id='"...)
	b = append(b, id.String()...)
	return append(b, "'/>"...)
}
