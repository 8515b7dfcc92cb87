package client

import (
	"errors"
	"strconv"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Handler receives the stanzas Serve does not handle itself. raw is only
// valid during the call. It runs on the reading goroutine: it must be
// quick and must not block.
type Handler func(raw *xmltok.Raw)

// Serve reads the stream until it ends, then fails pending requests. It
// answers the server's IQs (XEP-0199 pings and RFC 6121 roster pushes
// with a result, others with service-unavailable), approves presence
// subscription requests (RFC 6121 §3.1.4: load users accept everyone),
// hands answers to Request, and passes everything else to h without
// parsing it. It returns nil after Close, else why the stream ended.
func (c *Conn) Serve(h Handler) error {
	err := c.serve(h)
	c.pmu.Lock()
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.pending = nil
	c.served = true
	c.pmu.Unlock()
	if c.closing.Load() {
		return nil
	}
	return err
}

func (c *Conn) serve(h Handler) error {
	for {
		raw, err := c.dec.Next()
		if err != nil {
			if errors.Is(err, xmltok.ErrStreamEnd) {
				return failDetail(KindStream, "closed-by-server", err)
			}
			return fail(KindStream, err)
		}
		switch raw.Local {
		case "iq":
			switch raw.Type {
			case "result", "error":
				if c.deliver(&raw) {
					continue
				}
			case "get", "set":
				c.answerIQ(&raw)
				continue
			}
		case "presence":
			if raw.Type == "subscribe" && raw.From != "" {
				go c.reply("<presence xmlns='jabber:client' type='subscribed' to='" + attr(raw.From) + "'/>")
			}
		case "error":
			if raw.Space == nsStream {
				el, _ := xmltok.Parse(raw.Bytes, nsClient, c.dec.Prefixes())
				cond := "undefined-condition"
				if el != nil {
					cond = streamCondition(el)
				}
				return failDetail("stream_error", cond, errors.New("stream error "+cond))
			}
		}
		h(&raw)
	}
}

// Condition returns the defined condition of an error stanza read by
// Serve (for counting errors by kind). Call it from the Handler.
func (c *Conn) Condition(raw *xmltok.Raw) string {
	el, err := xmltok.Parse(raw.Bytes, nsClient, c.dec.Prefixes())
	if err != nil {
		return "malformed"
	}
	return stanzaCondition(el)
}

func (c *Conn) answerIQ(raw *xmltok.Raw) {
	typ := "result"
	el, err := xmltok.Parse(raw.Bytes, nsClient, c.dec.Prefixes())
	if err != nil || len(el.Children) == 0 {
		typ = "error"
	} else {
		q := el.Children[0]
		ok := (q.Space == "urn:xmpp:ping" && raw.Type == "get") ||
			(q.Space == "jabber:iq:roster" && raw.Type == "set")
		if !ok {
			typ = "error"
		}
	}
	b := "<iq xmlns='jabber:client' type='" + typ + "' id='" + attr(raw.ID) + "'"
	if raw.From != "" {
		b += " to='" + attr(raw.From) + "'"
	}
	if typ == "error" {
		b += "><error type='cancel'><service-unavailable xmlns='" + nsStanzas + "'/></error></iq>"
	} else {
		b += "/>"
	}
	// Not on the reading goroutine: a sender may hold the write lock
	// while the server waits for us to read.
	go c.reply(b)
}

func (c *Conn) reply(s string) {
	if c.closing.Load() {
		return
	}
	c.sendNow(s)
}

// deliver hands an IQ answer to the Request waiting for it.
func (c *Conn) deliver(raw *xmltok.Raw) bool {
	c.pmu.Lock()
	ch, ok := c.pending[raw.ID]
	if ok {
		delete(c.pending, raw.ID)
	}
	c.pmu.Unlock()
	if !ok {
		return false
	}
	el, err := xmltok.Parse(raw.Bytes, nsClient, c.dec.Prefixes())
	if err != nil {
		el = xmltok.NewElement(nsClient, "iq", xmltok.Attr{Name: "type", Value: "error"})
	}
	ch <- el
	return true
}

// NewID returns an IQ id unique on this connection.
func (c *Conn) NewID() string { return "q" + strconv.FormatUint(c.seq.Add(1), 10) }

func attr(s string) string { return string(xmltok.EscapeAttr(nil, s)) }
