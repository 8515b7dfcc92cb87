package xmltok

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

var fuzzSeeds = []string{
	`<message to='a@b' from='c@d/e' type='chat' id='1' xml:lang='en'><body>hi &amp; &#x1F339;</body></message>`,
	`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`,
	`<iq type='get' id='x'><query xmlns='jabber:iq:roster'/></iq> <r xmlns='urn:xmpp:sm:3'/>`,
	`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`,
	`<x:y xmlns:x='urn:x' x:a="1"><x:z/><w xmlns=''/></x:y>`,
	"<a><![CDATA[<>&]]]]><![CDATA[>]]>text\r\n</a>",
	"<a b='x\ty\r\nz'>\u00e9\U0001F600</a>",
	`</stream:stream>`,
	`<a><b></a>`,
	`<a>&lol;</a>`,
	`<!DOCTYPE a><a/>`,
	`<a><!-- c --></a>`,
	`<a b='1' b='2'/>`,
	"<a>\xff</a>",
	`<a>]]></a>`,
	strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70),
	`<message><body>unterminated`,
}

// FuzzDecoder reads a client stream whose body is the fuzz input, whole
// and one byte per read: both must agree, and every element accepted must
// parse and survive Append.
func FuzzDecoder(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := header + string(data)
		st, want, wantErr := readAll(strings.NewReader(in), Limits{})
		if st == nil {
			t.Fatalf("header failed: %v", wantErr)
		}
		_, got, gotErr := readAll(iotest.OneByteReader(strings.NewReader(in)), Limits{})
		if len(got) != len(want) || condition(gotErr) != condition(wantErr) ||
			(condition(wantErr) == "" && gotErr != wantErr) {
			t.Fatalf("one byte reads: %d elements, %v; whole: %d, %v", len(got), gotErr, len(want), wantErr)
		}
		if wantErr == nil {
			t.Fatal("nil error")
		}
		prefixes := map[string]string{"stream": streamsNS}
		off := len(header)
		for i, r := range want {
			if !sameRaw(r, got[i]) {
				t.Fatalf("element %d differs: %+v vs %+v", i, r, got[i])
			}
			k := bytes.Index([]byte(in[off:]), r.Bytes)
			if k < 0 || strings.TrimSpace(in[off:off+k]) != "" {
				t.Fatalf("element %d bytes %q are not the next bytes of the input", i, r.Bytes)
			}
			off += k + len(r.Bytes)
			e, err := Parse(r.Bytes, st.DefaultNS, prefixes)
			if err != nil {
				t.Fatalf("Next accepted %q, Parse: %v", r.Bytes, err)
			}
			if e.Space != r.Space || e.Local != r.Local || e.Attr("to") != r.To || e.HasAttr("to") != r.HasTo ||
				e.Attr("from") != r.From || e.HasAttr("from") != r.HasFrom || e.Attr("type") != r.Type ||
				e.Attr("id") != r.ID || e.Attr("xml:lang") != r.Lang {
				t.Fatalf("header %+v disagrees with %s", r, e)
			}
			for _, sp := range [][2]int{r.ToSpan, r.FromSpan} {
				if sp != [2]int{} && (sp[0] < r.NameEnd || sp[1] > len(r.Bytes) || r.Bytes[sp[1]-1] != '\'' && r.Bytes[sp[1]-1] != '"') {
					t.Fatalf("bad span %v in %q", sp, r.Bytes)
				}
			}
			fuzzRoundTrip(t, e, st.DefaultNS, prefixes)
		}
	})
}

// FuzzParse parses the input as one element: anything accepted survives
// Append, and Parse accepts exactly what the decoder reads as one element.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		prefixes := map[string]string{"stream": streamsNS}
		e, err := Parse(data, "jabber:client", prefixes)
		d := NewDecoder(io.MultiReader(strings.NewReader(header), bytes.NewReader(data)), Limits{})
		if _, err := d.ReadStart(); err != nil {
			t.Fatal(err)
		}
		r, nerr := d.Next()
		_, eof := d.Next()
		one := nerr == nil && string(r.Bytes) == string(bytes.TrimSpace(data)) && eof == io.EOF
		if (err == nil) != one {
			t.Fatalf("Parse: %v; decoder: %q, %v, then %v", err, r.Bytes, nerr, eof)
		}
		if err != nil {
			if condition(err) == "" {
				t.Fatalf("Parse error without condition: %v", err)
			}
			return
		}
		fuzzRoundTrip(t, e, "jabber:client", prefixes)
	})
}

func fuzzRoundTrip(t *testing.T, e *Element, defaultNS string, prefixes map[string]string) {
	t.Helper()
	out := e.Append(nil, defaultNS)
	e2, err := Parse(out, defaultNS, prefixes)
	if err != nil {
		t.Fatalf("Append gave %q: %v", out, err)
	}
	if !equalElement(e, e2) {
		t.Fatalf("round trip: %s != %s", e2, e)
	}
	if out2 := e2.Append(nil, defaultNS); !bytes.Equal(out, out2) {
		t.Fatalf("Append not stable: %q != %q", out, out2)
	}
}
