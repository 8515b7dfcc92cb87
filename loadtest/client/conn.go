package client

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces (RFC 6120, RFC 7395).
const (
	nsClient  = "jabber:client"
	nsStream  = "http://etherx.jabber.org/streams"
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
	nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"
)

const maxStanza = 1 << 20

// Conn is a client stream. After Dial it is logged in; Serve reads it.
// Send, Flush, Request and Close are safe for concurrent use.
type Conn struct {
	JID      string // the bound full JID
	Timings  Timings
	Features *xmltok.Element // the last stream features

	opts Options
	tr   transport
	dec  *xmltok.Decoder

	wmu sync.Mutex // serialises writes to tr

	pmu     sync.Mutex
	pending map[string]chan *xmltok.Element
	served  bool // Serve has returned: no answer can arrive
	seq     atomic.Uint64
	closing atomic.Bool
}

func newConn(o *Options, tr transport) *Conn {
	return &Conn{opts: *o, tr: tr, dec: xmltok.NewDecoder(tr, xmltok.Limits{MaxStanzaSize: maxStanza})}
}

// open sends a stream header and reads the server's header and features
// (RFC 6120 §4.3).
func (c *Conn) open() error {
	if err := c.sendNow(c.tr.header(c.opts.Domain)); err != nil {
		return fail(KindStream, err)
	}
	st, err := c.dec.ReadStart()
	if err != nil {
		return fail(KindStream, err)
	}
	if st.Local != "stream" {
		return failDetail(KindStream, "bad-header", fmt.Errorf("expected a stream header, got <%s/>", st.Local))
	}
	f, err := c.nextElement()
	if err != nil {
		return fail(KindStream, err)
	}
	if f.Local != "features" {
		return failDetail(KindStream, "no-features", fmt.Errorf("expected features, got <%s/>", f.Local))
	}
	c.Features = f
	return nil
}

// restart opens a new stream on the same transport (after SASL success,
// RFC 6120 §6.4.6).
func (c *Conn) restart() error {
	c.dec.Reset(c.tr)
	return c.open()
}

// nextElement reads and parses one element during negotiation. A stream
// error becomes an *Error with its condition.
func (c *Conn) nextElement() (*xmltok.Element, error) {
	raw, err := c.dec.Next()
	if err != nil {
		if errors.Is(err, xmltok.ErrStreamEnd) {
			return nil, failDetail(KindStream, "closed", err)
		}
		return nil, err
	}
	el, err := xmltok.Parse(raw.Bytes, nsClient, c.dec.Prefixes())
	if err != nil {
		return nil, err
	}
	if el.Space == nsStream && el.Local == "error" {
		return nil, failDetail(KindStream, streamCondition(el), errors.New("stream error: "+el.String()))
	}
	return el, nil
}

func streamCondition(el *xmltok.Element) string {
	for _, ch := range el.Children {
		if ch.Space == nsStreams && ch.Local != "text" {
			return ch.Local
		}
	}
	return "undefined-condition"
}

// sendNow writes one element and flushes.
func (c *Conn) sendNow(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.tr.writeElement([]byte(s)); err != nil {
		return err
	}
	return c.tr.flush()
}

// Send appends one complete element (a stanza) to the send buffer; Flush
// sends the buffer. The bytes are copied. On WebSocket each Send is one
// message, so b must hold exactly one element.
func (c *Conn) Send(b []byte) error {
	c.wmu.Lock()
	err := c.tr.writeElement(b)
	c.wmu.Unlock()
	return err
}

// Flush sends what Send buffered.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	err := c.tr.flush()
	c.wmu.Unlock()
	return err
}

// Batch runs fn with the connection's write lock held and flushes after
// it: a sender writing several stanzas to one connection takes the lock
// once. fn must only call the Writer it is given.
func (c *Conn) Batch(fn func(w Writer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := fn(writer{c.tr}); err != nil {
		return err
	}
	return c.tr.flush()
}

// Writer writes elements inside Batch.
type Writer interface {
	// WriteElement buffers one complete element; b is copied.
	WriteElement(b []byte) error
}

type writer struct{ tr transport }

func (w writer) WriteElement(b []byte) error { return w.tr.writeElement(b) }

// Close ends the stream politely and closes the connection; Serve then
// returns nil.
func (c *Conn) Close() error {
	if c.closing.Swap(true) {
		return nil
	}
	c.wmu.Lock()
	c.tr.setDeadline(time.Now().Add(time.Second))
	c.tr.writeElement([]byte(c.tr.footer()))
	c.tr.flush()
	c.wmu.Unlock()
	return c.tr.close()
}
