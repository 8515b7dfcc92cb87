package ca

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DevDir is where Dev keeps the development CA inside a data directory.
const DevDir = "cluster-ca"

// Dev returns the link identity of a node of a local development cluster:
// it creates a CA under dataDir/cluster-ca when there is none, and a
// certificate for name (with hosts as more SANs) when there is none or it
// expires within a week. Nodes of a dev cluster that share a data
// directory root share the CA. Production clusters use `meridian ca`.
func Dev(dataDir, name string, hosts []string, log *slog.Logger) (*Node, error) {
	return DevIn(filepath.Join(dataDir, DevDir), name, hosts, log)
}

// DevIn is Dev with the CA directory itself given: the nodes of a local
// cluster, each with its own data directory, point at one directory.
func DevIn(dir, name string, hosts []string, log *slog.Logger) (*Node, error) {
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); os.IsNotExist(err) {
		if err := Init(dir); err != nil {
			return nil, err
		}
	}
	certFile := filepath.Join(dir, name+".crt")
	keyFile := filepath.Join(dir, name+".key")
	if !validFor(certFile, keyFile, 7*24*time.Hour) {
		var err error
		certFile, keyFile, err = Issue(dir, IssueOptions{Name: name, Hosts: append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)})
		if err != nil {
			return nil, err
		}
	}
	n, err := LoadNode(filepath.Join(dir, CertFile), certFile, keyFile, log)
	if err != nil {
		return nil, fmt.Errorf("ca: dev: %w", err)
	}
	return n, nil
}

func validFor(certFile, keyFile string, d time.Duration) bool {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	return err == nil && c.Leaf != nil && time.Now().Add(d).Before(c.Leaf.NotAfter)
}
