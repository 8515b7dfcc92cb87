// Package ping is the XMPP Ping module (XEP-0199): the server answers pings
// addressed to it. It must not ping clients itself; keepalives belong to
// the edge.
package ping

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the ping namespace.
const NS = "urn:xmpp:ping"

func init() {
	module.Register(module.Info{Name: "ping", New: New})
}

// Module is a provisioned ping module.
type Module struct{}

// New provisions the module. It has no configuration.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Server, NS, m.pong)
	// A ping with no to (RFC 6120 §10.3.3) is for the sender's own account;
	// clients send it as a keepalive, so answer it too. Pings to another
	// user's bare JID stay unanswered (service-unavailable): XEP-0199 §4.3
	// pings a client's full JID, which the core delivers to the client.
	h.HandleIQ(module.Account, NS, m.ownPong)
	return m, nil
}

// pong answers XEP-0199 §4.2 (client to server).
func (m *Module) pong(_ context.Context, iq module.IQ) (*xmltok.Element, error) {
	// XEP-0199 §4: a ping is an IQ get with <ping/>.
	if iq.Set {
		return nil, stanza.ErrNotAllowed
	}
	if iq.Payload.Local != "ping" {
		return nil, stanza.ErrBadRequest
	}
	return nil, nil
}

func (m *Module) ownPong(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.From.Bare() != iq.To {
		return nil, stanza.ErrServiceUnavailable
	}
	return m.pong(ctx, iq)
}
