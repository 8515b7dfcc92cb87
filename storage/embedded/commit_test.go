package embedded

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
)

// TestGroupCommitFailure: a write that fails fails alone; the others in
// its group are committed.
func TestGroupCommitFailure(t *testing.T) {
	db := openTemp(t)
	boom := errors.New("boom")
	put := func(k string) func(*bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte(k), []byte("v")) }
	}
	var group []*groupOp
	for _, fn := range []func(*bbolt.Tx) error{put("a"), put("b"), func(tx *bbolt.Tx) error {
		tx.Bucket(bucketMeta).Put([]byte("c"), []byte("v"))
		return boom
	}, put("d")} {
		group = append(group, &groupOp{fn: fn, err: make(chan error, 1)})
	}
	db.group.commit(group)
	for i, op := range group {
		err := <-op.err
		if (i == 2) != errors.Is(err, boom) {
			t.Errorf("write %d: %v", i, err)
		}
	}
	db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		for _, k := range []string{"a", "b", "d"} {
			if b.Get([]byte(k)) == nil {
				t.Errorf("%s lost with the failing write", k)
			}
		}
		if b.Get([]byte("c")) != nil {
			t.Error("the failing write was committed")
		}
		return nil
	})
}

// TestGroupCommitClose: writes queued before Close finish; later ones
// fail; Close is idempotent.
func TestGroupCommitClose(t *testing.T) {
	db := openTemp(t)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.group.do(func(tx *bbolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(fmt.Appendf(nil, "k%d", i), []byte("v"))
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.group.do(func(*bbolt.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("write after Close: %v", err)
	}
	db.Close()
}
