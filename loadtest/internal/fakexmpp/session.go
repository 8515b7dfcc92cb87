package fakexmpp

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

type session struct {
	srv  *Server
	st   stream
	bare string
}

func (s *Server) serve(st stream) {
	defer st.close()
	ss := &session{srv: s, st: st}
	if err := ss.negotiate(); err != nil {
		if ss.bare != "" {
			s.remove(ss.bare, ss)
		}
		return
	}
	defer s.remove(ss.bare, ss)
	ss.route()
}

func (ss *session) send(s string) error {
	if err := ss.st.write([]byte(s)); err != nil {
		return err
	}
	return ss.st.flush()
}

func (ss *session) open(features string) error {
	if _, err := ss.st.decoder().ReadStart(); err != nil {
		return err
	}
	if err := ss.st.write([]byte(ss.st.header())); err != nil {
		return err
	}
	return ss.send("<stream:features>" + features + "</stream:features>")
}

func (ss *session) next() (xmltok.Raw, error) { return ss.st.decoder().Next() }

// negotiate: SASL PLAIN for anyone, then resource binding.
func (ss *session) negotiate() error {
	if err := ss.open("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>"); err != nil {
		return err
	}
	raw, err := ss.next()
	if err != nil {
		return err
	}
	el, err := xmltok.Parse(raw.Bytes, "jabber:client", nil)
	if err != nil || el.Local != "auth" {
		return errors.New("fakexmpp: expected auth")
	}
	creds, err := base64.StdEncoding.DecodeString(el.Text)
	parts := bytes.Split(creds, []byte{0})
	if err != nil || len(parts) != 3 || len(parts[1]) == 0 {
		ss.send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>")
		return errors.New("fakexmpp: bad PLAIN")
	}
	ss.bare = string(parts[1]) + "@localhost"
	if err := ss.send("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"); err != nil {
		return err
	}
	ss.st.restart()
	sess := "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"
	if ss.srv.RequireSession {
		sess = "<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"
	}
	if err := ss.open("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>" + sess); err != nil {
		return err
	}
	raw, err = ss.next()
	if err != nil {
		return err
	}
	el, err = xmltok.Parse(raw.Bytes, "jabber:client", nil)
	if err != nil || el.Local != "iq" {
		return errors.New("fakexmpp: expected bind")
	}
	res := "fake"
	if b := el.Child("urn:ietf:params:xml:ns:xmpp-bind", "bind"); b != nil && b.Child("", "resource") != nil {
		res = b.Child("", "resource").Text
	}
	// Routable before the client learns it is bound, so that a message
	// sent right after another client's login finds it.
	ss.srv.add(ss.bare, ss)
	return ss.send("<iq xmlns='jabber:client' type='result' id='" + el.Attr("id") + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" + ss.bare + "/" + res + "</jid></bind></iq>")
}

// route forwards messages to their recipients; writes to a recipient are
// flushed when this session's input is drained, so that a burst costs one
// write per recipient.
func (ss *session) route() {
	dec := ss.st.decoder()
	touched := map[*session]bool{}
	for {
		raw, err := dec.Next()
		if err != nil {
			return
		}
		switch raw.Local {
		case "message":
			if to := ss.srv.route(bareJID(raw.To)); to != nil {
				to.st.write(raw.Bytes)
				touched[to] = true
				ss.srv.Forwarded.Add(1)
			} else {
				ss.srv.Dropped.Add(1)
			}
		case "iq":
			if raw.Type == "get" || raw.Type == "set" {
				if bytes.Contains(raw.Bytes, []byte("urn:ietf:params:xml:ns:xmpp-session")) {
					ss.srv.Sessions.Add(1)
				}
				ss.st.write([]byte("<iq xmlns='jabber:client' type='result' id='" + string(xmltok.EscapeAttr(nil, raw.ID)) + "'/>"))
				touched[ss] = true
			}
		}
		if dec.Buffered() == 0 {
			for s := range touched {
				s.st.flush()
				delete(touched, s)
			}
		}
	}
}
