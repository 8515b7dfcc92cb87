package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// AdminSocket is the local admin API's unix socket under the data dir.
func AdminSocket(dataDir string) string { return filepath.Join(dataDir, "admin.sock") }

func (n *Node) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if n.Draining() { // lame duck: send no new clients here
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/sessions", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		sessions := 0
		if n.core != nil {
			sessions = n.core.SessionCount()
		}
		json.NewEncoder(w).Encode(map[string]int{"sessions": sessions, "streams": n.streams()})
	})
	// Profiles for operators (CPU, heap, goroutines): same listener as
	// /metrics, which deployments keep off the public network.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startAdmin serves the admin API on a unix socket only the node's user
// can reach (no token: meridianctl uses it while the node runs) and, when
// [admin] listen is set, on TCP behind the configured bearer tokens.
func (n *Node) startAdmin() error {
	path := AdminSocket(n.cfg.Node.DataDir)
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return fmt.Errorf("node: another node is serving %s", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("node: %w", err)
	}
	old := umask(0o077)
	ln, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return fmt.Errorf("node: admin socket: %w", err)
	}
	n.mu.Lock()
	n.listeners = append(n.listeners, ln)
	n.mu.Unlock()
	h := n.AdminHandler()
	if n.cfg.Admin.Listen != "" {
		// One server for both listeners (Shutdown stops both); only a
		// request that came through the socket goes without a token.
		socket, authed := h, admin.RequireToken(n.cfg.Admin.Tokens, h)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, unix := r.Context().Value(http.LocalAddrContextKey).(*net.UnixAddr); unix {
				socket.ServeHTTP(w, r)
				return
			}
			authed.ServeHTTP(w, r)
		})
	}
	n.admin = &http.Server{Handler: metrics.CountHTTP("admin", h), ReadHeaderTimeout: 10 * time.Second}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.admin.Serve(ln)
	}()
	if a := n.cfg.Admin.Listen; a != "" {
		return n.listen("admin", a, func(ln net.Listener) { n.admin.Serve(ln) })
	}
	return nil
}

// AdminHandler returns the admin API bound to this node's core, without
// authentication (what the local socket serves). An edge-only node has no
// core: it serves status, mesh and the document, and answers the rest 503.
func (n *Node) AdminHandler() http.Handler {
	var c admin.Core
	if n.core != nil {
		c = n.core
	}
	return admin.Handler(c, admin.Node{
		Name:    n.cfg.Node.Name,
		Roles:   n.cfg.Node.Roles,
		Started: n.started,
		Address: func() string {
			if a := n.Addrs("c2s"); len(a) > 0 {
				return a[0].String()
			}
			return ""
		}(),
		Streams: n.streams,
		Members: n.meshMembers,
		Drain: func(timeout, period time.Duration, redirect []string) (admin.DrainState, error) {
			return n.adminDrain(timeout, period, redirect)
		},
		Draining:     n.Draining,
		LinkCore:     n.LinkConnected,
		ClusterPeers: n.ClusterPeers,
		Places:       n.places(),
	})
}
