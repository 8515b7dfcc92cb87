package xmltok

import (
	"bytes"
	"unicode/utf8"
)

// maxRefLen bounds a reference from '&' to ';' inclusive. The longest
// predefined one is "&quot;"; a character reference needs at most 10 bytes
// ("&#1114111;") unless padded with zeros. Padding beyond this is refused:
// it keeps re-scanning a reference cut by a short read cheap.
const maxRefLen = 32

// scanRef validates the reference at b[i] == '&' (XML 1.0 §4.1). It returns
// the reference's length, or 0 when b ends before the reference does.
// Only the five predefined entities and character references of XML Chars
// are accepted; any other entity reference is restricted XML (RFC 6120
// §11.1), so entity expansion attacks fail without expanding anything.
func scanRef(b []byte, i int) (int, *Error) {
	end := min(len(b), i+maxRefLen)
	j := i + 1
	if j < end && b[j] == '#' {
		j++
		base := rune(10)
		if j < end && b[j] == 'x' {
			base = 16
			j++
		}
		digits := j
		var v rune
		for ; j < end && b[j] != ';'; j++ {
			d := digitVal(b[j])
			if d >= base {
				return 0, errAt(condNotWellFormed, "bad character reference", i)
			}
			v = v*base + d
			if v > utf8.MaxRune {
				return 0, errAt(condNotWellFormed, "character reference out of range", i)
			}
		}
		if j == end {
			if end == len(b) && end < i+maxRefLen {
				return 0, nil
			}
			return 0, errAt(condNotWellFormed, "character reference too long", i)
		}
		if j == digits || !isChar(v) {
			return 0, errAt(condNotWellFormed, "bad character reference", i)
		}
		return j + 1 - i, nil
	}
	for ; j < end && b[j] != ';'; j++ {
		if c := b[j]; c < utf8.RuneSelf && nameByte[c] == 0 {
			return 0, errAt(condNotWellFormed, "'&' not starting a reference", i)
		}
	}
	if j == end {
		if end == len(b) && end < i+maxRefLen {
			return 0, nil
		}
		return 0, errAt(condRestricted, "entity reference", i)
	}
	switch string(b[i+1 : j]) {
	case "lt", "gt", "amp", "apos", "quot":
		return j + 1 - i, nil
	}
	if !isName(b[i+1 : j]) {
		return 0, errAt(condNotWellFormed, "'&' not starting a reference", i)
	}
	return 0, errAt(condRestricted, "entity reference to an undeclared entity", i)
}

// digitVal returns the value of a hexadecimal digit, or 16.
func digitVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return 16
}

// Flags describing what a validated text run or attribute value needs
// before it can be used as a string.
const (
	flagRef   = 1 << iota // contains references
	flagSpace             // contains '\t', '\n' or '\r' (attribute normalisation)
	flagCR                // contains '\r' (line-end normalisation)
	flagCDATA             // CDATA content: no references
)

// unescape appends the value of validated raw character data or attribute
// value to dst: references replaced, line ends normalised (XML 1.0 §2.11)
// and, for attributes, whitespace normalised to spaces (§3.3.3).
func unescape(dst, raw []byte, attr bool) []byte {
	for len(raw) > 0 {
		i := 0
		for i < len(raw) && raw[i] != '&' && raw[i] != '\r' && (!attr || (raw[i] != '\t' && raw[i] != '\n')) {
			i++
		}
		dst = append(dst, raw[:i]...)
		if i == len(raw) {
			break
		}
		switch raw[i] {
		case '&':
			j := i + bytes.IndexByte(raw[i:], ';')
			dst = appendRef(dst, raw[i+1:j])
			i = j + 1
		case '\r':
			if attr {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, '\n')
			}
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
		default: // '\t', '\n' in an attribute value
			dst = append(dst, ' ')
			i++
		}
		raw = raw[i:]
	}
	return dst
}

// unescapeCDATA appends CDATA content with line ends normalised.
func unescapeCDATA(dst, raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '\r')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		dst = append(dst, '\n')
		raw = raw[i+1:]
		if len(raw) > 0 && raw[0] == '\n' {
			raw = raw[1:]
		}
	}
}

// appendRef appends the value of a validated reference (without & and ;).
func appendRef(dst, name []byte) []byte {
	if name[0] == '#' {
		var v rune
		if name[1] == 'x' {
			for _, c := range name[2:] {
				v = v*16 + digitVal(c)
			}
		} else {
			for _, c := range name[1:] {
				v = v*10 + rune(c-'0')
			}
		}
		return utf8.AppendRune(dst, v)
	}
	switch string(name) {
	case "lt":
		return append(dst, '<')
	case "gt":
		return append(dst, '>')
	case "amp":
		return append(dst, '&')
	case "apos":
		return append(dst, '\'')
	}
	return append(dst, '"')
}
