package scenario

import (
	"context"
	"time"
)

func init() {
	Register("login", login{})
	Register("idle", idle{})
}

// login is a login storm: the logins are the load (logins per second,
// connect/TLS/auth times); the sessions close as soon as all are in.
type login struct{}

func (login) Prepare(context.Context, *Env) error { return nil }
func (login) Run(context.Context, *Env) error     { return nil }
func (login) Silent() bool                        { return true }

// idle keeps the users connected, authenticated and silent for the
// duration (memory per idle session), with a whitespace keepalive
// (RFC 6120 §4.6.1) every keepalive interval as a real client sends.
type idle struct{}

const keepalive = 60 * time.Second

func (idle) Prepare(context.Context, *Env) error { return nil }
func (idle) Silent() bool                        { return true }

func (idle) Run(ctx context.Context, e *Env) error {
	end := time.Now().Add(e.Params.Duration)
	for {
		left := time.Until(end)
		if left <= 0 || ctx.Err() != nil {
			return nil
		}
		sleep(ctx, min(left, keepalive))
		if time.Until(end) <= 0 {
			return nil
		}
		for _, s := range e.Live() {
			s.Conn.Send([]byte(" "))
			s.Conn.Flush()
		}
	}
}
