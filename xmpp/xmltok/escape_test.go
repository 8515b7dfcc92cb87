package xmltok

import "testing"

// What XML cannot carry never leaves an escaper: a peer's parser would
// fail on the whole stream.
func TestEscapeReplacesNonChars(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                "plain",
		"tab\tnl\n":            "tab\tnl\n",
		"a\x01b\x0bc\x1f":      "a\uFFFDb\uFFFDc\uFFFD",
		"x\uFFFEy\uFFFFz":      "x\uFFFDy\uFFFDz",
		"ok \uFFFD \uFFFC é 𝄞": "ok \uFFFD \uFFFC é 𝄞",
		"cut at end \xef\xbf":  "cut at end \xef\xbf",
		"<&>\r":                "&lt;&amp;&gt;&#xD;",
	} {
		if got := string(EscapeText(nil, in)); got != want {
			t.Errorf("EscapeText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := string(EscapeAttr(nil, "a\x00'\uFFFF")); got != "a\uFFFD&apos;\uFFFD" {
		t.Errorf("EscapeAttr: %q", got)
	}
	for s, want := range map[string]bool{
		"hello\t\r\n": true, "é𝄞\uFFFD": true, "": true,
		"a\x01": false, "\x7f": true, "x\uFFFE": false, "\xff": false,
	} {
		if ValidText(s) != want {
			t.Errorf("ValidText(%q) = %v", s, !want)
		}
	}
}
