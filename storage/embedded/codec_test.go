package embedded

import (
	"slices"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

func TestTimeRoundTrip(t *testing.T) {
	for _, at := range []time.Time{
		{},
		time.Unix(0, 0),
		time.Unix(-1, 999999999),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Now(),
	} {
		d := decoder{b: appendTime(nil, at)}
		got := d.time()
		if err := d.done(); err != nil || !got.Equal(at) {
			t.Errorf("time %v came back as %v, %v", at, got, err)
		}
	}
	d := decoder{b: appendTime(nil, time.Time{})}
	if got := d.time(); !got.IsZero() {
		t.Errorf("zero time came back as %v, not zero", got)
	}
}

func TestAccountRoundTrip(t *testing.T) {
	c := sasl.Credentials{Salt: []byte("salt"), Iterations: 4096, StoredKey: []byte("stored"), ServerKey: []byte("server")}
	v := encodeAccount(time.Unix(1700000000, 5), c, sasl.Credentials{})
	var a auth.Account
	if err := decodeAccount(v, &a); err != nil {
		t.Fatal(err)
	}
	if string(a.SHA1.Salt) != "salt" || a.SHA1.Iterations != 4096 || string(a.SHA1.StoredKey) != "stored" ||
		string(a.SHA1.ServerKey) != "server" || !a.SHA256.IsZero() || !a.Created.Equal(time.Unix(1700000000, 5)) {
		t.Errorf("decoded %+v", a)
	}
	// A caller appending to a decoded field must not clobber the next one.
	_ = append(a.SHA1.Salt, "XXXXXXXX"...)
	if string(a.SHA1.StoredKey) != "stored" {
		t.Errorf("append to Salt overwrote StoredKey: %q", a.SHA1.StoredKey)
	}
}

func TestItemSubscriptions(t *testing.T) {
	if _, err := encodeItem(roster.Item{Subscription: "sideways"}); err == nil {
		t.Error("encodeItem accepted an unknown subscription")
	}
	v, err := encodeItem(roster.Item{Groups: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	var it roster.Item
	if err := decodeItem(v, "", &it); err != nil || it.Subscription != roster.SubNone {
		t.Errorf("empty subscription decoded as %q, %v; want none", it.Subscription, err)
	}
}

// Every proper prefix of a valid record is an error, never a panic or a
// silently shorter record.
func TestTruncatedRecords(t *testing.T) {
	acct := encodeAccount(time.Now(), sasl.Credentials{Salt: []byte("s"), Iterations: 1, StoredKey: []byte("k"), ServerKey: []byte("v")},
		sasl.Credentials{Salt: []byte("s2"), Iterations: 2, StoredKey: []byte("k2"), ServerKey: []byte("v2")})
	item, err := encodeItem(roster.Item{Name: "Bob", Subscription: roster.SubBoth, Ask: true, Groups: []string{"a", "bc"}})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(acct) {
		var a auth.Account
		if decodeAccount(acct[:n], &a) == nil {
			t.Errorf("account record cut to %d bytes decoded", n)
		}
	}
	for n := range len(item) {
		var it roster.Item
		if decodeItem(item[:n], "", &it) == nil {
			t.Errorf("item record cut to %d bytes decoded", n)
		}
		if n > 0 && decodeItem(item[:n], string(item[1:n]), &it) == nil {
			t.Errorf("item record cut to %d bytes decoded from a string", n)
		}
	}
	var it roster.Item
	if err := decodeItem(item, string(item[1:]), &it); err != nil || it.Name != "Bob" || !slices.Equal(it.Groups, []string{"a", "bc"}) || !it.Ask {
		t.Errorf("item = %+v, %v", it, err)
	}
}

func FuzzDecode(f *testing.F) {
	item, _ := encodeItem(roster.Item{Name: "n", Groups: []string{"g"}})
	f.Add(item)
	f.Add(encodeAccount(time.Now(), sasl.Credentials{Salt: []byte("s")}, sasl.Credentials{}))
	f.Fuzz(func(t *testing.T, v []byte) {
		var a auth.Account
		_ = decodeAccount(v, &a)
		var it roster.Item
		_ = decodeItem(v, "", &it)
		if len(v) > 0 {
			_ = decodeItem(v, string(v[1:]), &it)
		}
		d := newDecoder(v, "x")
		d.time()
		d.string()
		_ = d.done()
	})
}
