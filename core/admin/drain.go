package admin

import (
	"errors"
	"net/http"
	"time"
)

// DrainState is a node's lame-duck drain, as POST /v1/drain answers it.
type DrainState struct {
	Draining bool      `json:"draining"`
	Drained  bool      `json:"drained"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	Period   string    `json:"period"`
	Redirect []string  `json:"redirect"`
	Streams  int       `json:"streams"`
}

// ErrCannotDrain is what Node.Drain returns for a node that has nothing to
// drain (no edge role): answered 409.
type ErrCannotDrain struct{ Reason string }

func (e ErrCannotDrain) Error() string { return e.Reason }

// DrainRequest is the body of POST /v1/drain; every field is optional.
type DrainRequest struct {
	Timeout  string   `json:"timeout,omitempty"`
	Period   string   `json:"period,omitempty"`
	Redirect []string `json:"redirect,omitempty"`
}

// Drain defaults: the clients are moved over DefaultDrainPeriod, and the
// node gives up waiting for them after DefaultDrainTimeout.
const (
	DefaultDrainTimeout = 5 * time.Minute
	DefaultDrainPeriod  = 30 * time.Second
)

// POST /v1/drain
func (a *api) drain(w http.ResponseWriter, r *http.Request) {
	if a.node.Drain == nil {
		fail(w, http.StatusConflict, "this node cannot drain")
		return
	}
	var req DrainRequest
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	timeout, period := DefaultDrainTimeout, DefaultDrainPeriod
	for _, f := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"timeout", req.Timeout, &timeout}, {"period", req.Period, &period}} {
		if f.in == "" {
			continue
		}
		d, err := time.ParseDuration(f.in)
		if err != nil || d < 0 || (d == 0 && f.name == "timeout") {
			fail(w, http.StatusBadRequest, f.name+": want a positive duration such as 5m or 30s, got "+quote(f.in))
			return
		}
		*f.out = d
	}
	for _, h := range req.Redirect {
		if h == "" || len(h) > 255 || !printable(h) {
			fail(w, http.StatusBadRequest, "redirect: want host or host:port, got "+quote(h))
			return
		}
	}
	st, err := a.node.Drain(timeout, period, req.Redirect)
	var cd ErrCannotDrain
	switch {
	case errors.As(err, &cd):
		fail(w, http.StatusConflict, cd.Reason)
	case err != nil:
		fail(w, http.StatusInternalServerError, err.Error())
	default:
		reply(w, http.StatusOK, st)
	}
}

func quote(s string) string { return "\"" + s + "\"" }

// printable: no space, control character, or markup in a host name.
func printable(s string) bool {
	for _, c := range s {
		if c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' {
			return false
		}
	}
	return true
}
