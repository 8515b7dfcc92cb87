package loadtest

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
)

// ParseSources reads source addresses: "127.0.0.2", a range
// "127.0.0.2-127.0.0.254", or a comma-separated list of either. Any
// address of 127.0.0.0/8 works on Linux's loopback without configuration,
// and each has its own ephemeral ports.
func ParseSources(s string) ([]net.IP, error) {
	var out []net.IP
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, b, isRange := strings.Cut(part, "-")
		lo := net.ParseIP(strings.TrimSpace(a))
		if lo == nil {
			return nil, fmt.Errorf("loadtest: source %q is not an IP address", a)
		}
		if !isRange {
			out = append(out, lo)
			continue
		}
		hi := net.ParseIP(strings.TrimSpace(b)).To4()
		if lo.To4() == nil || hi == nil {
			return nil, fmt.Errorf("loadtest: source range %q: IPv4 only", part)
		}
		l, h := binary.BigEndian.Uint32(lo.To4()), binary.BigEndian.Uint32(hi)
		if h < l || h-l >= 1<<16 {
			return nil, fmt.Errorf("loadtest: source range %q is empty or larger than 65536 addresses", part)
		}
		for v := l; v <= h; v++ {
			ip := make(net.IP, 4)
			binary.BigEndian.PutUint32(ip, v)
			out = append(out, ip)
		}
	}
	return out, nil
}
