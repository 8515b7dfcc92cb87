package xmltok

import "unicode/utf8"

// Byte classes for the scanner's inner loops. A byte that is "plain" needs
// no attention in that context; everything else takes the slow path.
var (
	// textPlain: character data other than '<', '&', '>' (for "]]>"),
	// '\r' (line-end normalisation), other control bytes and non-ASCII.
	textPlain [256]bool
	// attrPlain: attribute values other than quotes, '<', '&', all
	// control bytes (tab and newlines are normalised to spaces) and
	// non-ASCII.
	attrPlain [256]bool
	// cdataPlain: CDATA content other than ']', '\r', other control bytes
	// and non-ASCII.
	cdataPlain [256]bool
	// nameByte: for ASCII bytes, nameChar if the byte may appear in an
	// XML Name and nameChar|nameStart if it may begin one. Non-ASCII
	// bytes are decoded and checked with isNameRune.
	nameByte [256]uint8
)

const (
	nameChar  = 1
	nameStart = 2
	nameColon = 4 // ':' (Namespaces in XML: at most one, as a separator)
)

func init() {
	for c := 0x20; c < 0x80; c++ {
		textPlain[c] = true
		attrPlain[c] = true
		cdataPlain[c] = true
	}
	textPlain['\t'], textPlain['\n'] = true, true
	cdataPlain['\t'], cdataPlain['\n'] = true, true
	for _, c := range "<&>" {
		textPlain[c] = false
	}
	for _, c := range "<&'\"" {
		attrPlain[c] = false
	}
	cdataPlain[']'] = false

	for c := 'a'; c <= 'z'; c++ {
		nameByte[c] = nameChar | nameStart
		nameByte[c-'a'+'A'] = nameChar | nameStart
	}
	nameByte['_'] = nameChar | nameStart
	nameByte[':'] = nameChar | nameStart | nameColon
	for c := '0'; c <= '9'; c++ {
		nameByte[c] = nameChar
	}
	nameByte['-'] = nameChar
	nameByte['.'] = nameChar
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isChar reports whether r is a Char of XML 1.0 (5th ed.) §2.2.
func isChar(r rune) bool {
	if r < 0x20 {
		return r == '\t' || r == '\n' || r == '\r'
	}
	return r <= 0xD7FF || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= utf8.MaxRune)
}

// isNameStartRune reports whether r is a NameStartChar (XML 1.0 §2.3).
func isNameStartRune(r rune) bool {
	if r < 0x80 {
		return nameByte[r]&nameStart != 0
	}
	switch {
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r == 0x200C, r == 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

// isNameRune reports whether r is a NameChar (XML 1.0 §2.3).
func isNameRune(r rune) bool {
	if r < 0x80 {
		return nameByte[r] != 0
	}
	return isNameStartRune(r) || r == 0xB7 || (r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040
}

// isName reports whether b is an XML Name.
func isName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i := 0; i < len(b); {
		r, n := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
		}
		if (i == 0 && !isNameStartRune(r)) || !isNameRune(r) {
			return false
		}
		i += n
	}
	return true
}

// decodeChar decodes the non-ASCII character at b[i]. It returns its size,
// 0 when b ends inside it, or -1 when it is invalid UTF-8 or not an XML
// Char (U+FFFE, U+FFFF; surrogates are rejected by the decoder).
func decodeChar(b []byte, i int) int {
	r, n := utf8.DecodeRune(b[i:])
	if r == utf8.RuneError && n == 1 {
		if !utf8.FullRune(b[i:]) {
			return 0
		}
		return -1
	}
	if !isChar(r) {
		return -1
	}
	return n
}
