package mesh

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestSerfLog: Serf's lines keep their level (errors become warnings: they
// are about peers), and a repeated warning is logged once.
func TestSerfLog(t *testing.T) {
	var out bytes.Buffer
	l := newSerfLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("[INFO] serf: EventMemberJoin: a 127.0.0.1")
	l.Printf("[DEBUG] memberlist: Stream connection from=127.0.0.1:1")
	for range 5 {
		l.Printf("[ERR] memberlist: failed to receive: encryption is configured but remote state is not encrypted from=127.0.0.1:2")
	}
	l.Printf("[WARN] serf: Shutdown without a Leave")
	l.Printf("no prefix at all")
	got := out.String()
	for _, want := range []string{
		`level=INFO msg="serf: EventMemberJoin: a 127.0.0.1"`,
		`level=DEBUG msg="memberlist: Stream connection from=127.0.0.1:1"`,
		`level=WARN msg="memberlist: failed to receive: encryption`,
		`level=WARN msg="serf: Shutdown without a Leave"`,
		`level=INFO msg="no prefix at all"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if n := strings.Count(got, "failed to receive"); n != 1 {
		t.Errorf("repeated error logged %d times:\n%s", n, got)
	}
}
