package contactaddresses

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
)

func TestForm(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	cfg := &Config{
		Abuse:   []string{"mailto:abuse@example.com", "xmpp:abuse@example.com"},
		Status:  []string{"https://status.example.com/"},
		Support: []string{"https://example.com/support?lang=en", "xmpp:support@conference.example.com?join"},
	}
	if _, err := New(h, cfg); err != nil {
		t.Fatal(err)
	}
	want := []module.InfoForm{{
		FormType: FormType,
		Fields: []module.FormField{
			{Var: "abuse-addresses", Type: "list-multi", Values: []string{"mailto:abuse@example.com", "xmpp:abuse@example.com"}},
			{Var: "status-addresses", Type: "list-multi", Values: []string{"https://status.example.com/"}},
			{Var: "support-addresses", Type: "list-multi", Values: []string{"https://example.com/support?lang=en", "xmpp:support@conference.example.com?join"}},
		},
	}}
	if got := h.InfoForms(module.Server); !reflect.DeepEqual(got, want) {
		t.Errorf("server forms:\n got %+v\nwant %+v", got, want)
	}
	if got := h.InfoForms(module.Account); len(got) != 0 {
		t.Errorf("account forms: %+v", got)
	}
	// The config is copied: changing it later changes nothing announced.
	cfg.Abuse[0] = "mailto:changed@example.com"
	if got := h.InfoForms(module.Server)[0].Fields[0].Values[0]; got != "mailto:abuse@example.com" {
		t.Errorf("announced value changed with the config: %s", got)
	}
}

func TestNoAddressesNoForm(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, &Config{}); err != nil {
		t.Fatal(err)
	}
	if got := h.InfoForms(module.Server); len(got) != 0 {
		t.Errorf("forms without addresses: %+v", got)
	}
}

func TestCheckURI(t *testing.T) {
	good := []string{
		"mailto:xmpp@example.com",
		"MAILTO:abuse@example.com",
		"mailto:abuse%2Bxmpp@example.com?subject=abuse",
		"xmpp:admin@example.com",
		"xmpp:example.com",
		"xmpp:support@conference.example.com?join",
		"xmpp:r%C3%A9sum%C3%A9@example.com",
		"https://example.com",
		"https://example.com/support.php?a=1#top",
	}
	for _, s := range good {
		if err := CheckURI(s); err != nil {
			t.Errorf("CheckURI(%q) = %v", s, err)
		}
	}
	bad := []string{
		"",
		"abuse@example.com",
		"mailto:",
		"mailto:not an address",
		"mailto:Alice <alice@example.com>",
		"mailto:a@example.com,b@example.com",
		"xmpp:",
		"xmpp:a@b@c",
		"xmpp://admin@example.com",
		"xmpp:%zz@example.com",
		"http://example.com/support",
		"https:",
		"https:example.com",
		"https:///path",
		"https://user:pw@example.com/",
		"ftp://example.com",
		"javascript:alert(1)",
	}
	for _, s := range bad {
		if err := CheckURI(s); err == nil {
			t.Errorf("CheckURI(%q) accepted", s)
		}
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	c := &Config{Admin: []string{"xmpp:admin@example.com", "http://example.com"}, Security: []string{"security@example.com"}}
	err := c.Validate()
	if err == nil {
		t.Fatal("bad addresses accepted")
	}
	for _, want := range []string{`modules.contact_addresses.admin[1]: "http://example.com"`, `modules.contact_addresses.security[0]: "security@example.com"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, c); err == nil {
		t.Error("New accepted bad addresses")
	}
}
