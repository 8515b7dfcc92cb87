package ca

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"time"

	"github.com/meridian-xmpp/meridian/internal/logonce"
	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// ALPN is the edge link's own application protocol: a client or another
// service that reaches the link port by mistake fails the handshake
// instead of speaking the wrong protocol.
const ALPN = "meridian-link/1"

// Node is a node's link identity: the cluster CA it trusts and its own
// certificate.
type Node struct {
	pool *x509.CertPool
	cert tls.Certificate
	log  *slog.Logger
	// now is the clock used to check validity (tests).
	now    func() time.Time
	logged logonce.Set
}

// LoadNode reads the CA certificate and a node's certificate and key.
func LoadNode(caFile, certFile, keyFile string, log *slog.Logger) (*Node, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("ca: %s: no certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Node{pool: pool, cert: cert, log: log.With("component", "link-tls"), now: time.Now}, nil
}

// Leaf returns the node's parsed certificate.
func (n *Node) Leaf() *x509.Certificate { return n.cert.Leaf }

// ServerConfig is the core end's TLS configuration: TLS 1.3, ALPN
// meridian-link/1 only, and a client certificate required and verified
// against the cluster CA. The verification is the standard library's
// (x509.Certificate.Verify with client-auth usage), run from
// VerifyConnection rather than by tls.RequireAndVerifyClientCert so that a
// refusal can be counted by reason and logged once per peer.
func (n *Node) ServerConfig() *tls.Config {
	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{n.cert},
		NextProtos:   []string{ALPN},
		ClientAuth:   tls.RequireAnyClientCert,
	}
	base.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		peer := "unknown"
		if hi.Conn != nil {
			peer = hi.Conn.RemoteAddr().String()
			if h, _, err := net.SplitHostPort(peer); err == nil {
				peer = h // a retrying peer dials from a new port each time
			}
		}
		if !slices.Contains(hi.SupportedProtos, ALPN) {
			return nil, n.refuse("core", "alpn", peer, fmt.Errorf("ca: peer offers ALPN %q, not %q", hi.SupportedProtos, ALPN))
		}
		c := base.Clone()
		c.GetConfigForClient = nil
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return n.verify("core", peer, cs, x509.ExtKeyUsageClientAuth)
		}
		return c, nil
	}
	return base
}

// ClientConfig is the edge end's TLS configuration: TLS 1.3, ALPN
// meridian-link/1, its certificate, and the core's certificate verified
// against the cluster CA with server-auth usage. Host names are not
// checked: the CA is private to the cluster, so any certificate it issued
// is a member, and link addresses come from the mesh (they need not match
// a certificate's names behind NAT or in containers).
func (n *Node) ClientConfig() *tls.Config {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{n.cert},
		NextProtos:         []string{ALPN},
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		ServerName:         "meridian-link",
	}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		peer := "core"
		if len(cs.PeerCertificates) > 0 {
			peer = cs.PeerCertificates[0].Subject.CommonName
		}
		return n.verify("edge", peer, cs, x509.ExtKeyUsageServerAuth)
	}
	return c
}

func (n *Node) verify(role, peer string, cs tls.ConnectionState, usage x509.ExtKeyUsage) error {
	if cs.NegotiatedProtocol != ALPN {
		return n.refuse(role, "alpn", peer, fmt.Errorf("ca: negotiated ALPN %q, not %q", cs.NegotiatedProtocol, ALPN))
	}
	if len(cs.PeerCertificates) == 0 {
		return n.refuse(role, "no_certificate", peer, errors.New("ca: peer sent no certificate"))
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: n.pool, Intermediates: inter, CurrentTime: n.now(),
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err == nil {
		return nil
	}
	reason := "invalid"
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		reason = "unknown_ca"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		reason = "expired"
	case errors.As(err, &ci) && ci.Reason == x509.IncompatibleUsage:
		reason = "bad_usage"
	}
	return n.refuse(role, reason, peer+" ("+cs.PeerCertificates[0].Subject.CommonName+")", fmt.Errorf("ca: peer certificate: %w", err))
}

// refuse counts a refused handshake and logs it once per peer and reason:
// a misconfigured node retrying every second must not flood the log.
func (n *Node) refuse(role, reason, peer string, err error) error {
	metrics.LinkHandshakeRefused.WithLabelValues(role, reason).Inc()
	if n.logged.First(role + " " + reason + " " + peer) {
		n.log.Warn("link peer refused", "role", role, "reason", reason, "peer", peer, "err", err)
	}
	return err
}
