package node_test

import (
	"crypto/tls"
	"encoding/base64"
	"testing"

	msasl "mellium.im/sasl"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// saslExchange runs the client side of SASL (mellium's client) over any
// transport: roundTrip sends one nonza and returns the server's next SASL
// element. A -PLUS mechanism binds to cs. The server's signature is
// checked on success.
func saslExchange(t *testing.T, mech, user, pass string, cs *tls.ConnectionState, roundTrip func(nonza string) *xmltok.Element) {
	t.Helper()
	m := map[string]msasl.Mechanism{"PLAIN": msasl.Plain, "SCRAM-SHA-1": msasl.ScramSha1, "SCRAM-SHA-256-PLUS": msasl.ScramSha256Plus}[mech]
	opts := []msasl.Option{msasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(pass), nil })}
	if cs != nil {
		opts = append(opts, msasl.TLSState(*cs), msasl.RemoteMechanisms(mech))
	}
	n := msasl.NewClient(m, opts...)
	_, resp, err := n.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding
	el := roundTrip("<auth xmlns='" + stanza.NSSASL + "' mechanism='" + mech + "'>" + b64.EncodeToString(resp) + "</auth>")
	for {
		switch el.Local {
		case "challenge":
			ch, _ := b64.DecodeString(el.Text)
			_, resp, err := n.Step(ch)
			if err != nil {
				t.Fatal(err)
			}
			el = roundTrip("<response xmlns='" + stanza.NSSASL + "'>" + b64.EncodeToString(resp) + "</response>")
		case "success":
			if mech != "PLAIN" {
				data, _ := b64.DecodeString(el.Text)
				if _, _, err := n.Step(data); err != nil {
					t.Fatalf("server signature: %v", err)
				}
			}
			return
		default:
			t.Fatalf("SASL: %s", el)
		}
	}
}
