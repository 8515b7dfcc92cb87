package sasl

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"golang.org/x/text/secure/precis"
)

// Mechanism names (RFC 5802, RFC 7677, RFC 4616).
const (
	SCRAMSHA1       = "SCRAM-SHA-1"
	SCRAMSHA1Plus   = "SCRAM-SHA-1-PLUS"
	SCRAMSHA256     = "SCRAM-SHA-256"
	SCRAMSHA256Plus = "SCRAM-SHA-256-PLUS"
	PLAIN           = "PLAIN"
)

// Lookup returns the stored credentials of an account for one hash. It
// returns ErrUnknownUser (or zero Credentials) when there is no account or
// no credentials for that hash.
type Lookup func(username string) (Credentials, error)

// PlainVerify checks a password for SASL PLAIN. It returns ErrUnknownUser
// or false when there is no such account.
type PlainVerify func(username, password string) (bool, error)

// Config is what one exchange needs from its connection and from storage.
type Config struct {
	// Lookup1 and Lookup256 return SHA-1 and SHA-256 credentials. A nil
	// Lookup disables the mechanisms of its hash.
	Lookup1, Lookup256 Lookup
	// VerifyPlain checks PLAIN passwords; nil disables PLAIN.
	VerifyPlain PlainVerify
	// ChannelBinding is the tls-exporter channel binding data (RFC 9266)
	// of the connection, nil when not over TLS 1.3; without it the -PLUS
	// mechanisms are refused.
	ChannelBinding []byte
	// PlusAvailable tells whether the server advertised -PLUS mechanisms
	// on this connection. A client that says it could bind but thinks the
	// server cannot ('y') is then the victim of a downgrade (RFC 5802 §6).
	PlusAvailable bool
	// Domain is the domainpart the client authenticates to. When set, an
	// authzid equal to the user's own bare JID (RFC 6120 §6.3.8) is
	// accepted as well as the bare username.
	Domain string
	// UnknownUserIterations is the iteration count shown to clients that
	// name an unknown user; it should match what real accounts use.
	// Zero means 4096.
	UnknownUserIterations int
}

// Server is the server side of one SASL exchange. It is not safe for
// concurrent use; a new exchange needs a new Server.
type Server struct {
	mech string
	cfg  Config
	// step handles the next client message; nil once the exchange has
	// ended, in success or failure.
	step     func(*Server, []byte) ([]byte, bool, error)
	started  bool // the first Step has been called
	username string
	authzid  string

	scram scramState
	// nonce returns the server's part of the SCRAM nonce; tests replace
	// it to replay fixed exchanges.
	nonce func() string
}

// maxMessage bounds any single client message, well above what a valid
// one needs (a 1023-byte username escaped three times over plus nonces).
const maxMessage = 8 << 10

// NewServer starts an exchange for mechanism. An unknown mechanism, or one
// cfg cannot serve (a -PLUS one without ChannelBinding, one whose Lookup
// is nil), is a *Failure with condition invalid-mechanism.
func NewServer(mechanism string, cfg Config) (*Server, error) {
	s := &Server{mech: mechanism, cfg: cfg, nonce: randomNonce}
	var hashName string
	var lookup Lookup
	switch mechanism {
	case PLAIN:
		if cfg.VerifyPlain == nil {
			return nil, fail(InvalidMechanism, "PLAIN is not available")
		}
		s.step = (*Server).plainStep
		return s, nil
	case SCRAMSHA1, SCRAMSHA1Plus:
		hashName, lookup = SHA1, cfg.Lookup1
	case SCRAMSHA256, SCRAMSHA256Plus:
		hashName, lookup = SHA256, cfg.Lookup256
	default:
		return nil, fail(InvalidMechanism, "unknown mechanism")
	}
	plus := strings.HasSuffix(mechanism, "-PLUS")
	if lookup == nil || plus && len(cfg.ChannelBinding) == 0 {
		return nil, fail(InvalidMechanism, mechanism+" is not available")
	}
	s.scram = scramState{hashName: hashName, hash: hashFunc(hashName), lookup: lookup, plus: plus}
	s.step = (*Server).scramFirst
	return s, nil
}

// Mechanism returns the name of the mechanism s runs.
func (s *Server) Mechanism() string { return s.mech }

// Step takes the client's initial response (empty when it sent none) and
// then each response, and returns the next challenge, or the additional
// data of success with done set. An error is always a *Failure and ends the
// exchange.
func (s *Server) Step(clientMsg []byte) (serverMsg []byte, done bool, err error) {
	if s.step == nil {
		return nil, false, malformed("exchange has ended")
	}
	first := !s.started
	s.started = true
	switch {
	case len(clientMsg) > maxMessage:
		s.step = nil
		return nil, false, malformed("message too long")
	case first && len(clientMsg) == 0:
		// RFC 6120 §6.4.2: both mechanisms are client-first, so no
		// initial response earns an empty challenge.
		return []byte{}, false, nil
	}
	serverMsg, done, err = s.step(s, clientMsg)
	if err != nil || done {
		s.step = nil
	}
	if err != nil {
		s.username, s.authzid = "", ""
		return nil, false, err
	}
	return serverMsg, done, nil
}

// Username returns the authenticated username, prepared with the
// UsernameCaseMapped profile, once Step has returned done; "" before.
func (s *Server) Username() string {
	if s.step != nil {
		return ""
	}
	return s.username
}

// Authzid returns the authorization identity the client sent, "" if none.
// It is only accepted when it names the user itself, so after success it
// carries no new information.
func (s *Server) Authzid() string {
	if s.step != nil {
		return ""
	}
	return s.authzid
}

// prepUsername prepares a SASL simple username (RFC 6120 §6.3.7), which
// in XMPP is a localpart: UsernameCaseMapped (RFC 8265 §3.3, RFC 7622
// §3.3.1).
func prepUsername(u string) (string, bool) {
	p, err := precis.UsernameCaseMapped.String(u)
	return p, err == nil && p != ""
}

// checkAuthzid accepts an empty authzid, the username itself, or, with a
// Domain configured, the user's bare JID (RFC 6120 §6.3.8). Anything else
// asks to act as someone else, which Meridian does not allow.
func (s *Server) checkAuthzid(authzid, username string) error {
	if authzid == "" {
		return nil
	}
	if !strings.ContainsAny(authzid, "@/") {
		if p, ok := prepUsername(authzid); ok && p == username {
			return nil
		}
		return fail(InvalidAuthzid, "authzid is not the authenticated user")
	}
	if s.cfg.Domain != "" {
		want, err1 := jid.New(username, s.cfg.Domain, "")
		got, err2 := jid.Parse(authzid)
		if err1 == nil && err2 == nil && got.Equal(want) {
			return nil
		}
	}
	return fail(InvalidAuthzid, "authzid is not the authenticated user")
}

// randomNonce returns 18 random bytes in base64: printable and without ','
// as RFC 5802 §5.1 requires of a nonce.
func randomNonce() string {
	var b [18]byte
	rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}
