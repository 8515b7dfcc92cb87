package quic

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// TestGarbagePeer: a peer with a valid certificate that breaks the
// framing loses its connection with the protocol error code; it is
// counted, logged once per reason, and the core keeps serving others.
func TestGarbagePeer(t *testing.T) {
	p := newPKI(t)
	logs := &countLog{msg: "edge broke the link protocol; connection closed"}
	srv := startServer(t, newFakeCore("core1"), p.node("core1", ca.IssueOptions{}, nil), "core1", func(o *ServerOptions) {
		o.Logger = slog.New(logs)
	})
	edge := p.node("edge1", ca.IssueOptions{}, nil)
	good := startClient(t, edge, []string{srv.addr}, nil)
	ctx := ctxT(t)
	if _, err := good.VerifyPassword(ctx, "localhost", "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rnd.Uint32())
	}
	garbage[0] = 0x7f // a length over the limit, whatever the seed
	hello := wire.AppendHello(nil, wire.Hello, "bad")
	badJID := wire.AppendStanza(nil, wire.Stanza, 1, message(jid.MustParse("a@localhost/r"), jid.MustParse("b@localhost"), "x"))
	badJID = append(wire.AppendOpen(nil, link.OpenRequest{User: jid.MustParse("a@localhost")}), badJID...)
	// Corrupt the from JID: its first byte after the length.
	cases := []struct {
		name, reason string
		data         []byte
	}{
		{"random bytes", "framing", garbage},
		{"oversized length", "framing", []byte{0xff, 0xff, 0xff, 0xff, byte(wire.Hello)}},
		{"zero length", "framing", []byte{0, 0, 0, 0}},
		{"wrong first frame", "unexpected_frame", wire.AppendSeq(nil, wire.Ack, 7)},
		{"response from an edge", "unexpected_frame", append(hello, wire.Finish(append(must(wire.Begin(nil, wire.Response)), 1, 0), 0)...)},
		{"unknown method", "bad_payload", append(hello, wire.Finish(append(must(wire.Begin(nil, wire.Request)), 1, 99), 0)...)},
		{"truncated payload", "bad_payload", append(hello, wire.Finish(append(must(wire.Begin(nil, wire.Request)), 1, methodCredentials, 200), 0)...)},
		{"bad jid in a stanza", "bad_payload", corruptJID(badJID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(metrics.LinkProtocolErrors.WithLabelValues("core", tc.reason))
			qctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			qc, err := quicgo.DialAddr(qctx, srv.addr, edge.ClientConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			str, err := qc.OpenStreamSync(qctx)
			if err != nil {
				t.Fatal(err)
			}
			str.Write(tc.data)
			select {
			case <-qc.Context().Done():
			case <-qctx.Done():
				t.Fatal("connection not closed")
			}
			var ae *quicgo.ApplicationError
			if !errors.As(context.Cause(qc.Context()), &ae) || !ae.Remote || ae.ErrorCode != codeProtocol {
				t.Fatalf("closed with %v", context.Cause(qc.Context()))
			}
			if got := testutil.ToFloat64(metrics.LinkProtocolErrors.WithLabelValues("core", tc.reason)); got != before+1 {
				t.Fatalf("%s counted %v times", tc.reason, got-before)
			}
			if _, err := good.VerifyPassword(ctx, "localhost", "alice", "secret"); err != nil {
				t.Fatalf("the good edge suffered: %v", err)
			}
		})
	}
	// Once per peer address and reason: three reasons here.
	if n := logs.n.Load(); n != 3 {
		t.Fatalf("logged %d times", n)
	}
}

func must(b []byte, _ int) []byte { return b }

// corruptJID replaces the first byte of the stanza's from JID with '@'
// (a JID with an empty local part).
func corruptJID(frames []byte) []byte {
	// Open frame, then the Stanza frame: header (5), seq (1), kind (1),
	// type (1+4 "chat"), id (1+1 "x"), from length (1).
	open := 4 + int(frames[3])
	i := open + 5 + 1 + 1 + 5 + 2 + 1
	out := append([]byte(nil), frames...)
	out[i] = '@'
	return out
}

// TestUDPFlood: datagrams that are not QUIC do not hurt the core.
func TestUDPFlood(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, newFakeCore("core1"), p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	edge := p.node("edge1", ca.IssueOptions{}, nil)
	good := startClient(t, edge, []string{srv.addr}, nil)
	ctx := ctxT(t)
	if _, err := good.VerifyPassword(ctx, "localhost", "alice", "secret"); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rnd := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 1500)
	for i := range 20000 {
		n := 1 + rnd.IntN(len(buf))
		for j := range n {
			buf[j] = byte(rnd.Uint32())
		}
		if i%2 == 0 && n > 1200 {
			buf[0] |= 0xc0 // a long-header look-alike: QUIC's Initial form bit
		}
		conn.Write(buf[:n])
	}
	if _, err := good.VerifyPassword(ctx, "localhost", "alice", "secret"); err != nil {
		t.Fatalf("existing edge after the flood: %v", err)
	}
	fresh := startClient(t, edge, []string{srv.addr}, nil)
	if _, err := fresh.VerifyPassword(ctx, "localhost", "alice", "secret"); err != nil {
		t.Fatalf("new edge after the flood: %v", err)
	}
}
