package xmltok

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadStart(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		cond      string // expected condition, "" for success
		err       error  // expected non-XML error
		space     string
		local     string
		defaultNS string
		prefixes  map[string]string
		attr      [2]string // an attribute to check
	}{
		{name: "client", in: header, space: streamsNS, local: "stream", defaultNS: "jabber:client",
			prefixes: map[string]string{"stream": streamsNS}, attr: [2]string{"to", "example.com"}},
		{name: "no declaration", in: `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' from='a.example'>`,
			space: streamsNS, local: "stream", defaultNS: "jabber:server", prefixes: map[string]string{"stream": streamsNS}, attr: [2]string{"from", "a.example"}},
		{name: "full declaration", in: "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>\n<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
			space: streamsNS, local: "stream", defaultNS: "jabber:client", prefixes: map[string]string{"stream": streamsNS}},
		{name: "websocket open", in: `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' version='1.0'/>`,
			space: "urn:ietf:params:xml:ns:xmpp-framing", local: "open", defaultNS: "urn:ietf:params:xml:ns:xmpp-framing", attr: [2]string{"version", "1.0"}},
		{name: "escaped attribute", in: `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='a&amp;b'>`,
			space: streamsNS, local: "stream", defaultNS: "jabber:client", prefixes: map[string]string{"stream": streamsNS}, attr: [2]string{"to", "a&b"}},
		{name: "whitespace first", in: "\n <?xml version='1.0'?><a xmlns='x'>", space: "x", local: "a", defaultNS: "x"},
		{name: "latin1", in: `<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream>`, cond: condEncoding},
		{name: "utf16", in: "\xFE\xFF\x00<", cond: condEncoding},
		{name: "utf16le", in: "\xFF\xFE<\x00", cond: condEncoding},
		{name: "version 2", in: `<?xml version='2.0'?><a/>`, cond: condNotWellFormed},
		{name: "no version", in: `<?xml encoding='UTF-8'?><a/>`, cond: condNotWellFormed},
		{name: "bad declaration", in: `<?xml version='1.0'encoding='UTF-8'?><a/>`, cond: condNotWellFormed},
		{name: "two declarations", in: `<?xml version='1.0'?><?xml version='1.0'?><a/>`, cond: condRestricted},
		{name: "pi", in: `<?xml-stylesheet href='a'?><a/>`, cond: condRestricted},
		{name: "pi after declaration", in: `<?xml version='1.0'?><?foo?><a/>`, cond: condRestricted},
		{name: "doctype", in: `<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'b'>]><a/>`, cond: condRestricted},
		{name: "comment", in: `<!-- hi --><a/>`, cond: condRestricted},
		{name: "text", in: `hello<a/>`, cond: condNotWellFormed},
		{name: "end tag", in: `</stream:stream>`, cond: condNotWellFormed},
		{name: "unbound prefix", in: `<stream:stream xmlns='jabber:client'>`, cond: condNotWellFormed},
		{name: "empty", in: ``, err: io.EOF},
		{name: "truncated", in: `<stream:stream xmlns='jabber:client'`, err: io.ErrUnexpectedEOF},
		{name: "truncated declaration", in: `<?xml version=`, err: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				d := NewDecoder(r, Limits{})
				st, err := d.ReadStart()
				if tt.cond != "" || tt.err != nil {
					if c := condition(err); c != tt.cond || (tt.err != nil && !errors.Is(err, tt.err)) {
						t.Fatalf("err = %v, want condition %q / %v", err, tt.cond, tt.err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if st.Space != tt.space || st.Local != tt.local || st.DefaultNS != tt.defaultNS {
					t.Errorf("start = %+v", st)
				}
				if tt.attr[0] != "" && st.Attr(tt.attr[0]) != tt.attr[1] {
					t.Errorf("attr %s = %q, want %q", tt.attr[0], st.Attr(tt.attr[0]), tt.attr[1])
				}
				p := d.Prefixes()
				if len(p) != len(tt.prefixes) {
					t.Errorf("prefixes = %v, want %v", p, tt.prefixes)
				}
				for k, v := range tt.prefixes {
					if p[k] != v {
						t.Errorf("prefixes = %v, want %v", p, tt.prefixes)
					}
				}
			}
		})
	}
}

func TestNextGood(t *testing.T) {
	body := " \n\t<message to='juliet@example.com' from='romeo@example.net/orchard' type='chat' id='m1' xml:lang='en'><body>Hi &amp; &#x1F339; &lt;3</body></message>\n" +
		`<presence/>` + "\r\n" +
		`<iq type="get" id='i1'><query xmlns='jabber:iq:roster'/></iq>` +
		`<r xmlns='urn:xmpp:sm:3'/>` +
		`<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>` +
		`<db:result xmlns:db='jabber:server:dialback' from='a' to='b'>key</db:result>` +
		`<message><body><![CDATA[<b>bold</b> & ]] > ]]></body></message>` +
		`<x:y xmlns:x='urn:x'><x:z x:a='1'/></x:y>` +
		`<message xmlns='jabber:client'  to = "a@b"   ><body xmlns=''/></message   >` +
		"<message><body>\u00e9\u4e2d\U0001F600 ]] &gt;</body></message>" +
		` </stream:stream>`
	out, err := readBody(t, body, Limits{})
	if err != ErrStreamEnd {
		t.Fatalf("err = %v", err)
	}
	want := []struct {
		space, local, to, typ, id string
		streamPrefixes            bool
	}{
		{"jabber:client", "message", "juliet@example.com", "chat", "m1", false},
		{"jabber:client", "presence", "", "", "", false},
		{"jabber:client", "iq", "", "get", "i1", false},
		{"urn:xmpp:sm:3", "r", "", "", "", false},
		{streamsNS, "features", "", "", "", true},
		{"jabber:server:dialback", "result", "b", "", "", false},
		{"jabber:client", "message", "", "", "", false},
		{"urn:x", "y", "", "", "", false},
		{"jabber:client", "message", "a@b", "", "", false},
		{"jabber:client", "message", "", "", "", false},
	}
	if len(out) != len(want) {
		t.Fatalf("got %d elements, want %d", len(out), len(want))
	}
	for i, w := range want {
		r := out[i]
		if r.Space != w.space || r.Local != w.local || r.To != w.to || r.Type != w.typ || r.ID != w.id || r.StreamPrefixes != w.streamPrefixes {
			t.Errorf("element %d (%s) = %+v, want %+v", i, r.Bytes, r, w)
		}
		if !strings.Contains(body, string(r.Bytes)) || r.Bytes[0] != '<' || r.Bytes[len(r.Bytes)-1] != '>' {
			t.Errorf("element %d bytes %q", i, r.Bytes)
		}
	}
	if m := out[0]; m.From != "romeo@example.net/orchard" || m.Lang != "en" || !m.HasTo || !m.HasFrom {
		t.Errorf("header = %+v", m)
	}
}

func TestNextErrors(t *testing.T) {
	tests := []struct {
		name, body, cond string
	}{
		{"mismatched end", `<message><body></message></body>`, condNotWellFormed},
		{"mismatched stream end", `</stream:foo>`, condNotWellFormed},
		{"end without start", `<a></a></b>`, condNotWellFormed},
		{"text at stream level", `hello <message/>`, condNotWellFormed},
		{"entity at stream level", `&amp;`, condNotWellFormed},
		{"bad name", `<1message/>`, condNotWellFormed},
		{"bad name char", `<mes$sage/>`, condNotWellFormed},
		{"space before name", `< message/>`, condNotWellFormed},
		{"bad end name", `<a></1a>`, condNotWellFormed},
		{"duplicate attribute", `<message to='a' to='b'/>`, condNotWellFormed},
		{"duplicate prefixed attribute", `<message xml:lang='a' xml:lang='b'/>`, condNotWellFormed},
		{"unquoted attribute", `<message to=a/>`, condNotWellFormed},
		{"attribute without value", `<message to/>`, condNotWellFormed},
		{"attribute without space", `<message to='a'from='b'/>`, condNotWellFormed},
		{"lt in attribute", `<message to='a<b'/>`, condNotWellFormed},
		{"bare ampersand", `<message><body>AT&T</body></message>`, condNotWellFormed},
		{"bare ampersand in attribute", `<message id='a & b'/>`, condNotWellFormed},
		{"unknown entity", `<message><body>&nbsp;</body></message>`, condRestricted},
		{"unknown entity in attribute", `<message id='&foo;'/>`, condRestricted},
		{"long entity", `<message><body>&` + strings.Repeat("a", 100) + `;</body></message>`, condRestricted},
		{"char ref zero", `<message><body>&#0;</body></message>`, condNotWellFormed},
		{"char ref control", `<message><body>&#x1;</body></message>`, condNotWellFormed},
		{"char ref surrogate", `<message><body>&#xD800;</body></message>`, condNotWellFormed},
		{"char ref fffe", `<message><body>&#xFFFE;</body></message>`, condNotWellFormed},
		{"char ref too large", `<message><body>&#x110000;</body></message>`, condNotWellFormed},
		{"char ref empty", `<message><body>&#;</body></message>`, condNotWellFormed},
		{"char ref bad digit", `<message><body>&#12a;</body></message>`, condNotWellFormed},
		{"char ref upper X", `<message><body>&#X41;</body></message>`, condNotWellFormed},
		{"invalid utf8", "<message><body>\xff</body></message>", condNotWellFormed},
		{"invalid utf8 in name", "<mess\xc3age/>", condNotWellFormed},
		{"invalid utf8 in attribute", "<message id='\xe2\x28\xa1'/>", condNotWellFormed},
		{"overlong utf8", "<message><body>\xc0\xaf</body></message>", condNotWellFormed},
		{"encoded surrogate", "<message><body>\xed\xa0\x80</body></message>", condNotWellFormed},
		{"U+FFFF", "<message><body>\xef\xbf\xbf</body></message>", condNotWellFormed},
		{"control char", "<message><body>\x01</body></message>", condNotWellFormed},
		{"nul", "<message><body>\x00</body></message>", condNotWellFormed},
		{"control in attribute", "<message id='\x07'/>", condNotWellFormed},
		{"control in cdata", "<message><![CDATA[\x1b]]></message>", condNotWellFormed},
		{"cdata end in text", `<message><body>]]></body></message>`, condNotWellFormed},
		{"unbound prefix", `<foo:message/>`, condNotWellFormed},
		{"unbound inner prefix", `<message><foo:body/></message>`, condNotWellFormed},
		{"unbound attribute prefix", `<message foo:bar='1'/>`, condNotWellFormed},
		{"prefix out of scope", `<message><a xmlns:p='u'/><p:b/></message>`, condNotWellFormed},
		{"xmlns prefix element", `<xmlns:message/>`, condNotWellFormed},
		{"empty prefix declaration", `<message xmlns:p=''/>`, condNotWellFormed},
		{"xmlns declared", `<message xmlns:xmlns='u'/>`, condNotWellFormed},
		{"xml rebound", `<message xmlns:xml='u'/>`, condNotWellFormed},
		{"two colons", `<a:b:c xmlns:a='u'/>`, condNotWellFormed},
		{"empty local", `<a: xmlns:a='u'/>`, condNotWellFormed},
		{"leading colon", `<:a/>`, condNotWellFormed},
		{"local starts with digit", `<a:1 xmlns:a='u'/>`, condNotWellFormed},
		{"comment", `<message><!-- hi --></message>`, condRestricted},
		{"comment at stream level", `<!-- hi -->`, condRestricted},
		{"pi", `<message><?php echo 1; ?></message>`, condRestricted},
		{"pi at stream level", `<?xml version='1.0'?>`, condRestricted},
		{"doctype", `<!DOCTYPE message>`, condRestricted},
		{"bad bang", `<message><!x></message>`, condNotWellFormed},
		{"cdata at stream level", `<![CDATA[x]]>`, condNotWellFormed},
		{"slash without gt", `<message/ >`, condNotWellFormed},
		{"junk in end tag", `<message></message x>`, condNotWellFormed},
		{"billion laughs", `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><message>&lol1;</message>`, condRestricted},
		{"billion laughs without DTD", `<message><body>&lol9;</body></message>`, condRestricted},
		{"external entity", `<message><body>&xxe;</body></message>`, condRestricted},
		{"too many attributes", `<a` + manyAttrs(maxAttrs+1, "a") + `/>`, condPolicy},
		{"too many declarations", `<a` + manyAttrs(maxNSDecls/2, "xmlns:p") + `><b` + manyAttrs(maxNSDecls/2+1, "xmlns:q") + `/></a>`, condPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []bool{false, true} {
				var r io.Reader = strings.NewReader(header + tt.body)
				if split {
					r = iotest.OneByteReader(r)
				}
				_, out, err := readAll(r, Limits{})
				if c := condition(err); c != tt.cond {
					t.Fatalf("split=%v: err = %v (after %d elements), want %s", split, err, len(out), tt.cond)
				}
			}
		})
	}
}

func TestNextSticky(t *testing.T) {
	d := NewDecoder(strings.NewReader(header+`<a><b></a><c/>`), Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	_, err1 := d.Next()
	_, err2 := d.Next()
	if condition(err1) != condNotWellFormed || err2 != err1 {
		t.Fatalf("errors %v, %v", err1, err2)
	}
}

func TestStreamEnd(t *testing.T) {
	for _, end := range []string{`</stream:stream>`, `</stream:stream >`, "</stream:stream\n>"} {
		d := NewDecoder(strings.NewReader(header+`<a/>`+end+`<b/>`), Limits{})
		if _, err := d.ReadStart(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Next(); err != ErrStreamEnd {
			t.Fatalf("%s: err = %v", end, err)
		}
		if _, err := d.Next(); err != ErrStreamEnd {
			t.Fatalf("%s: second err = %v", end, err)
		}
	}
	// A self-closing header leaves nothing open to close.
	d := NewDecoder(strings.NewReader(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/><message xmlns='jabber:client'/></open>`), Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	r, err := d.Next()
	if err != nil || r.Space != "jabber:client" || r.Local != "message" {
		t.Fatalf("Next = %+v, %v", r, err)
	}
	if _, err := d.Next(); condition(err) != condNotWellFormed {
		t.Fatalf("err = %v", err)
	}
}

func TestEOF(t *testing.T) {
	_, out, err := readAll(strings.NewReader(header+`<a/> `), Limits{})
	if err != io.EOF || len(out) != 1 {
		t.Fatalf("clean EOF: %v, %d", err, len(out))
	}
	_, _, err = readAll(strings.NewReader(header+`<a><b>text`), Limits{})
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("EOF in element: %v", err)
	}
}

func TestHeaderFields(t *testing.T) {
	tests := []struct {
		in                      string
		to, from, typ, id, lang string
		hasTo, hasFrom          bool
		nameEnd                 int
		toSpan, fromSpan        [2]int
	}{
		{in: `<message to='a@b' from='c@d/e' type='chat' id='x' xml:lang='en'/>`,
			to: "a@b", from: "c@d/e", typ: "chat", id: "x", lang: "en", hasTo: true, hasFrom: true,
			nameEnd: 8, toSpan: [2]int{8, 17}, fromSpan: [2]int{17, 30}},
		{in: `<iq   from="x" to=''><q/></iq>`, from: "x", hasTo: true, hasFrom: true,
			nameEnd: 3, toSpan: [2]int{14, 20}, fromSpan: [2]int{3, 14}},
		{in: "<presence\n\tto\n=\n'a&amp;b'\ntype='un&#x61;vailable'/>", to: "a&b", typ: "unavailable", hasTo: true,
			nameEnd: 9, toSpan: [2]int{9, 25}},
		{in: `<message id='a&#9;b'  to='  x y  '/>`, id: "a\tb", to: "  x y  ", hasTo: true, nameEnd: 8, toSpan: [2]int{20, 34}},
		{in: "<message id='a\r\nb\tc\nd'/>", id: "a b c d", nameEnd: 8},
		{in: `<db:verify xmlns:db='jabber:server:dialback' from='a' to='b' id='i'>k</db:verify>`,
			from: "a", to: "b", id: "i", hasTo: true, hasFrom: true, nameEnd: 10, toSpan: [2]int{53, 60}, fromSpan: [2]int{44, 53}},
		{in: `<message><body to='no' from='no'/></message>`, nameEnd: 8},
	}
	for _, tt := range tests {
		out, err := readBody(t, tt.in, Limits{})
		if err != io.EOF || len(out) != 1 {
			t.Fatalf("%s: %v", tt.in, err)
		}
		r := out[0]
		if r.To != tt.to || r.From != tt.from || r.Type != tt.typ || r.ID != tt.id || r.Lang != tt.lang ||
			r.HasTo != tt.hasTo || r.HasFrom != tt.hasFrom || r.NameEnd != tt.nameEnd ||
			r.ToSpan != tt.toSpan || r.FromSpan != tt.fromSpan {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.in, r, tt)
		}
		// Cutting the spans out leaves a well-formed element without them.
		b := r.Bytes
		cut := append([]byte(nil), b...)
		spans := [][2]int{r.ToSpan, r.FromSpan}
		if spans[0][0] < spans[1][0] {
			spans[0], spans[1] = spans[1], spans[0]
		}
		for _, sp := range spans {
			if sp != [2]int{} {
				cut = append(cut[:sp[0]:sp[0]], cut[sp[1]:]...)
			}
		}
		e, err := Parse(cut, "jabber:client", nil)
		if err != nil || e.HasAttr("to") || e.HasAttr("from") {
			t.Errorf("%s: cut %s: %v", tt.in, cut, err)
		}
		// NameEnd is where an attribute can go.
		ins := string(b[:r.NameEnd]) + ` from='z'` + string(b[r.NameEnd:])
		if tt.hasFrom {
			ins = string(cut[:r.NameEnd]) + ` from='z'` + string(cut[r.NameEnd:])
		}
		if e, err := Parse([]byte(ins), "jabber:client", nil); err != nil || e.Attr("from") != "z" {
			t.Errorf("%s: insert %s: %v", tt.in, ins, err)
		}
	}
}

func TestStreamPrefixes(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`<message><body/></message>`, false},
		{`<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>`, true},
		{`<message><stream:x/></message>`, true},
		{`<message stream:a='1'/>`, true},
		{`<stream:features xmlns:stream='http://etherx.jabber.org/streams'/>`, false},
		{`<message xmlns:stream='urn:other'><stream:x/></message>`, false},
		{`<message xml:lang='en'/>`, false},
	}
	for _, tt := range tests {
		out, err := readBody(t, tt.body, Limits{})
		if err != io.EOF || len(out) != 1 {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if out[0].StreamPrefixes != tt.want {
			t.Errorf("%s: StreamPrefixes = %v", tt.body, out[0].StreamPrefixes)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	elem := func(n int) string { // an element of exactly n bytes
		return `<message><body>` + strings.Repeat("x", n-len(`<message><body></body></message>`)) + `</body></message>`
	}
	for _, lim := range []int{200, 5000, 70000} {
		for _, r := range []func(string) io.Reader{
			func(s string) io.Reader { return strings.NewReader(s) },
			func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		} {
			out, err := readAllErr(r(header+elem(lim)+elem(lim)), Limits{MaxStanzaSize: lim})
			if err != io.EOF || len(out) != 2 {
				t.Fatalf("limit %d: exact size: %d elements, %v", lim, len(out), err)
			}
			_, err = readAllErr(r(header+elem(lim+1)), Limits{MaxStanzaSize: lim})
			if condition(err) != condPolicy {
				t.Fatalf("limit %d: one byte over: %v", lim, err)
			}
		}
	}
	// The header counts too.
	_, _, err := readAll(strings.NewReader(`<stream:stream xmlns:stream='`+strings.Repeat("x", 200)+`'>`), Limits{MaxStanzaSize: 100})
	if condition(err) != condPolicy {
		t.Fatalf("header: %v", err)
	}
}

func readAllErr(r io.Reader, lim Limits) ([]Raw, error) {
	_, out, err := readAll(r, lim)
	return out, err
}

func TestHugeElement(t *testing.T) {
	// An endless element fails once past the limit, without reading the
	// 10 MB the peer offers.
	for _, prefix := range []string{"<message><body>", "<message id='", "<message ", "<mess", "<message><![CDATA["} {
		cr := &countingReader{r: io.LimitReader(&repeatReader{prefix: header + prefix, fill: 'a'}, 10<<20)}
		if prefix == "<message " {
			cr.r = io.LimitReader(&repeatReader{prefix: header + prefix, fill: ' '}, 10<<20)
		}
		_, _, err := readAll(cr, Limits{})
		if condition(err) != condPolicy {
			t.Fatalf("%s: err = %v", prefix, err)
		}
		if cr.n > DefaultMaxStanzaSize+16<<10 {
			t.Errorf("%s: read %d bytes for a limit of %d", prefix, cr.n, DefaultMaxStanzaSize)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	nest := func(n int) string {
		return strings.Repeat("<a>", n) + strings.Repeat("</a>", n)
	}
	out, err := readBody(t, nest(64)+strings.Repeat("<a>", 63)+"<a/>"+strings.Repeat("</a>", 63), Limits{})
	if err != io.EOF || len(out) != 2 {
		t.Fatalf("depth 64: %v", err)
	}
	for _, in := range []string{nest(65), strings.Repeat("<a>", 64) + "<a/>"} {
		if _, err := readBody(t, in, Limits{}); condition(err) != condPolicy {
			t.Fatalf("depth 65: %v", err)
		}
	}
	if _, err := readBody(t, nest(4), Limits{MaxDepth: 3}); condition(err) != condPolicy {
		t.Fatalf("depth 4 of 3: %v", err)
	}
	// 10,000 levels: refused at level 65, cheaply.
	deep := nest(10000)
	if n := testing.AllocsPerRun(10, func() {
		d := NewDecoder(strings.NewReader(header+deep), Limits{})
		d.ReadStart()
		if _, err := d.Next(); condition(err) != condPolicy {
			t.Fatalf("depth 10000: %v", err)
		}
	}); n > 30 {
		t.Errorf("%v allocations", n)
	}
	// Allowed, 10,000 levels cost no stack: the scanner does not recurse.
	lim := Limits{MaxDepth: 20000, MaxStanzaSize: 1 << 20}
	out, err = readBody(t, deep, lim)
	if err != io.EOF || len(out) != 1 {
		t.Fatalf("depth 10000 allowed: %v", err)
	}
	e, err := ParseLimits(out[0].Bytes, "", nil, lim)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; e != nil; n++ {
		e = e.Child("", "a")
	}
	if n != 10000 {
		t.Fatalf("parsed depth %d", n)
	}
	if _, err := Parse(out[0].Bytes, "", nil); condition(err) != condPolicy {
		t.Fatalf("Parse with default limits: %v", err)
	}
}

// stream is a test stream exercising every tokenizer state.
const stream = header + "\n" +
	`<message to='juliet@example.com' from='romeo@example.net/orchard' type='chat' id='m1' xml:lang='en'><body>Hi &amp; &#x1F339; &#128512;</body><thread>t\r\n1</thread></message>` +
	` <presence><c xmlns="http://jabber.org/protocol/caps" hash='sha-1' node='n' ver='v='/></presence>` +
	"<iq type='get' id='\u00e9\u4e2d\U0001F600'><query xmlns='jabber:iq:roster'/></iq>" +
	`<message><body><![CDATA[<x> & ]]]]><![CDATA[>]]></body></message>` +
	`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>` +
	`<x:y xmlns:x='urn:x' x:a='1' xmlns:z='urn:z'><z:w/></x:y>` +
	"\r\n\t</stream:stream>"

func TestSplitReads(t *testing.T) {
	_, want, err := readAll(strings.NewReader(stream), Limits{})
	if err != ErrStreamEnd || len(want) != 6 {
		t.Fatalf("whole: %d, %v", len(want), err)
	}
	check := func(name string, r io.Reader) {
		t.Helper()
		_, got, err := readAll(r, Limits{})
		if err != ErrStreamEnd || len(got) != len(want) {
			t.Fatalf("%s: %d elements, %v", name, len(got), err)
		}
		for i := range want {
			if !sameRaw(got[i], want[i]) {
				t.Fatalf("%s: element %d:\n got %+v\nwant %+v", name, i, got[i], want[i])
			}
		}
	}
	check("one byte", iotest.OneByteReader(strings.NewReader(stream)))
	check("half", iotest.HalfReader(strings.NewReader(stream)))
	check("data+err", iotest.DataErrReader(strings.NewReader(stream)))
	for k := 1; k < len(stream); k++ {
		check("split", &splitReader{data: []byte(stream), chunks: []int{k}})
	}
	for _, c := range []int{2, 3, 5, 7, 13} {
		chunks := make([]int, len(stream))
		for i := range chunks {
			chunks[i] = c
		}
		check("chunks", &splitReader{data: []byte(stream), chunks: chunks})
	}
}

// blockingReader hands out its data, then blocks forever.
type blockingReader struct {
	data []byte
	t    *testing.T
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		r.t.Fatal("read past the end of a complete element")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestNoReadAhead(t *testing.T) {
	// A complete element is returned without waiting for more input.
	d := NewDecoder(&blockingReader{data: []byte(header + `<a/><b>x</b>`), t: t}, Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<a/>`, `<b>x</b>`} {
		r, err := d.Next()
		if err != nil || string(r.Bytes) != want {
			t.Fatalf("Next = %q, %v", r.Bytes, err)
		}
	}
	d = NewDecoder(&blockingReader{data: []byte(`<stream:stream xmlns:stream='` + streamsNS + `'>`), t: t}, Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
}

// errOnceReader returns err once after n bytes, then the rest.
type errOnceReader struct {
	data []byte
	n    int
	err  error
}

func (r *errOnceReader) Read(p []byte) (int, error) {
	if r.err != nil && r.n == 0 {
		err := r.err
		r.err = nil
		return 0, err
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	m := len(p)
	if r.err != nil {
		m = min(m, r.n)
	}
	m = copy(p, r.data[:min(m, len(r.data))])
	r.data = r.data[m:]
	r.n -= m
	return m, nil
}

func TestReadErrorResumes(t *testing.T) {
	// A read error (a deadline, say) mid-element is returned, and the
	// next call resumes where the decoder was.
	timeout := errors.New("timeout")
	_, want, _ := readAll(strings.NewReader(stream), Limits{})
	for n := 1; n < len(stream); n += 7 {
		d := NewDecoder(&errOnceReader{data: []byte(stream), n: n, err: timeout}, Limits{})
		var got []Raw
		sawTimeout := false
		started := false
		for {
			var err error
			if !started {
				_, err = d.ReadStart()
				started = err == nil
			} else {
				var r Raw
				r, err = d.Next()
				if err == nil {
					got = append(got, r)
				}
			}
			if err == timeout {
				sawTimeout = true
				continue
			}
			if err == ErrStreamEnd {
				break
			}
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
		}
		if !sawTimeout || len(got) != len(want) {
			t.Fatalf("n=%d: timeout %v, %d elements", n, sawTimeout, len(got))
		}
		for i := range want {
			if !sameRaw(got[i], want[i]) {
				t.Fatalf("n=%d: element %d = %q", n, i, got[i].Bytes)
			}
		}
	}
}

func TestStreamRestart(t *testing.T) {
	// After SASL success the peer restarts the stream on the same
	// connection (RFC 6120 §6.4.6): bytes already buffered are kept.
	in := header + `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldABy</auth>` +
		`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x' version='1.0'>` +
		`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq><x:y/>`
	for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
		d := NewDecoder(r, Limits{})
		if _, err := d.ReadStart(); err != nil {
			t.Fatal(err)
		}
		auth, err := d.Next()
		if err != nil || auth.Local != "auth" || auth.Space != "urn:ietf:params:xml:ns:xmpp-sasl" {
			t.Fatalf("auth: %+v %v", auth, err)
		}
		st, err := d.ReadStart()
		if err != nil || st.Local != "stream" || d.Prefixes()["x"] != "urn:x" {
			t.Fatalf("restart: %+v %v", st, err)
		}
		iq, err := d.Next()
		if err != nil || iq.Local != "iq" || iq.Type != "set" {
			t.Fatalf("iq: %+v %v", iq, err)
		}
		y, err := d.Next()
		if err != nil || y.Space != "urn:x" || !y.StreamPrefixes {
			t.Fatalf("y: %+v %v", y, err)
		}
	}
}

func TestReset(t *testing.T) {
	// After STARTTLS the decoder reads the TLS connection; plaintext
	// buffered after <starttls/> is discarded (RFC 6120 §5.4.3.3).
	plain := header + `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message to='injected'/>`
	d := NewDecoder(strings.NewReader(plain), Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	r, err := d.Next()
	if err != nil || r.Local != "starttls" {
		t.Fatalf("starttls: %v", err)
	}
	if d.Buffered() == 0 {
		t.Fatal("expected the injected message to be buffered")
	}
	d.Reset(strings.NewReader(`<stream:stream xmlns='jabber:server' xmlns:stream='` + streamsNS + `'><message to='real'/>`))
	if d.Buffered() != 0 {
		t.Fatalf("Buffered = %d after Reset", d.Buffered())
	}
	st, err := d.ReadStart()
	if err != nil || st.DefaultNS != "jabber:server" {
		t.Fatalf("ReadStart after Reset: %+v, %v", st, err)
	}
	r, err = d.Next()
	if err != nil || r.To != "real" || r.Space != "jabber:server" {
		t.Fatalf("after Reset: %+v, %v", r, err)
	}
	// Reset clears a sticky error too.
	d.Reset(strings.NewReader(header + `<a></b>`))
	d.ReadStart()
	if _, err := d.Next(); condition(err) != condNotWellFormed {
		t.Fatal(err)
	}
	d.Reset(strings.NewReader(header + `<a/>`))
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	if r, err := d.Next(); err != nil || r.Local != "a" {
		t.Fatal(err)
	}
}

func TestBytesOwned(t *testing.T) {
	// Raw.Bytes and the header strings survive later reads.
	d := NewDecoder(strings.NewReader(stream), Limits{})
	d.ReadStart()
	first, _ := d.Next()
	keep := string(first.Bytes)
	to, id := first.To, first.ID
	for {
		if _, err := d.Next(); err != nil {
			break
		}
	}
	if string(first.Bytes) != keep || to != "juliet@example.com" || id != "m1" {
		t.Fatal("Raw changed after later reads")
	}
}

func TestNextAllocs(t *testing.T) {
	msg := []byte(`<message to='juliet@capulet.example/balcony' from='romeo@montague.example/orchard' type='chat' id='ktx72v49' xml:lang='en'><body>Art thou not Romeo, and a Montague?</body></message>`)
	d := NewDecoder(io.MultiReader(strings.NewReader(header), &loopReader{data: msg}), Limits{})
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		r, err := d.Next()
		if err != nil || r.Local != "message" {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Fatalf("Next: %v allocations per stanza, want 1", n)
	}
}

func TestWhitespaceKeepalive(t *testing.T) {
	out, err := readBody(t, " \n \t\r\n  <a/> \n\n <b/>\n", Limits{})
	if err != io.EOF || len(out) != 2 {
		t.Fatalf("%d, %v", len(out), err)
	}
	// A stream of keepalives alone never grows the buffer or fails.
	d := NewDecoder(io.MultiReader(strings.NewReader(header), io.LimitReader(&repeatReader{fill: ' '}, 1<<20)), Limits{MaxStanzaSize: 200})
	d.ReadStart()
	if _, err := d.Next(); err != io.EOF {
		t.Fatal(err)
	}
}

// manyAttrs returns n attributes " <name><i>='u'".
func manyAttrs(n int, name string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " %s%d='u'", name, i)
	}
	return b.String()
}
