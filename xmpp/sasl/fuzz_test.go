package sasl

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"strings"
	"testing"
)

var fuzzMechs = []string{SCRAMSHA1, SCRAMSHA1Plus, SCRAMSHA256, SCRAMSHA256Plus, PLAIN}

var conditions = map[string]bool{
	Aborted: true, AccountDisabled: true, CredentialsExpired: true, EncryptionRequired: true,
	IncorrectEncoding: true, InvalidAuthzid: true, InvalidMechanism: true, MalformedRequest: true,
	MechanismTooWeak: true, NotAuthorized: true, TemporaryAuthFailure: true,
}

// fuzzConfig builds a Config from the bits of flags: channel binding,
// PlusAvailable, Domain.
func fuzzConfig(flags uint8, verified *bool) Config {
	cfg := accounts.config()
	if flags&1 != 0 {
		cfg.ChannelBinding = testCB
	}
	cfg.PlusAvailable = flags&2 != 0
	cfg.UnknownUserIterations = 64 // keeps the test side of FuzzScramFinal fast
	if flags&4 != 0 {
		cfg.Domain = "example.com"
	}
	verify := cfg.VerifyPlain
	cfg.VerifyPlain = func(u, p string) (bool, error) {
		ok, err := verify(u, p)
		*verified = *verified || ok
		return ok, err
	}
	return cfg
}

// FuzzServer feeds arbitrary bytes as the initial response and the
// following responses. The server must never panic, must fail with a
// *Failure carrying an RFC 6120 condition, must stay failed, and can never
// succeed: the fuzzer cannot know the random server nonce, so it cannot
// send a valid SCRAM proof, and PLAIN succeeds only when VerifyPlain said
// yes.
func FuzzServer(f *testing.F) {
	f.Add(uint8(2), uint8(0), []byte("n,,n=user,r=abc"), []byte("c=biws,r=abcdef,p=AAAA"), []byte(""))
	f.Add(uint8(3), uint8(3), []byte("p=tls-exporter,a=user,n=user,r=abc"), []byte("c=cD10bHMtZXhwb3J0ZXIsYT11c2VyLA==,r=abc,p=AAAA"), []byte("x"))
	f.Add(uint8(0), uint8(2), []byte("y,,n=user,r=abc"), []byte("c=eSws,r=abc,x=1,p=AAAA"), []byte(""))
	f.Add(uint8(4), uint8(0), []byte("\x00user\x00pencil"), []byte(""), []byte(""))
	f.Add(uint8(4), uint8(4), []byte(""), []byte("user@example.com\x00user\x00pencil"), []byte(""))
	f.Add(uint8(1), uint8(1), []byte(""), []byte("n,,n=us=2Cer,r=abc"), []byte("c=biws"))
	f.Add(uint8(2), uint8(0), []byte("n,,m=x,n=user,r=abc"), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, mech, flags uint8, m1, m2, m3 []byte) {
		var verified bool
		name := fuzzMechs[int(mech)%len(fuzzMechs)]
		s, err := NewServer(name, fuzzConfig(flags, &verified))
		if err != nil {
			wantFailure(t, err, InvalidMechanism)
			return
		}
		failed := false
		for _, m := range [][]byte{m1, m2, m3} {
			out, done, err := s.Step(m)
			if failed {
				if err == nil {
					t.Fatal("Step succeeded after a failure")
				}
				continue
			}
			if err != nil {
				var f *Failure
				if !errors.As(err, &f) || !conditions[f.Condition] {
					t.Fatalf("error %v is not a SASL failure", err)
				}
				if out != nil || done || s.Username() != "" {
					t.Fatal("failure with output, done or username")
				}
				failed = true
				continue
			}
			if done {
				if name != PLAIN || !verified || s.Username() == "" {
					t.Fatalf("%s done on %q %q %q", name, m1, m2, m3)
				}
				failed = true // no further step may succeed
			}
		}
	})
}

// FuzzScramFinal lets the fuzzer write both client messages while the test
// supplies a correct proof for whatever AuthMessage they form, with the
// server nonce fixed so the fuzzer can learn it. Success must then still
// imply that c= and r= were right: the exact gs2 header, the binding data
// with 'p', and the full nonce.
func FuzzScramFinal(f *testing.F) {
	const sNonce = "SERVERNONCE"
	cbB64 := base64.StdEncoding.EncodeToString(append([]byte("p=tls-exporter,,"), testCB...))
	f.Add(uint8(2), uint8(0), "n,,n=user,r=abc", "c=biws,r=abc"+sNonce)
	f.Add(uint8(0), uint8(0), "n,a=user,n=User,r=abc", "c=bixhPXVzZXIs,r=abc"+sNonce+",x=y")
	f.Add(uint8(3), uint8(3), "p=tls-exporter,,n=user,r=abc", "c="+cbB64+",r=abc"+sNonce)
	f.Add(uint8(2), uint8(0), "y,,n=user,r=abc", "c=eSws,r=abc"+sNonce)
	f.Fuzz(func(t *testing.T, mech, flags uint8, first, without string) {
		var verified bool
		name := fuzzMechs[int(mech)%(len(fuzzMechs)-1)] // SCRAM only
		var h func() hash.Hash = sha256.New
		if name == SCRAMSHA1 || name == SCRAMSHA1Plus {
			h = sha1.New
		}
		cfg := fuzzConfig(flags, &verified)
		s, err := NewServer(name, cfg)
		if err != nil {
			return
		}
		s.nonce = func() string { return sNonce }
		out, _, err := s.Step([]byte(first))
		if err != nil || len(out) == 0 {
			return
		}
		sf := string(out)
		// The test's own reading of the client-first-message.
		i := strings.IndexByte(first, ',')
		j := strings.IndexByte(first[i+1:], ',')
		header, bare := first[:i+j+2], first[i+j+2:]
		proof, sig := proveFinal(h, "pencil", bare, sf, without)
		out, done, err := s.Step([]byte(without + ",p=" + proof))
		if !done {
			return
		}
		if err != nil || string(out) != "v="+sig {
			t.Fatalf("done with %q, %v", out, err)
		}
		cb := []byte(header)
		if header[0] == 'p' {
			cb = append(cb, cfg.ChannelBinding...)
		}
		attrs := strings.Split(bare, ",")
		want := "c=" + base64.StdEncoding.EncodeToString(cb) + ",r=" + strings.TrimPrefix(attrs[1], "r=") + sNonce
		if without != want && !strings.HasPrefix(without, want+",") {
			t.Fatalf("accepted %q after %q; c= and r= should be %q", without, first, want)
		}
		if s.Username() != "user" {
			t.Fatalf("username %q", s.Username())
		}
	})
}
