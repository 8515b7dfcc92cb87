package xmpptest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/node"
)

// Server is an in-process node on loopback ports chosen by the kernel.
type Server struct {
	*node.Node
	Config *config.Config
	C2S    string // STARTTLS address
	TLS    string // direct TLS address
	HTTP   string
	Web    string // plain HTTP web address (WebSocket, BOSH, APIs)
	WebTLS string // HTTPS web address
}

// Config returns a test config: localhost with registration, every
// listener on 127.0.0.1:0, data in a temp dir, fast SCRAM.
func Config(t testing.TB) *config.Config {
	cfg := config.Default()
	cfg.Node.DataDir = t.TempDir()
	cfg.C2S.Listen = []string{"127.0.0.1:0"}
	cfg.C2S.DirectTLSListen = []string{"127.0.0.1:0"}
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Web.Listen = []string{"127.0.0.1:0"}
	cfg.Web.TLSListen = []string{"127.0.0.1:0"}
	return cfg
}

// Start runs a node with cfg (Config(t) when nil) until the test ends.
func Start(t testing.TB, cfg *config.Config) *Server {
	t.Helper()
	if cfg == nil {
		cfg = Config(t)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("MERIDIAN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := node.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	s := &Server{Node: n, Config: cfg}
	if a := n.Addrs("c2s"); len(a) > 0 { // none on a core-only node
		s.C2S = a[0].String()
	}
	if a := n.Addrs("c2s_tls"); len(a) > 0 {
		s.TLS = a[0].String()
	}
	if a := n.Addrs("http"); len(a) > 0 {
		s.HTTP = a[0].String()
	}
	if a := n.Addrs("web"); len(a) > 0 {
		s.Web = a[0].String()
	}
	if a := n.Addrs("web_tls"); len(a) > 0 {
		s.WebTLS = a[0].String()
	}
	return s
}

// AddUser creates an account through the core.
func (s *Server) AddUser(t testing.TB, user, pass string) {
	t.Helper()
	j := user + "@" + s.Config.Hosts()[0]
	if err := s.Core().CreateUser(context.Background(), mustJID(t, j), pass); err != nil {
		t.Fatalf("create %s: %v", j, err)
	}
}
