package jid_test

import (
	"testing"
	"unicode/utf8"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

var fuzzSeeds = []string{
	"juliet@example.com/balcony",
	"example.com",
	"Σ@example.com/♚",
	"ＪＵＬＩＥＴ@ｅｘａｍｐｌｅ。com/ＲＥＳ",
	"juliet@xn--bcher-kva.example.",
	"juliet@[2001:DB8::1]/r",
	"a@b@c/d/e",
	"@/",
	"a@example..com",
	"\xff@\xfe/\xfd",
	"e\u0301@example.com/x\u00a0y",
	"a\u200db@example.com",
	"a@\u0627\u0644.example/\u05d0",
}

// FuzzParse: Parse never panics, and whatever it accepts is a fixed point:
// its String parses back to an equal JID, and New of its parts agrees.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := jid.Parse(s)
		if err != nil {
			return
		}
		if j.IsZero() {
			t.Fatalf("Parse(%q) accepted an empty domainpart", s)
		}
		for _, p := range []string{j.Local(), j.Domain(), j.Resource()} {
			if len(p) > 1023 || !utf8.ValidString(p) {
				t.Fatalf("Parse(%q) gave part %q", s, p)
			}
		}
		str := j.String()
		j2, err := jid.Parse(str)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not reparse: %v", s, str, err)
		}
		if !j2.Equal(j) {
			t.Fatalf("Parse(%q) = %#v; reparse of %q = %#v", s, j, str, j2)
		}
		j3, err := jid.New(j.Local(), j.Domain(), j.Resource())
		if err != nil || j3 != j {
			t.Fatalf("New of the parts of %q = %#v, %v", str, j3, err)
		}
	})
}
