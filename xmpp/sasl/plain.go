package sasl

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// plainStep takes the PLAIN message authzid NUL authcid NUL passwd
// (RFC 4616 §2) and verifies it in one step.
func (s *Server) plainStep(msg []byte) ([]byte, bool, error) {
	parts := bytes.Split(msg, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 || !utf8.Valid(msg) {
		return nil, false, malformed("PLAIN needs [authzid] NUL authcid NUL passwd")
	}
	authzid, authcid, passwd := string(parts[0]), string(parts[1]), string(parts[2])
	username, ok := prepUsername(authcid)
	if !ok {
		return nil, false, notAuthorized(ErrUnknownUser)
	}
	password, err := precis.OpaqueString.String(passwd)
	if err != nil {
		return nil, false, notAuthorized(errBadProof)
	}
	ok, err = s.cfg.VerifyPlain(username, password)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return nil, false, notAuthorized(err)
	case err != nil:
		return nil, false, &Failure{Condition: TemporaryAuthFailure, Text: "credentials unavailable", cause: err}
	case !ok:
		return nil, false, notAuthorized(errBadProof)
	}
	if err := s.checkAuthzid(authzid, username); err != nil {
		return nil, false, err
	}
	s.username, s.authzid = username, authzid
	return nil, true, nil
}
