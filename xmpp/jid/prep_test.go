package jid

import (
	"testing"
)

// FuzzFastPaths checks that each fast path agrees with the full
// preparation: whatever the fast path accepts unchanged, PRECIS or IDNA
// must also leave unchanged.
func FuzzFastPaths(f *testing.F) {
	for _, s := range []string{"juliet", "a-b.example", "foo bar", "~!#$%*+", "xn--abc", "a--b", "1.2.3.4", "ab-.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if localFast(s) {
			if p, err := prepLocalSlow(s); err != nil || p != s {
				t.Errorf("localpart %q: fast path keeps it, slow path gives %q, %v", s, p, err)
			}
		}
		if domainFast(s) {
			if p, err := prepDomainSlow(s); err != nil || p != s {
				t.Errorf("domainpart %q: fast path keeps it, slow path gives %q, %v", s, p, err)
			}
		}
		if resourceFast(s) {
			if p, err := prepResourceSlow(s); err != nil || p != s {
				t.Errorf("resourcepart %q: fast path keeps it, slow path gives %q, %v", s, p, err)
			}
		}
	})
}

// TestFastPathsASCII runs the comparison over every printable ASCII byte
// alone and in a few positions, which is where the fast paths draw lines.
func TestFastPathsASCII(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		b := string(rune(c))
		for _, s := range []string{b, "a" + b, b + "a", "ab" + b + b + "c", "a." + b, "a" + b + ".b"} {
			if localFast(s) {
				if p, err := prepLocalSlow(s); err != nil || p != s {
					t.Errorf("localpart %q: slow path gives %q, %v", s, p, err)
				}
			} else if p, err := prepLocalSlow(s); err == nil && p == s {
				t.Logf("localpart %q misses the fast path", s)
			}
			if domainFast(s) {
				if p, err := prepDomainSlow(s); err != nil || p != s {
					t.Errorf("domainpart %q: slow path gives %q, %v", s, p, err)
				}
			}
			if resourceFast(s) {
				if p, err := prepResourceSlow(s); err != nil || p != s {
					t.Errorf("resourcepart %q: slow path gives %q, %v", s, p, err)
				}
			} else if p, err := prepResourceSlow(s); err == nil && p == s {
				t.Errorf("resourcepart %q misses the fast path", s)
			}
		}
	}
}
