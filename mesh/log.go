package mesh

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// serfLog carries Serf's and memberlist's log lines ("[ERR] memberlist:
// ...") into slog at their level. Errors and warnings are counted; lines
// that repeat (a peer with another key sends a packet every probe) are
// logged once per logRepeat per message head, so that the log stays
// readable.
type serfLog struct {
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]time.Time
}

const (
	logRepeat = time.Minute
	logHead   = 48 // bytes of a message that identify it for logRepeat
)

func newSerfLogger(l *slog.Logger) *log.Logger {
	return log.New(&serfLog{log: l, seen: map[string]time.Time{}}, "", 0)
}

func (s *serfLog) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for _, l := range []struct {
		prefix string
		level  slog.Level
	}{{"[ERR]", slog.LevelError}, {"[WARN]", slog.LevelWarn}, {"[INFO]", slog.LevelInfo}, {"[DEBUG]", slog.LevelDebug}} {
		if rest, ok := bytes.CutPrefix(line, []byte(l.prefix)); ok {
			line, level = bytes.TrimSpace(rest), l.level
			break
		}
	}
	switch level {
	case slog.LevelError:
		metrics.MeshGossipErrors.WithLabelValues("error").Inc()
	case slog.LevelWarn:
		metrics.MeshGossipErrors.WithLabelValues("warn").Inc()
	}
	// Serf reports errors about peers it cannot reach; they are the
	// peers' fault or the network's, so they are warnings here.
	if level > slog.LevelWarn {
		level = slog.LevelWarn
	}
	if !s.log.Enabled(context.Background(), level) {
		return len(p), nil
	}
	if level >= slog.LevelWarn {
		head := string(line[:min(len(line), logHead)])
		now := time.Now()
		s.mu.Lock()
		last, ok := s.seen[head]
		if ok && now.Sub(last) < logRepeat {
			s.mu.Unlock()
			return len(p), nil
		}
		if len(s.seen) > 1024 {
			clear(s.seen)
		}
		s.seen[head] = now
		s.mu.Unlock()
	}
	s.log.Log(context.Background(), level, string(line)) // already "serf: ..." or "memberlist: ..."
	return len(p), nil
}
