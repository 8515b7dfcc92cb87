package xmltok

// Interning: the names and values that almost every stanza carries are
// returned as constant strings, so that they neither allocate nor keep a
// stanza's bytes alive, and compare by pointer. A switch on string(b)
// does not allocate.

func internLocal(b []byte) string {
	switch string(b) {
	case "message":
		return "message"
	case "presence":
		return "presence"
	case "iq":
		return "iq"
	case "r":
		return "r"
	case "a":
		return "a"
	case "body":
		return "body"
	case "enable":
		return "enable"
	case "resume":
		return "resume"
	case "auth":
		return "auth"
	case "response":
		return "response"
	case "abort":
		return "abort"
	case "starttls":
		return "starttls"
	case "features":
		return "features"
	case "error":
		return "error"
	case "handshake":
		return "handshake"
	case "result":
		return "result"
	case "verify":
		return "verify"
	case "open":
		return "open"
	case "close":
		return "close"
	}
	return alias(b)
}

func internNS(b []byte) string {
	switch string(b) {
	case "jabber:client":
		return "jabber:client"
	case "jabber:server":
		return "jabber:server"
	case "jabber:component:accept":
		return "jabber:component:accept"
	case "urn:xmpp:sm:3":
		return "urn:xmpp:sm:3"
	case "urn:ietf:params:xml:ns:xmpp-sasl":
		return "urn:ietf:params:xml:ns:xmpp-sasl"
	case "urn:ietf:params:xml:ns:xmpp-tls":
		return "urn:ietf:params:xml:ns:xmpp-tls"
	case "urn:ietf:params:xml:ns:xmpp-bind":
		return "urn:ietf:params:xml:ns:xmpp-bind"
	case "urn:ietf:params:xml:ns:xmpp-framing":
		return "urn:ietf:params:xml:ns:xmpp-framing"
	case "urn:xmpp:sasl:2":
		return "urn:xmpp:sasl:2"
	case "http://etherx.jabber.org/streams":
		return "http://etherx.jabber.org/streams"
	case "jabber:server:dialback":
		return "jabber:server:dialback"
	case "urn:xmpp:csi:0":
		return "urn:xmpp:csi:0"
	}
	return alias(b)
}

func internType(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "chat":
		return "chat"
	case "normal":
		return "normal"
	case "groupchat":
		return "groupchat"
	case "headline":
		return "headline"
	case "error":
		return "error"
	case "get":
		return "get"
	case "set":
		return "set"
	case "result":
		return "result"
	case "unavailable":
		return "unavailable"
	case "subscribe":
		return "subscribe"
	case "subscribed":
		return "subscribed"
	case "unsubscribe":
		return "unsubscribe"
	case "unsubscribed":
		return "unsubscribed"
	case "probe":
		return "probe"
	case "valid":
		return "valid"
	case "invalid":
		return "invalid"
	}
	return alias(b)
}
