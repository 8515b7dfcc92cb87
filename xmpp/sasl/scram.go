package sasl

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
)

// cbType is the only channel binding type Meridian offers: tls-exporter
// (RFC 9266), defined for TLS 1.3, where tls-unique is not.
const cbType = "tls-exporter"

// defaultUnknownIterations is the iteration count shown for unknown users
// unless Config says otherwise (RFC 7677 §4 minimum).
const defaultUnknownIterations = 4096

// scramState is what a SCRAM exchange keeps between its two steps.
type scramState struct {
	hashName string
	hash     func() hash.Hash
	lookup   Lookup
	plus     bool

	first       clientFirst
	username    string // prepared
	serverFirst string
	nonce       string // c-nonce + s-nonce
	creds       Credentials
	// unknown is set when there is no such user: the exchange goes on
	// with made-up credentials and fails only at the proof, as a wrong
	// password does (RFC 5802 §9 on user enumeration).
	unknown error
}

// scramFirst takes client-first-message and answers server-first-message.
func (s *Server) scramFirst(msg []byte) ([]byte, bool, error) {
	sc := &s.scram
	c, f := parseClientFirst(string(msg))
	if f != nil {
		return nil, false, f
	}
	// RFC 5802 §6 and RFC 9266: which gs2-cbind-flag each mechanism allows.
	switch {
	case sc.plus && c.flag != 'p':
		return nil, false, malformed("-PLUS mechanism without channel binding")
	case sc.plus && c.cbName != cbType:
		return nil, false, malformed("unsupported channel binding type " + c.cbName)
	case !sc.plus && c.flag == 'p':
		return nil, false, malformed("channel binding requested with a non-PLUS mechanism")
	case c.flag == 'y' && s.cfg.PlusAvailable:
		// The client could bind and believes we cannot: someone removed
		// the -PLUS mechanisms from our offer.
		return nil, false, notAuthorized(errors.New("sasl: channel binding downgrade"))
	}
	sc.first = c

	username, ok := prepUsername(c.username)
	var creds Credentials
	var err error
	if ok {
		creds, err = sc.lookup(username)
	} else {
		err = ErrUnknownUser // cannot be an account name
	}
	switch {
	case errors.Is(err, ErrUnknownUser) || err == nil && creds.IsZero():
		sc.unknown = ErrUnknownUser
		creds = s.fakeCredentials(c.username)
	case err != nil:
		return nil, false, &Failure{Condition: TemporaryAuthFailure, Text: "credentials unavailable", cause: err}
	case len(creds.StoredKey) != sc.hash().Size() || len(creds.ServerKey) != sc.hash().Size() ||
		len(creds.Salt) == 0 || creds.Iterations < 1:
		return nil, false, &Failure{Condition: TemporaryAuthFailure, Text: "credentials unavailable",
			cause: errors.New("sasl: stored credentials are invalid")}
	}
	sc.username, sc.creds = username, creds
	sc.nonce = c.nonce + s.nonce()

	b := make([]byte, 0, 64+len(sc.nonce))
	b = append(b, "r="...)
	b = append(b, sc.nonce...)
	b = append(b, ",s="...)
	b = base64.StdEncoding.AppendEncode(b, creds.Salt)
	b = append(b, ",i="...)
	b = strconv.AppendInt(b, int64(creds.Iterations), 10)
	sc.serverFirst = string(b)
	s.step = (*Server).scramFinal
	return b, false, nil
}

// scramFinal takes client-final-message, checks the proof and answers
// server-final-message.
func (s *Server) scramFinal(msg []byte) ([]byte, bool, error) {
	sc := &s.scram
	c, f := parseClientFinal(string(msg))
	if f != nil {
		return nil, false, f
	}
	if subtle.ConstantTimeCompare([]byte(c.nonce), []byte(sc.nonce)) != 1 {
		return nil, false, malformed("nonce mismatch")
	}
	// c= is the gs2 header again, followed by the binding data with 'p'
	// (RFC 5802 §7); anything else means the two ends are on different
	// channels, or the header was tampered with.
	want := []byte(sc.first.header)
	if sc.first.flag == 'p' {
		want = append(want, s.cfg.ChannelBinding...)
	}
	if subtle.ConstantTimeCompare(c.cbind, want) != 1 {
		return nil, false, notAuthorized(errors.New("sasl: channel binding mismatch"))
	}
	if len(c.proof) != sc.hash().Size() {
		return nil, false, malformed("proof has the wrong length")
	}

	authMessage := make([]byte, 0, len(sc.first.bare)+len(sc.serverFirst)+len(c.withoutProof)+2)
	authMessage = append(authMessage, sc.first.bare...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, sc.serverFirst...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, c.withoutProof...)

	// RFC 5802 §3: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
	// and the proof holds when H(ClientKey) is StoredKey.
	clientKey := hmacSum(sc.hash, sc.creds.StoredKey, authMessage)
	subtle.XORBytes(clientKey, clientKey, c.proof)
	h := sc.hash()
	h.Write(clientKey)
	proofOK := subtle.ConstantTimeCompare(h.Sum(nil), sc.creds.StoredKey) == 1
	serverSignature := hmacSum(sc.hash, sc.creds.ServerKey, authMessage)

	switch {
	case sc.unknown != nil:
		return nil, false, notAuthorized(sc.unknown)
	case !proofOK:
		return nil, false, notAuthorized(errBadProof)
	}
	if err := s.checkAuthzid(sc.first.authzid, sc.username); err != nil {
		return nil, false, err
	}
	s.username, s.authzid = sc.username, sc.first.authzid

	out := make([]byte, 0, 2+base64.StdEncoding.EncodedLen(len(serverSignature)))
	out = append(out, "v="...)
	out = base64.StdEncoding.AppendEncode(out, serverSignature)
	return out, true, nil
}

// fakeKey makes the salts of unknown users: stable for one name and hash,
// so asking twice, or with and without -PLUS, does not reveal that the
// account is made up; unrelated across processes.
var fakeKey = func() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}()

func (s *Server) fakeCredentials(name string) Credentials {
	salt := hmacSum(sha256.New, fakeKey, []byte(s.scram.hashName), []byte{0}, []byte(name))[:saltLen]
	it := s.cfg.UnknownUserIterations
	if it <= 0 {
		it = defaultUnknownIterations
	}
	n := s.scram.hash().Size()
	keys := make([]byte, 2*n)
	rand.Read(keys)
	return Credentials{Salt: salt, Iterations: it, StoredKey: keys[:n], ServerKey: keys[n:]}
}
