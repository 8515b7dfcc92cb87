package loadtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/procstat"
	"github.com/meridian-xmpp/meridian/loadtest/scenario"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
	"github.com/meridian-xmpp/meridian/loadtest/users"
)

// Run executes one load run. It returns an error only when the run could
// not start (bad configuration, users that cannot be provisioned, a
// scenario that cannot prepare); failures during the run are counted in
// the result's errors.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	e, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return e.Run(ctx)
}

// Engine is one run, in steps: New, Provision (optional: Run does it),
// Run; Status may be called at any time.
type Engine struct {
	cfg   Config
	sc    scenario.Scenario
	src   users.Source
	users []users.User
	st    *stats.Run
	env   *scenario.Env

	phase   atomic.Value // string
	started atomic.Int64 // unix nanoseconds of the start, 0 before
	status  atomic.Pointer[Status]

	gate chan time.Time // HoldBeforeLoad: the load phase waits for a start time

	mu       sync.Mutex
	sessions []*scenario.Session
	readers  sync.WaitGroup
	closing  atomic.Bool
}

// New checks a configuration.
func New(cfg Config) (*Engine, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sc, _ := scenario.Lookup(cfg.Scenario)
	e := &Engine{cfg: cfg, sc: sc, st: stats.NewRun()}
	src, err := users.Open(users.Spec{
		From: cfg.UsersFrom, Prefix: cfg.UserPrefix, Password: cfg.Password, Domain: cfg.Domain,
		Count: cfg.Users, Offset: cfg.UserOffset,
	}, func(ctx context.Context, u users.User, ip net.IP) error {
		return client.Register(ctx, e.options(u, ip))
	})
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	e.src = src
	e.phase.Store("new")
	e.env = &scenario.Env{
		Params: scenario.Params{
			Domain: cfg.Domain, Users: cfg.Users, Duration: cfg.Duration, Rate: cfg.Rate, Think: cfg.Think,
			Messages: cfg.Messages, RosterSize: cfg.RosterSize, Rosters: cfg.Rosters, Timeout: cfg.Timeout,
		},
		Stats: e.st,
		Stamp: scenario.NewStamp(),
	}
	return e, nil
}

func (e *Engine) options(u users.User, ip net.IP) client.Options {
	return client.Options{
		Addr: e.cfg.Server, Domain: e.cfg.Domain, Transport: e.cfg.Transport, WSURL: e.cfg.WSURL,
		LocalIP: ip, User: u.Local, Password: u.Password, Mechanism: e.cfg.Mechanism,
		Timeout: e.cfg.Timeout, Dial: e.cfg.Dial,
	}
}

func (e *Engine) source(i int) net.IP {
	if len(e.cfg.Sources) == 0 {
		return nil
	}
	return e.cfg.Sources[i%len(e.cfg.Sources)]
}

// HoldBeforeLoad makes Run stop after preparing, in phase "ready", until
// the returned function gives the instant its load phase starts: load
// agents prepare at their own pace and then load together. Call it
// before Run.
func (e *Engine) HoldBeforeLoad() (release func(at time.Time)) {
	e.gate = make(chan time.Time, 1)
	var once sync.Once
	return func(at time.Time) { once.Do(func() { e.gate <- at }) }
}

// RunAt is Run starting at t (load agents of one run start together).
func (e *Engine) RunAt(ctx context.Context, t time.Time) (*Result, error) {
	e.cfg.StartAt = t
	return e.Run(ctx)
}

// Run provisions (unless done), waits for StartAt, logs the users in,
// prepares the scenario, measures its load phase, drains and reports.
func (e *Engine) Run(ctx context.Context) (*Result, error) {
	if err := e.Provision(ctx); err != nil {
		return nil, err
	}
	if !e.cfg.StartAt.IsZero() {
		e.phase.Store("waiting")
		if d := time.Until(e.cfg.StartAt); d > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(d):
			}
		}
	}
	cfg := e.cfg
	start := time.Now()
	e.started.Store(start.UnixNano())
	res := &Result{
		Scenario: cfg.Scenario, Transport: cfg.Transport, Target: cfg.Server, Domain: cfg.Domain,
		Started: start.UTC().Truncate(time.Millisecond), Users: cfg.Users,
		Server: ServerStats{Address: cfg.Server, PID: cfg.ServerPID},
	}
	if cfg.Transport == client.WebSocket && cfg.WSURL != "" {
		res.Target, res.Server.Address = cfg.WSURL, cfg.WSURL
	}
	smp := e.startSampler(start)
	if cfg.ServerPID > 0 {
		rss, err := procstat.RSS(cfg.ServerPID)
		if err != nil {
			smp.stop()
			return nil, fmt.Errorf("loadtest: --server-pid: %w", err)
		}
		res.Server.RSSBefore = rss
	}

	e.phase.Store("login")
	loginStart := time.Now()
	e.login(ctx)
	res.LoginS = time.Since(loginStart).Seconds()
	if n := e.st.Logins.Load(); n > 0 && res.LoginS > 0 {
		res.LoginsPerSec = float64(n) / res.LoginS
	}

	if e.st.Logins.Load() == 0 {
		// Nobody is in: there is nothing to prepare or load.
		smp.stop()
		return e.result(res, start, smp, stats.Counts{}, time.Time{}, time.Time{}, time.Time{}), nil
	}
	e.phase.Store("prepare")
	if err := e.sc.Prepare(ctx, e.env); err != nil {
		smp.stop()
		e.closeAll()
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	if cfg.ServerPID > 0 {
		// Memory per idle session: everyone logged in, nothing in
		// flight; give the server a moment to settle.
		e.phase.Store("settle")
		sleepCtx(ctx, time.Second)
		if rss, err := procstat.RSS(cfg.ServerPID); err == nil {
			res.Server.RSSAfter = rss
			if n := e.st.Connected.Load(); n > 0 {
				res.Server.RSSPerSession = (rss - res.Server.RSSBefore) / n
			}
		}
	}

	if e.gate != nil {
		e.phase.Store("ready")
		select {
		case at := <-e.gate:
			sleepCtx(ctx, time.Until(at))
		case <-ctx.Done():
		}
	}

	e.phase.Store("load")
	e.st.ResetLatency()
	base := e.st.Counts()
	var cpu0 time.Duration
	if cfg.ServerPID > 0 {
		cpu0, _ = procstat.CPU(cfg.ServerPID)
	}
	loadStart := time.Now()
	if err := e.sc.Run(ctx, e.env); err != nil {
		e.st.Errors.Add("scenario")
	}
	loadEnd := time.Now()
	e.phase.Store("drain")
	lastRecv := e.drain(ctx, base)
	if cfg.ServerPID > 0 {
		if c, err := procstat.CPU(cfg.ServerPID); err == nil {
			res.Server.CPUPercent = 100 * float64(c-cpu0) / float64(time.Since(loadStart))
		}
	}
	smp.stop()
	return e.result(res, start, smp, base, loadStart, loadEnd, lastRecv), nil
}

// Status returns the run's state now.
func (e *Engine) Status() Status {
	s := Status{Phase: e.phase.Load().(string), Users: e.cfg.Users}
	if p := e.status.Load(); p != nil {
		s = *p
		s.Phase = e.phase.Load().(string)
	}
	if t := e.started.Load(); t > 0 {
		s.ElapsedS = time.Since(time.Unix(0, t)).Seconds()
	}
	s.Connected = e.st.Connected.Load()
	s.Sent, s.Received, s.Errors = e.st.Sent.Load(), e.st.Received.Load(), e.st.Errors.Total()
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
