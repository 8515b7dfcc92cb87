package scenario

import (
	"context"
	"strconv"
)

func init() { Register("mam", mam{}) }

// mamSeed is how many messages each user sends before the queries, so
// that archives are not empty.
const mamSeed = 5

// mam queries message archives (XEP-0313, urn:xmpp:mam:2) at the run's
// rate: the latest 20 messages with the user's contacts. The latency is
// the query's round trip (until the IQ result, after the forwarded
// messages). A server without MAM answers errors, counted by kind
// (iq_error:service-unavailable, iq_error:feature-not-implemented).
type mam struct{}

func (mam) Prepare(ctx context.Context, e *Env) error {
	e.Announce(ctx)
	contacts := e.Contacts()
	for s, cs := range contacts {
		if len(cs) == 0 {
			continue
		}
		for i := range mamSeed {
			c := cs[i%len(cs)]
			s.Conn.Send([]byte("<message xmlns='jabber:client' type='chat' id='seed" + strconv.Itoa(i) + "' to='" + c.User.JID() + "'><body>" + chatBody + "</body></message>"))
		}
		s.Conn.Flush()
	}
	e.Sync(ctx)
	return nil
}

func (mam) Run(ctx context.Context, e *Env) error {
	st := e.Stamp
	e.Pace(ctx, e.Live(), func(b []byte, s *Session, n int64) []byte {
		b = append(b, "<iq xmlns='jabber:client' type='set' id='"...)
		b = st.Append(b)
		b = append(b, '-')
		b = strconv.AppendInt(b, n, 10)
		return append(b, "'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>20</max><before/></set></query></iq>"...)
	}, func(*Session) int { return 1 })
	return nil
}
