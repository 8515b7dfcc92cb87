package node

import "net/http"

// boshHandler serves XMPP over BOSH (XEP-0124, XEP-0206).
func (n *Node) boshHandler() http.Handler {
	return http.NotFoundHandler()
}
