package sasl_test

// Full exchanges against mellium.im/sasl, an independent client
// implementation. It speaks tls-exporter when given a TLS 1.3
// ConnectionState, so -PLUS runs over a real in-memory TLS connection.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	mellium "mellium.im/sasl"

	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// tlsPair completes a TLS 1.3 handshake over a pipe and returns the
// client's state and the server's tls-exporter channel binding.
func tlsPair(t *testing.T) (tls.ConnectionState, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		DNSNames:     []string{"example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}) // test only
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	st := srv.ConnectionState()
	cb, err := st.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	return cli.ConnectionState(), cb
}

// users holds user/pencil for both hashes.
func users(t testing.TB) sasl.Config {
	salt := sasl.NewSalt()
	c1, err := sasl.DeriveCredentials(sasl.SHA1, "pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	c256, err := sasl.DeriveCredentials(sasl.SHA256, "pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(c sasl.Credentials) sasl.Lookup {
		return func(u string) (sasl.Credentials, error) {
			if u != "user" {
				return sasl.Credentials{}, sasl.ErrUnknownUser
			}
			return c, nil
		}
	}
	return sasl.Config{
		Lookup1:   lookup(c1),
		Lookup256: lookup(c256),
		VerifyPlain: func(u, p string) (bool, error) {
			return u == "user" && p == "pencil", nil
		},
	}
}

// exchange runs client against server to the end. It returns the
// server's error, or an error from the client when it rejects the server.
func exchange(t testing.TB, c *mellium.Negotiator, s *sasl.Server) error {
	_, resp, err := c.Step(nil)
	if err != nil {
		t.Fatalf("client start: %v", err)
	}
	for i := 0; i < 4; i++ {
		out, done, err := s.Step(resp)
		if err != nil {
			return err
		}
		if done {
			if out == nil { // PLAIN
				return nil
			}
			if _, _, err := c.Step(out); err != nil {
				return clientRejected{err}
			}
			return nil
		}
		if _, resp, err = c.Step(out); err != nil {
			return clientRejected{err}
		}
	}
	t.Fatal("exchange does not end")
	return nil
}

type clientRejected struct{ error }

func TestMellium(t *testing.T) {
	cs, cb := tlsPair(t)
	creds := func(user, pass, authz string) mellium.Option {
		return mellium.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(pass), []byte(authz) })
	}
	tests := []struct {
		name      string
		mech      string
		client    mellium.Mechanism
		opts      []mellium.Option
		cfg       func(*sasl.Config)
		want      string // failure condition; "" for success
		wantAuthz string
	}{
		{name: "SCRAM-SHA-1", mech: sasl.SCRAMSHA1, client: mellium.ScramSha1, opts: []mellium.Option{creds("user", "pencil", "")}},
		{name: "SCRAM-SHA-256", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256, opts: []mellium.Option{creds("user", "pencil", "")}},
		{name: "SCRAM-SHA-256 authzid", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256, opts: []mellium.Option{creds("user", "pencil", "user@example.com")},
			cfg: func(c *sasl.Config) { c.Domain = "example.com" }, wantAuthz: "user@example.com"},
		{name: "PLAIN", mech: sasl.PLAIN, client: mellium.Plain, opts: []mellium.Option{creds("user", "pencil", "")}},
		{name: "SCRAM-SHA-1-PLUS", mech: sasl.SCRAMSHA1Plus, client: mellium.ScramSha1Plus,
			opts: []mellium.Option{creds("user", "pencil", ""), mellium.TLSState(cs), mellium.RemoteMechanisms(sasl.SCRAMSHA1Plus)},
			cfg:  func(c *sasl.Config) { c.ChannelBinding, c.PlusAvailable = cb, true }},
		{name: "SCRAM-SHA-256-PLUS", mech: sasl.SCRAMSHA256Plus, client: mellium.ScramSha256Plus,
			opts: []mellium.Option{creds("user", "pencil", ""), mellium.TLSState(cs), mellium.RemoteMechanisms(sasl.SCRAMSHA256Plus)},
			cfg:  func(c *sasl.Config) { c.ChannelBinding, c.PlusAvailable = cb, true }},

		{name: "wrong password", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256, opts: []mellium.Option{creds("user", "pencils", "")}, want: sasl.NotAuthorized},
		{name: "unknown user", mech: sasl.SCRAMSHA1, client: mellium.ScramSha1, opts: []mellium.Option{creds("nobody", "pencil", "")}, want: sasl.NotAuthorized},
		{name: "PLAIN wrong password", mech: sasl.PLAIN, client: mellium.Plain, opts: []mellium.Option{creds("user", "x", "")}, want: sasl.NotAuthorized},
		{name: "authzid other user", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256, opts: []mellium.Option{creds("user", "pencil", "admin")}, want: sasl.InvalidAuthzid},
		{name: "binding mismatch", mech: sasl.SCRAMSHA256Plus, client: mellium.ScramSha256Plus,
			opts: []mellium.Option{creds("user", "pencil", ""), mellium.TLSState(cs), mellium.RemoteMechanisms(sasl.SCRAMSHA256Plus)},
			cfg: func(c *sasl.Config) {
				c.ChannelBinding, c.PlusAvailable = []byte("binding of some other connection"), true
			},
			want: sasl.NotAuthorized},
		// The client can bind but saw no -PLUS offer, so it sends 'y'; the
		// server did offer -PLUS: the offer was stripped in transit.
		{name: "downgrade", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256Plus,
			opts: []mellium.Option{creds("user", "pencil", ""), mellium.TLSState(cs)},
			cfg:  func(c *sasl.Config) { c.ChannelBinding, c.PlusAvailable = cb, true },
			want: sasl.NotAuthorized},
		{name: "y without -PLUS offer", mech: sasl.SCRAMSHA256, client: mellium.ScramSha256Plus,
			opts: []mellium.Option{creds("user", "pencil", ""), mellium.TLSState(cs)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := users(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s, err := sasl.NewServer(tc.mech, cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = exchange(t, mellium.NewClient(tc.client, tc.opts...), s)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Username() != "user" || s.Authzid() != tc.wantAuthz {
					t.Fatalf("Username, Authzid = %q, %q", s.Username(), s.Authzid())
				}
				return
			}
			var f *sasl.Failure
			if !errors.As(err, &f) || f.Condition != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
}
