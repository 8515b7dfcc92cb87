package jid_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in                string
		local, domain, resource string
	}{
		// RFC 7622 §3.5 examples of valid JIDs.
		{"bare", "juliet@example.com", "juliet", "example.com", ""},
		{"full", "juliet@example.com/foo", "juliet", "example.com", "foo"},
		{"space in resource", "juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
		{"at in resource", "juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},
		{"escaped local", `foo\20bar@example.com`, `foo\20bar`, "example.com", ""},
		{"fussball", "fussball@example.com", "fussball", "example.com", ""},
		{"sharp s kept", "fußball@example.com", "fußball", "example.com", ""},
		{"pi", "π@example.com", "π", "example.com", ""},
		{"capital sigma lowered", "Σ@example.com/foo", "σ", "example.com", "foo"},
		{"small sigma", "σ@example.com/foo", "σ", "example.com", "foo"},
		{"final sigma", "ς@example.com/foo", "ς", "example.com", "foo"},
		{"symbol resource", "king@example.com/♚", "king", "example.com", "♚"},
		{"domain only", "example.com", "", "example.com", ""},
		{"domain resource", "example.com/foobar", "", "example.com", "foobar"},
		{"jid in resource", "a.example.com/b@example.net", "", "a.example.com", "b@example.net"},

		// Case mapping: localpart and domainpart, never the resourcepart.
		{"case", "Juliet@Example.COM/Balcony", "juliet", "example.com", "Balcony"},
		{"greek case", "ΣΑΣ@example.com", "σασ", "example.com", ""},
		// Width mapping: localpart and domainpart; the resourcepart is
		// opaque and keeps full-width letters.
		{"fullwidth local", "ＪＵＬＩＥＴ@example.com", "juliet", "example.com", ""},
		{"fullwidth domain", "juliet@ｅｘａｍｐｌｅ.com", "juliet", "example.com", ""},
		{"fullwidth resource kept", "juliet@example.com/ＲＥＳ", "juliet", "example.com", "ＲＥＳ"},
		// NFC.
		{"decomposed local", "e\u0301@example.com", "é", "example.com", ""},
		{"decomposed resource", "a@example.com/e\u0301", "a", "example.com", "é"},
		// OpaqueString maps non-ASCII spaces to U+0020.
		{"nbsp resource", "a@example.com/x\u00a0y", "a", "example.com", "x y"},
		{"slash in resource", "a@example.com/b/c", "a", "example.com", "b/c"},
		{"resource spaces only", "a@example.com/ ", "a", "example.com", " "},

		// Domainparts.
		{"trailing dot", "juliet@example.com.", "juliet", "example.com", ""},
		{"trailing dot resource", "example.com./r", "", "example.com", "r"},
		{"ideographic full stop", "juliet@example。com", "juliet", "example.com", ""},
		{"U-label", "juliet@bücher.example", "juliet", "bücher.example", ""},
		{"upper U-label", "juliet@BÜCHER.example", "juliet", "bücher.example", ""},
		{"A-label to U-label", "juliet@xn--bcher-kva.example", "juliet", "bücher.example", ""},
		{"ipv4", "juliet@192.0.2.1/r", "juliet", "192.0.2.1", "r"},
		{"ipv6", "juliet@[::1]/r", "juliet", "[::1]", "r"},
		{"ipv6 canonical", "juliet@[2001:DB8:0:0:0:0:0:1]", "juliet", "[2001:db8::1]", ""},
		{"ipv4 in ipv6", "[::ffff:192.0.2.1]", "", "[::ffff:192.0.2.1]", ""},
		{"single label", "localhost", "", "localhost", ""},
		{"digits and hyphens", "a-b.c0-9.example", "", "a-b.c0-9.example", ""},

		// Limits: 1023 bytes per part.
		{"long local", strings.Repeat("a", 1023) + "@x", strings.Repeat("a", 1023), "x", ""},
		{"long resource", "x/" + strings.Repeat("r", 1023), "", "x", strings.Repeat("r", 1023)},
		// Input longer than 1023 bytes whose prepared form fits.
		{"long fullwidth local", strings.Repeat("ａ", 500) + "@x", strings.Repeat("a", 500), "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if j.Local() != tc.local || j.Domain() != tc.domain || j.Resource() != tc.resource {
				t.Fatalf("Parse(%q) = %q %q %q, want %q %q %q", tc.in,
					j.Local(), j.Domain(), j.Resource(), tc.local, tc.domain, tc.resource)
			}
			j2, err := jid.Parse(j.String())
			if err != nil || j2 != j {
				t.Fatalf("reparse of %q = %v, %v", j.String(), j2, err)
			}
			j3, err := jid.New(tc.local, tc.domain, tc.resource)
			if err != nil || !j3.Equal(j) {
				t.Fatalf("New(%q, %q, %q) = %v, %v; want %v", tc.local, tc.domain, tc.resource, j3, err, j)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in string
		part     error
	}{
		// RFC 7622 §3.5 examples of invalid JIDs.
		{"quotes", `"juliet"@example.com`, jid.ErrLocalpart},
		{"space in local", "foo bar@example.com", jid.ErrLocalpart},
		{"empty local", "@example.com", jid.ErrLocalpart},
		{"roman numeral", "henry\u2163@example.com", jid.ErrLocalpart},
		{"symbol local", "♚@example.com", jid.ErrLocalpart},
		{"empty domain after local", "juliet@", jid.ErrDomainpart},
		{"empty domain before resource", "/foobar", jid.ErrDomainpart},

		{"empty", "", jid.ErrDomainpart},
		{"only dot", ".", jid.ErrDomainpart},
		{"empty resource", "a@b/", jid.ErrResourcepart},
		{"two at", "a@b@c", jid.ErrDomainpart},
		{"forbidden amp", "a&b@example.com", jid.ErrLocalpart},
		{"forbidden apos", "a'b@example.com", jid.ErrLocalpart},
		{"forbidden colon", "a:b@example.com", jid.ErrLocalpart},
		{"forbidden lt", "a<b@example.com", jid.ErrLocalpart},
		{"forbidden gt", "a>b@example.com", jid.ErrLocalpart},
		{"fullwidth at", "a＠b@example.com", jid.ErrLocalpart},
		{"fullwidth solidus", "a／b@example.com", jid.ErrLocalpart},
		{"control in local", "a\x01@example.com", jid.ErrLocalpart},
		{"bad utf8 local", "a\xff@example.com", jid.ErrLocalpart},
		{"too long local", strings.Repeat("a", 1024) + "@x", jid.ErrLocalpart},

		{"double dot", "a@example..com", jid.ErrDomainpart},
		{"leading dot", "a@.example.com", jid.ErrDomainpart},
		{"two trailing dots", "a@example.com..", jid.ErrDomainpart},
		{"underscore", "a@ex_ample.com", jid.ErrDomainpart},
		{"space in domain", "a@exa mple.com", jid.ErrDomainpart},
		{"leading hyphen", "a@-example.com", jid.ErrDomainpart},
		{"trailing hyphen", "a@example-.com", jid.ErrDomainpart},
		{"bad A-label", "a@xn--a.com", jid.ErrDomainpart},
		{"ASCII A-label", "a@xn--abc-.com", jid.ErrDomainpart},
		{"bad utf8 domain", "a@ex\xffample.com", jid.ErrDomainpart},
		{"ipv6 unclosed", "a@[::1", jid.ErrDomainpart},
		{"ipv6 garbage", "a@[::g]", jid.ErrDomainpart},
		{"ipv4 in brackets", "a@[192.0.2.1]", jid.ErrDomainpart},
		{"ipv6 zone", "a@[fe80::1%eth0]", jid.ErrDomainpart},
		{"ipv6 bare", "a@::1", jid.ErrDomainpart},
		{"too long domain", "a@" + strings.Repeat("a", 1024), jid.ErrDomainpart},

		{"control in resource", "a@example.com/x\x07", jid.ErrResourcepart},
		{"bad utf8 resource", "a@example.com/\xff", jid.ErrResourcepart},
		{"too long resource", "x/" + strings.Repeat("r", 1024), jid.ErrResourcepart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, err := jid.Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", tc.in, j)
			}
			if !errors.Is(err, tc.part) || !errors.Is(err, jid.ErrMalformed) {
				t.Fatalf("Parse(%q) = %v, want it to wrap %v and %v", tc.in, err, tc.part, jid.ErrMalformed)
			}
			if j != (jid.JID{}) {
				t.Fatalf("Parse(%q) returned %v with its error", tc.in, j)
			}
		})
	}
}

func TestNew(t *testing.T) {
	j, err := jid.New("Juliet", "Example.com", "Balcony")
	if err != nil || j.String() != "juliet@example.com/Balcony" {
		t.Fatalf("New = %q, %v", j, err)
	}
	for _, tc := range []struct{ local, domain, resource string }{
		{"a@b", "example.com", ""},
		{"a/b", "example.com", ""},
		{"a", "", ""},
		{"a", "exa@mple.com", ""},
		{"a", "example.com/r", ""},
	} {
		if j, err := jid.New(tc.local, tc.domain, tc.resource); err == nil {
			t.Errorf("New(%q, %q, %q) = %q, want error", tc.local, tc.domain, tc.resource, j)
		}
	}
	// A resourcepart may hold anything printable, separators included.
	if j, err := jid.New("a", "example.com", "x@y/z"); err != nil || j.String() != "a@example.com/x@y/z" {
		t.Fatalf("New with separators in resource = %q, %v", j, err)
	}
}

func TestAccessorsAndString(t *testing.T) {
	full := jid.MustParse("juliet@example.com/balcony")
	if full.IsBare() || full.IsZero() {
		t.Fatal("full JID reported bare or zero")
	}
	bare := full.Bare()
	if bare.String() != "juliet@example.com" || !bare.IsBare() {
		t.Fatalf("Bare = %q", bare)
	}
	if d := full.DomainJID(); d.String() != "example.com" || d.Local() != "" {
		t.Fatalf("DomainJID = %q", d)
	}
	if !(jid.JID{}).IsZero() || (jid.JID{}).String() != "" {
		t.Fatal("zero JID")
	}
	if full.Equal(bare) || !full.Equal(jid.MustParse("Juliet@EXAMPLE.com/balcony")) {
		t.Fatal("Equal")
	}
	if full.Equal(jid.MustParse("juliet@example.com/Balcony")) {
		t.Fatal("resourceparts compare case-sensitively")
	}
}

func TestWithResource(t *testing.T) {
	bare := jid.MustParse("juliet@example.com/old")
	j, err := bare.WithResource("ba\u00a0lcony")
	if err != nil || j.String() != "juliet@example.com/ba lcony" {
		t.Fatalf("WithResource = %q, %v", j, err)
	}
	if j, err := bare.WithResource(""); err != nil || j != bare.Bare() {
		t.Fatalf(`WithResource("") = %q, %v`, j, err)
	}
	if _, err := bare.WithResource("x\x00"); !errors.Is(err, jid.ErrResourcepart) {
		t.Fatalf("WithResource(control) error = %v", err)
	}
	if _, err := (jid.JID{}).WithResource("r"); !errors.Is(err, jid.ErrMalformed) {
		t.Fatalf("zero JID WithResource error = %v", err)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("MustParse did not panic")
		}
	}()
	jid.MustParse("@example.com")
}

// TestParseNoAlloc holds the routing hot path to zero allocations for
// prepared ASCII input.
func TestParseNoAlloc(t *testing.T) {
	for _, s := range []string{
		"juliet@example.com/balcony 2",
		"juliet@example.com",
		"example.com",
		"conference.example.com/room@x",
		"juliet@example.com.",
		"juliet@[2001:db8::1]/r",
		"+1-555~x_y!@a-b.example/Res",
	} {
		var j jid.JID
		var err error
		allocs := testing.AllocsPerRun(100, func() { j, err = jid.Parse(s) })
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if allocs != 0 {
			t.Errorf("Parse(%q) allocates %.0f times, want 0", s, allocs)
		}
		_ = j
	}
	j := jid.MustParse("example.com")
	if a := testing.AllocsPerRun(100, func() { _ = j.String() }); a != 0 {
		t.Errorf("domain JID String allocates %.0f times", a)
	}
	j = jid.MustParse("juliet@example.com/r")
	if a := testing.AllocsPerRun(100, func() { _ = j.String() }); a != 1 {
		t.Errorf("full JID String allocates %.0f times, want 1", a)
	}
}
