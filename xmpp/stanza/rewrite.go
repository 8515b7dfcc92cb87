package stanza

import "github.com/meridian-xmpp/meridian/xmpp/xmltok"

// Stamp returns raw's bytes with the from attribute set to from, removing
// any from attribute the sender wrote (RFC 6120 §8.1.2.1). It allocates
// once.
func Stamp(raw *xmltok.Raw, from string) []byte {
	b := raw.Bytes
	cut := raw.FromSpan
	n := len(b) - (cut[1] - cut[0]) + len(from) + 8 + escapeExtra(from)
	out := make([]byte, 0, n)
	out = append(out, b[:raw.NameEnd]...)
	out = append(out, " from='"...)
	out = xmltok.EscapeAttr(out, from)
	out = append(out, '\'')
	if cut[1] > cut[0] {
		out = append(out, b[raw.NameEnd:cut[0]]...)
		out = append(out, b[cut[1]:]...)
	} else {
		out = append(out, b[raw.NameEnd:]...)
	}
	return out
}

func escapeExtra(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&', '\'', '"', '<', '>':
			n += 5
		}
	}
	return n
}
