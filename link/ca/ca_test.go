package ca

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestInitIssue(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if rc := Main([]string{"init", "--dir", dir}, &out, &errb); rc != 0 {
		t.Fatalf("init: %d %s", rc, errb.String())
	}
	if rc := Main([]string{"init", "--dir", dir}, &out, &errb); rc != 1 {
		t.Fatalf("second init must refuse to overwrite, rc=%d", rc)
	}
	outDir := filepath.Join(dir, "nodes")
	if rc := Main([]string{"issue", "--dir", dir, "--name", "core1", "--host", "core1.example,10.0.0.7", "--out", outDir}, &out, &errb); rc != 0 {
		t.Fatalf("issue: %d %s", rc, errb.String())
	}
	for _, f := range []string{filepath.Join(dir, KeyFile), filepath.Join(outDir, "core1.key")} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, fi.Mode())
		}
	}
	n, err := LoadNode(filepath.Join(dir, CertFile), filepath.Join(outDir, "core1.crt"), filepath.Join(outDir, "core1.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf := n.Leaf()
	if leaf.Subject.CommonName != "core1" || len(leaf.DNSNames) != 2 || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal([]byte{10, 0, 0, 7}) {
		t.Fatalf("SANs: %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
	if d := time.Until(leaf.NotAfter); d < 360*24*time.Hour || d > 366*24*time.Hour {
		t.Fatalf("validity %v", d)
	}
	if len(leaf.ExtKeyUsage) != 2 {
		t.Fatalf("usage %v", leaf.ExtKeyUsage)
	}
	caPEM, _ := os.ReadFile(filepath.Join(dir, CertFile))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			t.Fatalf("usage %v: %v", u, err)
		}
	}
	for _, bad := range [][]string{{"issue", "--dir", dir}, {"issue", "--dir", dir, "--name", "../x"}, {"frob"}} {
		if rc := Main(bad, &out, &errb); rc == 0 {
			t.Fatalf("%v accepted", bad)
		}
	}
}

func TestDevReuses(t *testing.T) {
	dir := t.TempDir()
	a, err := Dev(dir, "edge1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dev(dir, "edge1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Leaf().Equal(b.Leaf()) {
		t.Fatal("a valid dev certificate was issued again")
	}
	c, err := Dev(dir, "core1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.Leaf().RawIssuer, a.Leaf().RawIssuer) {
		t.Fatal("dev nodes do not share the CA")
	}
}
