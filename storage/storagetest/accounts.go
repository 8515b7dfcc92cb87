package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// creds returns distinct credentials for seed.
func creds(seed byte, iterations int) sasl.Credentials {
	return sasl.Credentials{
		Salt:       bytes.Repeat([]byte{seed, 's'}, 8),
		Iterations: iterations,
		StoredKey:  bytes.Repeat([]byte{seed, 't'}, 16),
		ServerKey:  bytes.Repeat([]byte{seed, 'v'}, 16),
	}
}

func account(domain, username string, seed byte) auth.Account {
	return auth.Account{
		Domain:   domain,
		Username: username,
		SHA1:     creds(seed, 4096),
		SHA256:   creds(seed+1, 10000),
		Created:  when,
	}
}

func sameCreds(a, b sasl.Credentials) bool {
	return bytes.Equal(a.Salt, b.Salt) && a.Iterations == b.Iterations &&
		bytes.Equal(a.StoredKey, b.StoredKey) && bytes.Equal(a.ServerKey, b.ServerKey)
}

func checkAccount(t *testing.T, got, want auth.Account) {
	t.Helper()
	if got.Domain != want.Domain || got.Username != want.Username {
		t.Errorf("account = %s@%s, want %s@%s", got.Username, got.Domain, want.Username, want.Domain)
	}
	if !sameCreds(got.SHA1, want.SHA1) {
		t.Errorf("SHA1 = %+v, want %+v", got.SHA1, want.SHA1)
	}
	if !sameCreds(got.SHA256, want.SHA256) {
		t.Errorf("SHA256 = %+v, want %+v", got.SHA256, want.SHA256)
	}
	if !got.Created.Equal(want.Created) {
		t.Errorf("Created = %v, want %v", got.Created, want.Created)
	}
}

func mustCreate(t *testing.T, s auth.Store, a auth.Account) {
	t.Helper()
	if err := s.CreateAccount(t.Context(), a); err != nil {
		t.Fatalf("CreateAccount(%s@%s): %v", a.Username, a.Domain, err)
	}
}

func runAccounts(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Run("CreateGet", func(t *testing.T) {
		s := fresh(t, open).Accounts
		want := account("example.com", "alice", 1)
		mustCreate(t, s, want)
		got, err := s.GetAccount(ctx(t), "example.com", "alice")
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		checkAccount(t, got, want)

		// The store keeps its own copy of the credentials.
		got.SHA256.StoredKey[0] ^= 0xff
		again, err := s.GetAccount(ctx(t), "example.com", "alice")
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		checkAccount(t, again, want)
	})

	t.Run("Duplicate", func(t *testing.T) {
		s := fresh(t, open).Accounts
		first := account("example.com", "alice", 1)
		mustCreate(t, s, first)
		err := s.CreateAccount(ctx(t), account("example.com", "alice", 9))
		if !errors.Is(err, auth.ErrExists) {
			t.Fatalf("second CreateAccount = %v, want ErrExists", err)
		}
		got, err := s.GetAccount(ctx(t), "example.com", "alice")
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		checkAccount(t, got, first)
	})

	t.Run("NotFound", func(t *testing.T) {
		s := fresh(t, open).Accounts
		mustCreate(t, s, account("example.com", "alice", 1))
		for _, name := range [][2]string{
			{"example.com", "bob"},
			{"example.org", "alice"},
			{"example.co", "alice"},
			{"example.com", "alic"},
			{"example.com", "alicex"},
		} {
			_, err := s.GetAccount(ctx(t), name[0], name[1])
			if !errors.Is(err, auth.ErrNotFound) {
				t.Errorf("GetAccount(%s, %s) = %v, want ErrNotFound", name[0], name[1], err)
			}
		}
	})

	t.Run("SetCredentials", func(t *testing.T) {
		s := fresh(t, open).Accounts
		a := account("example.com", "alice", 1)
		mustCreate(t, s, a)
		mustCreate(t, s, account("example.com", "bob", 1))
		a.SHA1, a.SHA256 = creds(7, 5000), creds(8, 20000)
		if err := s.SetCredentials(ctx(t), "example.com", "alice", a.SHA1, a.SHA256); err != nil {
			t.Fatalf("SetCredentials: %v", err)
		}
		got, err := s.GetAccount(ctx(t), "example.com", "alice")
		if err != nil {
			t.Fatalf("GetAccount: %v", err)
		}
		checkAccount(t, got, a) // Created unchanged

		bob, err := s.GetAccount(ctx(t), "example.com", "bob")
		if err != nil {
			t.Fatalf("GetAccount(bob): %v", err)
		}
		checkAccount(t, bob, account("example.com", "bob", 1))

		err = s.SetCredentials(ctx(t), "example.com", "carol", a.SHA1, a.SHA256)
		if !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("SetCredentials(carol) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetAccount(ctx(t), "example.com", "carol"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("SetCredentials created carol: GetAccount = %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := fresh(t, open).Accounts
		mustCreate(t, s, account("example.com", "alice", 1))
		mustCreate(t, s, account("example.com", "bob", 2))
		if err := s.DeleteAccount(ctx(t), "example.com", "alice"); err != nil {
			t.Fatalf("DeleteAccount: %v", err)
		}
		if _, err := s.GetAccount(ctx(t), "example.com", "alice"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("GetAccount after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteAccount(ctx(t), "example.com", "alice"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("second DeleteAccount = %v, want ErrNotFound", err)
		}
		if _, err := s.GetAccount(ctx(t), "example.com", "bob"); err != nil {
			t.Errorf("GetAccount(bob) after deleting alice: %v", err)
		}
		// The name is free again.
		again := account("example.com", "alice", 5)
		mustCreate(t, s, again)
		got, err := s.GetAccount(ctx(t), "example.com", "alice")
		if err != nil {
			t.Fatalf("GetAccount after re-create: %v", err)
		}
		checkAccount(t, got, again)
	})

	t.Run("ListOrder", func(t *testing.T) {
		s := fresh(t, open).Accounts
		names := []string{"alice", "bob", "a", "ab", "b", "zoe", "z0", "0", "_x", "émile", "ω", "alice.smith", "alice-b"}
		want := slices.Clone(names)
		slices.Sort(want)
		rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		for i, n := range names {
			mustCreate(t, s, account("example.com", n, byte(i)))
		}
		got, err := s.ListAccounts(ctx(t), "example.com")
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListAccounts = %q, want %q", got, want)
		}
		empty, err := s.ListAccounts(ctx(t), "nobody.example")
		if err != nil || len(empty) != 0 {
			t.Errorf("ListAccounts(empty domain) = %q, %v; want none", empty, err)
		}
	})

	t.Run("DomainsIsolated", func(t *testing.T) {
		s := fresh(t, open).Accounts
		// Domains that are prefixes of one another must not bleed.
		domains := []string{"example.co", "example.com", "example.com.au", "a.example.com"}
		for i, d := range domains {
			mustCreate(t, s, account(d, "alice", byte(10*i)))
			mustCreate(t, s, account(d, fmt.Sprintf("only%d", i), byte(10*i+1)))
		}
		for i, d := range domains {
			got, err := s.GetAccount(ctx(t), d, "alice")
			if err != nil {
				t.Fatalf("GetAccount(%s): %v", d, err)
			}
			checkAccount(t, got, account(d, "alice", byte(10*i)))
			list, err := s.ListAccounts(ctx(t), d)
			if err != nil {
				t.Fatalf("ListAccounts(%s): %v", d, err)
			}
			if want := []string{"alice", fmt.Sprintf("only%d", i)}; !slices.Equal(list, want) {
				t.Errorf("ListAccounts(%s) = %q, want %q", d, list, want)
			}
		}
		if err := s.DeleteAccount(ctx(t), "example.com", "alice"); err != nil {
			t.Fatalf("DeleteAccount: %v", err)
		}
		for _, d := range []string{"example.co", "example.com.au", "a.example.com"} {
			if _, err := s.GetAccount(ctx(t), d, "alice"); err != nil {
				t.Errorf("GetAccount(%s) after deleting alice@example.com: %v", d, err)
			}
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		s := fresh(t, open).Accounts
		err := s.CreateAccount(canceled(), account("example.com", "alice", 1))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("CreateAccount(canceled ctx) = %v, want context.Canceled", err)
		}
		if _, err := s.GetAccount(ctx(t), "example.com", "alice"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("canceled CreateAccount stored the account: GetAccount = %v", err)
		}
	})

	t.Run("ConcurrentCreate", func(t *testing.T) {
		s := fresh(t, open).Accounts
		const n = 8
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			won     int
			unknown []error
		)
		for i := range n {
			wg.Go(func() {
				// Everyone races for "alice" and creates a name of their own.
				err := s.CreateAccount(context.Background(), account("example.com", "alice", byte(i)))
				own := s.CreateAccount(context.Background(), account("example.com", fmt.Sprintf("user%d", i), byte(i)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, auth.ErrExists):
					unknown = append(unknown, err)
				}
				if own != nil {
					unknown = append(unknown, own)
				}
			})
		}
		wg.Wait()
		if won != 1 || len(unknown) != 0 {
			t.Fatalf("%d creators of alice won (want 1); other errors: %v", won, unknown)
		}
		list, err := s.ListAccounts(ctx(t), "example.com")
		if err != nil || len(list) != n+1 {
			t.Errorf("ListAccounts = %q, %v; want alice and %d users", list, err, n)
		}
	})
}
