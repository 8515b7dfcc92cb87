package mam

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// stampLayout writes XEP-0082 DateTimes with the microseconds an ID
// holds, so that a stamp given back as start or end selects exactly.
const stampLayout = "2006-01-02T15:04:05.000000Z"

// iq serves every urn:xmpp:mam:2 request to an account: queries and the
// form (XEP-0313 §4), metadata (§5), preferences (XEP-0441).
func (m *Module) iq(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	user := iq.To
	if iq.From.Bare() != user {
		// XEP-0313 §9.1: an archive is its owner's alone.
		return nil, stanza.ErrForbidden
	}
	switch iq.Payload.Local {
	case "query":
		if !iq.Set {
			return queryForm(), nil
		}
		return m.query(ctx, iq, user)
	case "prefs":
		return m.prefsIQ(ctx, iq, user)
	case "metadata":
		if iq.Set {
			return nil, stanza.ErrBadRequest
		}
		return m.metadata(ctx, user)
	}
	return nil, stanza.ErrFeatureNotImplemented
}

// query answers an archive query: the matching messages go to the
// requesting resource one by one, then the IQ result with <fin/>.
func (m *Module) query(ctx context.Context, iq module.IQ, user jid.JID) (*xmltok.Element, error) {
	if iq.Payload.Attr("node") != "" {
		// Nodes are for pubsub archives (XEP-0442); a user has none.
		return nil, stanza.ErrItemNotFound
	}
	q, flip, err := m.parseQuery(iq.Payload)
	if err != nil {
		return nil, err
	}
	page, err := m.store.Query(ctx, user, q)
	if errors.Is(err, ErrUnknownID) {
		return nil, stanza.ErrItemNotFound
	}
	if err != nil {
		m.log.Error("archive query failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	queryID := iq.Payload.Attr("queryid")
	to, from := iq.From.String(), user.String()
	n := len(page.Messages)
	for i := range n {
		msg := page.Messages[i]
		if flip {
			msg = page.Messages[n-1-i]
		}
		st := &stanza.Stanza{Kind: stanza.Message, Bytes: resultMessage(to, from, queryID, msg), To: iq.From, From: user}
		if !m.h.DeliverTo(iq.From, st) {
			// The session went away or cannot keep up: the result would
			// not arrive either.
			return nil, stanza.ErrResourceConstraint
		}
	}
	return fin(page), nil
}

// resultMessage builds one result (XEP-0313 §4.2) around the stored
// message's bytes.
func resultMessage(to, from, queryID string, msg Message) []byte {
	b := make([]byte, 0, len(msg.Stanza)+len(to)+len(from)+len(queryID)+220)
	b = append(b, "<message to='"...)
	b = xmltok.EscapeAttr(b, to)
	b = append(b, "' from='"...)
	b = xmltok.EscapeAttr(b, from)
	b = append(b, "'><result xmlns='"+NS+"'"...)
	if queryID != "" {
		b = append(b, " queryid='"...)
		b = xmltok.EscapeAttr(b, queryID)
		b = append(b, '\'')
	}
	b = append(b, " id='"...)
	b = append(b, msg.ID.String()...)
	b = append(b, "'><forwarded xmlns='"+NSForward+"'><delay xmlns='"+NSDelay+"' stamp='"...)
	b = msg.ID.Time().AppendFormat(b, stampLayout)
	b = append(b, "'/>"...)
	b = append(b, msg.Stanza...)
	return append(b, "</forwarded></result></message>"...)
}

func fin(p Page) *xmltok.Element {
	complete := "false"
	if p.Complete {
		complete = "true"
	}
	set := xmltok.NewElement(NSRSM, "set")
	if n := len(p.Messages); n > 0 {
		first := xmltok.NewElement(NSRSM, "first").SetText(p.Messages[0].ID.String())
		if p.Index >= 0 {
			first.SetAttr("index", strconv.Itoa(p.Index))
		}
		set.Add(first, xmltok.NewElement(NSRSM, "last").SetText(p.Messages[n-1].ID.String()))
	}
	if p.Count >= 0 {
		set.Add(xmltok.NewElement(NSRSM, "count").SetText(strconv.Itoa(p.Count)))
	}
	return xmltok.NewElement(NS, "fin", xmltok.Attr{Name: "complete", Value: complete}).Add(set)
}

// parseQuery reads the form (XEP-0313 §4.1), the RSM set (XEP-0059) and
// <flip-page/> of a query.
func (m *Module) parseQuery(p *xmltok.Element) (q Query, flip bool, err error) {
	q.Max = m.cfg.DefaultPage
	if forms := p.ChildrenNamed(NSData, "x"); len(forms) > 1 {
		return q, false, stanza.ErrBadRequest.WithText("more than one form")
	} else if len(forms) == 1 {
		if err := parseForm(forms[0], &q); err != nil {
			return q, false, err
		}
	}
	if sets := p.ChildrenNamed(NSRSM, "set"); len(sets) > 1 {
		return q, false, stanza.ErrBadRequest.WithText("more than one RSM set")
	} else if len(sets) == 1 {
		if err := m.parseRSM(sets[0], &q); err != nil {
			return q, false, err
		}
	}
	return q, p.Child(NS, "flip-page") != nil, nil
}

func parseForm(x *xmltok.Element, q *Query) error {
	if x.Attr("type") != "submit" {
		return stanza.ErrBadRequest.WithText("the form must be of type submit")
	}
	seen := map[string]bool{}
	for _, f := range x.ChildrenNamed(NSData, "field") {
		name := f.Attr("var")
		if name == "" {
			return stanza.ErrBadRequest.WithText("a field has no var")
		}
		if seen[name] {
			return stanza.ErrBadRequest.WithText("field " + name + " given twice")
		}
		seen[name] = true
		var values []string
		for _, v := range f.ChildrenNamed(NSData, "value") {
			values = append(values, strings.TrimSpace(v.Text))
		}
		if name == "ids" {
			// Several values; none is as if the field were not there,
			// like an empty value of the other fields.
			for _, v := range values {
				if v == "" {
					continue
				}
				id, ok := ParseID(v)
				if !ok {
					// No such UID can be in the archive (XEP-0313 §4.1.3).
					return stanza.ErrItemNotFound
				}
				q.IDs = append(q.IDs, id)
			}
			continue
		}
		if len(values) > 1 {
			return stanza.ErrBadRequest.WithText("field " + name + " has more than one value")
		}
		v := ""
		if len(values) == 1 {
			v = values[0]
		}
		switch name {
		case "FORM_TYPE":
			if v != NS {
				return stanza.ErrBadRequest.WithText("FORM_TYPE must be " + NS)
			}
		case "with":
			if v == "" {
				continue
			}
			j, err := jid.Parse(v)
			if err != nil {
				return stanza.ErrBadRequest.WithText("with is not a JID")
			}
			q.With = j
		case "start", "end":
			if v == "" {
				continue
			}
			t, err := parseDateTime(v)
			if err != nil {
				return stanza.ErrBadRequest.WithText(name + " is not an XEP-0082 DateTime")
			}
			if name == "start" {
				q.Start = t
			} else {
				q.End = t
			}
		case "after-id", "before-id":
			if v == "" {
				continue
			}
			id, ok := ParseID(v)
			if !ok {
				return stanza.ErrItemNotFound
			}
			if name == "after-id" {
				q.AfterID = id
			} else {
				q.BeforeID = id
			}
		case "include-groupchat":
			// Understood; a user archive holds no groupchat messages,
			// so either value selects the same.
			switch v {
			case "", "true", "false", "1", "0":
			default:
				return stanza.ErrBadRequest.WithText("include-groupchat is not a boolean")
			}
		default:
			// XEP-0313 §4.1.5.
			return stanza.ErrFeatureNotImplemented.WithText("unknown field " + name)
		}
	}
	return nil
}

// parseDateTime reads an XEP-0082 DateTime: CCYY-MM-DDThh:mm:ss[.sss]TZD.
func parseDateTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

func (m *Module) parseRSM(set *xmltok.Element, q *Query) error {
	if set.Child(NSRSM, "index") != nil {
		return stanza.ErrFeatureNotImplemented.WithText("paging by index is not supported")
	}
	if el := set.Child(NSRSM, "max"); el != nil {
		n, err := strconv.Atoi(strings.TrimSpace(el.Text))
		if err != nil || n < 0 {
			return stanza.ErrBadRequest.WithText("max must be a non-negative integer")
		}
		q.Max = min(n, m.cfg.MaxPage)
	}
	if el := set.Child(NSRSM, "after"); el != nil {
		v := strings.TrimSpace(el.Text)
		if v == "" {
			return stanza.ErrBadRequest.WithText("after must not be empty")
		}
		id, ok := ParseID(v)
		if !ok {
			return stanza.ErrItemNotFound
		}
		q.After = id
	}
	if el := set.Child(NSRSM, "before"); el != nil {
		q.Last = true
		if v := strings.TrimSpace(el.Text); v != "" {
			id, ok := ParseID(v)
			if !ok {
				return stanza.ErrItemNotFound
			}
			q.Before = id
		}
	}
	return nil
}

// queryForm is the answer to a form request (XEP-0313 §4.1.5).
func queryForm() *xmltok.Element {
	x := xmltok.NewElement(NSData, "x", xmltok.Attr{Name: "type", Value: "form"})
	field := func(typ, name string) *xmltok.Element {
		return xmltok.NewElement(NSData, "field", xmltok.Attr{Name: "type", Value: typ}, xmltok.Attr{Name: "var", Value: name})
	}
	x.Add(field("hidden", "FORM_TYPE").Add(xmltok.NewElement(NSData, "value").SetText(NS)))
	x.Add(field("jid-single", "with"), field("text-single", "start"), field("text-single", "end"),
		field("text-single", "before-id"), field("text-single", "after-id"))
	x.Add(field("list-multi", "ids").Add(xmltok.NewElement("http://jabber.org/protocol/xdata-validate", "validate",
		xmltok.Attr{Name: "datatype", Value: "xs:string"}).Add(xmltok.NewElement("http://jabber.org/protocol/xdata-validate", "open"))))
	x.Add(field("boolean", "include-groupchat"))
	return xmltok.NewElement(NS, "query").Add(x)
}

// metadata answers with the first and last message of the archive
// (XEP-0313 §5); an empty archive has neither.
func (m *Module) metadata(ctx context.Context, user jid.JID) (*xmltok.Element, error) {
	first, last, ok, err := m.store.Bounds(ctx, user)
	if err != nil {
		m.log.Error("archive metadata failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	el := xmltok.NewElement(NS, "metadata")
	if ok {
		for _, b := range []struct {
			name string
			id   ID
		}{{"start", first}, {"end", last}} {
			el.Add(xmltok.NewElement(NS, b.name,
				xmltok.Attr{Name: "id", Value: b.id.String()},
				xmltok.Attr{Name: "timestamp", Value: b.id.Time().Format(stampLayout)}))
		}
	}
	return el, nil
}
