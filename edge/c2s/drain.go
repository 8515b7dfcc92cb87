package c2s

import (
	"context"
	"errors"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// DrainOptions say how a draining server moves its clients away.
type DrainOptions struct {
	// Period spreads the ends of the open streams: they are ended in
	// batches over it, so that the clients do not all reconnect to the
	// other edges at once. 0 ends them all at once.
	Period time.Duration
	// Redirect lists host[:port] addresses of other edges; each stream
	// ends with <see-other-host/> naming one of them, in turn. Empty: the
	// streams end with <system-shutdown/>.
	Redirect []string
}

// maxDrainBatches bounds how many batches a drain ends streams in.
const maxDrainBatches = 20

// Drain puts the server in lame-duck mode: it stops accepting (its
// listeners close and any stream a transport hands it is refused), ends the
// sessions waiting for a resumption, then ends every open stream, in
// batches spread over o.Period, with <see-other-host/> or
// <system-shutdown/>. A stream-managed session that is ended so is not
// kept for resumption: what it holds unacknowledged goes back to the core
// (link.Session.Close), so nothing acknowledged is lost. Drain returns nil
// once no stream remains, or ctx's error when it ends first (the caller
// then calls Shutdown); Shutdown during a drain makes it return at once.
func (s *Server) Drain(ctx context.Context, o DrainOptions) error {
	if !s.StopAccepting() {
		return nil
	}
	s.mu.Lock()
	waiting := make([]*binding, 0, len(s.resumable))
	for _, b := range s.resumable {
		waiting = append(waiting, b)
	}
	conns := make([]*stream, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.log.Info("draining", "streams", len(conns), "period", o.Period, "redirect", len(o.Redirect))
	for _, b := range waiting {
		b.endDetached()
	}
	batches := min(len(conns), maxDrainBatches)
	start := time.Now()
	for i, c := range conns {
		// Stream i belongs to batch i*batches/len; batch k starts at
		// k*Period/batches.
		if k := i * batches / len(conns); k > 0 && o.Period > 0 {
			if err := s.sleepUntil(ctx, start.Add(o.Period*time.Duration(k)/time.Duration(batches))); err != nil {
				return err
			}
		}
		e := &stanza.StreamError{Condition: stanza.SystemShutdown}
		if len(o.Redirect) > 0 {
			e = &stanza.StreamError{Condition: stanza.SeeOtherHost, Host: o.Redirect[i%len(o.Redirect)]}
		}
		metrics.DrainedStreams.WithLabelValues(e.Condition).Inc()
		c.end(e)
	}
	if s.waitStreams(ctx) {
		return nil
	}
	return ctx.Err()
}

// waitStreams waits until no stream is left (true) or ctx ends (false).
func (s *Server) waitStreams(ctx context.Context) bool {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// StopAccepting is the first step of Drain, for callers that must know
// it is done before Drain runs: the listeners close and every new stream
// is refused. False once Shutdown has begun.
func (s *Server) StopAccepting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.draining = true
	for ln := range s.listeners {
		ln.Close()
	}
	return true
}

// ErrShutDown is Drain's answer when Shutdown cut it short.
var ErrShutDown = errors.New("c2s: shut down during the drain")

// sleepUntil waits until t; ctx's error or ErrShutDown when ctx ends or
// Shutdown starts first.
func (s *Server) sleepUntil(ctx context.Context, t time.Time) error {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return ErrShutDown
	}
}

// Draining reports whether Drain has begun.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}
