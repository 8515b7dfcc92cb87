package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/redis/go-redis/v9"
)

// RedisOptions configures the Redis backend.
type RedisOptions struct {
	// Node is this core's name: once its sessions are recorded in a Redis
	// (at start, after a restart or an outage) it sets its marker there,
	// which Complete checks.
	Node   string
	URL    string        // redis://[user:password@]host:port/db, rediss:// or unix://
	Prefix string        // of every key; "meridian:reg:" when empty
	TTL    time.Duration // how long an entry lives unless refreshed
	// Resync returns the live sessions this node holds. The registry
	// records them again when Redis comes back after an outage or turns
	// out to have restarted (it may have lost them), then goes on.
	Resync func() []Place
	// Check is how often Redis's health and identity are checked; 1s when
	// zero.
	Check time.Duration
	Log   *slog.Logger // nil discards
}

// Redis is the Redis backend: one hash per bare JID (full JID → place),
// every change made by a Lua script so that compare-and-delete and the
// expiry checks are atomic. See scripts.go for the layout.
//
// While Redis is unreachable every operation fails at once with an error
// wrapping ErrUnavailable; the outage is counted and logged once, and a
// monitor waits for Redis to come back, then calls Resync.
type Redis struct {
	c      *redis.Client
	prefix string
	node   string
	ttl    time.Duration
	ttlMS  int64
	resync func() []Place
	log    *slog.Logger
	m      *counters

	up     atomic.Bool
	closed atomic.Bool
	kick   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

var _ Registry = (*Redis)(nil)

// NewRedis connects to Redis and starts the health monitor. It does not
// fail when Redis is down: the registry starts unavailable and recovers
// when Redis comes up.
func NewRedis(o RedisOptions) (*Redis, error) {
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("registry: redis: url: %w", err)
	}
	if o.TTL < time.Millisecond {
		return nil, fmt.Errorf("registry: redis: ttl must be at least 1ms")
	}
	// Fail fast while Redis is down instead of queueing callers behind
	// retries: the monitor does the waiting.
	opts.MaxRetries = 1
	opts.DialTimeout = time.Second
	opts.ReadTimeout = 2 * time.Second
	opts.WriteTimeout = 2 * time.Second
	opts.DisableIdentity = true // CLIENT SETINFO is 7.2+
	if o.Prefix == "" {
		o.Prefix = "meridian:reg:"
	}
	if o.Check <= 0 {
		o.Check = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	quietClient.Do(func() { redis.SetLogger(clientLog{}) })
	r := &Redis{
		c: redis.NewClient(opts), prefix: o.Prefix, node: o.Node, ttl: o.TTL, ttlMS: o.TTL.Milliseconds(),
		resync: o.Resync, log: o.Log, m: newCounters("redis"),
		kick: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	r.up.Store(true)
	r.wg.Add(1)
	go r.monitor(o.Check)
	return r, nil
}

func (r *Redis) userKey(bare jid.JID) string { return r.prefix + "u:" + bare.String() }
func (r *Redis) nodeKey(node string) string  { return r.prefix + "n:" + node }

// markerKey is set by a node once its sessions are recorded in this Redis,
// and renewed at every health check with the entries' TTL: a Redis that
// restarts empty has none, and a node cut off from Redis loses its marker
// as its entries lapse.
func (r *Redis) markerKey(node string) string { return r.prefix + "r:" + node }

// Complete implements Registry: every node's marker is there.
func (r *Redis) Complete(ctx context.Context, nodes []string) (bool, error) {
	if len(nodes) == 0 {
		return true, nil
	}
	if err := r.ready(opComplete); err != nil {
		return false, r.m.done(opComplete, err)
	}
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		keys[i] = r.markerKey(n)
	}
	n, err := r.c.Exists(ctx, keys...).Result()
	if err != nil {
		return false, r.m.done(opComplete, r.fail(opComplete, err))
	}
	// EXISTS counts a key named twice twice: names are distinct here.
	return n == int64(len(keys)), r.m.done(opComplete, nil)
}

// keys returns the keys a place's scripts touch.
func (r *Redis) keys(p Place) []string {
	core := r.nodeKey(p.Core)
	edge := core
	if p.Edge != "" {
		edge = r.nodeKey(p.Edge)
	}
	return []string{r.userKey(p.JID.Bare()), core, edge}
}

// fail wraps an operation's error; a connection failure starts an
// outage.
func (r *Redis) fail(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("registry: redis: %s: %w", op, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		return fmt.Errorf("registry: redis: %s: %w", op, err)
	}
	r.down(err)
	return fmt.Errorf("registry: redis: %s: %w: %v", op, ErrUnavailable, err)
}

// ready refuses an operation while the registry is closed or Redis is
// known to be down.
func (r *Redis) ready(op string) error {
	if r.closed.Load() {
		return fmt.Errorf("registry: redis: %s: %w", op, ErrClosed)
	}
	if !r.up.Load() {
		return fmt.Errorf("registry: redis: %s: %w", op, ErrUnavailable)
	}
	return nil
}

// Register implements Registry.
func (r *Redis) Register(ctx context.Context, p Place) (Place, error) {
	if err := check(p); err != nil {
		return Place{}, r.m.done(opRegister, fmt.Errorf("registry: redis: %w", err))
	}
	if err := r.ready(opRegister); err != nil {
		return Place{}, r.m.done(opRegister, err)
	}
	if p.BoundAt.IsZero() {
		p.BoundAt = time.Now()
	}
	v, err := registerScript.Run(ctx, r.c, r.keys(p), p.JID.String(), appendPlace(nil, p), r.ttlMS, identity(p)).Result()
	if err != nil {
		return Place{}, r.m.done(opRegister, r.fail(opRegister, err))
	}
	s, ok := v.(string)
	if !ok {
		return Place{}, r.m.done(opRegister, nil)
	}
	prev, err := parsePlace(p.JID, s, true)
	if err != nil {
		// A value this version cannot read is replaced, not fatal.
		r.log.Warn("registry: redis: unreadable entry replaced", "jid", p.JID.String(), "err", err)
		return Place{}, r.m.done(opRegister, nil)
	}
	return prev, r.m.done(opRegister, nil)
}

// Refresh implements Registry: one pipeline for all the places.
func (r *Redis) Refresh(ctx context.Context, places []Place) ([]Place, error) {
	for _, p := range places {
		if err := check(p); err != nil {
			return nil, r.m.done(opRefresh, fmt.Errorf("registry: redis: %w", err))
		}
	}
	if err := r.ready(opRefresh); err != nil {
		return nil, r.m.done(opRefresh, err)
	}
	lost, err := r.refresh(ctx, places)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis restarted since the script was last loaded.
		if err = refreshScript.Load(ctx, r.c).Err(); err == nil {
			lost, err = r.refresh(ctx, places)
		}
	}
	if err != nil {
		return nil, r.m.done(opRefresh, r.fail(opRefresh, err))
	}
	return lost, r.m.done(opRefresh, nil)
}

const refreshBatch = 512

func (r *Redis) refresh(ctx context.Context, places []Place) ([]Place, error) {
	var lost []Place
	for len(places) > 0 {
		batch := places[:min(len(places), refreshBatch)]
		places = places[len(batch):]
		pipe := r.c.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, p := range batch {
			if p.BoundAt.IsZero() {
				p.BoundAt = time.Now()
			}
			cmds[i] = refreshScript.EvalSha(ctx, pipe, r.keys(p), p.JID.String(), appendPlace(nil, p), r.ttlMS, identity(p))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		for i, c := range cmds {
			if n, _ := c.Int(); n == 0 {
				lost = append(lost, batch[i])
			}
		}
	}
	return lost, nil
}

// Unregister implements Registry.
func (r *Redis) Unregister(ctx context.Context, p Place) (bool, error) {
	if err := check(p); err != nil {
		return false, r.m.done(opUnregister, fmt.Errorf("registry: redis: %w", err))
	}
	if err := r.ready(opUnregister); err != nil {
		return false, r.m.done(opUnregister, err)
	}
	n, err := unregisterScript.Run(ctx, r.c, r.keys(p), p.JID.String(), identity(p)).Int()
	if err != nil {
		return false, r.m.done(opUnregister, r.fail(opUnregister, err))
	}
	return n == 1, r.m.done(opUnregister, nil)
}

// SetPresence implements Registry.
func (r *Redis) SetPresence(ctx context.Context, p Place) (bool, error) {
	if err := check(p); err != nil {
		return false, r.m.done(opSetPresence, fmt.Errorf("registry: redis: %w", err))
	}
	if err := r.ready(opSetPresence); err != nil {
		return false, r.m.done(opSetPresence, err)
	}
	avail := 0
	if p.Available {
		avail = 1
	}
	n, err := presenceScript.Run(ctx, r.c, r.keys(p)[:1], p.JID.String(), identity(p), p.Priority, avail).Int()
	if err != nil {
		return false, r.m.done(opSetPresence, r.fail(opSetPresence, err))
	}
	return n == 1, r.m.done(opSetPresence, nil)
}

// Lookup implements Registry.
func (r *Redis) Lookup(ctx context.Context, full jid.JID) (Place, bool, error) {
	if err := r.ready(opLookup); err != nil {
		return Place{}, false, r.m.done(opLookup, err)
	}
	v, err := lookupScript.Run(ctx, r.c, []string{r.userKey(full.Bare())}, full.String()).Result()
	if err != nil {
		return Place{}, false, r.m.done(opLookup, r.fail(opLookup, err))
	}
	switch v := v.(type) {
	case string:
		p, err := parsePlace(full, v, true)
		if err != nil {
			return Place{}, false, r.m.done(opLookup, fmt.Errorf("registry: redis: lookup: %w", err))
		}
		return p, true, r.m.done(opLookup, nil)
	case int64:
		if v == 1 {
			r.m.expired.Inc()
		}
	}
	return Place{}, false, r.m.done(opLookup, nil)
}

// Sessions implements Registry. An entry this version cannot read is
// skipped and logged, so that one bad value does not hide a user.
func (r *Redis) Sessions(ctx context.Context, bare jid.JID) ([]Place, error) {
	if err := r.ready(opSessions); err != nil {
		return nil, r.m.done(opSessions, err)
	}
	v, err := sessionsScript.Run(ctx, r.c, []string{r.userKey(bare.Bare())}).Slice()
	if err != nil {
		return nil, r.m.done(opSessions, r.fail(opSessions, err))
	}
	if len(v) > 0 {
		if n, ok := v[0].(int64); ok && n > 0 {
			r.m.expired.Add(float64(n))
		}
	}
	out := make([]Place, 0, len(v)/2)
	for i := 1; i+1 < len(v); i += 2 {
		f, _ := v[i].(string)
		s, _ := v[i+1].(string)
		full, err := jid.Parse(f)
		if err == nil && full.Bare() == bare.Bare() {
			var p Place
			if p, err = parsePlace(full, s, true); err == nil {
				out = append(out, p)
				continue
			}
		}
		r.log.Warn("registry: redis: unreadable entry skipped", "bare", bare.String(), "field", f, "err", err)
	}
	return out, r.m.done(opSessions, nil)
}

// DropNode implements Registry: it empties the node's index set in
// batches, deleting each entry that the node still holds.
func (r *Redis) DropNode(ctx context.Context, node string) ([]Place, error) {
	if node == "" {
		return nil, r.m.done(opDropNode, fmt.Errorf("registry: redis: %w: empty node name", ErrInvalid))
	}
	if err := r.ready(opDropNode); err != nil {
		return nil, r.m.done(opDropNode, err)
	}
	key := r.nodeKey(node)
	var dropped []Place
	for {
		members, err := r.c.SPopN(ctx, key, refreshBatch).Result()
		if err != nil {
			return dropped, r.m.done(opDropNode, r.fail(opDropNode, err))
		}
		if len(members) == 0 {
			return dropped, r.m.done(opDropNode, nil)
		}
		keys := make([]string, 0, len(members))
		args := make([]any, 0, len(members)+1)
		args = append(args, node)
		for _, m := range members {
			full, err := jid.Parse(m)
			if err != nil {
				continue
			}
			keys = append(keys, r.userKey(full.Bare()))
			args = append(args, m)
		}
		if len(keys) == 0 {
			continue
		}
		// The script returns the full JID and the entry of each session
		// it removed.
		gone, err := dropScript.Run(ctx, r.c, keys, args...).StringSlice()
		if err != nil {
			return dropped, r.m.done(opDropNode, r.fail(opDropNode, err))
		}
		for i := 0; i+1 < len(gone); i += 2 {
			full, err := jid.Parse(gone[i])
			if err != nil {
				continue
			}
			if p, err := parsePlace(full, gone[i+1], true); err == nil {
				dropped = append(dropped, p)
			}
		}
	}
}

// Close implements Registry.
func (r *Redis) Close() error {
	var err error
	r.once.Do(func() {
		r.closed.Store(true)
		close(r.stop)
		r.wg.Wait()
		err = r.c.Close()
	})
	return err
}

// down records that Redis is unreachable: counted and logged once per
// outage.
func (r *Redis) down(err error) {
	if r.closed.Load() || !r.up.CompareAndSwap(true, false) {
		return
	}
	r.m.outages.Inc()
	r.m.up.Set(0)
	r.log.Warn("registry: redis unreachable; session registry operations fail until it is back", "err", err)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// monitor checks Redis every interval: while it is down, for its return;
// while it is up, that it is the same server (a restart may have lost
// every entry). Either way the node's sessions are registered again.
func (r *Redis) monitor(every time.Duration) {
	defer r.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	var runID string
	// pending: the node's sessions are to be recorded again (the marker
	// waits for them).
	pending := false
	// The first check runs at once: a restart within the first interval
	// must not go unnoticed for want of a run_id to compare with.
	for first := true; ; first = false {
		if !first {
			select {
			case <-r.stop:
				return
			case <-t.C:
			case <-r.kick:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), every+time.Second)
		id, err := r.runID(ctx)
		cancel()
		if err != nil {
			r.down(err)
			continue
		}
		restarted := runID != "" && id != runID
		runID = id
		if r.up.CompareAndSwap(false, true) {
			r.m.up.Set(1)
			r.log.Info("registry: redis reachable again")
			pending = true
		} else if restarted {
			r.log.Warn("registry: redis restarted; registering this node's sessions again")
			pending = true
		}
		if pending {
			pending = !r.doResync()
		}
		if !pending && r.node != "" {
			ctx, cancel := context.WithTimeout(context.Background(), every+time.Second)
			r.c.Set(ctx, r.markerKey(r.node), "1", r.ttl)
			cancel()
		}
	}
}

// quietClient keeps the client library from writing to stderr on every
// failed dial: the registry logs an outage once, at its start.
var quietClient sync.Once

// clientLog passes the client library's messages to slog's default
// logger at debug level.
type clientLog struct{}

func (clientLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "registry: redis client: "+fmt.Sprintf(format, v...))
}

// runID returns the Redis server's run_id, which changes when it restarts.
func (r *Redis) runID(ctx context.Context) (string, error) {
	info, err := r.c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("no run_id in INFO server")
}

// doResync records the node's sessions again; false when it failed (the
// next check tries again).
func (r *Redis) doResync() bool {
	if r.resync == nil {
		return true
	}
	places := r.resync()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lost, err := r.Refresh(ctx, places)
	if err != nil {
		r.log.Warn("registry: redis: resync failed; retried at the next check", "sessions", len(places), "err", err)
		return false
	}
	r.m.resyncs.Inc()
	r.log.Info("registry: redis: sessions registered again", "sessions", len(places), "held_elsewhere", len(lost))
	return true
}
