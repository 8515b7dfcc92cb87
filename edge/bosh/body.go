package bosh

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of XEP-0124 and XEP-0206.
const (
	NSHTTPBind = "http://jabber.org/protocol/httpbind"
	NSXBOSH    = "urn:xmpp:xbosh"
	nsStreams  = "http://etherx.jabber.org/streams"
)

// maxRID is the largest rid a client may use (XEP-0124 §14.1: 2^53-1).
const maxRID = 1<<53 - 1

// body is one request's <body/> wrapper: its attributes and the exact
// bytes of each payload.
type body struct {
	attrs    map[string]string // unprefixed names, "xml:lang", and "xbosh:" + local for urn:xmpp:xbosh
	rid      int64
	sid      string
	children [][]byte
}

var errBadBody = errors.New("bosh: bad body")

// parseBody reads a request's <body/> wrapper (XEP-0124 §4). Anything that
// is not a well-formed <body/> qualified by the httpbind namespace with a
// valid rid is errBadBody.
func parseBody(b []byte, lim xmltok.Limits) (*body, error) {
	d := xmltok.NewDecoder(bytes.NewReader(b), lim)
	st, err := d.ReadStart()
	if err != nil || st.Space != NSHTTPBind || st.Local != "body" {
		return nil, errBadBody
	}
	prefixes := map[string]string{}
	for _, a := range st.Attrs {
		if p, ok := strings.CutPrefix(a.Name, "xmlns:"); ok {
			prefixes[p] = a.Value
		}
	}
	out := &body{attrs: make(map[string]string, len(st.Attrs))}
	for _, a := range st.Attrs {
		name := a.Name
		if i := strings.IndexByte(name, ':'); i >= 0 {
			switch p := name[:i]; {
			case p == "xml" || p == "xmlns":
			case prefixes[p] == NSXBOSH:
				name = "xbosh:" + name[i+1:]
			default:
				continue
			}
		}
		out.attrs[name] = a.Value
	}
	out.sid = out.attrs["sid"]
	out.rid, err = strconv.ParseInt(out.attrs["rid"], 10, 64)
	if err != nil || out.rid <= 0 || out.rid > maxRID {
		return nil, errBadBody
	}
	for {
		raw, err := d.Next()
		switch {
		case err == nil:
		case errors.Is(err, xmltok.ErrStreamEnd):
			return out, nil
		case (err == io.EOF || err == io.ErrUnexpectedEOF) && len(out.children) == 0 && bytes.HasSuffix(bytes.TrimSpace(b), []byte("/>")):
			return out, nil // <body .../>
		default:
			return nil, errBadBody
		}
		if raw.StreamPrefixes {
			// A payload using a prefix declared on <body/>: re-serialise it
			// so that it stands alone.
			el, err := xmltok.Parse(raw.Bytes, stanza.NSClient, d.Prefixes())
			if err != nil {
				return nil, errBadBody
			}
			raw.Bytes = el.Append(nil, "")
		}
		out.children = append(out.children, raw.Bytes)
	}
}

// intAttr returns the attribute as a non-negative integer, def when absent
// and -1 when malformed.
func (b *body) intAttr(name string, def int) int {
	v, ok := b.attrs[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// wrap builds a response <body/>: attrs is pre-escaped attribute text
// (" name='value'..."), children are complete elements.
func wrap(attrs []byte, children [][]byte) []byte {
	n := 128 + len(attrs)
	for _, c := range children {
		n += len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, "<body xmlns='"+NSHTTPBind+"'"...)
	b = append(b, attrs...)
	if len(children) == 0 {
		return append(b, "/>"...)
	}
	// Stream features and errors use the stream: prefix.
	b = append(b, " xmlns:stream='"+nsStreams+"'>"...)
	for _, c := range children {
		b = append(b, c...)
	}
	return append(b, "</body>"...)
}

// attr appends " name='value'" with the value escaped.
func attr(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, "='"...)
	b = xmltok.EscapeAttr(b, value)
	return append(b, '\'')
}

// terminal builds a terminal binding error (XEP-0124 §17.2). A legacy
// client (no 'ver' in its session request) gets the HTTP error code that
// the condition superseded (§17.1) instead.
func terminal(cond string, legacy bool) (int, []byte) {
	if legacy {
		switch cond {
		case "bad-request":
			return 400, nil
		case "policy-violation":
			return 403, nil
		case "item-not-found":
			return 404, nil
		}
	}
	return 200, wrap(attr(attr(nil, "type", "terminate"), "condition", cond), nil)
}
