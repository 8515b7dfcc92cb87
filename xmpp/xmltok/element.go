package xmltok

import "unicode/utf8"

// NewElement returns an element with the given namespace and local name.
func NewElement(space, local string, attrs ...Attr) *Element {
	return &Element{Space: space, Local: local, Attrs: attrs}
}

// Attr returns the value of the named attribute, or "".
func (e *Element) Attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// HasAttr reports whether the attribute is present.
func (e *Element) HasAttr(name string) bool {
	for _, a := range e.Attrs {
		if a.Name == name {
			return true
		}
	}
	return false
}

// SetAttr sets (or, with an empty value, keeps empty) the named attribute
// and returns e.
func (e *Element) SetAttr(name, value string) *Element {
	for i := range e.Attrs {
		if e.Attrs[i].Name == name {
			e.Attrs[i].Value = value
			return e
		}
	}
	e.Attrs = append(e.Attrs, Attr{name, value})
	return e
}

// RemoveAttr deletes the named attribute.
func (e *Element) RemoveAttr(name string) *Element {
	for i := range e.Attrs {
		if e.Attrs[i].Name == name {
			e.Attrs = append(e.Attrs[:i], e.Attrs[i+1:]...)
			return e
		}
	}
	return e
}

// Add appends children and returns e.
func (e *Element) Add(children ...*Element) *Element {
	e.Children = append(e.Children, children...)
	return e
}

// SetText sets the character data and returns e.
func (e *Element) SetText(s string) *Element { e.Text = s; return e }

// Child returns the first child with the namespace and local name; an empty
// space matches any namespace.
func (e *Element) Child(space, local string) *Element {
	for _, c := range e.Children {
		if c.Local == local && (space == "" || c.Space == space) {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child with the namespace and local name.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	var out []*Element
	for _, c := range e.Children {
		if c.Local == local && (space == "" || c.Space == space) {
			out = append(out, c)
		}
	}
	return out
}

// Copy returns a deep copy.
func (e *Element) Copy() *Element {
	c := *e
	c.Attrs = append([]Attr(nil), e.Attrs...)
	if e.Children != nil {
		c.Children = make([]*Element, len(e.Children))
		for i, ch := range e.Children {
			c.Children[i] = ch.Copy()
		}
	}
	return &c
}

// Append serialises e onto buf. parentSpace is the namespace in scope
// around e: xmlns is written only when e's namespace differs from it. Space
// alone decides the default namespace: an attribute named "xmlns" in Attrs
// is not written (it could contradict Space or duplicate the declaration).
func (e *Element) Append(buf []byte, parentSpace string) []byte {
	buf = append(buf, '<')
	buf = append(buf, e.Local...)
	if e.Space != parentSpace {
		buf = append(buf, " xmlns='"...)
		buf = EscapeAttr(buf, e.Space)
		buf = append(buf, '\'')
	}
	for _, a := range e.Attrs {
		if a.Name == "xmlns" {
			continue
		}
		buf = append(buf, ' ')
		buf = append(buf, a.Name...)
		buf = append(buf, "='"...)
		buf = EscapeAttr(buf, a.Value)
		buf = append(buf, '\'')
	}
	if len(e.Children) == 0 && e.Text == "" {
		return append(buf, "/>"...)
	}
	buf = append(buf, '>')
	buf = EscapeText(buf, e.Text)
	for _, c := range e.Children {
		buf = c.Append(buf, e.Space)
	}
	buf = append(buf, "</"...)
	buf = append(buf, e.Local...)
	return append(buf, '>')
}

// String serialises e with its namespace declared.
func (e *Element) String() string { return string(e.Append(nil, "")) }

// EscapeText appends s escaped for character data.
func EscapeText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '\r':
			dst = append(dst, "&#xD;"...)
		default:
			if n := notChar(s, i); n > 0 {
				dst = append(dst, replacement...)
				i += n - 1
				continue
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// notChar returns the length of what XML 1.0 §2.2 does not allow in a
// document at s[i] (a control character other than tab, newline and
// carriage return: 1; U+FFFE or U+FFFF: 3), or 0. The escapers put U+FFFD
// in its place, so that no element built in Go can make a peer's parser
// fail. Such text only comes from outside XMPP (a REST body, a config
// file): the decoder refuses it on the wire.
func notChar(s string, i int) int {
	switch c := s[i]; {
	case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
		return 1
	case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF):
		return 3
	}
	return 0
}

const replacement = "\uFFFD"

// ValidText reports whether s is valid UTF-8 made only of characters
// XML 1.0 allows (§2.2 Char). APIs that take text from outside XMPP use it
// to refuse what would otherwise be replaced.
func ValidText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// EscapeAttr appends s escaped for a single-quoted attribute value.
func EscapeAttr(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '\'':
			dst = append(dst, "&apos;"...)
		case '"':
			dst = append(dst, "&quot;"...)
		case '\t':
			dst = append(dst, "&#x9;"...)
		case '\n':
			dst = append(dst, "&#xA;"...)
		case '\r':
			dst = append(dst, "&#xD;"...)
		default:
			if n := notChar(s, i); n > 0 {
				dst = append(dst, replacement...)
				i += n - 1
				continue
			}
			dst = append(dst, c)
		}
	}
	return dst
}
