package loadtest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/scenario"
)

// login connects every user: one every Ramp/Users (or 1/ConnectRate,
// whichever is slower), at most Concurrency in flight, each from the
// next source address. A session's reader starts as soon as it is in.
func (e *Engine) login(ctx context.Context) {
	n := len(e.users)
	var gap time.Duration
	if e.cfg.Ramp > 0 && n > 0 {
		gap = e.cfg.Ramp / time.Duration(n)
	}
	if e.cfg.ConnectRate > 0 {
		gap = max(gap, time.Duration(float64(time.Second)/e.cfg.ConnectRate))
	}
	sem := make(chan struct{}, e.cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i, u := range e.users {
		if gap > 0 {
			sleepCtx(ctx, time.Until(start.Add(time.Duration(i)*gap)))
		}
		select {
		case <-ctx.Done():
		case sem <- struct{}{}:
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, err := client.Dial(ctx, e.options(u, e.source(i)))
			if err != nil {
				e.st.Errors.Add(client.Key(client.KindConnect, err))
				return
			}
			e.st.Connect.Record(c.Timings.Connect)
			if c.Timings.TLS > 0 {
				e.st.TLS.Record(c.Timings.TLS)
			}
			e.st.Auth.Record(c.Timings.Auth)
			e.st.Bind.Record(c.Timings.Bind)
			s := scenario.NewSession(i, u, c)
			e.mu.Lock()
			if e.closing.Load() {
				e.mu.Unlock()
				c.Close()
				return
			}
			e.sessions = append(e.sessions, s)
			e.mu.Unlock()
			e.st.Logins.Add(1)
			e.st.Connected.Add(1)
			e.readers.Add(1)
			go e.read(s)
		}()
	}
	wg.Wait()
	e.mu.Lock()
	sort.Slice(e.sessions, func(i, j int) bool { return e.sessions[i].Index < e.sessions[j].Index })
	e.env.Sessions = append([]*scenario.Session(nil), e.sessions...)
	e.mu.Unlock()
}

// read serves one session until its stream ends.
func (e *Engine) read(s *scenario.Session) {
	defer e.readers.Done()
	err := s.Conn.Serve(e.env.Handler(s))
	s.Kill()
	e.st.Connected.Add(-1)
	if err != nil && !e.closing.Load() {
		e.st.Errors.Add(client.Key("disconnect", err))
	}
}
