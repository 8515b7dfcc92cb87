package xmltok

import "unicode/utf8"

// The scanner is a resumable state machine over the bytes of one element
// (or one stream header). It is handed a window b whose first byte is the
// element's '<'; when the window ends before the element does it saves
// where it stopped (always at a character boundary, or at the start of a
// reference or "<!"/"<" markup of at most a few bytes) and is resumed with
// a longer window holding the same bytes. All positions are offsets into
// the window, so the caller may move the bytes between calls. Nothing is
// ever re-scanned except those few bytes, so input trickling in one byte
// per read costs the same as input read at once, and nothing recurses, so
// depth costs no stack.

type state uint8

const (
	stContent    state = iota // character data between tags
	stTagName                 // in the name of a start tag
	stTagSpace                // in a start tag, after the name or a value
	stAttrName                // in an attribute name
	stAttrEq                  // after an attribute name, before '='
	stAttrQuote               // after '=', before the quote
	stAttrValue               // in an attribute value
	stEmptyClose              // after '/' in a start tag
	stEndName                 // in the name of an end tag
	stEndSpace                // after the name of an end tag
	stCDATA                   // in a CDATA section
)

type mode uint8

const (
	modeStanza mode = iota // one top-level element (Decoder.Next)
	modeHeader             // one start tag (Decoder.ReadStart)
	modeTokens             // every token of one element (Parse)
)

type tok uint8

const (
	tokMore      tok = iota // the window ended first; resume with more bytes
	tokDone                 // the element (or header start tag) is complete
	tokStart                // modeTokens: a start tag; see attrs, elemNS...
	tokEnd                  // modeTokens: an end tag
	tokText                 // modeTokens: character data [outStart, outEnd)
	tokStreamEnd            // modeStanza: an end tag at stream level
	tokContinue             // internal: keep scanning
)

// attrRef locates one attribute in the window.
type attrRef struct {
	ws            int // start of the whitespace before the name
	name, nameEnd int
	colon         int // offset of the prefix colon, -1 without prefix
	val, valEnd   int // raw value, without quotes
	flags         uint8
}

// openElem is an element whose end tag has not been seen.
type openElem struct {
	name, nameEnd int
	nsMark        int // len(scanner.ns) before its declarations
}

// nsDecl is a namespace declaration in scope; prefix == prefixEnd for a
// default namespace declaration.
type nsDecl struct {
	prefix, prefixEnd int
	val, valEnd       int
	flags             uint8
}

// nsRef is a resolved namespace: either a string from outside the window
// (off < 0) or a raw attribute value in it.
type nsRef struct {
	s        string
	off, end int
	flags    uint8
}

// valRef is an attribute value of the top element, kept for Raw.
type valRef struct {
	off, end int
	flags    uint8
	ok       bool
}

// routing is what Raw needs from the top element's start tag.
type routing struct {
	local, nameEnd          int
	ns                      nsRef
	to, from, typ, id, lang valRef
	toSpan, fromSpan        [2]int
}

type scanner struct {
	b        []byte
	pos      int
	st       state
	mode     mode
	depth    int
	maxDepth int

	open  []openElem
	ns    []nsDecl
	attrs []attrRef

	// Outer scope: the stream header's default namespace and prefixes.
	defaultNS string
	prefixes  map[string]string

	// The tag being read.
	name, nameEnd, nameColon int
	wsStart                  int
	sawSpace                 bool
	quote                    byte
	selfClosing              bool
	elemNS                   nsRef // namespace of the last start tag

	// Character data.
	textStart        int
	tflags           uint8
	outStart, outEnd int
	outFlags         uint8

	usedStreamPrefix bool
	hdr              routing
}

// begin prepares to scan a new element in the given mode.
func (s *scanner) begin(m mode) {
	s.mode = m
	s.pos = 0
	s.st = stContent
	s.depth = 0
	s.open = s.open[:0]
	s.ns = s.ns[:0]
	s.attrs = s.attrs[:0]
	s.textStart = 0
	s.tflags = 0
	s.usedStreamPrefix = false
	s.selfClosing = false
}

func (s *scanner) fail(cond, msg string, off int) (tok, error) {
	s.pos = off
	return tokMore, errAt(cond, msg, off)
}

// run scans s.b from s.pos until the element ends, the window ends
// (tokMore), or, in modeTokens, a token is complete.
func (s *scanner) run() (tok, error) {
	b := s.b
	i := s.pos
	for {
		switch s.st {
		case stContent:
			for {
				for i < len(b) && textPlain[b[i]] {
					i++
				}
				if i >= len(b) {
					s.pos = i
					return tokMore, nil
				}
				c := b[i]
				if c == '<' {
					break
				}
				switch {
				case c == '&':
					n, err := scanRef(b, i)
					if err != nil {
						s.pos = i
						return tokMore, err
					}
					if n == 0 {
						s.pos = i
						return tokMore, nil
					}
					s.tflags |= flagRef
					i += n
				case c == '>':
					// "]]>" may not appear in character data (XML 1.0 §2.4).
					// Every markup ends in '>' or ';', so two ']' before it
					// are character data.
					if i >= 2 && b[i-1] == ']' && b[i-2] == ']' {
						return s.fail(condNotWellFormed, "']]>' in character data", i)
					}
					i++
				case c == '\r':
					s.tflags |= flagCR
					i++
				case c < 0x20:
					return s.fail(condNotWellFormed, "control character", i)
				default:
					n := decodeChar(b, i)
					if n <= 0 {
						if n == 0 {
							s.pos = i
							return tokMore, nil
						}
						return s.fail(condNotWellFormed, "invalid UTF-8 or character", i)
					}
					i += n
				}
			}
			// b[i] == '<'
			if i > s.textStart {
				if s.depth == 0 {
					return s.fail(condNotWellFormed, "character data outside the element", s.textStart)
				}
				if s.mode == modeTokens {
					s.outStart, s.outEnd, s.outFlags = s.textStart, i, s.tflags
					s.textStart, s.tflags = i, 0
					s.pos = i
					return tokText, nil
				}
			}
			if i+1 >= len(b) {
				s.pos = i
				return tokMore, nil
			}
			switch b[i+1] {
			case '/':
				s.name = i + 2
				s.st = stEndName
				i += 2
			case '?':
				return s.fail(condRestricted, "processing instruction", i)
			case '!':
				if more, err := s.bang(b, i); err != nil || more {
					s.pos = i
					return tokMore, err
				}
				i += len(cdataOpen)
				s.textStart, s.tflags = i, 0
				s.st = stCDATA
			default:
				if s.depth == 0 && i > 0 {
					// run stops after the top element; this guards a
					// caller that would not.
					return s.fail(condNotWellFormed, "more than one element", i)
				}
				s.name = i + 1
				s.attrs = s.attrs[:0]
				s.st = stTagName
				i++
			}

		case stTagName, stEndName:
			j, more, bad, colon := scanName(b, i, s.name)
			if bad {
				return s.fail(condNotWellFormed, "invalid UTF-8 or character", j)
			}
			if more {
				s.pos = j
				return tokMore, nil
			}
			if j == s.name {
				return s.fail(condNotWellFormed, "bad name", j)
			}
			i = j
			s.nameEnd = j
			if s.st == stEndName {
				s.st = stEndSpace
				continue
			}
			s.nameColon = -1
			if colon {
				c, ok := qnameColon(b, s.name, j)
				if !ok {
					return s.fail(condNotWellFormed, "bad qualified name", s.name)
				}
				s.nameColon = c
			}
			s.wsStart, s.sawSpace = j, false
			s.st = stTagSpace

		case stTagSpace:
			for i < len(b) && isSpace(b[i]) {
				i++
				s.sawSpace = true
			}
			if i >= len(b) {
				s.pos = i
				return tokMore, nil
			}
			switch c := b[i]; c {
			case '>':
				i++
				s.pos = i
				if t, err := s.startTag(false); err != nil || t != tokContinue {
					return t, err
				}
			case '/':
				i++
				s.st = stEmptyClose
			default:
				if !s.sawSpace {
					return s.fail(condNotWellFormed, "bad character in tag", i)
				}
				s.attrs = append(s.attrs, attrRef{ws: s.wsStart, name: i})
				s.st = stAttrName
			}

		case stAttrName:
			a := &s.attrs[len(s.attrs)-1]
			j, more, bad, colon := scanName(b, i, a.name)
			if bad {
				return s.fail(condNotWellFormed, "invalid UTF-8 or character", j)
			}
			if more {
				s.pos = j
				return tokMore, nil
			}
			if j == a.name {
				return s.fail(condNotWellFormed, "bad attribute name", j)
			}
			a.nameEnd, a.colon = j, -1
			if colon {
				c, ok := qnameColon(b, a.name, j)
				if !ok {
					return s.fail(condNotWellFormed, "bad qualified name", a.name)
				}
				a.colon = c
			}
			i = j
			s.st = stAttrEq

		case stAttrEq, stAttrQuote:
			for i < len(b) && isSpace(b[i]) {
				i++
			}
			if i >= len(b) {
				s.pos = i
				return tokMore, nil
			}
			c := b[i]
			if s.st == stAttrEq {
				if c != '=' {
					return s.fail(condNotWellFormed, "attribute without value", i)
				}
				s.st = stAttrQuote
				i++
				continue
			}
			if c != '\'' && c != '"' {
				return s.fail(condNotWellFormed, "unquoted attribute value", i)
			}
			s.quote = c
			i++
			s.attrs[len(s.attrs)-1].val = i
			s.st = stAttrValue

		case stAttrValue:
			q := s.quote
			a := &s.attrs[len(s.attrs)-1]
		value:
			for {
				for i < len(b) && attrPlain[b[i]] {
					i++
				}
				if i >= len(b) {
					s.pos = i
					return tokMore, nil
				}
				switch c := b[i]; {
				case c == q:
					break value
				case c == '\'' || c == '"':
					i++
				case c == '<':
					return s.fail(condNotWellFormed, "'<' in attribute value", i)
				case c == '&':
					n, err := scanRef(b, i)
					if err != nil {
						s.pos = i
						return tokMore, err
					}
					if n == 0 {
						s.pos = i
						return tokMore, nil
					}
					a.flags |= flagRef
					i += n
				case c == '\t' || c == '\n' || c == '\r':
					a.flags |= flagSpace
					i++
				case c < 0x20:
					return s.fail(condNotWellFormed, "control character", i)
				default:
					n := decodeChar(b, i)
					if n <= 0 {
						if n == 0 {
							s.pos = i
							return tokMore, nil
						}
						return s.fail(condNotWellFormed, "invalid UTF-8 or character", i)
					}
					i += n
				}
			}
			a.valEnd = i
			i++
			s.wsStart, s.sawSpace = i, false
			s.st = stTagSpace

		case stEmptyClose:
			if i >= len(b) {
				s.pos = i
				return tokMore, nil
			}
			if b[i] != '>' {
				return s.fail(condNotWellFormed, "expected '>' after '/'", i)
			}
			i++
			s.pos = i
			if t, err := s.startTag(true); err != nil || t != tokContinue {
				return t, err
			}

		case stEndSpace:
			for i < len(b) && isSpace(b[i]) {
				i++
			}
			if i >= len(b) {
				s.pos = i
				return tokMore, nil
			}
			if b[i] != '>' {
				return s.fail(condNotWellFormed, "bad end tag", i)
			}
			i++
			s.pos = i
			if t, err := s.endTag(); err != nil || t != tokContinue {
				return t, err
			}

		case stCDATA:
			for {
				for i < len(b) && cdataPlain[b[i]] {
					i++
				}
				if i >= len(b) {
					s.pos = i
					return tokMore, nil
				}
				c := b[i]
				if c == ']' {
					if i+2 >= len(b) {
						s.pos = i
						return tokMore, nil
					}
					if b[i+1] == ']' && b[i+2] == '>' {
						break
					}
					i++
					continue
				}
				switch {
				case c == '\r':
					s.tflags |= flagCR
					i++
				case c < 0x20:
					return s.fail(condNotWellFormed, "control character", i)
				default:
					n := decodeChar(b, i)
					if n <= 0 {
						if n == 0 {
							s.pos = i
							return tokMore, nil
						}
						return s.fail(condNotWellFormed, "invalid UTF-8 or character", i)
					}
					i += n
				}
			}
			start, flags := s.textStart, s.tflags|flagCDATA
			end := i
			i += 3
			s.textStart, s.tflags = i, 0
			s.st = stContent
			if s.mode == modeTokens && end > start {
				s.outStart, s.outEnd, s.outFlags = start, end, flags
				s.pos = i
				return tokText, nil
			}
		}
	}
}

const cdataOpen = "<![CDATA["

// bang handles "<!" at b[i]: a CDATA section is accepted, anything else
// (comment, DOCTYPE) is restricted XML (RFC 6120 §11.1). more is true when
// the window ends before the decision can be made.
func (s *scanner) bang(b []byte, i int) (more bool, err error) {
	n := min(len(b)-i, len(cdataOpen))
	if string(b[i:i+n]) != cdataOpen[:n] {
		if b[i+2] == '-' || b[i+2] == 'D' {
			return false, errAt(condRestricted, "comment or document type declaration", i)
		}
		return false, errAt(condNotWellFormed, "bad markup after '<!'", i)
	}
	if n < len(cdataOpen) {
		return true, nil
	}
	if s.depth == 0 {
		return false, errAt(condNotWellFormed, "CDATA section outside the element", i)
	}
	return false, nil
}

// scanName scans name characters from b[i]; start is where the name
// began (its first character must be a NameStartChar). It returns the
// offset of the first byte that is not part of the name; more is true when
// the window ends first (the offset is then where to resume), bad for
// invalid UTF-8. colon is true when the name may contain a colon: one was
// seen, or the scan resumed a name begun earlier.
func scanName(b []byte, i, start int) (end int, more, bad, colon bool) {
	var seen uint8
	if i != start {
		seen = nameColon
	}
	for i < len(b) {
		c := b[i]
		if c < 0x80 {
			k := nameByte[c]
			if k == 0 || (i == start && k&nameStart == 0) {
				return i, false, false, seen&nameColon != 0
			}
			seen |= k
			i++
			continue
		}
		n := decodeChar(b, i)
		if n <= 0 {
			return i, n == 0, n < 0, true
		}
		r, _ := utf8.DecodeRune(b[i:])
		if (i == start && !isNameStartRune(r)) || !isNameRune(r) {
			return i, false, false, seen&nameColon != 0
		}
		i += n
	}
	return i, true, false, true
}

// qnameColon checks the Namespaces in XML QName rules (one colon at most,
// both parts non-empty NCNames) for the name b[start:end] and returns the
// colon's offset or -1.
func qnameColon(b []byte, start, end int) (int, bool) {
	c := -1
	for k := start; k < end; k++ {
		if b[k] == ':' {
			if c >= 0 {
				return c, false
			}
			c = k
		}
	}
	if c < 0 {
		return -1, true
	}
	if c == start || c == end-1 {
		return c, false
	}
	if x := b[c+1]; x < 0x80 {
		return c, nameByte[x]&nameStart != 0
	}
	r, _ := utf8.DecodeRune(b[c+1:])
	return c, isNameStartRune(r)
}
