package quic

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link/ca"
)

// countLog counts records with a message.
type countLog struct {
	msg string
	n   atomic.Int64
}

func (h *countLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *countLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h *countLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countLog) WithGroup(string) slog.Handler      { return h }

func refused(role, reason string) float64 {
	return testutil.ToFloat64(metrics.LinkHandshakeRefused.WithLabelValues(role, reason))
}

// TestForeignCA: a node whose certificate another CA issued is refused in
// both directions, counted every time, logged once.
func TestForeignCA(t *testing.T) {
	good, other := newPKI(t), newPKI(t)
	t.Run("edge from another CA", func(t *testing.T) {
		logs := &countLog{msg: "link peer refused"}
		core := newFakeCore("core1")
		srv := startServer(t, core, good.node("core1", ca.IssueOptions{}, slog.New(logs)), "core1", nil)
		before := refused("core", "unknown_ca")
		// It trusts the cluster's CA, so the core sees its certificate.
		c := startClient(t, other.nodeTrusting(good, "edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)
		waitFor(t, "three refusals", func() bool { return refused("core", "unknown_ca")-before >= 3 })
		if c.Connected() != "" {
			t.Fatal("edge with a foreign certificate connected")
		}
		if n := logs.n.Load(); n != 1 {
			t.Fatalf("logged %d times", n)
		}
	})
	t.Run("core from another CA", func(t *testing.T) {
		logs := &countLog{msg: "link peer refused"}
		srv := startServer(t, newFakeCore("core1"), other.node("core1", ca.IssueOptions{}, nil), "core1", nil)
		before := refused("edge", "unknown_ca")
		c := startClient(t, good.node("edge1", ca.IssueOptions{}, slog.New(logs)), []string{srv.addr}, nil)
		waitFor(t, "three refusals", func() bool { return refused("edge", "unknown_ca")-before >= 3 })
		if c.Connected() != "" {
			t.Fatal("edge connected to a core with a foreign certificate")
		}
		if n := logs.n.Load(); n != 1 {
			t.Fatalf("logged %d times", n)
		}
	})
}

func TestExpiredCertificate(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, newFakeCore("core1"), p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	before := refused("core", "expired")
	expired := p.node("edge1", ca.IssueOptions{NotBefore: time.Now().Add(-2 * 365 * 24 * time.Hour), Validity: 365 * 24 * time.Hour}, nil)
	c := startClient(t, expired, []string{srv.addr}, nil)
	waitFor(t, "refusal", func() bool { return refused("core", "expired") > before })
	if c.Connected() != "" {
		t.Fatal("expired certificate accepted")
	}
}

func TestWrongALPN(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, newFakeCore("core1"), p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	edge := p.node("edge1", ca.IssueOptions{}, nil)
	for _, alpn := range []string{"xmpp-client", "h3"} {
		before := refused("core", "alpn")
		tc := edge.ClientConfig()
		tc.NextProtos = []string{alpn}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		qc, err := quicgo.DialAddr(ctx, srv.addr, tc, nil)
		cancel()
		if err == nil {
			qc.CloseWithError(0, "")
			t.Fatalf("ALPN %s accepted", alpn)
		}
		if refused("core", "alpn") <= before {
			t.Fatalf("ALPN %s refusal not counted", alpn)
		}
	}
	// The same certificate with the right ALPN is accepted.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	qc, err := quicgo.DialAddr(ctx, srv.addr, edge.ClientConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	qc.CloseWithError(0, "")
}
