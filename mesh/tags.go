package mesh

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/memberlist"
)

// The tag names a member announces. Unknown tags are ignored, so that a
// newer version may add some.
const (
	tagRole    = "role"    // comma list of edge, core
	tagRegion  = "region"  // the member's region
	tagLink    = "link"    // the edge link (QUIC) address; may be empty
	tagHTTP    = "http"    // the HTTP (health, metrics) address; may be empty
	tagDomains = "domains" // comma list of served XMPP domains
	tagLoad    = "load"    // open client streams, a decimal integer
	tagVersion = "version" // the build's module version, or "dev"
	tagC2S     = "c2s"     // an edge's client (XMPP over TCP) address; may be empty
	tagState   = "state"   // "draining" while an edge is in lame-duck drain; else absent
)

// StateDraining is the state tag of an edge in lame-duck drain.
const StateDraining = "draining"

// Roles a member may play.
const (
	RoleEdge = "edge"
	RoleCore = "core"
)

// MaxTagsSize is Serf's limit on a member's encoded tags: they travel in
// memberlist's node metadata.
const MaxTagsSize = memberlist.MetaMaxSize

// Tags is what a member announces about itself.
type Tags struct {
	Roles   []string
	Region  string
	Link    string
	HTTP    string
	Domains []string
	Load    int
	Version string
	C2S     string // client address of an edge, "" when none
	// Draining: the edge is in lame-duck drain and takes no new clients;
	// it is left out of the Edges route view.
	Draining bool
}

// Has reports whether the member plays role.
func (t Tags) Has(role string) bool { return slices.Contains(t.Roles, role) }

// encode is the Serf tag map.
func (t Tags) encode() map[string]string {
	m := map[string]string{
		tagRole:    strings.Join(t.Roles, ","),
		tagRegion:  t.Region,
		tagLink:    t.Link,
		tagHTTP:    t.HTTP,
		tagDomains: strings.Join(t.Domains, ","),
		tagLoad:    strconv.Itoa(t.Load),
		tagVersion: t.Version,
	}
	if t.C2S != "" {
		m[tagC2S] = t.C2S
	}
	if t.Draining {
		m[tagState] = StateDraining
	}
	return m
}

// TagsTooLongError says the tags do not fit Serf's limit, and which tag is
// the largest, so that the caller can name the setting behind it.
type TagsTooLongError struct {
	Size    int    // encoded size in bytes
	Largest string // the tag that takes the most room
}

func (e *TagsTooLongError) Error() string {
	return fmt.Sprintf("mesh: tags encode to %d bytes, over the limit of %d (the largest is %q)", e.Size, MaxTagsSize, e.Largest)
}

// check validates t as this node's own tags: every value well formed, and
// the whole within MaxTagsSize.
func (t Tags) check() error {
	raw := t.encode()
	if _, err := parseTags(raw); err != nil {
		return err
	}
	if n := encodedSize(raw); n > MaxTagsSize {
		largest := ""
		for _, k := range slices.Sorted(maps.Keys(raw)) {
			if largest == "" || len(raw[k]) > len(raw[largest]) {
				largest = k
			}
		}
		return &TagsTooLongError{Size: n, Largest: largest}
	}
	return nil
}

// encodedSize is the size of tags as Serf puts them on the wire: a magic
// byte then the msgpack map, encoded with the same codec Serf uses.
func encodedSize(tags map[string]string) int {
	var buf bytes.Buffer
	buf.WriteByte(0xff)
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(tags); err != nil {
		return MaxTagsSize + 1 // cannot happen for a string map; refuse if it does
	}
	return buf.Len()
}

// TagError is a member's tag that does not parse.
type TagError struct {
	Tag     string
	Problem string
}

func (e *TagError) Error() string { return fmt.Sprintf("tag %q: %s", e.Tag, e.Problem) }

var (
	regionRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	versionRE = regexp.MustCompile(`^(dev|v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]{1,80})?)$`)
	domainRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// ValidRegion reports whether r can name a region: 1 to 63 lower-case
// letters, digits and hyphens, not starting or ending with a hyphen.
func ValidRegion(r string) bool { return regionRE.MatchString(r) }

// parseTags reads a member's tags. Every tag is read as far as it goes
// (for display); the first that is missing or malformed is returned as the
// error, and the member is then kept out of the route view.
func parseTags(raw map[string]string) (Tags, error) {
	var t Tags
	var first error
	bad := func(tag, format string, args ...any) {
		if first == nil {
			first = &TagError{Tag: tag, Problem: fmt.Sprintf(format, args...)}
		}
	}
	if role := raw[tagRole]; role == "" {
		bad(tagRole, "missing")
	} else {
		for r := range strings.SplitSeq(role, ",") {
			switch {
			case r != RoleEdge && r != RoleCore:
				bad(tagRole, "unknown role %q", r)
			case slices.Contains(t.Roles, r):
				bad(tagRole, "role %q listed twice", r)
			default:
				t.Roles = append(t.Roles, r)
			}
		}
	}
	t.Region = raw[tagRegion]
	if t.Region == "" {
		bad(tagRegion, "missing")
	} else if !ValidRegion(t.Region) {
		bad(tagRegion, "invalid region %q", t.Region)
	}
	t.Link, t.HTTP, t.C2S = raw[tagLink], raw[tagHTTP], raw[tagC2S]
	for _, tag := range []string{tagLink, tagHTTP, tagC2S} {
		if a := raw[tag]; a != "" {
			if host, port, err := net.SplitHostPort(a); err != nil || host == "" || !validPort(port) {
				bad(tag, "invalid address %q", a)
			}
		}
	}
	if d := raw[tagDomains]; d != "" {
		for dom := range strings.SplitSeq(d, ",") {
			if !domainRE.MatchString(dom) {
				bad(tagDomains, "invalid domain %q", dom)
				continue
			}
			t.Domains = append(t.Domains, dom)
		}
	}
	if load, ok := raw[tagLoad]; !ok {
		bad(tagLoad, "missing")
	} else if n, err := strconv.ParseUint(load, 10, 31); err != nil {
		bad(tagLoad, "not a count: %q", load)
	} else {
		t.Load = int(n)
	}
	switch st := raw[tagState]; st {
	case "":
	case StateDraining:
		t.Draining = true
	default:
		bad(tagState, "unknown state %q", st)
	}
	t.Version = raw[tagVersion]
	if t.Version == "" {
		bad(tagVersion, "missing")
	} else if !versionRE.MatchString(t.Version) {
		bad(tagVersion, "invalid version %q", t.Version)
	}
	return t, first
}

func validPort(p string) bool {
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}
