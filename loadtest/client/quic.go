package client

import "errors"

// ErrNoQUIC is what a QUIC connection attempt returns: no XMPP server
// offers client QUIC yet (Meridian's edge will; see DESIGN.md).
var ErrNoQUIC = errors.New("server does not offer QUIC: the quic transport is not available yet")
