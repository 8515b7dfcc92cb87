package jid

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error Parse, New and WithResource return,
// so a server can answer any of them with the jid-malformed stanza error
// (RFC 6120 §8.3.3.8) through a single errors.Is.
var ErrMalformed = errors.New("jid: malformed")

// Errors naming the part that failed. Each wraps ErrMalformed; the errors
// returned wrap one of these and add the reason.
var (
	ErrLocalpart    = fmt.Errorf("%w localpart", ErrMalformed)
	ErrDomainpart   = fmt.Errorf("%w domainpart", ErrMalformed)
	ErrResourcepart = fmt.Errorf("%w resourcepart", ErrMalformed)
)

// partError builds the error for one part. cause, when not nil, is the
// PRECIS or IDNA error behind it and stays reachable with errors.Is/As.
func partError(part error, reason string, cause error) error {
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", part, reason, cause)
	}
	return fmt.Errorf("%w: %s", part, reason)
}
