package loadtest

import (
	"context"
	"sort"
	"strconv"
	"time"
)

// A scenario prepares the logged-in users (presence, rosters) and then
// generates load for Config.Duration. New scenarios register here.
type scenario struct {
	prepare func(ctx context.Context, r *runner)
	run     func(ctx context.Context, r *runner)
}

var scenarios = map[string]scenario{
	// login: the logins themselves are the load (logins per second).
	"login": {},
	// idle: users stay connected and silent (memory per session).
	"idle": {run: func(ctx context.Context, r *runner) { sleep(ctx, r.cfg.Duration) }},
	// chat: one-to-one messages at Rate among users with rosters of
	// RosterSize contacts.
	"chat": {prepare: prepareChat, run: runChat},
	// presence: presence updates at Rate, broadcast to RosterSize
	// mutually subscribed contacts.
	"presence": {prepare: preparePresence, run: runPresence},
	// mam: message archive queries (XEP-0313) at Rate.
	"mam": {prepare: announce, run: runMAM},
}

// ScenarioNames lists the scenarios.
func ScenarioNames() []string {
	var out []string
	for n := range scenarios {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (r *runner) all() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*session(nil), r.sessions...)
}

// contact is the j-th roster contact of session i: the next users in order.
func contact(ss []*session, i, j int) *session { return ss[(i+1+j)%len(ss)] }

// announce sends initial presence, so that messages to bare JIDs are
// delivered (RFC 6121 §8.5.2.1.1).
func announce(ctx context.Context, r *runner) {
	for _, s := range r.all() {
		s.conn.Write([]byte("<presence/>"))
		if err := s.conn.Flush(); err != nil {
			r.errs.Add("send")
		}
	}
	sleep(ctx, 500*time.Millisecond)
}

// rosters adds each user's contacts with roster sets (no subscription).
func rosters(ctx context.Context, r *runner) {
	ss := r.all()
	if len(ss) < 2 {
		return
	}
	k := min(r.cfg.RosterSize, len(ss)-1)
	for i, s := range ss {
		for j := 0; j < k; j++ {
			c := contact(ss, i, j)
			s.conn.Write([]byte("<iq type='set' id='r" + strconv.Itoa(j) + "'><query xmlns='jabber:iq:roster'><item jid='" + c.user.JID(r.cfg.Domain) + "'/></query></iq>"))
		}
		if err := s.conn.Flush(); err != nil {
			r.errs.Add("send")
		}
	}
	sleep(ctx, 500*time.Millisecond)
}

func prepareChat(ctx context.Context, r *runner) {
	rosters(ctx, r)
	announce(ctx, r)
}

// preparePresence makes every roster pair mutually subscribed: each side
// pre-approves (RFC 6121 §3.4), then each asks.
func preparePresence(ctx context.Context, r *runner) {
	ss := r.all()
	if len(ss) < 2 {
		return
	}
	k := min(r.cfg.RosterSize, len(ss)-1)
	announce(ctx, r)
	for _, typ := range []string{"subscribed", "subscribe"} {
		for i, s := range ss {
			for j := 0; j < k; j++ {
				c := contact(ss, i, j)
				s.conn.Write([]byte("<presence to='" + c.user.JID(r.cfg.Domain) + "' type='" + typ + "'/>"))
			}
			s.conn.Flush()
		}
		sleep(ctx, time.Second)
	}
	// The reverse direction: each contact pre-approves and asks too.
	for _, typ := range []string{"subscribed", "subscribe"} {
		for i := range ss {
			for j := 0; j < k; j++ {
				c := contact(ss, i, j)
				c.conn.Write([]byte("<presence to='" + ss[i].user.JID(r.cfg.Domain) + "' type='" + typ + "'/>"))
			}
		}
		for _, s := range ss {
			s.conn.Flush()
		}
		sleep(ctx, time.Second)
	}
}

// pace calls send Rate times a second for Duration from one goroutine,
// then flushes every connection it wrote to.
func (r *runner) pace(ctx context.Context, send func(k int64, s *session, now time.Time, buf []byte) []byte) {
	ss := r.all()
	if len(ss) == 0 || r.cfg.Rate <= 0 {
		sleep(ctx, r.cfg.Duration)
		return
	}
	const tick = 2 * time.Millisecond
	start := time.Now()
	end := start.Add(r.cfg.Duration)
	touched := make([]bool, len(ss))
	var (
		k   int64
		buf = make([]byte, 0, 512)
		t   = time.NewTicker(tick)
	)
	defer t.Stop()
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		due := int64(r.cfg.Rate * now.Sub(start).Seconds())
		for ; k < due; k++ {
			i := int(k % int64(len(ss)))
			s := ss[i]
			if r.cfg.Think > 0 {
				if now.Sub(s.last) < r.cfg.Think {
					r.errs.Add("think_time_skip")
					continue
				}
				s.last = now
			}
			buf = send(k, s, now, buf[:0])
			s.conn.Write(buf)
			touched[i] = true
			r.sent.Add(1)
		}
		for i, ok := range touched {
			if ok {
				if err := ss[i].conn.Flush(); err != nil {
					r.errs.Add("send")
				}
				touched[i] = false
			}
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

func runChat(ctx context.Context, r *runner) {
	ss := r.all()
	k := max(1, min(r.cfg.RosterSize, len(ss)-1))
	domain := r.cfg.Domain
	r.pace(ctx, func(n int64, s *session, now time.Time, b []byte) []byte {
		c := contact(ss, s.idx%len(ss), int(n/int64(len(ss)))%k)
		b = append(b, "<message to='"...)
		b = append(b, c.user.Local...)
		b = append(b, '@')
		b = append(b, domain...)
		b = append(b, "' type='chat' id='t"...)
		b = strconv.AppendInt(b, now.UnixNano(), 10)
		b = append(b, "'><body>Load test message, about as long as a short chat line.</body></message>"...)
		return b
	})
}

func runPresence(ctx context.Context, r *runner) {
	r.pace(ctx, func(n int64, s *session, now time.Time, b []byte) []byte {
		b = append(b, "<presence id='t"...)
		b = strconv.AppendInt(b, now.UnixNano(), 10)
		b = append(b, "'><status>load "...)
		b = strconv.AppendInt(b, n, 10)
		return append(b, "</status></presence>"...)
	})
}

func runMAM(ctx context.Context, r *runner) {
	r.pace(ctx, func(n int64, s *session, now time.Time, b []byte) []byte {
		b = append(b, "<iq type='set' id='t"...)
		b = strconv.AppendInt(b, now.UnixNano(), 10)
		return append(b, "'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>50</max><before/></set></query></iq>"...)
	})
}
