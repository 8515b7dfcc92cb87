package scenario

import (
	"context"
	"runtime"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
)

// Render appends the next stanza of session s (its n-th) to b.
type Render func(b []byte, s *Session, n int64) []byte

// minSleep batches sends at high rates: the pacer sleeps at least this
// long, and everything due meanwhile goes out together, one write per
// connection. Stamps are taken when each stanza is rendered, so batching
// adds nothing to the measured latency; how late stanzas leave compared
// with the schedule is recorded as SendLag.
const minSleep = 500 * time.Microsecond

// Pace sends stanzas at the run's rate, round robin over ss, from one
// goroutine, until the duration ends or Params.Messages are sent. Each
// stanza is expected to reach fanout(s) recipients. Stanzas of one
// session in one batch are written with one lock and one flush.
func (e *Env) Pace(ctx context.Context, ss []*Session, render Render, fanout func(*Session) int) {
	p := e.Params
	n := len(ss)
	rate := p.EffectiveRate(n)
	if n == 0 || rate <= 0 {
		sleep(ctx, p.Duration)
		return
	}
	maxBatch := int64(max(2*n, 4096))
	var (
		start = time.Now()
		k     int64 // stanzas scheduled so far
		pos   int   // session of stanza k
		buf   = make([]byte, 0, 1024)
		fan   = make([]int64, n)
	)
	for i, s := range ss {
		fan[i] = int64(fanout(s))
	}
	due := func(k int64) time.Duration { return time.Duration(float64(k) / rate * float64(time.Second)) }
	for ctx.Err() == nil {
		el := time.Since(start)
		if el >= p.Duration || (p.Messages > 0 && k >= p.Messages) {
			return
		}
		target := int64(rate*el.Seconds()) + 1 // stanza k is due at k/rate
		if p.Messages > 0 {
			target = min(target, p.Messages)
		}
		batch := min(target-k, maxBatch)
		if batch <= 0 {
			sleep(ctx, max(due(k)-el, minSleep))
			continue
		}
		e.Stats.SendLag.Record(el - due(k))
		per, rem := batch/int64(n), int(batch%int64(n))
		for i := range min(int(batch), n) {
			j := (pos + i) % n
			s := ss[j]
			m := per
			if i < rem {
				m++
			}
			if !s.Alive() {
				continue
			}
			var written int64
			err := s.Conn.Batch(func(w client.Writer) error {
				for ; written < m; written++ {
					buf = render(buf[:0], s, s.seq)
					s.seq++
					if err := w.WriteElement(buf); err != nil {
						return err
					}
				}
				return nil
			})
			e.Stats.Sent.Add(written)
			e.Stats.Expected.Add(written * fan[j])
			if err != nil {
				s.Kill()
				e.Stats.Errors.Add(client.Key("send", err))
			}
		}
		pos = (pos + int(batch%int64(n))) % n
		k += batch
		if k < target {
			runtime.Gosched() // behind: let the readers run between batches
		}
	}
}
