package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/certs"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// reflector is a minimal XMPP server that keeps up with anything: it
// negotiates STARTTLS, accepts any PLAIN login, binds, then sends every
// byte it receives straight back.
func reflector(t testing.TB) string {
	certPEM, keyPEM, err := certs.Generate([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='localhost' version='1.0'>"
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				until := func(r *bufio.Reader, s string) bool {
					var acc []byte
					for !strings.HasSuffix(string(acc), s) {
						b, err := r.ReadByte()
						if err != nil {
							return false
						}
						acc = append(acc, b)
					}
					return true
				}
				r := bufio.NewReader(c)
				if !until(r, "'1.0'>") {
					return
				}
				io.WriteString(c, header+"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>")
				if !until(r, "/>") {
					return
				}
				io.WriteString(c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
				tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
				r = bufio.NewReader(tc)
				steps := []struct{ wait, reply string }{
					{"'1.0'>", header + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"},
					{"</auth>", "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"},
					{"'1.0'>", header + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"},
					{"</iq>", "<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>u@localhost/load</jid></bind></iq>"},
				}
				for _, s := range steps {
					if !until(r, s.wait) {
						return
					}
					io.WriteString(tc, s.reply)
				}
				io.Copy(tc, r)
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkConnOneCore measures what one connection of the client costs
// per chat message on ONE core: render, TLS-encrypt and send; receive,
// decrypt, tokenize, read the send time from the id and record the
// latency. The reflector shares that core, so the figure is a lower
// bound. The whole chat path (scenario pacer and reader, many users,
// sink on the other core) is BenchmarkChatHarnessOneCore in
// loadtest/scenario.
func BenchmarkConnOneCore(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	addr := reflector(b)
	c, err := Dial(context.Background(), Options{Addr: addr, Domain: "localhost", User: "u", Password: "p"})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	h := stats.NewHistogram()
	base := time.Now()
	var n atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	go c.Serve(func(raw *xmltok.Raw) {
		if ns, err := strconv.ParseInt(raw.ID[1:], 10, 64); err == nil {
			h.Record(time.Since(base) - time.Duration(ns))
		}
		if n.Add(1) == target {
			close(done)
		}
	})
	buf := make([]byte, 0, 256)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		buf = append(buf[:0], "<message to='load7@localhost' type='chat' id='t"...)
		buf = strconv.AppendInt(buf, int64(time.Since(base)), 10)
		buf = append(buf, "'><body>Load test message, about as long as a short chat line.</body></message>"...)
		c.Send(buf)
		if i%64 == 63 {
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
			runtime.Gosched() // let the reader drain, as the pacer's ticks do
		}
	}
	c.Flush()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("received %d of %d", n.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
