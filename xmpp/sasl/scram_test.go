package sasl

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
	"testing"
)

// TestVectors replays RFC 5802 §5 (SCRAM-SHA-1) and RFC 7677 §3
// (SCRAM-SHA-256) byte for byte, user "user", password "pencil".
func TestVectors(t *testing.T) {
	tests := []struct {
		mech, hash, salt, sNonce string
		clientFirst, serverFirst string
		clientFinal, serverFinal string
	}{
		{
			SCRAMSHA1, SHA1, "QSXCR+Q6sek8bf92", "3rfcNHYJY1ZVvWVs7j",
			"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			SCRAMSHA256, SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
			"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	}
	for _, tc := range tests {
		t.Run(tc.mech, func(t *testing.T) {
			salt, _ := base64.StdEncoding.DecodeString(tc.salt)
			creds, err := DeriveCredentials(tc.hash, "pencil", salt, 4096)
			if err != nil {
				t.Fatal(err)
			}
			lookup := func(u string) (Credentials, error) {
				if u != "user" {
					return Credentials{}, ErrUnknownUser
				}
				return creds, nil
			}
			s, err := NewServer(tc.mech, Config{Lookup1: lookup, Lookup256: lookup})
			if err != nil {
				t.Fatal(err)
			}
			s.nonce = func() string { return tc.sNonce }
			out, done, err := s.Step([]byte(tc.clientFirst))
			if err != nil || done || string(out) != tc.serverFirst {
				t.Fatalf("server-first = %q, %v, %v; want %q", out, done, err, tc.serverFirst)
			}
			out, done, err = s.Step([]byte(tc.clientFinal))
			if err != nil || !done || string(out) != tc.serverFinal {
				t.Fatalf("server-final = %q, %v, %v; want %q", out, done, err, tc.serverFinal)
			}
			if s.Username() != "user" || s.Authzid() != "" {
				t.Fatalf("Username, Authzid = %q, %q", s.Username(), s.Authzid())
			}
		})
	}
}

var testCB = []byte("0123456789abcdef0123456789abcdef") // a tls-exporter value

// exchangeCase is one SCRAM exchange driven by the hand-written client.
type exchangeCase struct {
	name     string
	mech     string
	cfg      func(*Config)
	user     string // as the client sends it, escaped
	password string
	gs2      string // gs2-header; "n,," if empty
	clientCB []byte // binding data the client appends to c= with 'p'
	// cbHeader, when set, replaces the gs2 header repeated in c=.
	cbHeader string
	nonce    func(full string) string // tampers with r= of the final
	ext      string                   // extensions before p=
	proof    func(p string) string    // tampers with the proof

	wantFirst string // failure condition at client-first
	want      string // failure condition at client-final; "" success
	username  string // expected Username on success
	authzid   string
}

func TestScramExchanges(t *testing.T) {
	plus := func(c *Config) { c.ChannelBinding, c.PlusAvailable = testCB, true }
	advertised := func(c *Config) { c.PlusAvailable = true }
	domain := func(c *Config) { c.Domain = "example.com" }
	tests := []exchangeCase{
		{name: "sha1", mech: SCRAMSHA1, username: "user"},
		{name: "sha256", mech: SCRAMSHA256, username: "user"},
		{name: "username case mapped", mech: SCRAMSHA256, user: "USER", username: "user"},
		{name: "username width mapped", mech: SCRAMSHA256, user: "ｕｓｅｒ", username: "user"},
		{name: "escaped username", mech: SCRAMSHA256, user: "a=2Cb=3Dc", password: "comma", username: "a,b=c"},
		{name: "unicode username", mech: SCRAMSHA256, user: "Σωκράτης", password: "hemlock", username: "σωκράτης"},
		{name: "extension ignored", mech: SCRAMSHA256, ext: ",x=whatever", username: "user"},
		{name: "wrong password", mech: SCRAMSHA256, password: "pencils", want: NotAuthorized},
		{name: "unknown user", mech: SCRAMSHA256, user: "nobody", want: NotAuthorized},
		{name: "unpreparable user", mech: SCRAMSHA256, user: "a b", want: NotAuthorized},
		{name: "tampered nonce", mech: SCRAMSHA256, nonce: func(n string) string { return n + "x" }, want: MalformedRequest},
		{name: "client nonce only", mech: SCRAMSHA256, nonce: func(string) string { return "fyko+d2lbbFgONRv9qkxdawL" }, want: MalformedRequest},
		{name: "tampered proof", mech: SCRAMSHA256, proof: flipProof, want: NotAuthorized},
		{name: "short proof", mech: SCRAMSHA256, proof: func(string) string { return "AAAA" }, want: MalformedRequest},
		{name: "c= header differs", mech: SCRAMSHA256, cbHeader: "y,,", want: NotAuthorized},

		// Channel binding (RFC 5802 §6, RFC 9266).
		{name: "plus sha256", mech: SCRAMSHA256Plus, cfg: plus, gs2: "p=tls-exporter,,", clientCB: testCB, username: "user"},
		{name: "plus sha1", mech: SCRAMSHA1Plus, cfg: plus, gs2: "p=tls-exporter,,", clientCB: testCB, username: "user"},
		{name: "plus binding mismatch", mech: SCRAMSHA256Plus, cfg: plus, gs2: "p=tls-exporter,,", clientCB: []byte("another channel"), want: NotAuthorized},
		{name: "plus binding missing", mech: SCRAMSHA256Plus, cfg: plus, gs2: "p=tls-exporter,,", want: NotAuthorized},
		{name: "plus with n", mech: SCRAMSHA256Plus, cfg: plus, gs2: "n,,", wantFirst: MalformedRequest},
		{name: "plus with y", mech: SCRAMSHA256Plus, cfg: plus, gs2: "y,,", wantFirst: MalformedRequest},
		{name: "plus with tls-unique", mech: SCRAMSHA256Plus, cfg: plus, gs2: "p=tls-unique,,", wantFirst: MalformedRequest},
		{name: "p on non-plus", mech: SCRAMSHA256, cfg: plus, gs2: "p=tls-exporter,,", clientCB: testCB, wantFirst: MalformedRequest},
		{name: "downgrade", mech: SCRAMSHA256, cfg: advertised, gs2: "y,,", wantFirst: NotAuthorized},
		{name: "y without plus offered", mech: SCRAMSHA256, gs2: "y,,", username: "user"},
		{name: "n while plus offered", mech: SCRAMSHA256, cfg: plus, username: "user"},

		// Authorization identities (RFC 6120 §6.3.8).
		{name: "authzid self", mech: SCRAMSHA256, gs2: "n,a=user,", username: "user", authzid: "user"},
		{name: "authzid self unprepared", mech: SCRAMSHA256, gs2: "n,a=User,", username: "user", authzid: "User"},
		{name: "authzid bare JID", mech: SCRAMSHA256, cfg: domain, gs2: "n,a=user@Example.com,", username: "user", authzid: "user@Example.com"},
		{name: "authzid bare JID no domain", mech: SCRAMSHA256, gs2: "n,a=user@example.com,", want: InvalidAuthzid},
		{name: "authzid other domain", mech: SCRAMSHA256, cfg: domain, gs2: "n,a=user@example.net,", want: InvalidAuthzid},
		{name: "authzid full JID", mech: SCRAMSHA256, cfg: domain, gs2: "n,a=user@example.com/r,", want: InvalidAuthzid},
		{name: "authzid other user", mech: SCRAMSHA256, gs2: "n,a=admin,", want: InvalidAuthzid},
		{name: "authzid other user, wrong password", mech: SCRAMSHA256, gs2: "n,a=admin,", password: "x", want: NotAuthorized},
		{name: "authzid with plus", mech: SCRAMSHA256Plus, cfg: plus, gs2: "p=tls-exporter,a=user,", clientCB: testCB, username: "user", authzid: "user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runExchange(t, tc) })
	}
}

func flipProof(p string) string {
	b, _ := base64.StdEncoding.DecodeString(p)
	b[0] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

var accounts = testAccounts{"user": "pencil", "a,b=c": "comma", "σωκράτης": "hemlock"}

func runExchange(t *testing.T, tc exchangeCase) {
	t.Helper()
	cfg := accounts.config()
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	if tc.user == "" {
		tc.user = "user"
	}
	if tc.password == "" {
		tc.password = "pencil"
	}
	if tc.gs2 == "" {
		tc.gs2 = "n,,"
	}
	var h func() hash.Hash = sha256.New
	if strings.HasPrefix(tc.mech, SCRAMSHA1) && !strings.HasPrefix(tc.mech, SCRAMSHA256) {
		h = sha1.New
	}
	s, err := NewServer(tc.mech, cfg)
	if err != nil {
		t.Fatal(err)
	}
	bare := "n=" + tc.user + ",r=fyko+d2lbbFgONRv9qkxdawL"
	out, done, err := s.Step([]byte(tc.gs2 + bare))
	if tc.wantFirst != "" {
		wantFailure(t, err, tc.wantFirst)
		return
	}
	if err != nil || done {
		t.Fatalf("client-first: %v, done %v", err, done)
	}
	sf := string(out)
	if salt, iter := parseServerFirst(sf); len(salt) == 0 || iter < 1 {
		t.Fatalf("server-first %q", sf)
	}
	nonce := serverNonce(sf)
	if !strings.HasPrefix(nonce, "fyko+d2lbbFgONRv9qkxdawL") || len(nonce) < 24+16 {
		t.Fatalf("server nonce %q", nonce)
	}
	if tc.nonce != nil {
		nonce = tc.nonce(nonce)
	}
	header := tc.gs2
	if tc.cbHeader != "" {
		header = tc.cbHeader
	}
	without := "c=" + base64.StdEncoding.EncodeToString(append([]byte(header), tc.clientCB...)) + ",r=" + nonce + tc.ext
	proof, serverSig := proveFinal(h, tc.password, bare, sf, without)
	if tc.proof != nil {
		proof = tc.proof(proof)
	}
	out, done, err = s.Step([]byte(without + ",p=" + proof))
	if tc.want != "" {
		wantFailure(t, err, tc.want)
		if done || out != nil || s.Username() != "" {
			t.Fatalf("failure with done %v, out %q, username %q", done, out, s.Username())
		}
		return
	}
	if err != nil || !done {
		t.Fatalf("client-final: %v, done %v", err, done)
	}
	if string(out) != "v="+serverSig {
		t.Fatalf("server-final %q, want v=%s", out, serverSig)
	}
	if s.Username() != tc.username || s.Authzid() != tc.authzid {
		t.Fatalf("Username, Authzid = %q, %q; want %q, %q", s.Username(), s.Authzid(), tc.username, tc.authzid)
	}
	if _, _, err := s.Step([]byte("c=biws")); err == nil {
		t.Fatal("Step after success did not fail")
	}
}

// TestUnknownUserIndistinguishable checks that an unknown user gets a
// server-first-message shaped like a real one, with a salt that stays the
// same across attempts and across -PLUS, so it cannot be told apart.
func TestUnknownUserIndistinguishable(t *testing.T) {
	cfg := accounts.config()
	cfg.ChannelBinding = testCB
	salts := map[string]bool{}
	for _, mech := range []string{SCRAMSHA256, SCRAMSHA256Plus, SCRAMSHA256} {
		gs2 := "n,,"
		if strings.HasSuffix(mech, "-PLUS") {
			gs2 = "p=tls-exporter,,"
		}
		s, _ := NewServer(mech, cfg)
		out, _, err := s.Step([]byte(gs2 + "n=nobody,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		salt, iter := parseServerFirst(string(out))
		if iter != 4096 || len(salt) != saltLen {
			t.Fatalf("server-first %q", out)
		}
		salts[string(salt)] = true
	}
	if len(salts) != 1 {
		t.Fatalf("unknown user got %d different salts", len(salts))
	}
	cfg.UnknownUserIterations = 10000
	s, _ := NewServer(SCRAMSHA1, cfg)
	out, _, _ := s.Step([]byte("n,,n=nobody,r=abc"))
	if _, iter := parseServerFirst(string(out)); iter != 10000 {
		t.Fatalf("UnknownUserIterations ignored: %q", out)
	}
	// The cause is there for logs and metrics, never in the text sent.
	s, _ = NewServer(SCRAMSHA1, cfg)
	out, _, _ = s.Step([]byte("n,,n=nobody,r=abc"))
	without := "c=biws,r=" + serverNonce(string(out))
	p, _ := proveFinal(sha1.New, "x", "n=nobody,r=abc", string(out), without)
	_, _, err := s.Step([]byte(without + ",p=" + p))
	var f *Failure
	if !errors.As(err, &f) || !errors.Is(err, ErrUnknownUser) || f.Text != notAuthorized(nil).Text {
		t.Fatalf("unknown user failure = %v", err)
	}
}

func TestScramLookupErrors(t *testing.T) {
	broken := errors.New("disk on fire")
	tests := []struct {
		name   string
		lookup Lookup
		step1  string // condition at client-first, "" for none
	}{
		{"storage error", func(string) (Credentials, error) { return Credentials{}, broken }, TemporaryAuthFailure},
		{"wrapped unknown user", func(string) (Credentials, error) { return Credentials{}, errors.Join(ErrUnknownUser) }, ""},
		{"no credentials for hash", func(string) (Credentials, error) { return Credentials{}, nil }, ""},
		{"corrupt credentials", func(string) (Credentials, error) {
			return Credentials{Salt: []byte("s"), Iterations: 1, StoredKey: []byte("short"), ServerKey: []byte("short")}, nil
		}, TemporaryAuthFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(SCRAMSHA256, Config{Lookup256: tc.lookup})
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := s.Step([]byte("n,,n=user,r=abc"))
			if tc.step1 != "" {
				wantFailure(t, err, tc.step1)
				if tc.step1 == TemporaryAuthFailure && tc.name == "storage error" && !errors.Is(err, broken) {
					t.Fatalf("cause lost: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			without := "c=biws,r=" + serverNonce(string(out))
			p, _ := proveFinal(sha256.New, "pencil", "n=user,r=abc", string(out), without)
			_, _, err = s.Step([]byte(without + ",p=" + p))
			wantFailure(t, err, NotAuthorized)
		})
	}
}

func TestNewServer(t *testing.T) {
	full := accounts.config()
	full.ChannelBinding = testCB
	for _, m := range []string{SCRAMSHA1, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA256Plus, PLAIN} {
		s, err := NewServer(m, full)
		if err != nil || s.Mechanism() != m {
			t.Errorf("NewServer(%s) = %v", m, err)
		}
	}
	noCB := accounts.config()
	tests := []struct {
		mech string
		cfg  Config
	}{
		{"DIGEST-MD5", full},
		{"scram-sha-256", full},
		{"", full},
		{SCRAMSHA256Plus, noCB},
		{SCRAMSHA1Plus, noCB},
		{SCRAMSHA256, Config{Lookup1: noCB.Lookup1}},
		{SCRAMSHA1, Config{Lookup256: noCB.Lookup256}},
		{PLAIN, Config{Lookup256: noCB.Lookup256}},
	}
	for _, tc := range tests {
		_, err := NewServer(tc.mech, tc.cfg)
		var f *Failure
		if !errors.As(err, &f) || f.Condition != InvalidMechanism {
			t.Errorf("NewServer(%q) error = %v, want invalid-mechanism", tc.mech, err)
		}
	}
}

// TestEmptyInitialResponse: no initial response earns an empty challenge
// (RFC 6120 §6.4.2), once.
func TestEmptyInitialResponse(t *testing.T) {
	s, _ := NewServer(SCRAMSHA256, accounts.config())
	out, done, err := s.Step(nil)
	if err != nil || done || out == nil || len(out) != 0 {
		t.Fatalf("Step(nil) = %q, %v, %v", out, done, err)
	}
	if out, _, err := s.Step([]byte("n,,n=user,r=abc")); err != nil || !bytes.HasPrefix(out, []byte("r=abc")) {
		t.Fatalf("client-first after empty challenge = %q, %v", out, err)
	}

	s, _ = NewServer(SCRAMSHA256, accounts.config())
	s.Step(nil)
	_, _, err = s.Step(nil)
	wantFailure(t, err, MalformedRequest)
}

func TestScramGarbage(t *testing.T) {
	firsts := []string{
		"n", "n,", "n,,", "x,,n=user,r=abc", ",,n=user,r=abc", "n,,n=user", "n,,r=abc,n=user",
		"n,,n=,r=abc", "n,,n=us=er,r=abc", "n,,n=us=2c,r=abc", "n,,n=user,r=", "n,,n=user,r=a b",
		"n,,n=user,r=abc\x7f", "p=,,n=user,r=abc", "p=tls exporter,,n=user,r=abc",
		"n,b=x,n=user,r=abc", "n,a=,n=user,r=abc", "n,a=x=y,n=user,r=abc", "n,,n=user,r=abc,1=x",
		"n,,n=user,r=abc,x=", "n,,n=user,r=abc,p=x", "n,,n=us\x00er,r=abc", "n,,n=\xff,r=abc",
		"n,,m=ext,n=user,r=abc", "n,,n=user,x=1,r=abc", "n,,n=user,,r=abc",
		strings.Repeat("n", maxMessage+1),
	}
	for _, m := range firsts {
		s, _ := NewServer(SCRAMSHA256, accounts.config())
		_, _, err := s.Step([]byte(m))
		wantFailure(t, err, MalformedRequest)
		if _, _, err := s.Step([]byte("n,,n=user,r=abc")); err == nil {
			t.Fatalf("exchange went on after failing on %q", m)
		}
	}
	finals := []string{
		"", "c=biws", "c=biws,r=NONCE", "r=NONCE,c=biws,p=AAAA", "c=!!!!,r=NONCE,p=AAAA",
		"c=biws,r=NONCE,p=***", "c=biws,r=NONCE,p=", "c=biws\n,r=NONCE,p=AAAA", "c=,r=NONCE,p=AAAA",
		"c=biws,r=NONCE,x,p=AAAA", "c=biws,r=NONCE,p=AAAA,x=1", "c=biws,r=NONCE,p=AAAA,p=AAAA",
		"c=biws,r=NONCE,p=AAAA=", "c=biws,r=other,p=AAAA",
	}
	for _, m := range finals {
		s, _ := NewServer(SCRAMSHA256, accounts.config())
		out, _, err := s.Step([]byte("n,,n=user,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		m = strings.ReplaceAll(m, "NONCE", serverNonce(string(out)))
		_, done, err := s.Step([]byte(m))
		if done {
			t.Fatalf("done on %q", m)
		}
		wantFailure(t, err, MalformedRequest)
	}
}

func TestDeriveCredentials(t *testing.T) {
	salt := NewSalt()
	if len(salt) != 16 || bytes.Equal(salt, NewSalt()) {
		t.Fatalf("NewSalt = %x", salt)
	}
	c1, err := DeriveCredentials(SHA1, "pencil", salt, 16)
	if err != nil || len(c1.StoredKey) != 20 || len(c1.ServerKey) != 20 || c1.Iterations != 16 || c1.IsZero() {
		t.Fatalf("SHA-1 = %+v, %v", c1, err)
	}
	c256, err := DeriveCredentials(SHA256, "pencil", salt, 16)
	if err != nil || len(c256.StoredKey) != 32 || len(c256.ServerKey) != 32 {
		t.Fatalf("SHA-256 = %+v, %v", c256, err)
	}
	salt[0] ^= 1
	if c1.Salt[0] == salt[0] {
		t.Fatal("Credentials share the caller's salt")
	}
	// OpaqueString maps U+00A0 to U+0020 and composes to NFC.
	a, _ := DeriveCredentials(SHA256, "pen cil\u00e9", c256.Salt, 16)
	b, _ := DeriveCredentials(SHA256, "pen\u00a0cile\u0301", c256.Salt, 16)
	if !bytes.Equal(a.StoredKey, b.StoredKey) {
		t.Fatal("password not prepared with OpaqueString")
	}
	for _, tc := range []struct {
		hash, pw string
		salt     []byte
		it       int
	}{
		{"MD5", "pencil", salt, 16},
		{"sha-256", "pencil", salt, 16},
		{SHA256, "", salt, 16},
		{SHA256, "pen\x07cil", salt, 16},
		{SHA256, "pencil", nil, 16},
		{SHA256, "pencil", salt, 0},
	} {
		if _, err := DeriveCredentials(tc.hash, tc.pw, tc.salt, tc.it); err == nil {
			t.Errorf("DeriveCredentials(%q, %q, %x, %d) did not fail", tc.hash, tc.pw, tc.salt, tc.it)
		}
	}
}
