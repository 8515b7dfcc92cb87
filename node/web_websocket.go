package node

import "net/http"

// websocketHandler serves XMPP over WebSocket (RFC 7395).
func (n *Node) websocketHandler() http.Handler {
	return http.NotFoundHandler()
}
