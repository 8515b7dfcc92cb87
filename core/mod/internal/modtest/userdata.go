package modtest

import (
	"context"
	"sync"

	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// UserData is a userdata.Store in memory. Err, when set, is returned by
// every call instead of doing anything.
type UserData struct {
	mu   sync.Mutex
	vals map[jid.JID]map[string][]byte
	Err  error
}

var _ userdata.Store = (*UserData)(nil)

// NewUserData returns an empty store.
func NewUserData() *UserData { return &UserData{vals: map[jid.JID]map[string][]byte{}} }

// SetErr makes every later call fail with err (nil: work again).
func (s *UserData) SetErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Err = err
}

// Get implements userdata.Store.
func (s *UserData) Get(_ context.Context, user jid.JID, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, false, s.Err
	}
	v, ok := s.vals[user.Bare()][key]
	return append([]byte(nil), v...), ok, nil
}

// Put implements userdata.Store.
func (s *UserData) Put(_ context.Context, user jid.JID, key string, value []byte) error {
	if err := userdata.CheckKey(key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	u := s.vals[user.Bare()]
	if u == nil {
		u = map[string][]byte{}
		s.vals[user.Bare()] = u
	}
	u[key] = append([]byte{}, value...)
	return nil
}

// Delete implements userdata.Store.
func (s *UserData) Delete(_ context.Context, user jid.JID, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	delete(s.vals[user.Bare()], key)
	return nil
}

// RemoveUser implements userdata.Store.
func (s *UserData) RemoveUser(_ context.Context, user jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return s.Err
	}
	delete(s.vals, user.Bare())
	return nil
}

// Keys returns how many keys a user has stored.
func (s *UserData) Keys(user jid.JID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vals[user.Bare()])
}
