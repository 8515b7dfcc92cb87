// Package link is the one interface where edges and cores meet (DESIGN
// principle 2). An edge terminates a client's stream and calls a Core; the
// core calls back through the Sink the edge gave it. In an all-in-one node
// the Core is the in-process core; in a split deployment it is the edge
// end of the QUIC edge link. Nothing above this interface knows which.
package link

import (
	"context"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Core is what an edge needs from the cores behind it.
type Core interface {
	// Credentials returns the stored SCRAM credentials of an account for
	// a hash ("SHA-1" or "SHA-256"); sasl.ErrUnknownUser when there is no
	// such account.
	Credentials(ctx context.Context, domain, username, hash string) (sasl.Credentials, error)
	// VerifyPassword checks a password (SASL PLAIN).
	VerifyPassword(ctx context.Context, domain, username, password string) (bool, error)
	// PreAuth answers an IQ a client sends before authenticating (in-band
	// registration, XEP-0077). It returns the reply.
	PreAuth(ctx context.Context, c PreAuthClient, iq *stanza.Stanza) *stanza.Stanza
	// StreamFeatures returns what the core's modules add to
	// <stream:features/> for a domain, before or after authentication.
	StreamFeatures(domain string, preAuth bool) []*xmltok.Element
	// Open binds a resource for an authenticated user and returns the
	// session. Errors are *stanza.Error values for the bind reply.
	Open(ctx context.Context, req OpenRequest, sink Sink) (Session, error)
}

// PreAuthClient describes an unauthenticated client.
type PreAuthClient struct {
	Domain     string
	RemoteAddr string // IP address, for rate limits
	Secure     bool   // the stream is encrypted
}

// OpenRequest asks for a session.
type OpenRequest struct {
	User       jid.JID // bare JID that authenticated
	Resource   string  // requested resource; "" lets the server choose
	RemoteAddr string
	Transport  string // "tcp", "tls", "websocket", ...
	// Reopen: the edge moves a session it had on another core (that core
	// failed or went away); the full JID is the one it had there.
	Reopen bool
	// Edge names the edge node holding the client's connection; the link
	// server sets it from the peer's Hello ("" on an all-in-one node).
	Edge string
}

// ClusterHandler is implemented by a core that serves the other cores of
// its region over the link (core/cluster): Cluster answers one opaque
// request from the named core. The link only carries the bytes.
type ClusterHandler interface {
	Cluster(ctx context.Context, from string, req []byte) ([]byte, error)
}

// Sink is how a core reaches the client of a session.
type Sink interface {
	// Deliver queues a stanza for the client. It returns false when the
	// stanza was not queued (the stream is closing or its queue is full);
	// the edge then applies its slow-consumer policy.
	Deliver(st *stanza.Stanza) bool
	// Close ends the client's stream with a stream error (nil: a plain
	// close), e.g. <conflict/> when another session took the resource.
	Close(e *stanza.StreamError)
}

// Session is a bound client session as the edge sees it.
type Session interface {
	// JID is the session's full JID.
	JID() jid.JID
	// Handle routes a stanza the client sent; its from is already stamped.
	Handle(st *stanza.Stanza)
	// Close ends the session: the client's stream is gone. undelivered
	// are stanzas the edge took for the client but the client never
	// acknowledged (stream management, XEP-0198): the core routes them
	// again as if this session had not existed (another resource, offline
	// storage, an error to the sender). Calling Close again only hands
	// over more undelivered stanzas.
	Close(undelivered []*stanza.Stanza)
}
