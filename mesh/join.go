package mesh

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// joinLoop joins the seeds, retrying with exponential backoff and jitter
// until this node has met another member. A seed list that names this
// node itself (every node of a cluster may share one list) therefore keeps
// trying until one of the other seeds is up.
func (m *Mesh) joinLoop() {
	defer m.wg.Done()
	wait := m.cfg.JoinBackoff
	lastErr := ""
	for attempt := 1; ; attempt++ {
		n, err := m.serf.Join(m.cfg.Seeds, true)
		met := m.metOthers()
		m.joinAttempts.Add(1)
		if err == nil || met {
			metrics.MeshJoins.WithLabelValues("ok").Inc()
		} else {
			m.joinFailures.Add(1)
			metrics.MeshJoins.WithLabelValues("error").Inc()
		}
		if met {
			m.log.Info("mesh: joined", "seeds", m.cfg.Seeds, "contacted", n, "attempts", attempt)
			return
		}
		if err != nil {
			// A warning for the first failure, a new error, and every
			// tenth attempt; the rest at debug level.
			level := slog.LevelDebug
			if msg := err.Error(); msg != lastErr || attempt%10 == 1 {
				level, lastErr = slog.LevelWarn, msg
			}
			m.log.Log(context.Background(), level, "mesh: join failed, retrying", "seeds", m.cfg.Seeds, "attempt", attempt, "retry_in", wait, "err", err)
		}
		jitter := time.Duration(rand.Int64N(int64(wait)/4 + 1))
		select {
		case <-m.stop:
			return
		case <-time.After(wait + jitter):
		}
		wait = min(2*wait, m.cfg.JoinBackoffMax)
	}
}

// metOthers reports whether Serf knows a member other than this node.
func (m *Mesh) metOthers() bool {
	for _, mem := range m.serf.Members() {
		if mem.Name != m.cfg.Name {
			return true
		}
	}
	return false
}

// loadLoop samples the load every LoadInterval and gossips it when it
// changed, so that tag updates stay rare.
func (m *Mesh) loadLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.LoadInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if err := m.setLoad(m.cfg.Load()); err != nil {
				m.log.Warn("mesh: update load", "err", err)
			}
		}
	}
}

// SetDraining announces that this edge is in lame-duck drain: the others
// stop sending clients to it (it leaves their Edges route view).
func (m *Mesh) SetDraining() error {
	m.tagMu.Lock()
	defer m.tagMu.Unlock()
	if m.tags.Draining || m.leaving.Load() {
		return nil
	}
	t := m.tags
	t.Draining = true
	if err := m.serf.SetTags(t.encode()); err != nil {
		return err
	}
	m.tags = t
	metrics.MeshTagUpdates.Inc()
	return nil
}

func (m *Mesh) setLoad(load int) error {
	m.tagMu.Lock()
	defer m.tagMu.Unlock()
	if load == m.tags.Load || m.leaving.Load() {
		return nil
	}
	t := m.tags
	t.Load = max(load, 0)
	if err := m.serf.SetTags(t.encode()); err != nil {
		return err
	}
	m.tags = t
	metrics.MeshTagUpdates.Inc()
	return nil
}
