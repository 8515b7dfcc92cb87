package client

import (
	"errors"
	"net"
	"syscall"
)

// Error kinds, the first part of the error counters' names.
const (
	KindConnect  = "connect"
	KindTLS      = "tls"
	KindStream   = "stream"
	KindAuth     = "auth"
	KindBind     = "bind"
	KindRegister = "register"
)

// Error is a failure of one step, with a kind for counting and an
// optional detail (a SASL or stream error condition, "refused"...).
type Error struct {
	Kind   string
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Kind + " (" + e.Detail + "): " + e.Err.Error()
	}
	return e.Kind + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Key names the error for counting: "kind" or "kind:detail".
func (e *Error) Key() string {
	if e.Detail == "" {
		return e.Kind
	}
	return e.Kind + ":" + e.Detail
}

func fail(kind string, err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Kind: kind, Detail: netDetail(err), Err: err}
}

func failDetail(kind, detail string, err error) error {
	return &Error{Kind: kind, Detail: detail, Err: err}
}

// netDetail classifies the network failures a load run meets.
func netDetail(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		// Out of ephemeral ports for this source address: use --sources.
		return "no-local-port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too-many-files"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return ""
}

// Key returns the counter name of any error: an *Error's Key, or a
// classification of a network error under kind.
func Key(kind string, err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Key()
	}
	if d := netDetail(err); d != "" {
		return kind + ":" + d
	}
	return kind
}
