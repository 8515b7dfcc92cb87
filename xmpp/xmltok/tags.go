package xmltok

import "bytes"

// xmlNS is the namespace bound to the prefix xml (Namespaces in XML §3).
const xmlNS = "http://www.w3.org/XML/1998/namespace"

// Bounds that keep the work per byte constant whatever the input: duplicate
// checks and prefix lookups are linear in these. Real stanzas have a few
// of each.
const (
	maxAttrs   = 256 // attributes on one element
	maxNSDecls = 64  // namespace declarations in scope
)

// startTag completes the start tag that ended at s.pos: it checks
// attributes and namespaces, applies the depth limit and opens the element
// unless selfClosing.
func (s *scanner) startTag(selfClosing bool) (tok, error) {
	b := s.b
	tagStart := s.name - 1
	if s.mode != modeHeader && s.depth >= s.maxDepth {
		return s.fail(condPolicy, "element nesting too deep", tagStart)
	}
	attrs := s.attrs
	if len(attrs) > maxAttrs {
		return s.fail(condPolicy, "too many attributes", tagStart)
	}
	if len(attrs) > 1 && dupAttrs(b, attrs) {
		return s.fail(condNotWellFormed, "duplicate attribute", tagStart)
	}

	// Namespace declarations are in scope on the element that makes them.
	nsMark := len(s.ns)
	prefixed := false
	for k := range attrs {
		a := &attrs[k]
		if a.colon < 0 {
			if a.nameEnd-a.name == 5 && string(b[a.name:a.nameEnd]) == "xmlns" {
				s.ns = append(s.ns, nsDecl{a.name, a.name, a.val, a.valEnd, a.flags})
			}
			continue
		}
		prefixed = true
		if string(b[a.name:a.colon]) != "xmlns" {
			continue
		}
		p := b[a.colon+1 : a.nameEnd]
		v := b[a.val:a.valEnd]
		switch {
		case len(v) == 0:
			return s.fail(condNotWellFormed, "empty namespace name for a prefix", a.name)
		case string(p) == "xmlns":
			return s.fail(condNotWellFormed, "xmlns prefix declared", a.name)
		case string(p) == "xml" && string(v) != xmlNS:
			return s.fail(condNotWellFormed, "xml prefix bound to another namespace", a.name)
		}
		s.ns = append(s.ns, nsDecl{a.colon + 1, a.nameEnd, a.val, a.valEnd, a.flags})
	}

	if len(s.ns) > maxNSDecls {
		return s.fail(condPolicy, "too many namespace declarations in scope", tagStart)
	}

	var ns nsRef
	ok := true
	if s.nameColon >= 0 {
		ns, ok = s.lookup(b[s.name:s.nameColon])
	} else {
		ns = s.lookupDefault()
	}
	if !ok {
		return s.fail(condNotWellFormed, "unbound namespace prefix", s.name)
	}
	s.elemNS = ns
	if prefixed {
		for k := range attrs {
			a := &attrs[k]
			if a.colon < 0 || string(b[a.name:a.colon]) == "xmlns" {
				continue
			}
			if _, ok := s.lookup(b[a.name:a.colon]); !ok {
				return s.fail(condNotWellFormed, "unbound namespace prefix", a.name)
			}
		}
	}

	s.selfClosing = selfClosing
	s.st = stContent
	s.textStart, s.tflags = s.pos, 0
	switch s.mode {
	case modeHeader:
		return tokDone, nil
	case modeStanza:
		if s.depth == 0 {
			s.header()
		}
	}
	if selfClosing {
		s.ns = s.ns[:nsMark]
		if s.mode == modeStanza && s.depth == 0 {
			return tokDone, nil
		}
	} else {
		s.open = append(s.open, openElem{s.name, s.nameEnd, nsMark})
		s.depth++
	}
	if s.mode == modeTokens {
		return tokStart, nil
	}
	return tokContinue, nil
}

// endTag completes the end tag that ended at s.pos.
func (s *scanner) endTag() (tok, error) {
	b := s.b
	if s.depth == 0 {
		if s.mode == modeStanza {
			return tokStreamEnd, nil
		}
		return s.fail(condNotWellFormed, "end tag without start tag", s.name-2)
	}
	o := s.open[s.depth-1]
	if !bytes.Equal(b[s.name:s.nameEnd], b[o.name:o.nameEnd]) {
		return s.fail(condNotWellFormed, "mismatched end tag", s.name-2)
	}
	s.ns = s.ns[:o.nsMark]
	s.depth--
	s.open = s.open[:s.depth]
	s.st = stContent
	s.textStart, s.tflags = s.pos, 0
	switch {
	case s.mode == modeTokens:
		return tokEnd, nil
	case s.depth == 0:
		return tokDone, nil
	}
	return tokContinue, nil
}

// lookupDefault resolves the default namespace in scope.
func (s *scanner) lookupDefault() nsRef {
	for k := len(s.ns) - 1; k >= 0; k-- {
		if d := &s.ns[k]; d.prefix == d.prefixEnd {
			return nsRef{off: d.val, end: d.valEnd, flags: d.flags}
		}
	}
	return nsRef{s: s.defaultNS, off: -1}
}

// lookup resolves a namespace prefix: declarations in the element, then
// the stream header's. ok is false for an unbound prefix.
func (s *scanner) lookup(p []byte) (ns nsRef, ok bool) {
	if len(p) == 3 && string(p) == "xml" {
		return nsRef{s: xmlNS, off: -1}, true
	}
	if len(p) == 5 && string(p) == "xmlns" {
		return nsRef{}, false
	}
	b := s.b
	for k := len(s.ns) - 1; k >= 0; k-- {
		if d := &s.ns[k]; bytes.Equal(b[d.prefix:d.prefixEnd], p) && d.prefix != d.prefixEnd {
			return nsRef{off: d.val, end: d.valEnd, flags: d.flags}, true
		}
	}
	if v, ok := s.prefixes[string(p)]; ok {
		s.usedStreamPrefix = true
		return nsRef{s: v, off: -1}, true
	}
	return nsRef{}, false
}

// dupAttrs reports whether two attributes have the same name
// (XML 1.0 §3.1, "Unique Att Spec").
func dupAttrs(b []byte, attrs []attrRef) bool {
	if len(attrs) <= 16 {
		for i := 1; i < len(attrs); i++ {
			ni := b[attrs[i].name:attrs[i].nameEnd]
			for j := 0; j < i; j++ {
				if bytes.Equal(ni, b[attrs[j].name:attrs[j].nameEnd]) {
					return true
				}
			}
		}
		return false
	}
	// Many attributes: a map keeps an attacker's tag of thousands of
	// attributes linear. Such tags are rare, so the allocation is fine.
	seen := make(map[string]struct{}, len(attrs))
	for _, a := range attrs {
		n := string(b[a.name:a.nameEnd])
		if _, ok := seen[n]; ok {
			return true
		}
		seen[n] = struct{}{}
	}
	return false
}

// header records the routing header of the top element.
func (s *scanner) header() {
	b := s.b
	h := &s.hdr
	*h = routing{nameEnd: s.nameEnd, local: s.name, ns: s.elemNS}
	if s.nameColon >= 0 {
		h.local = s.nameColon + 1
	}
	for k := range s.attrs {
		a := &s.attrs[k]
		v := valRef{a.val, a.valEnd, a.flags, true}
		switch string(b[a.name:a.nameEnd]) {
		case "to":
			h.to = v
			h.toSpan = [2]int{a.ws, a.valEnd + 1}
		case "from":
			h.from = v
			h.fromSpan = [2]int{a.ws, a.valEnd + 1}
		case "type":
			h.typ = v
		case "id":
			h.id = v
		case "xml:lang":
			h.lang = v
		}
	}
}
