package scenario

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
)

// EnsureRosters gives every session its contacts as roster items with a
// mutual subscription (RFC 6121 §2, §3), creating only what is missing:
// a later run with the same users finds them and sends nothing, and
// rosters provisioned by other means are used as they are. Missing items
// are added with a roster set, then each side sends a subscription
// request, which the other side's client approves. Requests are repeated
// for what is still missing (a server may lose one when both sides
// subscribe at once) until the rosters agree, or until Params.Timeout
// passes without progress; rosters that never agree are counted as
// "roster:incomplete".
func (e *Env) EnsureRosters(ctx context.Context, contacts map[*Session][]*Session) {
	if e.Params.Rosters == "skip" || e.Params.RosterSize <= 0 {
		return
	}
	todo := e.missing(ctx, contacts, nil)
	best, since := len(todo), time.Now()
	for len(todo) > 0 && ctx.Err() == nil {
		e.request(ctx, todo)
		sleep(ctx, 300*time.Millisecond)
		todo = e.missing(ctx, contacts, todo)
		if len(todo) < best {
			best, since = len(todo), time.Now()
		} else if time.Since(since) > e.Params.timeout() {
			break
		}
	}
	if len(todo) > 0 {
		e.Stats.Errors.AddN("roster:incomplete", int64(len(todo)))
	}
}

// request adds the missing items and asks for the missing subscriptions:
// s subscribes to a contact it has no "to" subscription with, and a
// contact that lacks the "from" direction subscribes to s again (its own
// roster may say "both": the server kept only one side's update).
func (e *Env) request(ctx context.Context, todo map[*Session][]rosterItem) {
	e.ForEach(ctx, 32, func(ctx context.Context, s *Session) {
		items, ok := todo[s]
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, e.Params.timeout())
		defer cancel()
		for _, it := range items {
			if it.sub == "" { // not on the roster yet
				id := s.Conn.NewID()
				el, err := s.Conn.Request(ctx, id, []byte("<iq xmlns='jabber:client' type='set' id='"+id+"'><query xmlns='jabber:iq:roster'><item jid='"+it.c.User.JID()+"'/></query></iq>"))
				if err != nil {
					e.Stats.Errors.Add(client.Key("roster:set", err))
					return
				}
				if el.Attr("type") != "result" {
					e.Stats.Errors.Add("roster:set-refused")
				}
			}
			if it.sub != "to" {
				s.Conn.Send([]byte("<presence xmlns='jabber:client' type='subscribe' to='" + it.c.User.JID() + "'/>"))
			}
			if it.sub == "to" || it.sub == "none" {
				it.c.Conn.Send([]byte("<presence xmlns='jabber:client' type='subscribe' to='" + s.User.JID() + "'/>"))
				it.c.Conn.Flush()
			}
		}
		if err := s.Conn.Flush(); err != nil {
			e.Stats.Errors.Add(client.Key("send", err))
		}
	})
}

type rosterItem struct {
	c   *Session // the contact
	sub string   // its subscription on s's roster, "" when absent
}

// missing asks the roster of each session (of only, when not nil) and
// returns the contacts whose subscription is not "both", with the
// subscription they have ("" when absent).
func (e *Env) missing(ctx context.Context, contacts map[*Session][]*Session, only map[*Session][]rosterItem) map[*Session][]rosterItem {
	var mu sync.Mutex
	out := map[*Session][]rosterItem{}
	e.ForEach(ctx, 32, func(ctx context.Context, s *Session) {
		cs := contacts[s]
		if len(cs) == 0 {
			return
		}
		if only != nil {
			if _, ok := only[s]; !ok {
				return
			}
		}
		ctx, cancel := context.WithTimeout(ctx, e.Params.timeout())
		defer cancel()
		id := s.Conn.NewID()
		el, err := s.Conn.Request(ctx, id, []byte("<iq xmlns='jabber:client' type='get' id='"+id+"'><query xmlns='jabber:iq:roster'/></iq>"))
		if err != nil {
			e.Stats.Errors.Add(client.Key("roster:get", err))
			return
		}
		have := map[string]string{}
		if q := el.Child("jabber:iq:roster", "query"); q != nil {
			for _, it := range q.ChildrenNamed("jabber:iq:roster", "item") {
				sub := it.Attr("subscription")
				if sub == "" {
					sub = "none"
				}
				have[strings.ToLower(it.Attr("jid"))] = sub
			}
		}
		var miss []rosterItem
		for _, c := range cs {
			j := c.User.JID()
			if sub := have[strings.ToLower(j)]; sub != "both" {
				miss = append(miss, rosterItem{c, sub})
			}
		}
		if len(miss) > 0 {
			mu.Lock()
			out[s] = miss
			mu.Unlock()
		}
	})
	return out
}
