package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// session is one logged-in user.
type session struct {
	idx  int
	user User
	conn *client.Conn
	last time.Time // last send, for think time
}

type runner struct {
	cfg Config

	connectH, tlsH, authH *stats.Histogram
	latency, interval     *stats.Histogram
	errs                  stats.Errors

	sent, received, connected atomic.Int64

	mu       sync.Mutex
	sessions []*session
	readers  sync.WaitGroup
	series   []Point
	srv      *ServerStats
	rssMax   atomic.Int64
}

func (r *runner) source(i int) net.IP {
	if len(r.cfg.Sources) == 0 {
		return nil
	}
	return r.cfg.Sources[i%len(r.cfg.Sources)]
}

func (r *runner) options(u User, ip net.IP) client.Options {
	return client.Options{
		Addr: r.cfg.Server, Domain: r.cfg.Domain, Transport: r.cfg.Transport,
		LocalIP: ip, User: u.Local, Password: u.Password, Mechanism: r.cfg.Mechanism,
	}
}

func (r *runner) fail(err error) {
	var ce *client.Error
	if errors.As(err, &ce) {
		r.errs.Add(ce.Kind)
		return
	}
	r.errs.Add("other")
}

// Run executes one load run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &runner{
		cfg: cfg, connectH: stats.NewHistogram(), tlsH: stats.NewHistogram(), authH: stats.NewHistogram(),
		latency: stats.NewHistogram(), interval: stats.NewHistogram(),
	}
	users, err := r.users(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.ServerPID > 0 {
		before, err := rss(cfg.ServerPID)
		if err != nil {
			return nil, fmt.Errorf("loadtest: server pid: %w", err)
		}
		r.srv = &ServerStats{PID: cfg.ServerPID, RSSBefore: before}
	}
	res := &Result{Scenario: cfg.Scenario, Transport: cfg.Transport, Target: cfg.Server, Users: cfg.Users, Started: time.Now().UTC(), TargetRate: cfg.Rate}
	start := time.Now()
	stopSampler := r.sample(start)

	loginStart := time.Now()
	r.login(ctx, users)
	loginTime := time.Since(loginStart)
	if n := r.connected.Load(); n > 0 && loginTime > 0 {
		res.LoginsPerSec = float64(n) / loginTime.Seconds()
	}
	sc := scenarios[cfg.Scenario]
	if sc.prepare != nil {
		sc.prepare(ctx, r)
	}
	if r.srv != nil {
		// Idle memory: every user connected and nothing in flight.
		time.Sleep(500 * time.Millisecond)
		if after, err := rss(cfg.ServerPID); err == nil && r.connected.Load() > 0 {
			r.srv.RSSAfter = after
			r.srv.RSSPerSession = (after - r.srv.RSSBefore) / r.connected.Load()
		}
	}
	r.latency.Reset()
	sent0, recv0 := r.sent.Load(), r.received.Load()
	var ticks0 int64
	if r.srv != nil {
		ticks0, _ = cpuTicks(cfg.ServerPID)
	}
	measure := time.Now()
	if sc.run != nil {
		sc.run(ctx, r)
	}
	sendTime := time.Since(measure)
	if sc.run != nil {
		sleep(ctx, cfg.Drain)
	}
	if r.srv != nil {
		if t, err := cpuTicks(cfg.ServerPID); err == nil && sendTime > 0 {
			r.srv.CPUPercent = 100 * float64(t-ticks0) / clockTicks / time.Since(measure).Seconds()
		}
	}
	stopSampler()
	res.MessagesSent = r.sent.Load() - sent0
	res.MessagesReceived = r.received.Load() - recv0
	if sendTime > 0 {
		res.MessagesPerSec = float64(res.MessagesReceived) / sendTime.Seconds()
	}
	r.closeAll()
	res.DurationS = time.Since(start).Seconds()
	res.Connected = r.connected.Load()
	res.Latency = r.latency.Summary()
	res.Connect, res.TLS, res.Auth = r.connectH.Summary(), r.tlsH.Summary(), r.authH.Summary()
	res.Errors = r.errs.Snapshot()
	res.Series = r.series
	if cfg.KeepHistograms {
		res.Histograms = map[string]*stats.Snapshot{
			"latency": r.latency.Export(), "connect": r.connectH.Export(), "tls": r.tlsH.Export(), "auth": r.authH.Export(),
		}
	}
	if r.srv != nil {
		r.srv.RSSMax = r.rssMax.Load()
		res.ServerStats = r.srv
	}
	return res, nil
}

// login connects every user at the configured pace.
func (r *runner) login(ctx context.Context, users []User) {
	var gap time.Duration
	switch {
	case r.cfg.ConnectRate > 0:
		gap = time.Duration(float64(time.Second) / r.cfg.ConnectRate)
	case r.cfg.Ramp > 0:
		gap = r.cfg.Ramp / time.Duration(len(users))
	}
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	next := time.Now()
	for i, u := range users {
		if ctx.Err() != nil {
			break
		}
		if gap > 0 {
			next = next.Add(gap)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := client.Dial(ctx, r.options(u, r.source(i)))
			if err != nil {
				r.fail(err)
				return
			}
			r.connectH.Record(c.Timings.Connect)
			r.tlsH.Record(c.Timings.TLS)
			r.authH.Record(c.Timings.Auth)
			s := &session{idx: i, user: u, conn: c}
			r.mu.Lock()
			r.sessions = append(r.sessions, s)
			r.mu.Unlock()
			r.connected.Add(1)
			r.readers.Add(1)
			go r.read(s)
		}()
	}
	wg.Wait()
	r.mu.Lock()
	sort.Slice(r.sessions, func(i, j int) bool { return r.sessions[i].idx < r.sessions[j].idx })
	r.mu.Unlock()
}

// read consumes a session's stream: messages carrying a send time in
// their id ('t' + unix nanoseconds) give end-to-end latency.
func (r *runner) read(s *session) {
	defer r.readers.Done()
	for {
		raw, err := s.conn.Next()
		if err != nil {
			return
		}
		if raw.Type == "error" {
			r.errs.Add(raw.Local + "_error")
			continue
		}
		if len(raw.ID) > 1 && raw.ID[0] == 't' && (raw.Local == "message" || raw.Local == "presence" || raw.Local == "iq") {
			if ns, err := strconv.ParseInt(raw.ID[1:], 10, 64); err == nil {
				d := time.Duration(time.Now().UnixNano() - ns)
				r.latency.Record(d)
				r.interval.Record(d)
				r.received.Add(1)
			}
		}
	}
}

func (r *runner) closeAll() {
	r.mu.Lock()
	ss := r.sessions
	r.mu.Unlock()
	for _, s := range ss {
		s.conn.Close()
	}
	r.readers.Wait()
}

// sample records the series and prints progress every interval.
func (r *runner) sample(start time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.cfg.Every)
		defer t.Stop()
		var lastSent, lastRecv int64
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				h := r.interval.Reset()
				p := Point{T: now.Sub(start).Seconds(), Sent: r.sent.Load() - lastSent, Received: r.received.Load() - lastRecv, P99ms: h.Summary().P99, Connected: r.connected.Load()}
				lastSent, lastRecv = lastSent+p.Sent, lastRecv+p.Received
				r.series = append(r.series, p)
				if r.srv != nil {
					if v, err := rss(r.srv.PID); err == nil && v > r.rssMax.Load() {
						r.rssMax.Store(v)
					}
				}
				if w := r.cfg.Progress; w != nil {
					fmt.Fprintf(w, "%6.1fs connected %d/%d  sent %d/s  recv %d/s  p99 %.1f ms  errors %v\n",
						p.T, p.Connected, r.cfg.Users, p.Sent*int64(time.Second)/int64(r.cfg.Every), p.Received*int64(time.Second)/int64(r.cfg.Every), p.P99ms, r.errs.Snapshot())
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
