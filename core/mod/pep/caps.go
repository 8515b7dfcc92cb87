package pep

import (
	"cmp"
	"container/list"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"slices"
	"strings"
	"sync"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// capsCacheSize bounds the verified caps (XEP-0115 §5.4) kept: one entry
// per client version in use, so a few thousand cover any deployment.
const capsCacheSize = 4096

// caps is the <c/> of a presence (XEP-0115 §4).
type caps struct {
	hash, node, ver string
}

// key is what a verified result is cached by: the ver covers the
// features, the node only names the software.
func (c caps) key() capsKey { return capsKey{hash: c.hash, ver: c.ver} }

type capsKey struct{ hash, ver string }

// capsOf reads the caps of a presence element. Legacy caps without a
// hash (XEP-0115 §5.4 step 1) are ignored.
func capsOf(el *xmltok.Element) (caps, bool) {
	c := el.Child(NSCaps, "c")
	if c == nil {
		return caps{}, false
	}
	cp := caps{hash: c.Attr("hash"), node: c.Attr("node"), ver: c.Attr("ver")}
	if cp.hash == "" || cp.ver == "" || len(cp.ver) > 256 || len(cp.node) > 1024 {
		return caps{}, false
	}
	return cp, true
}

// notifySet holds the nodes an entity asked notifications for: its
// features "<node>+notify" (XEP-0060 §9.2). It is never changed once
// built.
type notifySet map[string]struct{}

func (s notifySet) has(node string) bool {
	_, ok := s[node]
	return ok
}

// notifyOf reads the +notify features of a disco#info answer.
func notifyOf(q *xmltok.Element) notifySet {
	s := notifySet{}
	for _, f := range q.ChildrenNamed(NSDisco, "feature") {
		if node, ok := strings.CutSuffix(f.Attr("var"), "+notify"); ok && node != "" {
			s[node] = struct{}{}
		}
	}
	return s
}

// hashFunc returns the hash a caps 'hash' names (IANA names, XEP-0115
// §5.1); MD5 and MD2 are not trusted for verification.
func hashFunc(name string) func() hash.Hash {
	switch name {
	case "sha-1":
		return sha1.New
	case "sha-224":
		return sha256.New224
	case "sha-256":
		return sha256.New
	case "sha-384":
		return sha512.New384
	case "sha-512":
		return sha512.New
	}
	return nil
}

// verify reports whether a disco#info answer hashes to the caps ver
// (XEP-0115 §5.1 generation, §5.4 processing).
func verify(c caps, q *xmltok.Element) bool {
	newHash := hashFunc(c.hash)
	if newHash == nil {
		return false
	}
	s, ok := verificationString(q)
	if !ok {
		return false
	}
	h := newHash()
	h.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) == c.ver
}

type identity struct{ category, typ, lang, name string }

// verificationString builds S of XEP-0115 §5.1; ok is false when the
// answer is ill-formed (§5.4 step 3.3-3.5).
func verificationString(q *xmltok.Element) (string, bool) {
	var ids []identity
	for _, e := range q.ChildrenNamed(NSDisco, "identity") {
		ids = append(ids, identity{e.Attr("category"), e.Attr("type"), e.Attr("xml:lang"), e.Attr("name")})
	}
	slices.SortFunc(ids, func(a, b identity) int {
		return cmp.Or(cmp.Compare(a.category, b.category), cmp.Compare(a.typ, b.typ),
			cmp.Compare(a.lang, b.lang), cmp.Compare(a.name, b.name))
	})
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return "", false
		}
	}
	var features []string
	for _, f := range q.ChildrenNamed(NSDisco, "feature") {
		features = append(features, f.Attr("var"))
	}
	slices.Sort(features)
	for i := 1; i < len(features); i++ {
		if features[i] == features[i-1] {
			return "", false
		}
	}
	type dataForm struct {
		formType string
		fields   [][]string // var, then values
	}
	var forms []dataForm
	for _, x := range q.ChildrenNamed(NSData, "x") {
		var f dataForm
		hidden, found := false, false
		for _, fe := range x.ChildrenNamed(NSData, "field") {
			var values []string
			for _, v := range fe.ChildrenNamed(NSData, "value") {
				values = append(values, v.Text)
			}
			if fe.Attr("var") == "FORM_TYPE" {
				distinct := slices.Compact(slices.Sorted(slices.Values(values)))
				if found || len(distinct) > 1 {
					return "", false
				}
				found = len(distinct) == 1
				if found {
					hidden, f.formType = fe.Attr("type") == "hidden", distinct[0]
				}
				continue
			}
			slices.Sort(values)
			f.fields = append(f.fields, append([]string{fe.Attr("var")}, values...))
		}
		if !found || !hidden {
			continue // §5.4 step 3.6: ignored
		}
		forms = append(forms, f)
	}
	slices.SortFunc(forms, func(a, b dataForm) int { return cmp.Compare(a.formType, b.formType) })
	for i := 1; i < len(forms); i++ {
		if forms[i].formType == forms[i-1].formType {
			return "", false
		}
	}
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(id.category + "/" + id.typ + "/" + id.lang + "/" + id.name + "<")
	}
	for _, f := range features {
		b.WriteString(f + "<")
	}
	for _, f := range forms {
		b.WriteString(f.formType + "<")
		slices.SortFunc(f.fields, func(a, b []string) int { return cmp.Compare(a[0], b[0]) })
		for _, fl := range f.fields {
			for _, s := range fl {
				b.WriteString(s + "<")
			}
		}
	}
	return b.String(), true
}

// capsCache keeps verified notify sets by caps, least recently used
// evicted first.
type capsCache struct {
	mu    sync.Mutex
	max   int
	byKey map[capsKey]*list.Element
	order *list.List // front: most recently used
}

type capsEntry struct {
	key capsKey
	set notifySet
}

func newCapsCache(max int) *capsCache {
	return &capsCache{max: max, byKey: map[capsKey]*list.Element{}, order: list.New()}
}

func (c *capsCache) get(k capsKey) (notifySet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*capsEntry).set, true
}

func (c *capsCache) put(k capsKey, s notifySet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[k]; ok {
		e.Value.(*capsEntry).set = s
		c.order.MoveToFront(e)
		return
	}
	c.byKey[k] = c.order.PushFront(&capsEntry{key: k, set: s})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byKey, old.Value.(*capsEntry).key)
	}
}

func (c *capsCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
