package xmltok

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	stream := map[string]string{"stream": streamsNS}
	tests := []struct {
		name string
		in   string
		want *Element
	}{
		{"message", `<message to='a@b' type='chat' xml:lang='en'><body>Hi &amp; bye &#x1F339;&#65;</body></message>`,
			NewElement("jabber:client", "message", Attr{"to", "a@b"}, Attr{"type", "chat"}, Attr{"xml:lang", "en"}).Add(
				NewElement("jabber:client", "body").SetText("Hi & bye \U0001F339A"))},
		{"namespaces", `<iq type='result'><query xmlns='jabber:iq:roster' ver='1'><item jid='x'/></query><y:z xmlns:y='urn:y' y:a='1'><w/></y:z></iq>`,
			NewElement("jabber:client", "iq", Attr{"type", "result"}).Add(
				NewElement("jabber:iq:roster", "query", Attr{"ver", "1"}).Add(NewElement("jabber:iq:roster", "item", Attr{"jid", "x"})),
				NewElement("urn:y", "z", Attr{"xmlns:y", "urn:y"}, Attr{"y:a", "1"}).Add(NewElement("jabber:client", "w")))},
		{"stream prefix", `<stream:error><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>x</text></stream:error>`,
			NewElement(streamsNS, "error").Add(NewElement("urn:ietf:params:xml:ns:xmpp-streams", "text").SetText("x"))},
		{"undeclared default", `<a xmlns='urn:a'><b xmlns=''><c/></b></a>`,
			NewElement("urn:a", "a").Add(NewElement("", "b").Add(NewElement("", "c")))},
		{"mixed text", "<body>one<b/> two\r\nthree\rfour<i/>&lt;five&gt;</body>",
			NewElement("jabber:client", "body").SetText("one two\nthree\nfour<five>").Add(NewElement("jabber:client", "b"), NewElement("jabber:client", "i"))},
		{"cdata", "<body>a<![CDATA[<&>\r\n]]>b<![CDATA[]]></body>",
			NewElement("jabber:client", "body").SetText("a<&>\nb")},
		{"attribute normalisation", "<a b='x\ty\r\nz&#10;&#x9;' c=\"'\" d='\"&apos;'/>",
			NewElement("jabber:client", "a", Attr{"b", "x y z\n\t"}, Attr{"c", "'"}, Attr{"d", `"'`})},
		{"whitespace around", "  \n<a/>\n ", NewElement("jabber:client", "a")},
		{"prefixed default override", `<p:a xmlns:p='urn:p' xmlns='urn:d'><b/></p:a>`,
			NewElement("urn:p", "a", Attr{"xmlns:p", "urn:p"}).Add(NewElement("urn:d", "b"))},
		{"escaped namespace", `<a xmlns='urn:a&amp;b'/>`, NewElement("urn:a&b", "a")},
		{"non-ascii names", "<\u00e9l\u00e9ment \u4e2d='\u00e9'/>", NewElement("jabber:client", "\u00e9l\u00e9ment", Attr{"\u4e2d", "\u00e9"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.in), "jabber:client", stream)
			if err != nil {
				t.Fatal(err)
			}
			if !equalElement(e, tt.want) {
				t.Fatalf("got  %s\nwant %s", e, tt.want)
			}
			roundTrip(t, e, "jabber:client", stream)
		})
	}
}

// roundTrip checks Parse(Append(e)) == e.
func roundTrip(t *testing.T, e *Element, defaultNS string, prefixes map[string]string) {
	t.Helper()
	out := e.Append(nil, defaultNS)
	e2, err := Parse(out, defaultNS, prefixes)
	if err != nil {
		t.Fatalf("reparse %s: %v", out, err)
	}
	if !equalElement(e, e2) {
		t.Fatalf("round trip:\n got %s\nwant %s", e2, e)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, cond string
	}{
		{``, condNotWellFormed},
		{`  `, condNotWellFormed},
		{`text`, condNotWellFormed},
		{`<a>`, condNotWellFormed},
		{`<a><b></a>`, condNotWellFormed},
		{`<a/><b/>`, condNotWellFormed},
		{`<a/>text`, condNotWellFormed},
		{`<a></a></a>`, condNotWellFormed},
		{`</a>`, condNotWellFormed},
		{`<a>&foo;</a>`, condRestricted},
		{`<a><!-- x --></a>`, condRestricted},
		{`<!DOCTYPE a><a/>`, condRestricted},
		{`<a><?pi?></a>`, condRestricted},
		{`<x:a/>`, condNotWellFormed},
		{`<a b='1' b='2'/>`, condNotWellFormed},
		{"<a>\x00</a>", condNotWellFormed},
		{"<a>\xc3</a>", condNotWellFormed},
		{"<a b='\xc3'/>", condNotWellFormed},
		{"<a\xc3/>", condNotWellFormed},
		{"<a>&#xD800;</a>", condNotWellFormed},
		{"<a>&", condNotWellFormed},
		{"<a b='", condNotWellFormed},
		{"<a><![CDATA[", condNotWellFormed},
		{strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), condPolicy},
		{"<a>" + strings.Repeat("x", DefaultMaxStanzaSize) + "</a>", condPolicy},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in), "jabber:client", nil)
		if c := condition(err); c != tt.cond {
			t.Errorf("%.40q: err = %v, want %s", tt.in, err, tt.cond)
		}
	}
}

func TestParseStreamElements(t *testing.T) {
	// Everything Next returns parses, and survives Append.
	d := NewDecoder(strings.NewReader(stream), Limits{})
	st, err := d.ReadStart()
	if err != nil {
		t.Fatal(err)
	}
	for {
		r, err := d.Next()
		if err != nil {
			break
		}
		e, err := Parse(r.Bytes, st.DefaultNS, d.Prefixes())
		if err != nil {
			t.Fatalf("%s: %v", r.Bytes, err)
		}
		if e.Space != r.Space || e.Local != r.Local || e.Attr("to") != r.To || e.Attr("from") != r.From ||
			e.Attr("type") != r.Type || e.Attr("id") != r.ID || e.Attr("xml:lang") != r.Lang {
			t.Errorf("%s: header %+v vs element %s", r.Bytes, r, e)
		}
		roundTrip(t, e, st.DefaultNS, d.Prefixes())
	}
}

func TestElement(t *testing.T) {
	e := NewElement("jabber:client", "message", Attr{"to", "a"})
	e.SetAttr("type", "chat").SetAttr("to", "b").Add(NewElement("jabber:client", "body").SetText("x<y"))
	if e.Attr("to") != "b" || !e.HasAttr("type") || e.HasAttr("id") {
		t.Fatalf("attrs %v", e.Attrs)
	}
	c := e.Copy()
	e.RemoveAttr("type")
	e.Child("", "body").Text = "changed"
	if c.Attr("type") != "chat" || c.Child("jabber:client", "body").Text != "x<y" {
		t.Fatalf("copy shares state: %s", c)
	}
	if got := c.String(); got != `<message xmlns='jabber:client' to='b' type='chat'><body>x&lt;y</body></message>` {
		t.Fatalf("String = %s", got)
	}
	if got := string(c.Append(nil, "jabber:client")); got != `<message to='b' type='chat'><body>x&lt;y</body></message>` {
		t.Fatalf("Append = %s", got)
	}
	// An xmlns attribute never contradicts Space.
	x := NewElement("urn:a", "x", Attr{"xmlns", "urn:b"})
	if got := x.String(); got != `<x xmlns='urn:a'/>` {
		t.Fatalf("String = %s", got)
	}
	if n := len(NewElement("", "a").Copy().Children); n != 0 {
		t.Fatal(n)
	}
	if got := len(e.ChildrenNamed("", "body")); got != 1 {
		t.Fatal(got)
	}
	if got := string(EscapeAttr(nil, "<>&'\"\t\n\r")); got != "&lt;&gt;&amp;&apos;&quot;&#x9;&#xA;&#xD;" {
		t.Fatal(got)
	}
	if got := string(EscapeText(nil, "<>&\r]]>")); got != "&lt;&gt;&amp;&#xD;]]&gt;" {
		t.Fatal(got)
	}
}
