// Package dist runs a load scenario on several load nodes: agents serve
// runs over HTTP+JSON, and a controller splits the users and the rate
// among them, starts them together and merges their results exactly (HDR
// histograms merge without loss). It owns the wire format only.
package dist

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// Serve runs an agent until ctx ends: POST /run with a loadtest.Config
// runs it and answers with the Result (histograms included).
func Serve(ctx context.Context, addr string, log io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return serve(ctx, ln, log)
}

func serve(ctx context.Context, ln net.Listener, log io.Writer) error {
	var busy sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		if !busy.TryLock() {
			http.Error(w, "agent busy", http.StatusConflict)
			return
		}
		defer busy.Unlock()
		var cfg loadtest.Config
		if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
			http.Error(w, "malformed config: "+err.Error(), http.StatusBadRequest)
			return
		}
		cfg.KeepHistograms = true
		cfg.Progress = log
		res, err := loadtest.Run(r.Context(), cfg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(res)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(log, "meridian-load agent on %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Control runs cfg on the agents: agent i gets a share of the users (its
// own user numbers) and of the rate. The server's resources come from the
// first agent, which must run on the server's machine to measure them.
func Control(ctx context.Context, agents []string, cfg loadtest.Config) (*loadtest.Result, error) {
	n := len(agents)
	if n == 0 {
		return nil, errors.New("dist: no agents")
	}
	if cfg.Users < n {
		return nil, fmt.Errorf("dist: %d users cannot be split among %d agents", cfg.Users, n)
	}
	results := make([]*loadtest.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	offset := cfg.UserOffset
	for i, a := range agents {
		part := cfg
		part.Progress = nil
		part.Users = cfg.Users / n
		if i < cfg.Users%n {
			part.Users++
		}
		part.UserOffset = offset
		offset += part.Users
		part.Rate = cfg.Rate / float64(n)
		if i > 0 {
			part.ServerPID = 0
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runOn(ctx, a, part)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return Merge(results), nil
}

func runOn(ctx context.Context, agent string, cfg loadtest.Config) (*loadtest.Result, error) {
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+agent+"/run", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("dist: agent %s: %w", agent, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("dist: agent %s: %s: %s", agent, resp.Status, bytes.TrimSpace(msg))
	}
	var res loadtest.Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return nil, fmt.Errorf("dist: agent %s: %w", agent, err)
	}
	return &res, nil
}

// Merge combines the results of one run's agents: counts and rates add,
// histograms merge, series add point by point.
func Merge(rs []*loadtest.Result) *loadtest.Result {
	out := *rs[0]
	out.Users, out.Connected, out.MessagesSent, out.MessagesReceived = 0, 0, 0, 0
	out.LoginsPerSec, out.MessagesPerSec, out.TargetRate = 0, 0, 0
	out.Errors = map[string]int64{}
	out.Series = nil
	hs := map[string]*stats.Histogram{}
	for _, r := range rs {
		out.Users += r.Users
		out.Connected += r.Connected
		out.MessagesSent += r.MessagesSent
		out.MessagesReceived += r.MessagesReceived
		out.LoginsPerSec += r.LoginsPerSec
		out.MessagesPerSec += r.MessagesPerSec
		out.TargetRate += r.TargetRate
		out.DurationS = max(out.DurationS, r.DurationS)
		for k, v := range r.Errors {
			out.Errors[k] += v
		}
		for name, s := range r.Histograms {
			if s == nil {
				continue
			}
			h := stats.Import(s)
			if hs[name] == nil {
				hs[name] = stats.NewHistogram()
			}
			hs[name].Merge(h)
		}
		for i, p := range r.Series {
			if i >= len(out.Series) {
				out.Series = append(out.Series, loadtest.Point{T: p.T})
			}
			q := &out.Series[i]
			q.Sent += p.Sent
			q.Received += p.Received
			q.Connected += p.Connected
			q.P99ms = max(q.P99ms, p.P99ms) // an upper bound: per-interval histograms are not kept
		}
	}
	if h := hs["latency"]; h != nil {
		out.Latency = h.Summary()
	}
	if h := hs["connect"]; h != nil {
		out.Connect = h.Summary()
	}
	if h := hs["tls"]; h != nil {
		out.TLS = h.Summary()
	}
	if h := hs["auth"]; h != nil {
		out.Auth = h.Summary()
	}
	out.Histograms = nil
	return &out
}
