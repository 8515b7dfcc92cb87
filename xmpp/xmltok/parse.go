package xmltok

import (
	"strings"
	"sync"
	"unsafe"
)

var scannerPool = sync.Pool{New: func() any { return new(scanner) }}

func parse(b []byte, defaultNS string, prefixes map[string]string) (*Element, error) {
	return ParseLimits(b, defaultNS, prefixes, Limits{})
}

// ParseLimits is Parse with explicit limits, for callers whose decoder was
// configured with limits other than the defaults that Parse applies.
// Whitespace around the element is ignored; anything else is an error.
func ParseLimits(b []byte, defaultNS string, prefixes map[string]string, lim Limits) (*Element, error) {
	lim = lim.withDefaults()
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	if j-i > lim.MaxStanzaSize {
		return nil, errAt(condPolicy, "element larger than the stanza size limit", lim.MaxStanzaSize)
	}
	if i == j || b[i] != '<' {
		return nil, errAt(condNotWellFormed, "no element", 0)
	}
	// One copy of the input; every name and value that needs no
	// unescaping is a substring of it.
	src := string(b[i:j])

	s := scannerPool.Get().(*scanner)
	defer func() {
		s.b, s.prefixes, s.defaultNS, s.elemNS = nil, nil, "", nsRef{}
		scannerPool.Put(s)
	}()
	s.begin(modeTokens)
	s.maxDepth = lim.MaxDepth
	s.defaultNS, s.prefixes = defaultNS, prefixes
	s.b = unsafe.Slice(unsafe.StringData(src), len(src)) // read only

	p := builder{src: src}
	// Upper bounds from cheap counts, so that elements, attributes and
	// child lists come from one allocation each.
	p.elems = make([]Element, max(1, strings.Count(src, "<")-strings.Count(src, "</")))
	if n := strings.Count(src, "="); n > 0 {
		p.attrs = make([]Attr, 0, n)
	}
	var stackArr [16]*Element
	var marksArr [16]int
	var kidsArr [32]*Element
	stack, marks, kids := stackArr[:0], marksArr[:0], kidsArr[:0]
	var root *Element
	for {
		t, err := s.run()
		if err != nil {
			return nil, err
		}
		switch t {
		case tokStart:
			e := p.element(s)
			if root == nil {
				root = e
			} else {
				kids = append(kids, e)
			}
			if !s.selfClosing {
				stack = append(stack, e)
				marks = append(marks, len(kids))
			} else if len(stack) == 0 {
				return root, p.end(s)
			}
		case tokText:
			e := stack[len(stack)-1]
			seg := p.text(s)
			if e.Text == "" {
				e.Text = seg
			} else {
				e.Text += seg
			}
		case tokEnd:
			e, m := stack[len(stack)-1], marks[len(marks)-1]
			stack, marks = stack[:len(stack)-1], marks[:len(marks)-1]
			if len(kids) > m {
				if p.children == nil {
					p.children = make([]*Element, 0, len(p.elems))
				}
				n := len(p.children)
				p.children = append(p.children, kids[m:]...)
				e.Children = p.children[n:len(p.children):len(p.children)]
				kids = kids[:m]
			}
			if len(stack) == 0 {
				return root, p.end(s)
			}
		default: // tokMore
			return nil, errAt(condNotWellFormed, "unexpected end of element", len(src))
		}
	}
}

type builder struct {
	src      string
	elems    []Element
	attrs    []Attr
	children []*Element
	buf      []byte
}

func (p *builder) end(s *scanner) error {
	if s.pos != len(p.src) {
		return errAt(condNotWellFormed, "data after the element", s.pos)
	}
	return nil
}

// element builds the element for the start tag the scanner just read.
func (p *builder) element(s *scanner) *Element {
	var e *Element
	if len(p.elems) > 0 {
		e, p.elems = &p.elems[0], p.elems[1:]
	} else {
		e = new(Element)
	}
	src := p.src
	e.Space = s.elemNS.str(src)
	e.Local = src[s.name:s.nameEnd]
	if s.nameColon >= 0 {
		e.Local = src[s.nameColon+1 : s.nameEnd]
	}
	n := len(p.attrs)
	for _, a := range s.attrs {
		name := src[a.name:a.nameEnd]
		if name == "xmlns" {
			continue // resolved into Space
		}
		v := src[a.val:a.valEnd]
		if a.flags != 0 {
			p.buf = unescape(p.buf[:0], s.b[a.val:a.valEnd], true)
			v = string(p.buf)
		}
		p.attrs = append(p.attrs, Attr{Name: name, Value: v})
	}
	if len(p.attrs) > n {
		e.Attrs = p.attrs[n:len(p.attrs):len(p.attrs)]
	}
	return e
}

// text returns the character data the scanner just reported.
func (p *builder) text(s *scanner) string {
	raw := s.b[s.outStart:s.outEnd]
	switch {
	case s.outFlags == 0 || s.outFlags == flagCDATA:
		return p.src[s.outStart:s.outEnd]
	case s.outFlags&flagCDATA != 0:
		p.buf = unescapeCDATA(p.buf[:0], raw)
	default:
		p.buf = unescape(p.buf[:0], raw, false)
	}
	return string(p.buf)
}
