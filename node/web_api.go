package node

import (
	"crypto/rand"
	"net/http"
	"path/filepath"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/clientapi"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
)

// clientAPIKeyFile holds the key that signs client API tokens, under the
// data directory, so that tokens survive a restart.
const clientAPIKeyFile = "client-api.key"

// clientAPIHandler serves the client REST API under web.api.path (the
// prefix is stripped).
func (n *Node) clientAPIHandler() http.Handler {
	var key []byte
	if dir := n.cfg.Node.DataDir; dir != "" {
		k, err := clientapi.LoadKey(filepath.Join(dir, clientAPIKeyFile))
		if err != nil {
			n.log.Error("client API disabled: no token key", "err", err)
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, `{"error":"client API unavailable"}`, http.StatusServiceUnavailable)
			})
		}
		key = k
	} else {
		key = make([]byte, 32)
		rand.Read(key)
	}
	opts := clientapi.Options{
		Core:        n.core,
		Key:         key,
		TokenTTL:    n.cfg.Web.API.TokenTTL.Duration,
		AllowOrigin: n.originAllowed,
		Logger:      n.log.With("component", "client_api"),
	}
	if s, ok := n.core.Store("accounts").(auth.Store); ok {
		opts.Accounts = s
	}
	for _, inst := range n.core.Instances() {
		switch m := inst.(type) {
		case *roster.Module:
			opts.Roster = m
		case *mam.Module:
			if s, ok := n.core.Store("archive").(mam.Store); ok && s != nil {
				opts.Archive = s
			}
		}
	}
	return clientapi.New(opts)
}
