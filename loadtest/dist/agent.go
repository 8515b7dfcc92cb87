package dist

import (
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
)

// Agent runs one load run at a time for a controller.
type Agent struct {
	// Log receives the agent's messages and its runs' progress lines.
	Log io.Writer

	mu     sync.Mutex
	state  string // idle, prepared, running, done
	eng    *loadtest.Engine
	load   func(at time.Time) // releases the engine's load phase
	cancel context.CancelFunc
	ctx    context.Context
	done   chan struct{}
	res    *loadtest.Result
	err    error
}

// Serve runs an agent on addr until ctx ends.
func Serve(ctx context.Context, addr string, log io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	a := &Agent{Log: log}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		a.abort()
		srv.Close()
	}()
	fmt.Fprintf(log, "meridian-load agent listening on %s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("dist: %w", err)
	}
	return nil
}

// Handler serves the agent's endpoints.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/prepare", a.prepare)
	mux.HandleFunc("POST /v1/start", a.start)
	mux.HandleFunc("POST /v1/load", a.startLoad)
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/result", a.result)
	mux.HandleFunc("POST /v1/abort", func(w http.ResponseWriter, r *http.Request) {
		a.abort()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (a *Agent) log() io.Writer {
	if a.Log == nil {
		return io.Discard
	}
	return a.Log
}

func (a *Agent) prepare(w http.ResponseWriter, r *http.Request) {
	var cfg loadtest.Config
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil {
		httpError(w, http.StatusBadRequest, "malformed config: "+err.Error())
		return
	}
	a.mu.Lock()
	if a.state == "running" {
		a.mu.Unlock()
		httpError(w, http.StatusConflict, "agent busy")
		return
	}
	if a.cancel != nil {
		a.cancel()
	}
	cfg.KeepHistograms = true
	cfg.ProgressOut = a.log()
	eng, err := loadtest.New(cfg)
	if err != nil {
		a.mu.Unlock()
		httpError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.state, a.eng, a.ctx, a.cancel, a.res, a.err, a.done = "preparing", eng, ctx, cancel, nil, nil, make(chan struct{})
	a.load = eng.HoldBeforeLoad()
	a.mu.Unlock()
	fmt.Fprintf(a.log(), "meridian-load agent: provisioning %d users from %d\n", cfg.Users, cfg.UserOffset)
	if err := eng.Provision(ctx); err != nil {
		a.mu.Lock()
		a.state = "idle"
		a.mu.Unlock()
		httpError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	a.mu.Lock()
	a.state = "prepared"
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"users": cfg.Users})
}

type startRequest struct {
	StartAt time.Time `json:"start_at"`
}

func (a *Agent) start(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "malformed start: "+err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state != "prepared" {
		httpError(w, http.StatusConflict, "agent is "+a.state+", not prepared")
		return
	}
	a.state = "running"
	eng, ctx, done := a.eng, a.ctx, a.done
	go func() {
		res, err := eng.RunAt(ctx, req.StartAt)
		a.mu.Lock()
		a.res, a.err, a.state = res, err, "done"
		a.mu.Unlock()
		close(done)
	}()
	w.WriteHeader(http.StatusAccepted)
}

// startLoad releases the load phase, which waits in phase "ready".
func (a *Agent) startLoad(w http.ResponseWriter, r *http.Request) {
	var req startRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "malformed load start: "+err.Error())
		return
	}
	a.mu.Lock()
	load := a.load
	a.mu.Unlock()
	if load == nil {
		httpError(w, http.StatusConflict, "no run")
		return
	}
	load(req.StartAt)
	w.WriteHeader(http.StatusAccepted)
}

func (a *Agent) status(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	eng, state := a.eng, a.state
	a.mu.Unlock()
	if eng == nil {
		writeJSON(w, http.StatusOK, loadtest.Status{Phase: "idle"})
		return
	}
	st := eng.Status()
	switch state {
	case "prepared", "done":
		st.Phase = state // "done" also when the run failed before its load phase
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *Agent) result(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	if done == nil {
		httpError(w, http.StatusConflict, "no run")
		return
	}
	select {
	case <-done:
	case <-r.Context().Done():
		return
	}
	a.mu.Lock()
	res, err := a.res, a.err
	a.mu.Unlock()
	if err != nil {
		httpError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *Agent) abort() {
	a.mu.Lock()
	if a.cancel != nil {
		a.cancel()
	}
	a.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
