package scenario

import (
	"context"
)

func init() { Register("chat", chat{}) }

// chatBody is about as long as a short chat line.
const chatBody = "Load test message, about as long as a short chat line."

// chat sends one-to-one messages (type chat, to the contact's bare JID)
// at the run's rate among users whose rosters hold RosterSize mutually
// subscribed contacts; each user writes to its contacts in turn.
type chat struct{}

func (chat) Prepare(ctx context.Context, e *Env) error {
	e.Announce(ctx)
	contacts := e.Contacts()
	e.EnsureRosters(ctx, contacts)
	for s, cs := range contacts {
		s.tmpl = s.tmpl[:0]
		for _, c := range cs {
			s.tmpl = append(s.tmpl, []byte("<message xmlns='jabber:client' to='"+c.User.JID()+"' type='chat' id='"))
		}
	}
	e.Sync(ctx)
	return nil
}

func (chat) Run(ctx context.Context, e *Env) error {
	var ss []*Session
	for _, s := range e.Live() {
		if len(s.tmpl) > 0 {
			ss = append(ss, s)
		}
	}
	e.Pace(ctx, ss, renderChat(e.Stamp), func(*Session) int { return 1 })
	return nil
}

func renderChat(st *Stamp) Render {
	const tail = "'><body>" + chatBody + "</body></message>"
	return func(b []byte, s *Session, n int64) []byte {
		b = append(b, s.tmpl[n%int64(len(s.tmpl))]...)
		b = st.Append(b)
		return append(b, tail...)
	}
}
