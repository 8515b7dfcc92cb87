package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Validate checks every value of the fixed sections and returns all the
// problems found, joined, each naming its key. Module tables are checked
// by DecodeModule and by the modules themselves.
func (c *Config) Validate() error {
	return errors.Join(c.validate()...)
}

type validator struct {
	c    *Config
	errs []error
}

func (v *validator) fail(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	name := v.c.fromEnv[key]
	if i := strings.LastIndexByte(key, '['); name == "" && i > 0 && strings.HasSuffix(key, "]") {
		name = v.c.fromEnv[key[:i]] // an item of a list set as a whole
	}
	if name != "" {
		msg += " (set by " + name + ")"
	}
	v.errs = append(v.errs, fmt.Errorf("config: %s: %s", key, msg))
}

func (c *Config) validate() []error {
	v := &validator{c: c}
	v.node()
	v.enum("log.level", c.Log.Level, logLevels)
	v.enum("log.format", c.Log.Format, logFormats)
	v.vhosts()
	v.pair("tls", c.TLS.CertFile, c.TLS.KeyFile)
	v.enum("tls.min_version", c.TLS.MinVersion, tlsVersions)
	v.c2s()
	v.listeners()
	v.web()
	v.admin()
	v.storage()
	v.auth()
	v.cluster()
	v.mesh()
	v.link()
	return v.errs
}

func (v *validator) node() {
	n := v.c.Node
	switch {
	case n.Name == "":
		v.fail("node.name", "must not be empty")
	case strings.ContainsFunc(n.Name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		v.fail("node.name", "%q must not contain spaces or control characters", n.Name)
	}
	if n.DataDir == "" {
		v.fail("node.data_dir", "must not be empty")
	}
	if len(n.Roles) == 0 {
		v.fail("node.roles", "must name at least one of %s", quoteList(roles))
	}
	v.list("node.roles", n.Roles, roles)
	v.duration("node.shutdown_grace", n.ShutdownGrace, false)
}

func (v *validator) vhosts() {
	if len(v.c.VHosts) == 0 {
		v.fail("vhosts", "at least one [[vhosts]] table (or MERIDIAN_VHOSTS) is required")
	}
	seen := map[string]int{}
	for i, h := range v.c.VHosts {
		key := fmt.Sprintf("vhosts[%d]", i)
		d := normalizeDomain(h.Domain)
		if d == "" {
			v.fail(key+".domain", "is required")
		} else if err := checkDomain(d); err != nil {
			v.fail(key+".domain", "%q: %v", h.Domain, err)
		} else if j, dup := seen[d]; dup {
			v.fail(key+".domain", "duplicate vhost %q (also vhosts[%d])", d, j)
		} else {
			seen[d] = i
		}
		v.pair(key, h.CertFile, h.KeyFile)
	}
}

func (v *validator) c2s() {
	c := v.c.C2S
	if c.MaxStanzaSize < MinStanzaSize {
		v.fail("c2s.max_stanza_size", "%d is below the minimum %d (RFC 6120 §13.12)", c.MaxStanzaSize, MinStanzaSize)
	}
	if c.MaxDepth < MinDepth {
		v.fail("c2s.max_depth", "%d is below the minimum %d", c.MaxDepth, MinDepth)
	}
	v.duration("c2s.handshake_timeout", c.HandshakeTimeout, true)
	v.duration("c2s.idle_timeout", c.IdleTimeout, false)
	v.duration("c2s.keepalive_interval", c.KeepaliveInterval, false)
	v.duration("c2s.write_timeout", c.WriteTimeout, true)
	if c.SendQueue < 1 {
		v.fail("c2s.send_queue", "must be at least 1, got %d", c.SendQueue)
	}
	v.enum("c2s.resource_conflict", c.ResourceConflict, resourceConflicts)
	v.duration("c2s.resume_timeout", c.ResumeTimeout, false)
	if c.MaxUnacked < 1 {
		v.fail("c2s.max_unacked", "must be at least 1, got %d", c.MaxUnacked)
	}
	if c.MaxResources < 0 {
		v.fail("c2s.max_resources", "must not be negative (0 means unlimited), got %d", c.MaxResources)
	}
}

// listeners checks every listen address, and that no address is bound
// twice: two listeners on one port fail at start, and the config check
// should say so first. Port 0 (a free port, for tests) may repeat.
func (v *validator) listeners() {
	used := map[string]string{}
	check := func(key, addr string) {
		if err := checkListen(addr); err != nil {
			v.fail(key, "%v", err)
			return
		}
		if strings.HasSuffix(addr, ":0") {
			return
		}
		if other, dup := used[addr]; dup {
			v.fail(key, "address %q is also used by %s", addr, other)
			return
		}
		used[addr] = key
	}
	for i, a := range v.c.C2S.Listen {
		check(fmt.Sprintf("c2s.listen[%d]", i), a)
	}
	for i, a := range v.c.C2S.DirectTLSListen {
		check(fmt.Sprintf("c2s.direct_tls_listen[%d]", i), a)
	}
	if v.c.HTTP.Listen != "" {
		check("http.listen", v.c.HTTP.Listen)
	}
	for i, a := range v.c.Web.Listen {
		check(fmt.Sprintf("web.listen[%d]", i), a)
	}
	for i, a := range v.c.Web.TLSListen {
		check(fmt.Sprintf("web.tls_listen[%d]", i), a)
	}
	if v.c.Admin.Listen != "" {
		check("admin.listen", v.c.Admin.Listen)
	}
}

func (v *validator) web() {
	w := v.c.Web
	for i, o := range w.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			v.fail(fmt.Sprintf("web.allowed_origins[%d]", i), "%q is not an origin (scheme://host[:port]) or \"*\"", o)
		}
	}
	if w.PublicURL != "" {
		u, err := url.Parse(w.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.fail("web.public_url", "%q is not an http or https URL", w.PublicURL)
		}
	}
	paths := map[string]string{}
	path := func(key, p string, on bool) {
		if !on {
			return
		}
		if !strings.HasPrefix(p, "/") || len(p) < 2 || strings.ContainsAny(p, " ?#{}") || strings.HasPrefix(p, "/.well-known") {
			v.fail(key, "%q must be a path like /name, outside /.well-known", p)
			return
		}
		if other, dup := paths[p]; dup {
			v.fail(key, "path %q is also used by %s", p, other)
			return
		}
		paths[p] = key
	}
	path("web.websocket.path", w.WebSocket.Path, w.WebSocket.Enabled)
	path("web.bosh.path", w.BOSH.Path, w.BOSH.Enabled)
	path("web.api.path", w.API.Path, w.API.Enabled)
	v.duration("web.websocket.ping_interval", w.WebSocket.PingInterval, false)
	v.duration("web.bosh.max_wait", w.BOSH.MaxWait, true)
	v.duration("web.bosh.inactivity", w.BOSH.Inactivity, true)
	v.duration("web.bosh.max_pause", w.BOSH.MaxPause, false)
	if w.BOSH.MaxHold < 1 {
		v.fail("web.bosh.max_hold", "must be at least 1, got %d", w.BOSH.MaxHold)
	}
	if w.BOSH.MaxRequests < 2 {
		v.fail("web.bosh.max_requests", "must be at least 2 (XEP-0124 §7.1), got %d", w.BOSH.MaxRequests)
	} else if w.BOSH.MaxRequests <= w.BOSH.MaxHold {
		v.fail("web.bosh.max_requests", "must be greater than web.bosh.max_hold (%d), got %d", w.BOSH.MaxHold, w.BOSH.MaxRequests)
	}
	if w.BOSH.MaxSessions < 1 {
		v.fail("web.bosh.max_sessions", "must be at least 1, got %d", w.BOSH.MaxSessions)
	}
	v.duration("web.api.token_ttl", w.API.TokenTTL, true)
}

// MinAdminToken is the shortest admin API token accepted: 128 bits of
// hex or base64 text.
const MinAdminToken = 24

func (v *validator) admin() {
	a := v.c.Admin
	if a.Listen != "" && len(a.Tokens) == 0 {
		v.fail("admin.tokens", "at least one token is required when admin.listen is set")
	}
	for i, t := range a.Tokens {
		if len(t) < MinAdminToken || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }) {
			v.fail(fmt.Sprintf("admin.tokens[%d]", i), "must be at least %d printable ASCII characters without spaces", MinAdminToken)
		} else if slices.Contains(a.Tokens[:i], t) {
			v.fail(fmt.Sprintf("admin.tokens[%d]", i), "is listed twice")
		}
	}
}

func (v *validator) storage() {
	s := v.c.Storage
	if !slices.Contains(backends, s.Backend) {
		v.fail("storage.backend", "%q is not one of %s", s.Backend, quoteList(backends))
	}
	p := s.Postgres
	if s.Backend == "postgres" && p.DSN == "" {
		v.fail("storage.postgres.dsn", "is required when storage.backend is \"postgres\"")
	}
	if p.Schema != "" && (!pgSchema.MatchString(p.Schema) || strings.HasPrefix(p.Schema, "pg_")) {
		v.fail("storage.postgres.schema", "%q: want lower-case letters, digits and _, starting with a letter or _ (at most 63), not pg_", p.Schema)
	}
	if p.MaxConns < 0 || p.MaxConns > 10000 {
		v.fail("storage.postgres.max_conns", "%d is out of range 0..10000", p.MaxConns)
	}
}

// pgSchema is a PostgreSQL schema name that needs no quoting.
var pgSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (v *validator) auth() {
	a := v.c.Auth
	if a.ScramIterations < MinScramIterations {
		v.fail("auth.scram_iterations", "%d is below the minimum %d (RFC 7677 §4)", a.ScramIterations, MinScramIterations)
	}
	if len(a.Mechanisms) == 0 {
		v.fail("auth.mechanisms", "must name at least one of %s", quoteList(mechanisms))
	}
	v.list("auth.mechanisms", a.Mechanisms, mechanisms)
}

// enum checks that value is one of allowed.
func (v *validator) enum(key, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		v.fail(key, "invalid value %q (want one of %s)", value, quoteList(allowed))
	}
}

// list checks that every item is allowed and none repeats.
func (v *validator) list(key string, items, allowed []string) {
	for i, item := range items {
		k := fmt.Sprintf("%s[%d]", key, i)
		if !slices.Contains(allowed, item) {
			v.fail(k, "invalid value %q (want one of %s)", item, quoteList(allowed))
		} else if slices.Contains(items[:i], item) {
			v.fail(k, "%q is listed twice", item)
		}
	}
}

// pair checks that a certificate and its key are given together.
func (v *validator) pair(key, cert, privKey string) {
	switch {
	case cert != "" && privKey == "":
		v.fail(key+".key_file", "is required when cert_file is set")
	case cert == "" && privKey != "":
		v.fail(key+".cert_file", "is required when key_file is set")
	}
}

func (v *validator) duration(key string, d Duration, positive bool) {
	switch {
	case d.Duration < 0:
		v.fail(key, "must not be negative, got %s", d.Duration)
	case positive && d.Duration == 0:
		v.fail(key, "must be greater than 0")
	}
}

// checkListen checks a host:port listen address. The host may be empty
// (all interfaces), an IP address or a host name; the port must be a
// number, 0 meaning a free port chosen at start.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid listen address %q (want host:port)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid port in listen address %q", addr)
	}
	if host != "" && net.ParseIP(host) == nil && checkDomain(strings.ToLower(host)) != nil {
		return fmt.Errorf("invalid host in listen address %q", addr)
	}
	return nil
}

// checkDomain checks a lower-case DNS name: at most 253 octets, labels of
// 1–63 letters, digits and hyphens that neither start nor end with a
// hyphen (RFC 1123 §2.1). Internationalised domains are written in their
// A-label ("xn--") form.
func checkDomain(d string) error {
	if len(d) > 253 {
		return errors.New("longer than 253 characters")
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("labels must be 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("labels must not start or end with a hyphen")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("invalid character %q (use letters, digits and hyphens; A-label form for IDNs)", r)
			}
		}
	}
	return nil
}

func quoteList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

var registries = []string{"memory", "redis"}

func (v *validator) cluster() {
	c := v.c.Cluster
	v.enum("cluster.registry", c.Registry, registries)
	if c.Registry == "redis" {
		u, err := url.Parse(c.RedisURL)
		switch {
		case err != nil:
			v.fail("cluster.redis_url", "%v", err)
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			v.fail("cluster.redis_url", "%q: scheme must be redis, rediss or unix", c.RedisURL)
		case u.Scheme != "unix" && u.Host == "":
			v.fail("cluster.redis_url", "%q has no host", c.RedisURL)
		}
	}
	v.duration("cluster.ttl", c.TTL, true)
	v.duration("cluster.refresh", c.Refresh, true)
	if c.Refresh.Duration > 0 && c.Refresh.Duration*2 > c.TTL.Duration {
		// One lost refresh must not let a live session's entry lapse.
		v.fail("cluster.refresh", "%s must be at most half of cluster.ttl (%s)", c.Refresh.Duration, c.TTL.Duration)
	}
}

// meshRegion is a region name: a DNS label in lower case.
var meshRegion = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// MinMeshLoadInterval keeps load updates, which Serf gossips to every
// member, to one every few seconds at most.
const MinMeshLoadInterval = time.Second

func (v *validator) mesh() {
	m := v.c.Mesh
	ipPort := func(key, addr string, zeroPort bool) {
		host, port, err := net.SplitHostPort(addr)
		p, perr := strconv.ParseUint(port, 10, 16)
		switch {
		case err != nil:
			v.fail(key, "invalid address %q (want IP:port)", addr)
		case host != "" && net.ParseIP(host) == nil:
			v.fail(key, "%q: the host must be an IP address", addr)
		case perr != nil || (p == 0 && !zeroPort):
			v.fail(key, "invalid port in %q", addr)
		}
	}
	ipPort("mesh.bind", m.Bind, true)
	if m.Advertise != "" {
		ipPort("mesh.advertise", m.Advertise, false)
		if host, _, _ := net.SplitHostPort(m.Advertise); host == "" {
			v.fail("mesh.advertise", "%q: the host is required", m.Advertise)
		}
	}
	for i, s := range m.Seeds {
		key := fmt.Sprintf("mesh.seeds[%d]", i)
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			host, port = s, "7946" // a bare host: the default port
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			v.fail(key, "invalid port in %q", s)
		} else if host == "" || net.ParseIP(host) == nil && checkDomain(strings.ToLower(host)) != nil {
			v.fail(key, "invalid host in %q (want host:port)", s)
		} else if slices.Contains(m.Seeds[:i], s) {
			v.fail(key, "%q is listed twice", s)
		}
	}
	if !meshRegion.MatchString(m.Region) {
		v.fail("mesh.region", "invalid region %q (1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen)", m.Region)
	}
	if m.Secret != "" {
		if k, err := base64.StdEncoding.DecodeString(m.Secret); err != nil {
			v.fail("mesh.secret", "is not base64 (e.g. the output of `openssl rand -base64 32`)")
		} else if n := len(k); n != 16 && n != 24 && n != 32 {
			v.fail("mesh.secret", "must decode to 16, 24 or 32 bytes (AES-128, -192 or -256), got %d", n)
		}
	}
	v.duration("mesh.probe_interval", m.ProbeInterval, true)
	v.duration("mesh.probe_timeout", m.ProbeTimeout, true)
	if m.ProbeTimeout.Duration > 0 && m.ProbeTimeout.Duration >= m.ProbeInterval.Duration {
		v.fail("mesh.probe_timeout", "must be shorter than mesh.probe_interval (%s), got %s", m.ProbeInterval.Duration, m.ProbeTimeout.Duration)
	}
	if m.LoadInterval.Duration < MinMeshLoadInterval {
		v.fail("mesh.load_interval", "must be at least %s (every update is gossiped to every member), got %s", MinMeshLoadInterval, m.LoadInterval.Duration)
	}
}

// MeshSecret is mesh.secret decoded (nil when empty); Validate has
// checked it.
func (c *Config) MeshSecret() []byte {
	k, err := base64.StdEncoding.DecodeString(c.Mesh.Secret)
	if err != nil || len(k) == 0 {
		return nil
	}
	return k
}
