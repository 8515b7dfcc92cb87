package sasl

import (
	"crypto/sha256"
	"testing"
)

// BenchmarkScramSHA256Server is the server's share of one SCRAM-SHA-256
// exchange at 4096 iterations. Given stored credentials the server computes
// HMACs only, never PBKDF2, so with its nonce fixed the same client
// messages, computed once, are replayed.
func BenchmarkScramSHA256Server(b *testing.B) {
	creds, err := DeriveCredentials(SHA256, "pencil", NewSalt(), 4096)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Lookup256: func(string) (Credentials, error) { return creds, nil }}
	const first, bare = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "n=user,r=rOprNGfwEbeRWgbNEkqO"
	fixed := func() string { return "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0" }
	s, _ := NewServer(SCRAMSHA256, cfg)
	s.nonce = fixed
	sf, _, err := s.Step([]byte(first))
	if err != nil {
		b.Fatal(err)
	}
	without := "c=biws,r=" + serverNonce(string(sf))
	proof, _ := proveFinal(sha256.New, "pencil", bare, string(sf), without)
	final := []byte(without + ",p=" + proof)
	b.ReportAllocs()
	for b.Loop() {
		s, _ := NewServer(SCRAMSHA256, cfg)
		s.nonce = fixed
		if _, _, err := s.Step([]byte(first)); err != nil {
			b.Fatal(err)
		}
		if _, done, err := s.Step(final); err != nil || !done {
			b.Fatal(err)
		}
	}
}
