package node_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	msasl "mellium.im/sasl"
	"mellium.im/xmpp"
	mjid "mellium.im/xmpp/jid"
	"mellium.im/xmpp/ping"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// melliumLogin negotiates a session with mellium.im/xmpp, an independent
// client library: STARTTLS, SCRAM, resource binding.
func melliumLogin(t *testing.T, addr, user, pass string, mech msasl.Mechanism) *xmpp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	j := mjid.MustParse(user + "@localhost/mellium")
	s, err := xmpp.NewClientSession(ctx, j, conn,
		xmpp.StartTLS(&tls.Config{ServerName: "localhost", InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}),
		xmpp.SASL("", pass, mech),
		xmpp.BindResource(),
	)
	if err != nil {
		t.Fatalf("mellium %s login with %s: %v", user, mech.Name, err)
	}
	t.Cleanup(func() { s.Close(); conn.Close() })
	return s
}

func TestMelliumClient(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "pw-a")
	srv.AddUser(t, "bob", "pw-b")
	for _, m := range []msasl.Mechanism{msasl.ScramSha256Plus, msasl.ScramSha1Plus, msasl.ScramSha256, msasl.ScramSha1, msasl.Plain} {
		t.Run(m.Name, func(t *testing.T) {
			s := melliumLogin(t, srv.C2S, "alice", "pw-a", m)
			go s.Serve(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ping.Send(ctx, s, mjid.MustParse("localhost")); err != nil {
				t.Fatalf("ping: %v", err)
			}
		})
	}
}
