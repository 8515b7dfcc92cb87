package sasl

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// clientFirst is a parsed client-first-message (RFC 5802 §7).
type clientFirst struct {
	header   string // gs2-header as sent, final ',' included; c= repeats it
	flag     byte   // gs2-cbind-flag: 'n', 'y' or 'p'
	cbName   string // channel binding type, with flag 'p'
	authzid  string // decoded; "" when absent
	bare     string // client-first-message-bare, part of AuthMessage
	username string // decoded, not yet prepared
	nonce    string // c-nonce
}

func parseClientFirst(m string) (clientFirst, *Failure) {
	var c clientFirst
	i := strings.IndexByte(m, ',')
	if i < 0 {
		return c, malformed("no gs2 header")
	}
	switch flag := m[:i]; {
	case flag == "n" || flag == "y":
		c.flag = flag[0]
	case strings.HasPrefix(flag, "p=") && validCBName(flag[2:]):
		c.flag, c.cbName = 'p', flag[2:]
	default:
		return c, malformed("bad channel binding flag")
	}
	rest := m[i+1:]
	j := strings.IndexByte(rest, ',')
	if j < 0 {
		return c, malformed("no gs2 header")
	}
	if az := rest[:j]; az != "" {
		var ok bool
		if !strings.HasPrefix(az, "a=") {
			return c, malformed("bad authzid")
		}
		if c.authzid, ok = decodeSaslname(az[2:]); !ok {
			return c, malformed("bad authzid")
		}
	}
	c.header, c.bare = m[:i+1+j+1], rest[j+1:]

	attrs := strings.Split(c.bare, ",")
	if strings.HasPrefix(attrs[0], "m=") {
		// RFC 5802 §5.1: an unknown mandatory extension fails.
		return c, malformed("mandatory extension not supported")
	}
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return c, malformed("client-first-message needs n= and r=")
	}
	var ok bool
	if c.username, ok = decodeSaslname(attrs[0][2:]); !ok {
		return c, malformed("bad username")
	}
	if c.nonce = attrs[1][2:]; !validNonce(c.nonce) {
		return c, malformed("bad nonce")
	}
	for _, a := range attrs[2:] {
		if !validExtension(a) {
			return c, malformed("bad extension")
		}
	}
	return c, nil
}

// clientFinal is a parsed client-final-message (RFC 5802 §7).
type clientFinal struct {
	withoutProof string // client-final-message-without-proof, for AuthMessage
	cbind        []byte // decoded c=
	nonce        string
	proof        []byte
}

func parseClientFinal(m string) (clientFinal, *Failure) {
	var c clientFinal
	attrs := strings.Split(m, ",")
	n := len(attrs)
	if n < 3 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") || !strings.HasPrefix(attrs[n-1], "p=") {
		return c, malformed("client-final-message needs c=, r= and p=")
	}
	for _, a := range attrs[2 : n-1] {
		if !validExtension(a) {
			return c, malformed("bad extension")
		}
	}
	var ok bool
	if c.cbind, ok = decodeBase64(attrs[0][2:]); !ok || len(c.cbind) == 0 {
		return c, malformed("bad channel binding")
	}
	c.nonce = attrs[1][2:]
	if c.proof, ok = decodeBase64(attrs[n-1][2:]); !ok {
		return c, malformed("bad proof")
	}
	c.withoutProof = m[:len(m)-len(attrs[n-1])-1]
	return c, nil
}

// decodeSaslname undoes the escaping of a saslname, where ',' and '=' are
// sent as "=2C" and "=3D" (RFC 5802 §5.1). It must be non-empty UTF-8
// without NUL.
func decodeSaslname(s string) (string, bool) {
	if s == "" || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", false
	}
	if strings.IndexByte(s, '=') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// validNonce: printable ASCII except ',' (RFC 5802 §7).
func validNonce(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == ',' {
			return false
		}
	}
	return true
}

// validCBName: 1*(ALPHA / DIGIT / "." / "-") (RFC 5802 §7).
func validCBName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validExtension: attr-val with a letter that is not one SCRAM defines;
// unknown extensions are otherwise ignored (RFC 5802 §5.1).
func validExtension(a string) bool {
	if len(a) < 3 || a[1] != '=' || !utf8.ValidString(a) || strings.IndexByte(a, 0) >= 0 {
		return false
	}
	c := a[0]
	return ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') && !strings.ContainsRune("cmnpr", rune(c))
}

// decodeBase64 decodes padded standard base64, refusing the line breaks
// the decoder would otherwise skip.
func decodeBase64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil
}
