package version

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestVersion(t *testing.T) {
	Version = "1.2.3"
	t.Cleanup(func() { Version = "" })
	tests := []struct {
		name string
		cfg  *Config
		want string
	}{
		{"defaults", nil, `<query xmlns='jabber:iq:version'><name>Meridian</name><version>1.2.3</version></query>`},
		{"name and os", &Config{Name: "Example", ShowOS: true},
			`<query xmlns='jabber:iq:version'><name>Example</name><version>1.2.3</version><os>` + runtime.GOOS + `</os></query>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := modtest.New(time.Unix(0, 0), "example.com")
			var cfg any = tt.cfg
			if tt.cfg == nil {
				info, _ := module.Lookup("version")
				cfg = info.Config()
			}
			if _, err := New(h, cfg); err != nil {
				t.Fatal(err)
			}
			if got := h.Features(module.Server); !slices.Equal(got, []string{NS}) {
				t.Errorf("features %v", got)
			}
			res, err := h.IQ(context.Background(), t, "alice@example.com/a", "example.com", "get", xmltok.NewElement(NS, "query"))
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
	if _, err := New(modtest.New(time.Unix(0, 0), "example.com"), &Config{}); err == nil {
		t.Error("empty name accepted")
	}
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, &Config{Name: "Meridian"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "set", xmltok.NewElement(NS, "query")); modtest.Condition(err) != "not-allowed" {
		t.Errorf("set: %v, want not-allowed", err)
	}
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "get", xmltok.NewElement(NS, "version")); modtest.Condition(err) != "bad-request" {
		t.Errorf("wrong element: %v, want bad-request", err)
	}
}

func TestBuildVersion(t *testing.T) {
	Version = ""
	if v := buildVersion(); v == "" {
		t.Error("empty version")
	}
}
