package node

import (
	"net/http"

	"github.com/meridian-xmpp/meridian/edge/websocket"
)

// websocketHandler serves XMPP over WebSocket (RFC 7395): each connection
// becomes a client stream of n.c2s, labelled "websocket".
func (n *Node) websocketHandler() http.Handler {
	return websocket.New(websocket.Options{
		Streams:        n.c2s,
		CheckOrigin:    n.originAllowed,
		PingInterval:   n.cfg.Web.WebSocket.PingInterval.Duration,
		MaxMessageSize: n.cfg.C2S.MaxStanzaSize,
		WriteTimeout:   n.cfg.C2S.WriteTimeout.Duration,
		Logger:         n.log,
	})
}
