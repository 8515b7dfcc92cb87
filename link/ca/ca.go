// Package ca is the cluster certificate authority of the edge link: it
// creates the CA (`meridian ca init`), issues node certificates
// (`meridian ca issue`), builds the mutual-TLS configurations both ends of
// the link use, and keeps an automatic development CA in a data directory.
// It owns certificate files and peer verification; it must not know about
// the link's framing or about XMPP.
package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names inside a CA directory.
const (
	CertFile = "ca.crt"
	KeyFile  = "ca.key"
)

// Validity of what this package creates unless told otherwise.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	NodeValidity = 365 * 24 * time.Hour
)

// Init creates a CA (ECDSA P-256, ten years) in dir: ca.crt (0644) and
// ca.key (0600). It refuses to overwrite an existing CA.
func Init(dir string) error {
	return initAt(dir, time.Now())
}

func initAt(dir string, now time.Time) error {
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		return fmt.Errorf("ca: %s already holds a CA key", dir)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Meridian cluster CA", Organization: []string{"Meridian"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	return writePair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile), der, key)
}

// IssueOptions describes a node certificate.
type IssueOptions struct {
	Name  string   // node name: the subject's common name and a DNS SAN
	Hosts []string // more SANs: DNS names or IP addresses
	Out   string   // directory for NAME.crt and NAME.key; "" is the CA directory
	// Validity defaults to NodeValidity; NotBefore to now (less an hour
	// for clock skew).
	Validity  time.Duration
	NotBefore time.Time
}

// Issue signs a certificate for a node with the CA in dir. The
// certificate serves both ends of the link (server and client
// authentication). It returns the certificate and key file names.
func Issue(dir string, o IssueOptions) (certFile, keyFile string, err error) {
	if o.Name == "" || strings.ContainsAny(o.Name, `/\`) || strings.HasPrefix(o.Name, ".") {
		return "", "", fmt.Errorf("ca: invalid node name %q", o.Name)
	}
	caCert, caKey, err := load(dir)
	if err != nil {
		return "", "", err
	}
	if o.Validity == 0 {
		o.Validity = NodeValidity
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.Out == "" {
		o.Out = dir
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: o.Name, Organization: []string{"Meridian"}},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotBefore.Add(o.Validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range append([]string{o.Name}, o.Hosts...) {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", "", fmt.Errorf("ca: %w", err)
	}
	if err := os.MkdirAll(o.Out, 0o700); err != nil {
		return "", "", fmt.Errorf("ca: %w", err)
	}
	certFile = filepath.Join(o.Out, o.Name+".crt")
	keyFile = filepath.Join(o.Out, o.Name+".key")
	return certFile, keyFile, writePair(certFile, keyFile, der, key)
}

func load(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CertFile))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("ca: %s: not PEM", dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, errors.New("ca: " + CertFile + " is not a CA certificate")
	}
	return cert, key, nil
}

func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	// WriteFile keeps the mode of a file that exists; a key must not.
	if err := os.Chmod(keyFile, 0o600); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("ca: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}
