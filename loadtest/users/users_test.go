package users

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestGenerated(t *testing.T) {
	src, err := Open(Spec{Prefix: "load", Password: "pw", Domain: "d", Count: 3, Offset: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	us, _ := src.List()
	if len(us) != 3 || us[0].JID() != "load5@d" || us[2].Local != "load7" || us[1].Password != "pw" {
		t.Fatalf("%+v", us)
	}
	if _, err := Open(Spec{From: "carrier-pigeon", Count: 1}, nil); err == nil {
		t.Fatal("unknown source accepted")
	}
	if _, err := Open(Spec{From: "ibr", Count: 1}, nil); err == nil {
		t.Fatal("ibr without a registrar")
	}
}

func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "users.txt")
	os.WriteFile(p, []byte("# accounts\nalice@localhost s1\n\nbob s2\ncarol@LOCALHOST s3\n"), 0o600)
	src, _ := Open(Spec{From: "file:" + p, Domain: "localhost", Count: 2, Offset: 1}, nil)
	us, err := src.List()
	if err != nil || len(us) != 2 || us[0].Local != "bob" || us[0].Password != "s2" || us[1].Local != "carol" {
		t.Fatalf("%v %+v", err, us)
	}
	src, _ = Open(Spec{From: "file:" + p, Domain: "localhost", Count: 4}, nil)
	if _, err := src.List(); err == nil {
		t.Fatal("too few users accepted")
	}
	os.WriteFile(p, []byte("mallory@elsewhere pw\n"), 0o600)
	src, _ = Open(Spec{From: "file:" + p, Domain: "localhost", Count: 1}, nil)
	if _, err := src.List(); err == nil {
		t.Fatal("foreign domain accepted")
	}
}

func TestAdminSocketAndURL(t *testing.T) {
	var mu sync.Mutex
	made := map[string]string{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct{ JID, Password string }
		if r.Method != "POST" || r.URL.Path != "/v1/users" || json.NewDecoder(r.Body).Decode(&b) != nil {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := made[b.JID]; ok {
			w.WriteHeader(http.StatusConflict)
			return
		}
		made[b.JID] = b.Password
		w.WriteHeader(http.StatusCreated)
	})
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	web := httptest.NewServer(h)
	defer web.Close()
	for _, from := range []string{"admin:" + sock, "admin:" + web.URL} {
		src, err := Open(Spec{From: from, Prefix: "adm", Password: "pw", Domain: "localhost", Count: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		us, _ := src.List()
		for _, u := range us {
			if err := src.Create(context.Background(), u, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(made) != 2 || made["adm1@localhost"] != "pw" {
		t.Fatalf("%v", made)
	}
	src, _ := Open(Spec{From: "admin:" + web.URL + "/nope", Prefix: "x", Domain: "localhost", Count: 1}, nil)
	if err := src.Create(context.Background(), User{Local: "x", Domain: "localhost"}, nil); err == nil {
		t.Fatal("404 accepted")
	}
}
