package jid_test

import (
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

var sink jid.JID

func benchParse(b *testing.B, s string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		j, err := jid.Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		sink = j
	}
}

func BenchmarkParseASCII(b *testing.B)     { benchParse(b, "juliet@example.com/balcony") }
func BenchmarkParseASCIIBare(b *testing.B) { benchParse(b, "juliet@example.com") }

// Upper case leaves ASCII but takes the full PRECIS and IDNA route.
func BenchmarkParseASCIIUnprepared(b *testing.B) { benchParse(b, "Juliet@Example.com/balcony") }

func BenchmarkParseUnicode(b *testing.B) { benchParse(b, "ΣΑΣ@bücher.example/♚ balcony") }

func BenchmarkParseALabel(b *testing.B) { benchParse(b, "juliet@xn--bcher-kva.example/balcony") }

func BenchmarkString(b *testing.B) {
	j := jid.MustParse("juliet@example.com/balcony")
	b.ReportAllocs()
	for b.Loop() {
		_ = j.String()
	}
}
