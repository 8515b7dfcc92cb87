package websocket

import "bytes"

// A light scanner for the framing work of this package: it finds where
// top-level elements start and end and reads the attributes of a start
// tag. It does not check well-formedness; the stream's own tokenizer
// (xmpp/xmltok) does that on everything the client sends.

type tokenKind uint8

const (
	tokStart tokenKind = iota // <name ...>
	tokEmpty                  // <name .../>
	tokEnd                    // </name>
	tokOther                  // <?...?>, <!--...-->, <![CDATA[...]]>, <!...>
)

var (
	cdataOpen = []byte("<![CDATA[")
	piEnd     = []byte("?>")
	cdataEnd  = []byte("]]>")
	commEnd   = []byte("-->")
)

// scanToken reads the markup token starting with '<' at b[t]. It returns
// the offset just after it, or -1 when b ends before the token does.
func scanToken(b []byte, t int) (int, tokenKind) {
	if t+1 >= len(b) {
		return -1, 0
	}
	switch b[t+1] {
	case '?':
		return after(b, t+2, piEnd), tokOther
	case '!':
		rest := b[t:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			return after(b, t+4, commEnd), tokOther
		case bytes.HasPrefix(rest, cdataOpen):
			return after(b, t+len(cdataOpen), cdataEnd), tokOther
		case len(rest) < len(cdataOpen) && bytes.HasPrefix(cdataOpen, rest):
			return -1, 0 // cannot tell yet
		}
		return after(b, t+2, []byte(">")), tokOther
	case '/':
		return after(b, t+2, []byte(">")), tokEnd
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
				return i + 1, tokEmpty
			}
			return i + 1, tokStart
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

// nameEnd returns the offset just after the name of the start tag at
// tag[0] ('<').
func nameEnd(tag []byte) int {
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

func attrsOf(tag []byte) attrs { return attrs{b: tag, i: nameEnd(tag)} }

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

// attr returns the raw value of the named attribute of a start tag.
func attr(tag []byte, name string) (value []byte, quote byte, ok bool) {
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

// space returns the namespace of the element whose start tag is tag, as
// declared on that tag (its prefix's declaration, or the default one);
// declared is false when the tag declares none.
func space(tag []byte) (local, ns string, declared bool) {
	qname := tag[1:nameEnd(tag)]
	decl := "xmlns"
	if i := bytes.IndexByte(qname, ':'); i >= 0 {
		decl = "xmlns:" + string(qname[:i])
		qname = qname[i+1:]
	}
	v, _, ok := attr(tag, decl)
	return string(qname), string(v), ok
}

// splitter cuts a byte stream into its top-level items: the stream
// header, complete elements and the stream's end tag. It keeps only the
// bytes of an unfinished item between calls.
type splitter struct {
	buf   []byte // unfinished input
	pos   int    // scan position in buf
	depth int    // element depth at pos
	start int    // where the current top-level item starts in buf
}

type itemKind uint8

const (
	itemElement itemKind = iota
	itemHeader           // <stream:stream ...>, left open
	itemEnd              // </stream:stream>
)

// feed scans p after what is buffered and calls emit for every complete
// item, in order. Whitespace, character data and processing instructions
// between top-level items are dropped (keepalives, the XML declaration).
// The bytes given to emit are valid during the call only.
func (s *splitter) feed(p []byte, emit func(itemKind, []byte) error) error {
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
		end, kind := scanToken(b, t)
		if end < 0 {
			break
		}
		s.pos = end
		switch kind {
		case tokOther:
			if s.depth == 0 {
				s.start = end
			}
		case tokEmpty:
			if s.depth == 0 {
				err = emit(itemElement, b[t:end])
				s.start = end
			}
		case tokStart:
			if s.depth == 0 {
				s.start = t
				if string(b[t+1:t+nameEnd(b[t:])]) == "stream:stream" {
					err = emit(itemHeader, b[t:end])
					s.start = end
					continue
				}
			}
			s.depth++
		case tokEnd:
			if s.depth == 0 {
				err = emit(itemEnd, b[t:end])
				s.start = end
				continue
			}
			s.depth--
			if s.depth == 0 {
				err = emit(itemElement, b[s.start:end])
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

// idle reports whether nothing unfinished is buffered.
func (s *splitter) idle() bool { return len(s.buf) == 0 }
