// Package framing is what the transports that frame XMPP their own way
// (WebSocket, BOSH) share: a light scanner that finds where top-level
// elements start and end in the bytes a c2s stream writes, reads the
// attributes of a start tag, and declares on an element the namespaces it
// inherited from the stream header. It does not check well-formedness;
// the stream's own tokenizer (xmpp/xmltok) does that on everything a
// client sends.
package framing

import (
	"bytes"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

type TokenKind uint8

const (
	TokStart TokenKind = iota // <name ...>
	TokEmpty                  // <name .../>
	TokEnd                    // </name>
	TokOther                  // <?...?>, <!--...-->, <![CDATA[...]]>, <!...>
)

var (
	cdataOpen = []byte("<![CDATA[")
	piEnd     = []byte("?>")
	cdataEnd  = []byte("]]>")
	commEnd   = []byte("-->")
)

// ScanToken reads the markup token starting with '<' at b[t]. It returns
// the offset just after it, or -1 when b ends before the token does.
func ScanToken(b []byte, t int) (int, TokenKind) {
	if t+1 >= len(b) {
		return -1, 0
	}
	switch b[t+1] {
	case '?':
		return after(b, t+2, piEnd), TokOther
	case '!':
		rest := b[t:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			return after(b, t+4, commEnd), TokOther
		case bytes.HasPrefix(rest, cdataOpen):
			return after(b, t+len(cdataOpen), cdataEnd), TokOther
		case len(rest) < len(cdataOpen) && bytes.HasPrefix(cdataOpen, rest):
			return -1, 0 // cannot tell yet
		}
		return after(b, t+2, []byte(">")), TokOther
	case '/':
		return after(b, t+2, []byte(">")), TokEnd
	}
	// A start tag: '>' may appear inside quoted attribute values.
	var q byte
	for i := t + 1; i < len(b); i++ {
		c := b[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			if b[i-1] == '/' {
				return i + 1, TokEmpty
			}
			return i + 1, TokStart
		}
	}
	return -1, 0
}

func after(b []byte, from int, end []byte) int {
	i := bytes.Index(b[from:], end)
	if i < 0 {
		return -1
	}
	return from + i + len(end)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// NameEnd returns the offset just after the name of the start tag at
// tag[0] ('<').
func NameEnd(tag []byte) int {
	i := 1
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' {
		i++
	}
	return i
}

// attrs iterates over the attributes of a start tag (tag holds the whole
// tag, '<' to '>'). Values are returned as written, still escaped, with
// the quote character that delimits them.
type attrs struct {
	b []byte
	i int
}

func attrsOf(tag []byte) attrs { return attrs{b: tag, i: NameEnd(tag)} }

func (a *attrs) next() (name, value []byte, quote byte, ok bool) {
	b := a.b
	for a.i < len(b) && isSpace(b[a.i]) {
		a.i++
	}
	start := a.i
	for a.i < len(b) && b[a.i] != '=' && !isSpace(b[a.i]) && b[a.i] != '/' && b[a.i] != '>' {
		a.i++
	}
	if a.i == start {
		return nil, nil, 0, false
	}
	name = b[start:a.i]
	for a.i < len(b) && (isSpace(b[a.i]) || b[a.i] == '=') {
		a.i++
	}
	if a.i >= len(b) || (b[a.i] != '\'' && b[a.i] != '"') {
		return nil, nil, 0, false
	}
	quote = b[a.i]
	a.i++
	vs := a.i
	for a.i < len(b) && b[a.i] != quote {
		a.i++
	}
	value = b[vs:a.i]
	a.i++
	return name, value, quote, true
}

// Attr returns the raw value of the named attribute of a start tag.
func Attr(tag []byte, name string) (value []byte, quote byte, ok bool) {
	it := attrsOf(tag)
	for {
		n, v, q, more := it.next()
		if !more {
			return nil, 0, false
		}
		if string(n) == name {
			return v, q, true
		}
	}
}

// Space returns the namespace of the element whose start tag is tag, as
// declared on that tag (its prefix's declaration, or the default one);
// declared is false when the tag declares none.
func Space(tag []byte) (local, ns string, declared bool) {
	qname := tag[1:NameEnd(tag)]
	decl := "xmlns"
	if i := bytes.IndexByte(qname, ':'); i >= 0 {
		decl = "xmlns:" + string(qname[:i])
		qname = qname[i+1:]
	}
	v, _, ok := Attr(tag, decl)
	return string(qname), string(v), ok
}

// Splitter cuts a byte stream into its top-level items: the stream
// header, complete elements and the stream's end tag. It keeps only the
// bytes of an unfinished item between calls.
type Splitter struct {
	buf   []byte // unfinished input
	pos   int    // scan position in buf
	depth int    // element depth at pos
	start int    // where the current top-level item starts in buf
}

type Kind uint8

const (
	Element Kind = iota
	Header       // <stream:stream ...>, left open
	End          // </stream:stream>
)

// Feed scans p after what is buffered and calls emit for every complete
// item, in order. Whitespace, character data and processing instructions
// between top-level items are dropped (keepalives, the XML declaration).
// The bytes given to emit are valid during the call only.
func (s *Splitter) Feed(p []byte, emit func(Kind, []byte) error) error {
	b := p
	if len(s.buf) > 0 {
		s.buf = append(s.buf, p...)
		b = s.buf
	}
	var err error
	for s.pos < len(b) && err == nil {
		if b[s.pos] != '<' {
			if s.depth == 0 {
				s.pos++
				s.start = s.pos
				continue
			}
			i := bytes.IndexByte(b[s.pos:], '<')
			if i < 0 {
				s.pos = len(b)
				break
			}
			s.pos += i
			continue
		}
		t := s.pos
		end, kind := ScanToken(b, t)
		if end < 0 {
			break
		}
		s.pos = end
		switch kind {
		case TokOther:
			if s.depth == 0 {
				s.start = end
			}
		case TokEmpty:
			if s.depth == 0 {
				err = emit(Element, b[t:end])
				s.start = end
			}
		case TokStart:
			if s.depth == 0 {
				s.start = t
				if string(b[t+1:t+NameEnd(b[t:])]) == "stream:stream" {
					err = emit(Header, b[t:end])
					s.start = end
					continue
				}
			}
			s.depth++
		case TokEnd:
			if s.depth == 0 {
				err = emit(End, b[t:end])
				s.start = end
				continue
			}
			s.depth--
			if s.depth == 0 {
				err = emit(Element, b[s.start:end])
				s.start = end
			}
		}
	}
	// Keep the unfinished item only.
	rest := b[s.start:]
	s.pos -= s.start
	s.start = 0
	switch {
	case len(rest) == 0:
		// Nothing unfinished: an idle connection holds no buffer.
		s.buf = nil
	case len(s.buf) > 0:
		s.buf = s.buf[:copy(s.buf, rest)]
	default:
		s.buf = append(s.buf[:0], rest...)
	}
	return err
}

// Idle reports whether nothing unfinished is buffered.
func (s *Splitter) Idle() bool { return len(s.buf) == 0 }

// Declaration returns the namespace declaration a top-level element of the
// stream's output (item, starting with its start tag) lacks once it
// leaves the stream: stanzas and nonzas written without an xmlns inherit
// jabber:client, stream:features and stream:error the stream prefix.
// at is where to insert it (just after the element's name); decl is ""
// when nothing is missing.
func Declaration(item []byte) (at int, decl string) {
	at = NameEnd(item)
	tag := item
	if end, _ := ScanToken(item, 0); end > 0 {
		tag = item[:end]
	}
	if bytes.HasPrefix(item, []byte("<stream:")) {
		if _, _, ok := Attr(tag, "xmlns:stream"); !ok {
			return at, declStream
		}
		return at, ""
	}
	if _, _, ok := Attr(tag, "xmlns"); !ok {
		return at, declClient
	}
	return at, ""
}

// Qualified returns a copy of item with the declaration it lacks
// (Declaration) added.
func Qualified(item []byte) []byte {
	at, decl := Declaration(item)
	out := make([]byte, 0, len(item)+len(decl))
	out = append(out, item[:at]...)
	out = append(out, decl...)
	return append(out, item[at:]...)
}

const (
	declClient = " xmlns='" + stanza.NSClient + "'"
	declStream = " xmlns:stream='" + stanza.NSStream + "'"
)
