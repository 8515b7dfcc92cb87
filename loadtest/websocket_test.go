package loadtest_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/internal/fakexmpp"
)

// TestChatOverWebSocket runs the chat scenario over RFC 7395 against a
// fake WebSocket XMPP server (Meridian has no WebSocket listener yet).
func TestChatOverWebSocket(t *testing.T) {
	f, err := fakexmpp.New()
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(f.WebSocket())
	defer web.Close()
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Transport: "websocket", WSURL: "ws" + strings.TrimPrefix(web.URL, "http") + "/xmpp-websocket",
		Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1, Rosters: "skip",
		Rate: 200, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 4 || res.MessagesSent < 80 || res.MessagesReceived != res.MessagesSent || len(res.Errors) != 0 {
		t.Fatalf("connected %d sent %d received %d errors %v", res.Connected, res.MessagesSent, res.MessagesReceived, res.Errors)
	}
	if !strings.HasPrefix(res.Target, "ws://") {
		t.Fatalf("target %q", res.Target)
	}
}
