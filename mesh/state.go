package mesh

import (
	"cmp"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/hashicorp/serf/serf"

	"github.com/meridian-xmpp/meridian/internal/logonce"
	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// Status is a member's state as Serf sees it.
type Status string

const (
	StatusAlive   Status = "alive"
	StatusLeaving Status = "leaving" // announced its leave, not yet gone
	StatusLeft    Status = "left"    // left gracefully
	StatusFailed  Status = "failed"  // stopped answering probes
)

// Member is one node of the mesh as this node last heard of it.
type Member struct {
	Name   string
	Addr   string // gossip address, IP:port
	Status Status
	Tags   Tags // as far as they parse
	// Problem says which tag is missing or malformed; such a member is
	// listed but kept out of the route view.
	Problem string
	Self    bool
}

// state is the member table the drain goroutine keeps. Its mutex is held
// only to copy or update entries, never while calling out.
type state struct {
	self string
	log  *slog.Logger

	mu      sync.Mutex
	members map[string]Member
	version uint64
	subs    map[*subscriber]struct{}
	// reported holds "member\x00problem" pairs already logged and
	// counted, so that a bogus member is reported once, not on every
	// event about it (bounded: members come and go).
	reported logonce.Set
	bogus    int
}

type subscriber struct{ ch chan struct{} }

func (s *state) init(self string, log *slog.Logger) {
	s.self, s.log = self, log
	s.members = map[string]Member{}
	s.subs = map[*subscriber]struct{}{}
}

func statusOf(st serf.MemberStatus) Status {
	switch st {
	case serf.StatusLeaving:
		return StatusLeaving
	case serf.StatusLeft:
		return StatusLeft
	case serf.StatusFailed:
		return StatusFailed
	default:
		return StatusAlive
	}
}

// apply records what an event (or the initial snapshot) says of one
// member. force, when not "", overrides the member's status: the event's
// type is authoritative for join, leave and failed.
func (s *state) apply(sm serf.Member, force Status) {
	m := Member{
		Name:   sm.Name,
		Addr:   net.JoinHostPort(sm.Addr.String(), strconv.Itoa(int(sm.Port))),
		Status: statusOf(sm.Status),
		Self:   sm.Name == s.self,
	}
	if force != "" {
		m.Status = force
	}
	tags, err := parseTags(sm.Tags)
	m.Tags = tags
	if err != nil {
		m.Problem = err.Error()
	}
	s.mu.Lock()
	s.members[sm.Name] = m
	first := false
	if m.Problem != "" {
		key := sm.Name + "\x00" + m.Problem
		if s.reported.First(key) {
			s.bogus++
			first = true
		}
	}
	s.mu.Unlock()
	if first {
		var te *TagError
		tag := "unknown"
		if errors.As(err, &te) {
			tag = te.Tag
		}
		metrics.MeshBogusMembers.WithLabelValues(tag).Inc()
		s.log.Warn("mesh: member ignored for routing", "member", sm.Name, "addr", m.Addr, "problem", m.Problem)
	}
}

// reap forgets a member Serf has given up on.
func (s *state) reap(name string) {
	s.mu.Lock()
	delete(s.members, name)
	s.mu.Unlock()
}

// notify bumps the version, updates the gauges and wakes every
// subscriber without waiting: a subscriber whose channel is full already
// has a wake-up pending, which covers this change too.
func (s *state) notify() {
	counts := map[Status]float64{}
	s.mu.Lock()
	s.version++
	for _, m := range s.members {
		counts[m.Status]++
	}
	for sub := range s.subs {
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	for _, st := range []Status{StatusAlive, StatusLeaving, StatusLeft, StatusFailed} {
		metrics.MeshMembers.WithLabelValues(string(st)).Set(counts[st])
	}
}

func (s *state) closeSubscribers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		close(sub.ch)
		delete(s.subs, sub)
	}
	s.subs = nil
}

// drain is the only reader of Serf's event channel. It does no I/O and
// takes no lock that a reader can hold for long, so Serf never waits on
// it.
func (m *Mesh) drain() {
	defer m.wg.Done()
	for {
		select {
		case <-m.stop:
			return
		case e := <-m.events:
			me, ok := e.(serf.MemberEvent)
			if !ok {
				// User events and queries are not used; a query left
				// unanswered simply times out at its sender.
				continue
			}
			metrics.MeshEvents.WithLabelValues(eventName(me.Type)).Inc()
			for _, sm := range me.Members {
				switch me.Type {
				case serf.EventMemberJoin:
					m.state.apply(sm, StatusAlive)
				case serf.EventMemberLeave:
					m.state.apply(sm, StatusLeft)
				case serf.EventMemberFailed:
					m.state.apply(sm, StatusFailed)
				case serf.EventMemberReap:
					m.state.reap(sm.Name)
				default:
					m.state.apply(sm, "")
				}
				m.log.Debug("mesh: member event", "event", eventName(me.Type), "member", sm.Name)
			}
			m.state.notify()
		}
	}
}

func eventName(t serf.EventType) string {
	switch t {
	case serf.EventMemberJoin:
		return "join"
	case serf.EventMemberLeave:
		return "leave"
	case serf.EventMemberFailed:
		return "failed"
	case serf.EventMemberUpdate:
		return "update"
	case serf.EventMemberReap:
		return "reap"
	}
	return "other"
}

// Subscribe returns a channel that receives a value after the member table
// changes, and a function that ends the subscription. Wake-ups coalesce:
// a subscriber that is slow, or never reads, misses nothing but
// intermediate states, and never holds anyone up. The channel is closed
// when the mesh shuts down. Read the new state with Members, Cores or
// Edges.
func (m *Mesh) Subscribe() (<-chan struct{}, func()) {
	sub := &subscriber{ch: make(chan struct{}, 1)}
	s := &m.state
	s.mu.Lock()
	if s.subs == nil { // shut down
		s.mu.Unlock()
		close(sub.ch)
		return sub.ch, func() {}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	return sub.ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.subs[sub]; ok {
			delete(s.subs, sub)
			close(sub.ch)
		}
	}
}

// Version increases with every change of the member table.
func (m *Mesh) Version() uint64 {
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	return m.state.version
}

// Members is a snapshot of every member known, this node included,
// sorted by name; bogus members are listed with their Problem.
func (m *Mesh) Members() []Member {
	return m.filter(func(Member) bool { return true })
}

// Self is this node as the mesh sees it.
func (m *Mesh) Self() Member {
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	if me, ok := m.state.members[m.cfg.Name]; ok {
		return me
	}
	return Member{Name: m.cfg.Name, Addr: m.addr, Status: StatusAlive, Tags: m.cfg.Tags, Self: true}
}

// Cores is the route view of a region's cores: alive members with the
// core role and well-formed tags, sorted by name.
func (m *Mesh) Cores(region string) []Member { return m.routable(RoleCore, region) }

// Edges is the route view of a region's edges, as Cores, without the
// edges that are draining.
func (m *Mesh) Edges(region string) []Member {
	return slices.DeleteFunc(m.routable(RoleEdge, region), func(e Member) bool { return e.Tags.Draining })
}

// Bogus is how many member and problem pairs were reported as bogus.
func (m *Mesh) Bogus() int {
	m.state.mu.Lock()
	defer m.state.mu.Unlock()
	return m.state.bogus
}

func (m *Mesh) routable(role, region string) []Member {
	return m.filter(func(mem Member) bool {
		return mem.Status == StatusAlive && mem.Problem == "" && mem.Tags.Region == region && mem.Tags.Has(role)
	})
}

func (m *Mesh) filter(keep func(Member) bool) []Member {
	m.state.mu.Lock()
	out := make([]Member, 0, len(m.state.members))
	for _, mem := range m.state.members {
		if keep(mem) {
			out = append(out, mem)
		}
	}
	m.state.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
