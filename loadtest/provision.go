package loadtest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/meridian-xmpp/meridian/loadtest/client"
)

// Provision lists the users and creates them when the source does
// (in-band registration, admin API), Concurrency at a time. Failures are
// counted as "provision:..."; it fails only when no account could be
// made ready.
func (e *Engine) Provision(ctx context.Context) error {
	if e.users != nil {
		return nil
	}
	e.phase.Store("provision")
	us, err := e.src.List()
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	var (
		sem    = make(chan struct{}, e.cfg.Concurrency)
		wg     sync.WaitGroup
		failed atomic.Int64
		first  atomic.Value
	)
	for i, u := range us {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := e.src.Create(ctx, u, e.source(i)); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err)
				e.st.Errors.Add(client.Key("provision", err))
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n == int64(len(us)) {
		return fmt.Errorf("loadtest: no account could be provisioned (%d failed), first error: %v", n, first.Load())
	}
	e.users = us
	return nil
}
