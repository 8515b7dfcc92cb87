// Package node assembles a running Meridian node from its config: the
// persistent store, the core with its modules, the client listeners, the
// HTTP endpoints and the local admin socket. It owns start-up order and
// ordered, idempotent shutdown; it holds no protocol logic.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/edge/bosh"
	"github.com/meridian-xmpp/meridian/edge/c2s"
	"github.com/meridian-xmpp/meridian/internal/certs"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/mesh"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"

	// Every module and storage backend registers itself.
	_ "github.com/meridian-xmpp/meridian/core/mod/all"
	_ "github.com/meridian-xmpp/meridian/storage/embedded"
	_ "github.com/meridian-xmpp/meridian/storage/postgres"
)

// Node is one running process.
type Node struct {
	cfg    *config.Config
	log    *slog.Logger
	stores *storage.Stores
	core   *core.Core
	c2s    *c2s.Server
	http   *http.Server
	web    *http.Server
	admin  *http.Server
	tls    *tls.Config
	bosh   *bosh.Handler
	mesh   *mesh.Mesh
	roleState
	clusterState
	drainState

	// CertFile is the certificate clients see (for the start-up message).
	CertFile string

	mu        sync.Mutex
	listeners []net.Listener
	addrs     map[string][]net.Addr
	wg        sync.WaitGroup
	stopOnce  sync.Once
	stopErr   error
}

// New builds a node for its roles (roles.go): with the core role it opens
// the store and provisions the modules; with the edge role it builds the
// client stream server. It binds nothing yet.
func New(cfg *config.Config, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log, addrs: map[string][]net.Addr{}}
	n.started = time.Now()
	if cfg.HasRole("core") {
		if err := n.newCore(); err != nil {
			return nil, err
		}
	}
	if n.usesLink() {
		if err := n.linkIdentity(); err != nil {
			n.closeCore()
			return nil, err
		}
	}
	if err := n.newCluster(); err != nil {
		n.closeCore()
		return nil, err
	}
	if cfg.HasRole("edge") {
		tlsCfg, err := n.tlsConfig()
		if err != nil {
			n.stopCluster()
			n.closeCore()
			return nil, err
		}
		n.tls = tlsCfg
		n.c2s = c2s.New(c2s.Options{
			Core:              n.edgeCore(),
			Logger:            log,
			TLS:               tlsCfg,
			Domains:           cfg.Hosts(),
			RequireStartTLS:   cfg.C2S.RequireStartTLS,
			Mechanisms:        cfg.Auth.Mechanisms,
			Limits:            xmltok.Limits{MaxStanzaSize: cfg.C2S.MaxStanzaSize, MaxDepth: cfg.C2S.MaxDepth},
			HandshakeTimeout:  cfg.C2S.HandshakeTimeout.Duration,
			IdleTimeout:       cfg.C2S.IdleTimeout.Duration,
			KeepaliveInterval: cfg.C2S.KeepaliveInterval.Duration,
			WriteTimeout:      cfg.C2S.WriteTimeout.Duration,
			SendQueue:         cfg.C2S.SendQueue,
			ResumeTimeout:     cfg.C2S.ResumeTimeout.Duration,
			MaxUnacked:        cfg.C2S.MaxUnacked,
		})
	}
	return n, nil
}

// closeCore stops the core and closes the store, when the node has them.
func (n *Node) closeCore() error {
	if n.core == nil {
		return nil
	}
	n.core.Stop()
	return n.stores.Close()
}

func (n *Node) tlsConfig() (*tls.Config, error) {
	st := certs.New()
	cfg := n.cfg
	for _, v := range cfg.VHosts {
		if v.CertFile != "" {
			if err := st.Add(v.CertFile, v.KeyFile, v.Domain); err != nil {
				return nil, err
			}
		}
	}
	if cfg.TLS.CertFile != "" {
		if err := st.Add(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.Hosts()...); err != nil {
			return nil, err
		}
		n.CertFile = cfg.TLS.CertFile
	} else {
		f, err := st.SelfSigned(filepath.Join(cfg.Node.DataDir, "tls"), cfg.Hosts())
		if err != nil {
			return nil, err
		}
		n.CertFile = f
	}
	minVersion := uint16(tls.VersionTLS12)
	if cfg.TLS.MinVersion == "1.3" {
		minVersion = tls.VersionTLS13
	}
	// XEP-0368: direct TLS clients ask for ALPN xmpp-client.
	return st.TLSConfig(minVersion, "xmpp-client"), nil
}

// Core returns the node's core; nil on an edge-only node.
func (n *Node) Core() *core.Core { return n.core }

// Start binds every listener of the node's roles and starts serving.
func (n *Node) Start() error {
	n.log.Info("node starting", "node", n.cfg.Node.Name, "roles", strings.Join(n.cfg.Node.Roles, ","))
	if err := n.startClients(); err != nil {
		n.Shutdown(context.Background())
		return err
	}
	if a := n.cfg.HTTP.Listen; a != "" {
		n.http = &http.Server{Handler: n.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		if err := n.listen("http", a, func(ln net.Listener) { n.http.Serve(ln) }); err != nil {
			n.Shutdown(context.Background())
			return err
		}
	}
	if err := n.startLink(); err != nil {
		n.Shutdown(context.Background())
		return err
	}
	if err := n.startMesh(); err != nil {
		n.Shutdown(context.Background())
		return err
	}
	n.followMesh()
	if err := n.startAdmin(); err != nil {
		n.Shutdown(context.Background())
		return err
	}
	return nil
}

// startClients binds the client listeners (c2s, web) of the edge role.
func (n *Node) startClients() error {
	if n.c2s == nil {
		return nil
	}
	for _, a := range n.cfg.C2S.Listen {
		if err := n.listen("c2s", a, func(ln net.Listener) { n.c2s.Serve(ln, false) }); err != nil {
			return err
		}
	}
	for _, a := range n.cfg.C2S.DirectTLSListen {
		if err := n.listen("c2s_tls", a, func(ln net.Listener) { n.c2s.Serve(ln, true) }); err != nil {
			return err
		}
	}
	return n.startWeb()
}

func (n *Node) listen(kind, addr string, serve func(net.Listener)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("node: listen %s on %s: %w", kind, addr, err)
	}
	n.mu.Lock()
	n.listeners = append(n.listeners, ln)
	n.addrs[kind] = append(n.addrs[kind], ln.Addr())
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		serve(ln)
	}()
	return nil
}

// Addrs returns the bound addresses of a listener kind: "c2s",
// "c2s_tls", "http", "web", "web_tls", "admin", "link" (UDP).
func (n *Node) Addrs(kind string) []net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]net.Addr(nil), n.addrs[kind]...)
}

// Shutdown stops in order: mesh, client streams (with
// <system-shutdown/>), HTTP, listeners, the edge link, modules, store. It
// is idempotent.
func (n *Node) Shutdown(ctx context.Context) error {
	n.stopOnce.Do(func() {
		if n.meshStop != nil {
			n.meshStop() // the peers stay as they are until the cluster stops
		}
		n.leaveMesh()
		var errs []error
		if n.c2s != nil {
			if err := n.c2s.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if n.http != nil {
			n.http.Shutdown(ctx)
		}
		n.bosh.Close() // answers held long-polls so that web.Shutdown need not wait
		if n.web != nil {
			n.web.Shutdown(ctx)
		}
		if n.admin != nil {
			n.admin.Shutdown(ctx)
		}
		n.mu.Lock()
		for _, ln := range n.listeners {
			ln.Close()
		}
		n.mu.Unlock()
		if n.cluster != nil {
			// The edges move this core's sessions to the other cores.
			n.core.HandOff()
		}
		n.stopLink()
		n.wg.Wait()
		n.stopCluster()
		if err := n.closeCore(); err != nil {
			errs = append(errs, err)
		}
		n.stopErr = errors.Join(errs...)
	})
	return n.stopErr
}
