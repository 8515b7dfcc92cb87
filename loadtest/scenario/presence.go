package scenario

import (
	"context"
	"errors"
)

func init() { Register("presence", presence{}) }

// presence broadcasts presence updates at the run's rate: each reaches
// the sender's mutually subscribed contacts (RFC 6121 §4.4), so messages
// received = updates sent × contacts.
type presence struct{}

func (presence) Prepare(ctx context.Context, e *Env) error {
	if e.Params.RosterSize <= 0 {
		return errors.New("scenario presence: needs --roster-size > 0 (the contacts that receive the broadcasts)")
	}
	e.Announce(ctx)
	contacts := e.Contacts()
	e.EnsureRosters(ctx, contacts)
	for s, cs := range contacts {
		s.fanout = len(cs)
	}
	e.Sync(ctx)
	return nil
}

func (presence) Run(ctx context.Context, e *Env) error {
	var ss []*Session
	for _, s := range e.Live() {
		if s.fanout > 0 {
			ss = append(ss, s)
		}
	}
	st := e.Stamp
	e.Pace(ctx, ss, func(b []byte, s *Session, n int64) []byte {
		b = append(b, "<presence xmlns='jabber:client' id='"...)
		b = st.Append(b)
		if n%2 == 0 {
			return append(b, "'><show>chat</show><status>load</status></presence>"...)
		}
		return append(b, "'><show>away</show><status>load</status></presence>"...)
	}, func(s *Session) int { return s.fanout })
	return nil
}
