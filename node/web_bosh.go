package node

import (
	"net/http"

	"github.com/meridian-xmpp/meridian/edge/bosh"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// boshHandler serves XMPP over BOSH (XEP-0124, XEP-0206): each session's
// stream runs through the c2s server like a TCP one. Shutdown closes the
// handler (n.bosh) so that held long-polls are answered.
func (n *Node) boshHandler() http.Handler {
	c := n.cfg.Web.BOSH
	n.bosh = bosh.New(bosh.Options{
		Serve:       n.c2s.ServeTransport,
		HostKnown:   n.hostKnown,
		CheckOrigin: n.originAllowed,
		MaxWait:     c.MaxWait.Duration,
		MaxHold:     c.MaxHold,
		MaxRequests: c.MaxRequests,
		Inactivity:  c.Inactivity.Duration,
		MaxPause:    c.MaxPause.Duration,
		MaxSessions: c.MaxSessions,
		Limits:      xmltok.Limits{MaxStanzaSize: n.cfg.C2S.MaxStanzaSize, MaxDepth: n.cfg.C2S.MaxDepth},
		Logger:      n.log.With("transport", "bosh"),
	})
	return n.bosh
}
