package scenario

// Contacts are formed as groups of RosterSize+1 users whose rosters hold
// each other: subscriptions are mutual, and a presence reaches exactly
// the other members. User i belongs to group i mod G with G =
// Users/(RosterSize+1), so groups differ in size by at most one and every
// roster has RosterSize or RosterSize+1 contacts; with fewer users than
// RosterSize+1 everyone is in one group.
func (e *Env) groupOf(index int) int {
	g := max(1, e.Params.Users/(e.Params.RosterSize+1))
	return index % g
}

// Contacts returns every live session's contacts: the other live members
// of its group, in order. With RosterSize 0 each session has one partner,
// the next live session, and no roster.
func (e *Env) Contacts() map[*Session][]*Session {
	live := e.Live()
	out := make(map[*Session][]*Session, len(live))
	if len(live) < 2 {
		return out
	}
	if e.Params.RosterSize <= 0 {
		for i, s := range live {
			out[s] = []*Session{live[(i+1)%len(live)]}
		}
		return out
	}
	groups := map[int][]*Session{}
	for _, s := range live {
		g := e.groupOf(s.Index)
		groups[g] = append(groups[g], s)
	}
	for _, s := range live {
		members := groups[e.groupOf(s.Index)]
		cs := make([]*Session, 0, len(members)-1)
		for _, o := range members {
			if o != s {
				cs = append(cs, o)
			}
		}
		out[s] = cs
	}
	return out
}
