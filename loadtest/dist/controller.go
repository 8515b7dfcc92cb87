package dist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
)

// startDelay is how far ahead the controller schedules the common start:
// enough for the start requests to reach every agent.
const startDelay = time.Second

// loadDelay is how far ahead the common start of the load phases is.
const loadDelay = 300 * time.Millisecond

// Split divides a run among n agents: each gets Users/n users (the first
// ones one more) with its own numbers, the same share of the rate and of
// Messages; only the first measures the server process (it must run on
// the server's machine).
func Split(cfg loadtest.Config, n int) ([]loadtest.Config, error) {
	if n <= 0 {
		return nil, errors.New("dist: no agents")
	}
	if cfg.Users < n {
		return nil, fmt.Errorf("dist: %d users cannot be split among %d agents", cfg.Users, n)
	}
	parts := make([]loadtest.Config, n)
	offset := cfg.UserOffset
	for i := range parts {
		p := cfg
		p.ProgressOut, p.Dial = nil, nil
		p.Users = cfg.Users / n
		if i < cfg.Users%n {
			p.Users++
		}
		p.UserOffset = offset
		offset += p.Users
		share := float64(p.Users) / float64(cfg.Users)
		p.Rate = cfg.Rate * share
		p.ConnectRate = cfg.ConnectRate * share
		if cfg.Messages > 0 {
			p.Messages = max(1, int64(float64(cfg.Messages)*share))
		}
		if i > 0 {
			p.ServerPID = 0
		}
		parts[i] = p
	}
	return parts, nil
}

// Control runs cfg on the agents (host:port each) and returns the merged
// result. Progress lines go to cfg.ProgressOut every cfg.Progress.
func Control(ctx context.Context, agents []string, cfg loadtest.Config) (*loadtest.Result, error) {
	parts, err := Split(cfg, len(agents))
	if err != nil {
		return nil, err
	}
	c := &controller{agents: agents, hc: &http.Client{}}
	if err := c.each(func(i int, a string) error {
		return c.call(ctx, "POST", a, "/v1/prepare", parts[i], nil)
	}); err != nil {
		c.abort()
		return nil, err
	}
	at := time.Now().Add(startDelay)
	if err := c.each(func(i int, a string) error {
		return c.call(ctx, "POST", a, "/v1/start", startRequest{StartAt: at}, nil)
	}); err != nil {
		c.abort()
		return nil, err
	}
	stop := c.progress(ctx, cfg)
	// Load phases start together once every agent is ready (or has
	// finished: its result will tell why).
	go func() {
		for ctx.Err() == nil {
			sts := make([]loadtest.Status, len(agents))
			if c.each(func(i int, a string) error { return c.call(ctx, "GET", a, "/v1/status", nil, &sts[i]) }) != nil {
				return
			}
			ready := true
			for _, s := range sts {
				ready = ready && (s.Phase == "ready" || s.Phase == "done")
			}
			if ready {
				at := time.Now().Add(loadDelay)
				c.each(func(_ int, a string) error { return c.call(ctx, "POST", a, "/v1/load", startRequest{StartAt: at}, nil) })
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	results := make([]*loadtest.Result, len(agents))
	var once sync.Once
	err = c.each(func(i int, a string) error {
		results[i] = new(loadtest.Result)
		err := c.call(ctx, "GET", a, "/v1/result", nil, results[i])
		if err != nil {
			// The others may wait for it at the load barrier: stop them.
			once.Do(c.abort)
		}
		return err
	})
	stop()
	if err != nil {
		return nil, err
	}
	return Merge(results)
}

type controller struct {
	agents []string
	hc     *http.Client
}

// each calls fn for every agent at once and joins the errors.
func (c *controller) each(fn func(i int, agent string) error) error {
	errs := make([]error, len(c.agents))
	var wg sync.WaitGroup
	for i, a := range c.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, a)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *controller) call(ctx context.Context, method, agent, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	url := agent
	if !strings.Contains(url, "://") {
		url = "http://" + agent
	}
	req, err := http.NewRequestWithContext(ctx, method, url+path, body)
	if err != nil {
		return fmt.Errorf("dist: agent %s: %w", agent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("dist: agent %s: %w", agent, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(msg, &e) == nil && e.Error != "" {
			msg = []byte(e.Error)
		}
		return fmt.Errorf("dist: agent %s: %s %s: %s: %s", agent, method, path, resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("dist: agent %s: %w", agent, err)
		}
	}
	return nil
}

func (c *controller) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.each(func(_ int, a string) error { return c.call(ctx, "POST", a, "/v1/abort", nil, nil) })
}

// progress prints the agents' combined status until stopped.
func (c *controller) progress(ctx context.Context, cfg loadtest.Config) (stop func()) {
	if cfg.Progress <= 0 || cfg.ProgressOut == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(cfg.Progress)
		defer t.Stop()
		var prev loadtest.Status
		prevAt := time.Now()
		printed := false
		for {
			final := false
			select {
			case <-done:
				final = true
			case <-t.C:
			}
			sts := make([]loadtest.Status, len(c.agents))
			c.each(func(i int, a string) error {
				qctx, cancel := context.WithTimeout(ctx, cfg.Progress)
				defer cancel()
				return c.call(qctx, "GET", a, "/v1/status", nil, &sts[i])
			})
			sum := sumStatus(sts)
			now := time.Now()
			el := now.Sub(prevAt).Seconds()
			sps, rps := float64(sum.Sent-prev.Sent)/el, float64(sum.Received-prev.Received)/el
			prev, prevAt = sum, now
			if !final || printed {
				line := fmt.Sprintf("%d agents  ", len(c.agents)) + loadtest.ProgressLine(cfg.Scenario, sum, sps, rps)
				switch {
				case cfg.ProgressTTY && final:
					fmt.Fprintf(cfg.ProgressOut, "\r%s\x1b[K\n", line)
				case cfg.ProgressTTY:
					fmt.Fprintf(cfg.ProgressOut, "\r%s\x1b[K", line)
				default:
					fmt.Fprintln(cfg.ProgressOut, line)
				}
				printed = true
			}
			if final {
				return
			}
		}
	}()
	return func() { close(done); <-exited }
}

// sumStatus adds the agents' statuses; the phase is the least advanced.
func sumStatus(sts []loadtest.Status) loadtest.Status {
	var out loadtest.Status
	for i, s := range sts {
		if i == 0 {
			out.Phase = s.Phase
		}
		out.ElapsedS = max(out.ElapsedS, s.ElapsedS)
		out.Users += s.Users
		out.Connected += s.Connected
		out.Sent += s.Sent
		out.Received += s.Received
		out.Errors += s.Errors
		out.P99ms = max(out.P99ms, s.P99ms)
		out.RSSBytes = max(out.RSSBytes, s.RSSBytes)
		out.CPU = max(out.CPU, s.CPU)
	}
	return out
}
