package embedded

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

const archiveCrashEnv = "MERIDIAN_EMBEDDED_ARCHIVE_CRASH_CHILD"

const archiveCrashWriters = 8

// archiveCrashID names writer w's n-th message.
func archiveCrashID(w, n int) mam.ID {
	id := mam.FirstIDAt(time.Unix(1700000000, 0).Add(time.Duration(n) * time.Millisecond))
	binary.BigEndian.PutUint32(id[8:], uint32(w)+1)
	binary.BigEndian.PutUint32(id[12:], uint32(n))
	return id
}

// archiveCrashChild appends from several goroutines at once, so that
// writes share group commits, and reports every append acknowledged
// ("w n") until it is killed.
func archiveCrashChild(path string) {
	db, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archive crash child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for w := range archiveCrashWriters {
		go func() {
			user := jid.MustParse(fmt.Sprintf("u%d@example.com", w%3))
			for n := 0; ; n++ {
				m := mam.Message{ID: archiveCrashID(w, n), With: jid.MustParse("bob@example.com/r"), Stanza: []byte(benchStanza)}
				if err := db.Archive().Append(context.Background(), mam.Entry{User: user, Message: m}); err != nil {
					fmt.Fprintln(os.Stderr, "archive crash child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(out, w, n)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestArchiveCrash kills a process appending to archives from several
// goroutines and checks that every append it acknowledged is in the
// file: group commit acknowledges nothing before its fsync.
func TestArchiveCrash(t *testing.T) {
	if path := os.Getenv(archiveCrashEnv); path != "" {
		archiveCrashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestArchiveCrash$")
	cmd.Env = append(os.Environ(), archiveCrashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[[2]int]bool{}
	sc := bufio.NewScanner(stdout)
	deadline := time.Now().Add(30 * time.Second)
	killed := false
	for sc.Scan() {
		var w, n int
		if _, err := fmt.Sscan(sc.Text(), &w, &n); err != nil {
			continue // "ready"
		}
		acked[[2]int{w, n}] = true
		if !killed && (len(acked) >= 400 || time.Now().After(deadline)) {
			// Lines still in the pipe were acknowledged before the kill:
			// keep reading them to EOF.
			cmd.Process.Kill()
			killed = true
		}
	}
	if !killed {
		cmd.Process.Kill()
	}
	cmd.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d appends acknowledged: %s", len(acked), stderr.String())
	}
	db, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	checkConsistent(t, db)
	found := 0
	for u := range 3 {
		user := jid.MustParse(fmt.Sprintf("u%d@example.com", u))
		p, err := db.Archive().Query(context.Background(), user, mam.Query{Max: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		have := map[mam.ID]bool{}
		for _, m := range p.Messages {
			have[m.ID] = true
		}
		found += len(p.Messages)
		if p.Count != len(p.Messages) {
			t.Errorf("%s: count %d, %d messages", user, p.Count, len(p.Messages))
		}
		for k := range acked {
			if k[0]%3 == u && !have[archiveCrashID(k[0], k[1])] {
				t.Errorf("acknowledged append %d/%d lost", k[0], k[1])
			}
		}
	}
	t.Logf("%d appends acknowledged before SIGKILL, %d found after", len(acked), found)
}
