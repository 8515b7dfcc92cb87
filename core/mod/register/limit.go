package register

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// maxTracked bounds how many client addresses the limiter remembers.
const maxTracked = 100_000

// limiter counts attempts per client address in fixed windows. It holds at
// most max addresses: expired entries are swept at most once per window,
// and when the table is full of live entries a new address is refused
// rather than tracked, so that many addresses cannot exhaust memory nor
// slip through.
type limiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu    sync.Mutex
	seen  map[string]*bucket
	swept time.Time
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(limit int, window time.Duration, max int, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: window, max: max, now: now, seen: map[string]*bucket{}, swept: now()}
}

// allow counts one attempt from addr and reports whether it is within the
// limit.
func (l *limiter) allow(addr string) bool {
	key := hostOf(addr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= l.window {
		l.sweep(now)
	}
	b := l.seen[key]
	if b != nil && now.Sub(b.start) >= l.window {
		b.start, b.n = now, 0
	}
	if b == nil {
		if len(l.seen) >= l.max {
			l.sweep(now)
			if len(l.seen) >= l.max {
				return false
			}
		}
		b = &bucket{start: now}
		l.seen[key] = b
	}
	if b.n >= l.limit {
		return false
	}
	b.n++
	return true
}

func (l *limiter) sweep(now time.Time) {
	for k, b := range l.seen {
		if now.Sub(b.start) >= l.window {
			delete(l.seen, k)
		}
	}
	l.swept = now
}

// tracked reports how many addresses are remembered.
func (l *limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// hostOf returns the key an address is counted under: its host without
// the port, and for IPv6 its /64 network, as one client commonly holds a
// whole /64 (RFC 6177).
func hostOf(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
