package sasl_test

import (
	"testing"

	mellium "mellium.im/sasl"

	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// BenchmarkScramSHA256Exchange is one full SCRAM-SHA-256 login at 4096
// iterations: the mellium client (whose PBKDF2 dominates) and the server.
func BenchmarkScramSHA256Exchange(b *testing.B) {
	cfg := users(b)
	creds := mellium.Credentials(func() ([]byte, []byte, []byte) { return []byte("user"), []byte("pencil"), nil })
	b.ReportAllocs()
	for b.Loop() {
		s, err := sasl.NewServer(sasl.SCRAMSHA256, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := exchange(b, mellium.NewClient(mellium.ScramSha256, creds), s); err != nil {
			b.Fatal(err)
		}
	}
}
