package c2s

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// features appends <stream:features/> for the current stage.
func (s *stream) features(b []byte) []byte {
	b = append(b, "<stream:features>"...)
	core := s.srv.opts.Core
	switch {
	case !s.user.IsZero():
		b = append(b, "<bind xmlns='"+stanza.NSBind+"'/><session xmlns='"+stanza.NSSession+"'><optional/></session><sm xmlns='"+stanza.NSSM+"'/><csi xmlns='"+stanza.NSCSI+"'/>"...)
		for _, el := range core.StreamFeatures(s.domain, false) {
			b = el.Append(b, stanza.NSClient)
		}
	case !s.secure && !s.framed:
		b = append(b, "<starttls xmlns='"+stanza.NSTLS+"'>"...)
		if s.srv.opts.RequireStartTLS {
			b = append(b, "<required/>"...)
		}
		b = append(b, "</starttls>"...)
		if !s.srv.opts.RequireStartTLS {
			b = s.mechanisms(b)
			for _, el := range core.StreamFeatures(s.domain, true) {
				b = el.Append(b, stanza.NSClient)
			}
		}
	default:
		b = s.mechanisms(b)
		if s.channelBinding() != nil {
			// XEP-0440: the channel-binding types we support.
			b = append(b, "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>"...)
		}
		for _, el := range core.StreamFeatures(s.domain, true) {
			b = el.Append(b, stanza.NSClient)
		}
	}
	return append(b, "</stream:features>"...)
}

// offered lists the mechanisms this stream may use now.
func (s *stream) offered() []string {
	var out []string
	cb := s.channelBinding() != nil
	for _, m := range s.srv.opts.Mechanisms {
		switch {
		case strings.HasSuffix(m, "-PLUS") && !cb:
		case m == sasl.PLAIN && !s.secure:
		default:
			out = append(out, m)
		}
	}
	return out
}

func (s *stream) mechanisms(b []byte) []byte {
	b = append(b, "<mechanisms xmlns='"+stanza.NSSASL+"'>"...)
	for _, m := range s.offered() {
		b = append(b, "<mechanism>"...)
		b = append(b, m...)
		b = append(b, "</mechanism>"...)
	}
	return append(b, "</mechanisms>"...)
}

// channelBinding returns the tls-exporter binding (RFC 9266), defined only
// for TLS 1.3.
func (s *stream) channelBinding() []byte {
	if s.tlsState == nil || s.tlsState.Version != tls.VersionTLS13 {
		return nil
	}
	cb, err := s.tlsState.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		return nil
	}
	return cb
}

// sasl runs one SASL exchange (RFC 6120 §6.4) starting at <auth/>.
func (s *stream) sasl(raw *xmltok.Raw) error {
	if !s.user.IsZero() {
		return &stanza.StreamError{Condition: stanza.PolicyViolation, Text: "already authenticated"}
	}
	if raw.Local != "auth" {
		return s.saslFail("", "malformed-request")
	}
	if s.tlsRequired() {
		return s.saslFail("", "encryption-required")
	}
	el, err := xmltok.Parse(raw.Bytes, stanza.NSClient, nil)
	if err != nil {
		return err
	}
	mech := el.Attr("mechanism")
	allowed := false
	for _, m := range s.offered() {
		allowed = allowed || m == mech
	}
	if !allowed {
		return s.saslFail(mech, "invalid-mechanism")
	}
	ctx := context.Background()
	core := s.srv.opts.Core
	srv, err := sasl.NewServer(mech, sasl.Config{
		Lookup1: func(u string) (sasl.Credentials, error) {
			return core.Credentials(ctx, s.domain, u, "SHA-1")
		},
		Lookup256: func(u string) (sasl.Credentials, error) {
			return core.Credentials(ctx, s.domain, u, "SHA-256")
		},
		VerifyPlain: func(u, p string) (bool, error) {
			return core.VerifyPassword(ctx, s.domain, u, p)
		},
		ChannelBinding: s.channelBinding(),
		PlusAvailable:  s.channelBinding() != nil && hasPlus(s.offered()) && !s.cbMismatch,
	})
	if err != nil {
		return s.saslFail(mech, "invalid-mechanism")
	}
	in, ok := decode64(el.Text)
	if !ok {
		return s.saslFail(mech, "incorrect-encoding")
	}
	if strings.HasSuffix(mech, "-PLUS") {
		s.noteBindingType(in)
	}
	for {
		out, done, err := srv.Step(in)
		if err != nil {
			var f *sasl.Failure
			if errors.As(err, &f) {
				return s.saslFail(mech, f.Condition)
			}
			return s.saslFail(mech, "temporary-auth-failure")
		}
		if done {
			user, err := jid.New(srv.Username(), s.domain, "")
			if err != nil {
				return s.saslFail(mech, "not-authorized")
			}
			metrics.AuthResults.WithLabelValues(mech, "success").Inc()
			b := []byte("<success xmlns='" + stanza.NSSASL + "'>")
			b = append(b, base64.StdEncoding.EncodeToString(out)...)
			b = append(b, "</success>"...)
			if err := s.write(b); err != nil {
				return err
			}
			s.user = user
			s.log = s.log.With("user", user.String())
			// RFC 6120 §6.4.6: the stream restarts on the same connection.
			return s.openStream()
		}
		b := []byte("<challenge xmlns='" + stanza.NSSASL + "'>")
		b = append(b, base64.StdEncoding.EncodeToString(out)...)
		b = append(b, "</challenge>"...)
		if err := s.write(b); err != nil {
			return err
		}
		next, err := s.dec.Next()
		if err != nil {
			return err
		}
		if next.Space != stanza.NSSASL {
			return &stanza.StreamError{Condition: stanza.NotAuthorized}
		}
		switch next.Local {
		case "abort":
			return s.saslFail(mech, "aborted")
		case "response":
		default:
			return s.saslFail(mech, "malformed-request")
		}
		rel, err := xmltok.Parse(next.Bytes, stanza.NSClient, nil)
		if err != nil {
			return err
		}
		if in, ok = decode64(rel.Text); !ok {
			return s.saslFail(mech, "incorrect-encoding")
		}
	}
}

func hasPlus(ms []string) bool {
	for _, m := range ms {
		if strings.HasSuffix(m, "-PLUS") {
			return true
		}
	}
	return false
}

// saslFail sends <failure/> and counts it; too many failures end the
// stream (RFC 6120 §6.4.5).
func (s *stream) saslFail(mech, cond string) error {
	if mech == "" {
		mech = "none"
	}
	metrics.AuthResults.WithLabelValues(mech, cond).Inc()
	if err := s.write([]byte("<failure xmlns='" + stanza.NSSASL + "'><" + cond + "/></failure>")); err != nil {
		return err
	}
	s.failures++
	if s.failures >= s.srv.opts.MaxAuthFailures {
		return &stanza.StreamError{Condition: stanza.PolicyViolation, Text: "too many authentication failures"}
	}
	return nil
}

// decode64 decodes SASL data: "=" is an empty response (RFC 6120 §6.4.2).
func decode64(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// noteBindingType remembers that the client tried a -PLUS mechanism with a
// channel-binding type we do not offer (e.g. tls-unique, undefined on TLS
// 1.3). Such a client saw our -PLUS mechanisms, so when it retries with
// the 'y' flag that is not a downgrade (RFC 5802 §6 guards against
// -PLUS being stripped from the list; XEP-0440 tells clients which types
// we have). Without this, Debian 12's slixmpp and others that only know
// tls-unique could never log in.
func (s *stream) noteBindingType(initial []byte) {
	gs2, _, _ := strings.Cut(string(initial), ",")
	if name, ok := strings.CutPrefix(gs2, "p="); ok && name != "tls-exporter" {
		s.cbMismatch = true
	}
}
