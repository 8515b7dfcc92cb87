package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// userSend runs the UserSend hooks; nil means a hook handled st.
func (c *Core) userSend(ctx context.Context, s *session, st *stanza.Stanza) *stanza.Stanza {
	if len(c.sendHooks) == 0 {
		return st
	}
	info := s.info()
	for _, h := range c.sendHooks {
		if st = h(ctx, info, st); st == nil {
			return nil
		}
	}
	return st
}

// userReceive runs the UserReceive hooks; nil means a hook handled st.
func (c *Core) userReceive(ctx context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza {
	for _, h := range c.recvHooks {
		if st = h(ctx, to, st); st == nil {
			return nil
		}
	}
	return st
}

func (c *Core) messageDelivered(ctx context.Context, st *stanza.Stanza, to jid.JID, delivered []jid.JID) {
	for _, h := range c.deliveredHooks {
		h(ctx, st, to, delivered)
	}
}

// requests tracks IQs the server sent through Request and awaits.
type requests struct {
	prefix string
	seq    atomic.Uint64
	mu     sync.Mutex
	wait   map[string]pending
}

type pending struct {
	to jid.JID // whom the request went to: only it may answer
	ch chan *stanza.Stanza
}

func newRequests() *requests {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &requests{prefix: "mr-" + hex.EncodeToString(b[:]) + "-", wait: map[string]pending{}}
}

// Request implements module.Host.
func (c *Core) Request(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	el, err := iq.Element()
	if err != nil {
		return nil, err
	}
	r := c.reqs
	id := r.prefix + strconv.FormatUint(r.seq.Add(1), 36)
	el.SetAttr("id", id)
	ch := make(chan *stanza.Stanza, 1)
	r.mu.Lock()
	r.wait[id] = pending{to: iq.To, ch: ch}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.wait, id)
		r.mu.Unlock()
	}()
	c.route(ctx, stanza.FromElement(el), nil)
	t := time.NewTimer(module.RequestTimeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
	case <-t.C:
	}
	return nil, module.ErrRequestTimeout
}

// response hands an IQ result or error to the Request waiting for it; it
// reports whether one was.
func (c *Core) response(st *stanza.Stanza) bool {
	if st.Kind != stanza.IQ || (st.Type != "result" && st.Type != "error") || len(st.ID) <= len(c.reqs.prefix) || st.ID[:len(c.reqs.prefix)] != c.reqs.prefix {
		return false
	}
	c.reqs.mu.Lock()
	p, ok := c.reqs.wait[st.ID]
	if ok && p.to == st.From {
		delete(c.reqs.wait, st.ID)
	}
	c.reqs.mu.Unlock()
	if !ok || p.to != st.From {
		return false
	}
	p.ch <- st
	return true
}
