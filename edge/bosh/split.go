package bosh

import (
	"bytes"
	"strings"
)

// splitter cuts the bytes the c2s stream writes into what BOSH carries:
// top-level elements. The stream header, the XML declaration and
// whitespace keepalives have no place in a <body/> and are dropped (the
// header's id is kept for authid); the closing tag ends the session. The
// stream writes whole elements but may split them across writes, so an
// incomplete element waits for the rest.
type splitter struct {
	buf []byte
}

// piece is one thing found in the stream's output.
type piece struct {
	kind pieceKind
	b    []byte // the element (kindElement, kindError); the id (kindHeader)
}

type pieceKind uint8

const (
	kindElement pieceKind = iota
	kindHeader            // <stream:stream ...>; b is its id
	kindError             // <stream:error>
	kindEnd               // </stream:stream>
)

// feed adds written bytes and returns the complete pieces they finish.
func (sp *splitter) feed(p []byte, out []piece) []piece {
	sp.buf = append(sp.buf, p...)
	b := sp.buf
	for {
		i := 0
		for i < len(b) && b[i] != '<' {
			i++ // whitespace keepalives between elements
		}
		b = b[i:]
		if len(b) < 2 {
			break
		}
		if b[1] == '?' {
			end := bytes.Index(b, []byte("?>"))
			if end < 0 {
				break
			}
			b = b[end+2:]
			continue
		}
		if b[1] == '/' {
			end := bytes.IndexByte(b, '>')
			if end < 0 {
				break
			}
			out = append(out, piece{kind: kindEnd})
			b = b[end+1:]
			continue
		}
		tagEnd := startTagEnd(b)
		if tagEnd < 0 {
			break
		}
		name := tagName(b)
		if name == "stream:stream" {
			out = append(out, piece{kind: kindHeader, b: []byte(attrValue(b[:tagEnd+1], "id"))})
			b = b[tagEnd+1:]
			continue
		}
		end := elementEnd(b)
		if end < 0 {
			break
		}
		el := bytes.Clone(b[:end])
		kind := kindElement
		if name == "stream:error" {
			kind = kindError
		} else {
			el = withClientNS(el, name, tagEnd)
		}
		out = append(out, piece{kind: kind, b: el})
		b = b[end:]
	}
	if len(b) == 0 {
		sp.buf = nil // an idle session keeps no buffer
	} else {
		sp.buf = append(sp.buf[:0], b...)
	}
	return out
}

// tagName returns the qualified name of the tag at b[0].
func tagName(b []byte) string {
	i := 1
	for i < len(b) && !isSpace(b[i]) && b[i] != '>' && b[i] != '/' {
		i++
	}
	return string(b[1:i])
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// startTagEnd returns the index of the '>' closing the tag at b[0], or -1
// when the tag is incomplete. Quoted attribute values may contain '>'.
func startTagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// elementEnd returns the length of the complete element at b[0], or -1
// when it is not complete yet. The stream's own output is well-formed, so
// counting start and end tags is enough; CDATA never appears in it.
func elementEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); {
		if b[i] != '<' {
			i++
			continue
		}
		end := startTagEnd(b[i:])
		if end < 0 {
			return -1
		}
		switch {
		case i+1 < len(b) && b[i+1] == '/':
			depth--
		case b[i+end-1] != '/':
			depth++
		}
		i += end + 1
		if depth == 0 {
			return i
		}
	}
	return -1
}

// attrValue returns the value of the named attribute in a start tag, as
// written (stream ids need no unescaping).
func attrValue(tag []byte, name string) string {
	for _, a := range attrs(tag) {
		if a[0] == name {
			return a[1]
		}
	}
	return ""
}

// attrs lists a start tag's attributes as name/value pairs.
func attrs(tag []byte) [][2]string {
	var out [][2]string
	i := 1
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	for i < len(tag) {
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		start := i
		for i < len(tag) && tag[i] != '=' && tag[i] != '>' && !isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] != '=' || i+1 >= len(tag) {
			return out
		}
		name := string(tag[start:i])
		q := tag[i+1]
		end := bytes.IndexByte(tag[i+2:], q)
		if end < 0 {
			return out
		}
		out = append(out, [2]string{name, string(tag[i+2 : i+2+end])})
		i += end + 3
	}
	return out
}

// withClientNS gives a top-level element written without an xmlns (it
// inherits jabber:client from the stream header on TCP) its namespace, as
// a <body/> child must carry it (XEP-0206 §5).
func withClientNS(el []byte, name string, tagEnd int) []byte {
	if strings.IndexByte(name, ':') >= 0 {
		return el
	}
	for _, a := range attrs(el[:tagEnd+1]) {
		if a[0] == "xmlns" {
			return el
		}
	}
	n := 1 + len(name)
	const ns = " xmlns='jabber:client'"
	out := make([]byte, 0, len(el)+len(ns))
	out = append(out, el[:n]...)
	out = append(out, ns...)
	return append(out, el[n:]...)
}
