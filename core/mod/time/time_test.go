package entitytime

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestTime(t *testing.T) {
	utc := time.Date(2006, 1, 2, 15, 4, 5, 123456789, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"utc", utc, `<time xmlns='urn:xmpp:time'><tzo>+00:00</tzo><utc>2006-01-02T15:04:05.123Z</utc></time>`},
		{"west", utc.In(time.FixedZone("", -(6*3600 + 30*60))),
			`<time xmlns='urn:xmpp:time'><tzo>-06:30</tzo><utc>2006-01-02T15:04:05.123Z</utc></time>`},
		{"east", utc.In(time.FixedZone("", 2*3600)),
			`<time xmlns='urn:xmpp:time'><tzo>+02:00</tzo><utc>2006-01-02T15:04:05.123Z</utc></time>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := modtest.New(time.Unix(0, 0), "example.com")
			inst, err := New(h, nil)
			if err != nil {
				t.Fatal(err)
			}
			inst.(*Module).now = func() time.Time { return tt.now }
			if got := h.Features(module.Server); !slices.Equal(got, []string{NS}) {
				t.Errorf("features %v", got)
			}
			res, err := h.IQ(context.Background(), t, "alice@example.com/a", "example.com", "get", xmltok.NewElement(NS, "time"))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "set", xmltok.NewElement(NS, "time")); modtest.Condition(err) != "not-allowed" {
		t.Errorf("set: %v, want not-allowed", err)
	}
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "get", xmltok.NewElement(NS, "query")); modtest.Condition(err) != "bad-request" {
		t.Errorf("wrong element: %v, want bad-request", err)
	}
}
