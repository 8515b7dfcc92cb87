// Package sasl implements the server side of the SASL mechanisms Meridian
// offers (RFC 4422): SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants with
// tls-exporter channel binding (RFC 5802, RFC 7677, RFC 9266), and PLAIN
// (RFC 4616). It owns the mechanism exchanges and credential derivation; it
// must not know about streams, storage or XML.
package sasl

// Credentials is what the server stores for one hash function: never the
// password itself (RFC 5802 §3).
type Credentials struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// IsZero reports whether c holds no credentials.
func (c Credentials) IsZero() bool { return len(c.StoredKey) == 0 }
