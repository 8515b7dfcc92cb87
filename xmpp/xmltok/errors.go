package xmltok

import "strconv"

// Stream error conditions (RFC 6120 §4.9.3) that tokenizer failures map to.
const (
	condNotWellFormed = "not-well-formed"
	condRestricted    = "restricted-xml"
	condPolicy        = "policy-violation"
	condEncoding      = "unsupported-encoding"
)

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxStanzaSize = 256 << 10
	DefaultMaxDepth      = 64
)

func (l Limits) withDefaults() Limits {
	if l.MaxStanzaSize <= 0 {
		l.MaxStanzaSize = DefaultMaxStanzaSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// errAt builds an *Error for a failure at offset off of the element (or
// header) being read.
func errAt(cond, msg string, off int) *Error {
	return &Error{Condition: cond, Msg: msg + " at offset " + strconv.Itoa(off)}
}
