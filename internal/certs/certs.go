// Package certs provides the TLS certificates of a node: files named in
// the config, or a self-signed certificate generated on first run and
// kept in the data directory. It owns choosing a certificate by SNI; it
// must not know about XMPP streams.
package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Store picks a certificate by server name.
type Store struct {
	byName   map[string]*tls.Certificate
	fallback *tls.Certificate
}

// New returns an empty store.
func New() *Store { return &Store{byName: map[string]*tls.Certificate{}} }

// Add loads a PEM certificate and key for the given names (the first
// added becomes the fallback).
func (s *Store) Add(certFile, keyFile string, names ...string) error {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", certFile, err)
	}
	s.put(&c, names)
	return nil
}

func (s *Store) put(c *tls.Certificate, names []string) {
	for _, n := range names {
		s.byName[strings.ToLower(n)] = c
	}
	if s.fallback == nil {
		s.fallback = c
	}
}

// SelfSigned loads dir/selfsigned.{crt,key} if they exist and cover names,
// else generates and writes them (ECDSA P-256, valid ten years).
func (s *Store) SelfSigned(dir string, names []string) (string, error) {
	certFile := filepath.Join(dir, "selfsigned.crt")
	keyFile := filepath.Join(dir, "selfsigned.key")
	if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil {
		if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil && covers(leaf, names) && time.Now().Before(leaf.NotAfter) {
			s.put(&c, names)
			return certFile, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("certs: %w", err)
	}
	certPEM, keyPEM, err := Generate(names)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", fmt.Errorf("certs: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", fmt.Errorf("certs: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return "", fmt.Errorf("certs: %w", err)
	}
	s.put(&c, names)
	return certFile, nil
}

func covers(leaf *x509.Certificate, names []string) bool {
	for _, n := range names {
		if !slices.Contains(leaf.DNSNames, n) {
			return false
		}
	}
	return true
}

// Generate makes a self-signed certificate for names.
func Generate(names []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"Meridian self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(strings.Trim(n, "[]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// TLSConfig returns a server config choosing certificates by SNI.
func (s *Store) TLSConfig(minVersion uint16, alpn ...string) *tls.Config {
	return &tls.Config{
		MinVersion: minVersion,
		NextProtos: alpn,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c, ok := s.byName[strings.ToLower(hello.ServerName)]; ok {
				return c, nil
			}
			if s.fallback == nil {
				return nil, fmt.Errorf("certs: no certificate")
			}
			return s.fallback, nil
		},
	}
}
