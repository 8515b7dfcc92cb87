// Package poll waits, in tests, for a condition that another goroutine or
// process makes true. It imports nothing of the project, so that every
// test package can use it.
package poll

import (
	"testing"
	"time"
)

// Until polls cond every 10 ms until it holds, failing the test with what
// when it does not within d.
func Until(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
