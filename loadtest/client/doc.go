// Package client is the load harness's XMPP client. It connects over TCP
// with STARTTLS, direct TLS (XEP-0368) or WebSocket (RFC 7395),
// authenticates with SASL PLAIN, SCRAM-SHA-1 or SCRAM-SHA-256, binds a
// resource (and opens the legacy session when the server requires it),
// timing each step; then it reads stanzas with Meridian's tokenizer
// without building element trees, answers the server's IQs and approves
// subscription requests. It speaks plain RFC 6120/6121 so that it works
// against any server; it must not know about scenarios or measurements.
package client
