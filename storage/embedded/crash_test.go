package embedded

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// crashChildEnv names the store file a re-executed test binary writes to
// until it is killed.
const crashChildEnv = "MERIDIAN_EMBEDDED_CRASH_CHILD"

const (
	crashAccounts = 20
	crashItems    = 10
)

var (
	crashUser   = jid.MustParse("alice@example.com")
	crashWriter = jid.MustParse("writer@example.com")
)

func crashContact(i int) jid.JID { return jid.MustParse(fmt.Sprintf("c%d@example.org", i)) }

// crashChild runs in the child process: it writes a known data set, says
// "ready", then keeps committing roster items and reporting each one
// ("committed N") until it is killed. It never returns.
func crashChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	db, err := Open(path)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	for i := range crashAccounts {
		a := auth.Account{Domain: "example.com", Username: fmt.Sprintf("user%03d", i), Created: time.Unix(int64(i), 0)}
		if err := db.Accounts().CreateAccount(ctx, a); err != nil {
			fail(err)
		}
	}
	for i := range crashItems {
		it := roster.Item{JID: crashContact(i), Name: fmt.Sprint("contact ", i), Subscription: roster.SubBoth}
		if _, err := db.Roster().PutItem(ctx, crashUser, it); err != nil {
			fail(err)
		}
	}
	if err := db.Roster().PutPendingIn(ctx, crashUser, roster.Pending{From: crashContact(999), Stanza: []byte("<presence/>")}); err != nil {
		fail(err)
	}
	if err := db.Last().SetLast(ctx, crashUser, time.Unix(1700000000, 0), "bye"); err != nil {
		fail(err)
	}
	// Unbuffered writes: what the parent reads was committed first.
	fmt.Fprintln(os.Stdout, "ready")
	for n := 1; ; n++ {
		if _, err := db.Roster().PutItem(ctx, crashWriter, roster.Item{JID: crashContact(n), Groups: []string{strings.Repeat("g", n%500)}}); err != nil {
			fail(err)
		}
		fmt.Fprintln(os.Stdout, "committed", n)
	}
}

// TestCrashRestart kills a writer with SIGKILL in the middle of its work
// and checks that everything it reported committed is in the file, that
// the file is consistent, and that a second process cannot open the file
// while the first holds it.
func TestCrashRestart(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRestart$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("child exited early: %s", stderr.String())
			}
			return l
		case <-time.After(30 * time.Second):
			t.Fatalf("child silent for 30s: %s", stderr.String())
		}
		return ""
	}
	if l := next(); l != "ready" {
		t.Fatalf("child said %q, want ready", l)
	}

	// While the child holds the file, this process cannot open it.
	if db, err := Open(path); !errors.Is(err, ErrLocked) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open while the child holds the file = %v, want ErrLocked", err)
	}

	// Let it commit a few more, then kill it mid-stream: on Unix,
	// Process.Kill is SIGKILL, no chance to clean up.
	committed := 0
	for committed < 20 {
		n, err := strconv.Atoi(strings.TrimPrefix(next(), "committed "))
		if err != nil {
			t.Fatal(err)
		}
		committed = n
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	// Lines still in the pipe were reported before it died: committed
	// too. Read them to EOF before Wait, which closes the pipe.
	for l := range lines {
		if n, err := strconv.Atoi(strings.TrimPrefix(l, "committed ")); err == nil {
			committed = n
		}
	}
	cmd.Wait()

	db, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	checkConsistent(t, db)
	ctx := context.Background()
	names, err := db.Accounts().ListAccounts(ctx, "example.com")
	if err != nil || len(names) != crashAccounts {
		t.Errorf("ListAccounts = %d names, %v; want %d", len(names), err, crashAccounts)
	}
	items, ver, err := db.Roster().Items(ctx, crashUser)
	if err != nil || len(items) != crashItems || ver != crashItems {
		t.Errorf("Items = %d items, version %d, %v; want %d, %d", len(items), ver, err, crashItems, crashItems)
	}
	if p, err := db.Roster().PendingIn(ctx, crashUser); err != nil || len(p) != 1 {
		t.Errorf("PendingIn = %v, %v; want one", p, err)
	}
	if _, status, ok, err := db.Last().GetLast(ctx, crashUser); err != nil || !ok || status != "bye" {
		t.Errorf("GetLast = %q, %v, %v", status, ok, err)
	}
	// Every reported commit survived; the one in flight at the kill may
	// or may not have, whole.
	items, ver, err = db.Roster().Items(ctx, crashWriter)
	if err != nil {
		t.Fatal(err)
	}
	if ver < uint64(committed) || ver > uint64(committed)+1 || len(items) != int(ver) {
		t.Errorf("writer roster: %d items, version %d; child reported %d commits", len(items), ver, committed)
	}
	t.Logf("child reported %d commits after ready; %d found after SIGKILL", committed, ver)
}

// checkConsistent runs bbolt's page-level consistency check.
func checkConsistent(t *testing.T, db *DB) {
	t.Helper()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("consistency: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
