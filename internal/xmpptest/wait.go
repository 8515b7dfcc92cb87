package xmpptest

import (
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/poll"
)

// Eventually polls cond until it holds, failing the test with what when it
// does not within 30 seconds (generous: a loaded CI machine is slow, and
// a condition that holds returns at once).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 30*time.Second, what, cond)
}
