package node

import "net/http"

// clientAPIHandler serves the client REST API under web.api.path (the
// prefix is stripped).
func (n *Node) clientAPIHandler() http.Handler {
	return http.NotFoundHandler()
}
