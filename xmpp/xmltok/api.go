// Package xmltok is Meridian's XML stream tokenizer and element model. It
// owns reading an XMPP stream from bytes: the stream header, each top-level
// element (stanza or nonza) as its exact bytes plus a routing header, and a
// small element tree for code that must look inside a stanza. It enforces
// the restricted XML profile of RFC 6120 §11 (no DTDs, comments, processing
// instructions or entity declarations), a maximum element size and depth.
// It must not know about sessions, routing or sockets.
//
// Choices within RFC 6120 §11.1 and XML 1.0:
//   - CDATA sections are accepted (they are well-formed XML and carry no
//     markup risk); Parse returns their content as text.
//   - Comments, processing instructions (other than the XML declaration
//     before a stream header), DOCTYPE and any entity reference other than
//     the five predefined ones are "restricted-xml". Entities are never
//     expanded. Character references padded beyond 32 bytes are refused.
//   - Unescaped '>', apostrophes and quotation marks in character data are
//     accepted: §11.1 asks senders to escape them, but refusing them would
//     break real clients, and they carry no ambiguity.
//   - Whitespace before the XML declaration is tolerated (a keepalive sent
//     just before a stream restart).
//   - Limits: the top-level element is at depth 1 and MaxDepth counts it;
//     MaxStanzaSize also bounds the stream header. An element may carry at
//     most 256 attributes and 64 namespace declarations may be in scope,
//     so that no input costs more than linear work ("policy-violation").
//
// The Decoder never recurses and never re-scans more than a few bytes when
// input arrives in small reads; see scan.go.
package xmltok

import (
	"errors"
	"io"
)

// Limits bound what the decoder accepts.
type Limits struct {
	MaxStanzaSize int // bytes of one top-level element, including its start tag
	MaxDepth      int // element nesting depth inside one top-level element
}

// Error is a tokenizer failure. Condition is the RFC 6120 §4.9.3 stream error
// condition that the failure maps to: "not-well-formed", "restricted-xml",
// "policy-violation" (size or depth limits), "invalid-namespace",
// "bad-format", "unsupported-encoding".
type Error struct {
	Condition string
	Msg       string
}

func (e *Error) Error() string { return "xml: " + e.Condition + ": " + e.Msg }

// ErrStreamEnd is returned by Next when the peer closed the stream with
// its end tag (e.g. </stream:stream>).
var ErrStreamEnd = errors.New("xml: stream end")

// Attr is an attribute as written (Name may carry a prefix, as in xml:lang),
// with its value unescaped.
type Attr struct {
	Name  string
	Value string
}

// Start is the opening tag of a stream (<stream:stream>), which stays open.
type Start struct {
	Space string // resolved namespace of the element (http://etherx.jabber.org/streams)
	Local string // "stream"
	Attrs []Attr // all attributes as written, namespace declarations included
	// DefaultNS is the default namespace declared on the stream header
	// (jabber:client, jabber:server); top-level elements inherit it.
	DefaultNS string
}

// Attr returns the value of the named attribute, or "".
func (s *Start) Attr(name string) string {
	for _, a := range s.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// Raw is one complete top-level element read from the stream.
type Raw struct {
	Bytes []byte // exact bytes of the element; owned by the caller
	Space string // resolved namespace of the top element
	Local string // local name of the top element ("message", "iq", "auth"...)
	// Routing header: unescaped values of these attributes of the top
	// element, "" when absent. They may share memory with Bytes.
	To, From, Type, ID, Lang string
	// HasTo/HasFrom tell an absent attribute from an empty one.
	HasTo, HasFrom bool
	// NameEnd is the offset in Bytes just after the start tag's name
	// ("<message" → 8): where an attribute can be inserted.
	NameEnd int
	// ToSpan and FromSpan are [start,end) offsets in Bytes of the whole
	// to/from attribute including the whitespace before it, so that it can
	// be cut out; {0,0} when absent.
	ToSpan, FromSpan [2]int
	// StreamPrefixes is true when the element uses a namespace prefix that
	// was declared on the stream header, not inside the element: its bytes
	// cannot be forwarded alone and must be re-serialised from Parse.
	StreamPrefixes bool
}

// Decoder reads one XML stream. Not safe for concurrent use.
type Decoder struct {
	impl decoderState
}

// NewDecoder returns a decoder reading from r with the given limits.
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	d := &Decoder{}
	d.impl.init(r, lim)
	return d
}

// Reset makes the decoder read a new stream from r (after STARTTLS or
// SASL success, RFC 6120 §5.4.3.3, §6.4.6). Buffered bytes are discarded.
func (d *Decoder) Reset(r io.Reader) { d.impl.reset(r) }

// ReadStart skips an optional XML declaration and whitespace and reads the
// stream's opening tag. An element that is self-closing or is a top-level
// element of another name is returned as a Start too; the caller checks
// Space/Local.
func (d *Decoder) ReadStart() (*Start, error) { return d.impl.readStart() }

// Next returns the next complete top-level element. Whitespace between
// elements (keepalives) is skipped. It returns ErrStreamEnd on the stream's
// end tag, *Error for bad XML, and the reader's error otherwise.
func (d *Decoder) Next() (Raw, error) { return d.impl.next() }

// ReleaseWhenIdle makes the decoder give its buffer back to a shared pool
// whenever it has consumed all input, and wait for more with a 64-byte
// read: a server with many idle streams then holds no read buffer for
// them. It costs one extra read when input arrives after a pause.
func (d *Decoder) ReleaseWhenIdle() { d.impl.releaseIdle = true }

// Buffered reports how many bytes are buffered but not yet consumed.
func (d *Decoder) Buffered() int { return d.impl.buffered() }

// Element is a parsed XML element. Namespace declarations are resolved into
// Space; default xmlns attributes are not kept in Attrs.
type Element struct {
	Space    string
	Local    string
	Attrs    []Attr
	Children []*Element
	Text     string // character data directly inside this element, concatenated
}

// Parse parses one complete element (as returned in Raw.Bytes). defaultNS is
// the namespace the element inherits when it declares none (jabber:client);
// prefixes names the namespace prefixes in scope from the stream header
// (may be nil). It applies the default Limits; see ParseLimits.
func Parse(b []byte, defaultNS string, prefixes map[string]string) (*Element, error) {
	return parse(b, defaultNS, prefixes)
}

// Prefixes returns the namespace prefixes declared on the stream header most
// recently read, for Parse. The map is shared (a new stream header gets a
// new map, never a modified one) and must not be modified.
func (d *Decoder) Prefixes() map[string]string { return d.impl.prefixes() }
