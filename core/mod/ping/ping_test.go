package ping

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestPing(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, nil); err != nil {
		t.Fatal(err)
	}
	h.AddUser(modtest.JID(t, "alice@example.com"), "pw")
	h.AddUser(modtest.JID(t, "bob@example.com"), "pw")
	if got := h.Features(module.Server); !slices.Equal(got, []string{NS}) {
		t.Errorf("server features %v, want [%s]", got, NS)
	}
	if got := h.Features(module.Account); len(got) != 0 {
		t.Errorf("account features %v, want none", got)
	}
	ping := func() *xmltok.Element { return xmltok.NewElement(NS, "ping") }
	tests := []struct {
		name, to, typ string
		payload       *xmltok.Element
		want          string // error condition, "" for an empty result
	}{
		{"to server", "example.com", "get", ping(), ""},
		{"no to", "", "get", ping(), ""},
		{"own bare JID", "alice@example.com", "get", ping(), ""},
		{"other user", "bob@example.com", "get", ping(), "service-unavailable"},
		{"set", "example.com", "set", ping(), "not-allowed"},
		{"wrong element", "example.com", "get", xmltok.NewElement(NS, "pong"), "bad-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.IQ(context.Background(), t, "alice@example.com/a", tt.to, tt.typ, tt.payload)
			if got := modtest.Condition(err); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
			if res != nil {
				t.Errorf("result payload %s, want none", res)
			}
		})
	}
}
