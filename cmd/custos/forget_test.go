package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// TestForgetSurvivesKill9 forgets contacts through a real serve in a child
// process, with a data and a key backup registered, and kills it with
// SIGKILL at a random moment. Before the restart, no contact whose forget
// was answered 200 still has its key; after it, every contact is either
// whole or gone, and no clear value (tag, source detail) of a contact
// gone is left in any file: data directory, database, backups.
func TestForgetSurvivesKill9(t *testing.T) {
	cfg := storetest.Config(t)
	c := startChild(t, cfg)
	key := c.adminKey(t)
	const n = 60
	ids := make([]int64, n)
	for i := range n {
		r := apiCall(t, c.addr, key, "POST", "/api/v1/contacts", map[string]any{"email": fmt.Sprintf("k9-%03d@example.com", i),
			"fields": map[string]any{"first_name": fmt.Sprintf("Zq5Name%03d", i)}, "tags": []string{fmt.Sprintf("zq5tag%03d", i)},
			"source": map[string]any{"kind": "api", "detail": fmt.Sprintf("Zq5Src%03d", i)}}, 201)
		ids[i] = int64(r["id"].(float64))
	}
	backups := t.TempDir()
	for _, args := range [][]string{{"backup", filepath.Join(backups, "data")}, {"backup", "--keys", filepath.Join(backups, "keys")}} {
		m, out, errs := newMain(cfg)
		if err := m.Run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v\n%s%s", args, err, out, errs)
		}
		m.Close()
	}

	// Four clients forget the contacts in turn until the server dies.
	var mu sync.Mutex
	done := map[int64]bool{} // answered 200
	next := make(chan int64, n)
	for _, id := range ids {
		next <- id
	}
	close(next)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for id := range next {
				req, _ := http.NewRequest("POST", fmt.Sprintf("http://%s/api/v1/contacts/%d/forget", c.addr, id), strings.NewReader(`{"mode":"erase"}`))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // killed
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					done[id] = true
					mu.Unlock()
				}
			}
		})
	}
	// A random moment within the run of the forgets (a few ms each).
	time.Sleep(time.Duration(rand.IntN(150_000)) * time.Microsecond)
	c.kill(t)
	wg.Wait()

	// Before anything finishes the purges: no key of a forget answered 200.
	for id := range done {
		if keyHeld(t, cfg, id) {
			t.Errorf("contact %d: forget answered 200, and its key is still in the key store", id)
		}
	}

	db := openDataDir(t, cfg)
	w, err := db.FindWorkspaceByName(context.Background(), custos.DefaultWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	actx := custos.WithActor(context.Background(), custos.Actor{WorkspaceID: w.ID, Kind: "test", Role: custos.RoleAdmin})
	gone := map[string]string{}
	intact := 0
	for i, id := range ids {
		got, err := db.FindContactByID(actx, id)
		switch {
		case err == nil && got.Fields["first_name"] == fmt.Sprintf("Zq5Name%03d", i):
			intact++
			if done[id] {
				t.Errorf("contact %d: forget answered 200, and it is whole after the restart", id)
			}
		case custos.ErrorCode(err) == custos.ENOTFOUND:
			if keyHeld(t, cfg, id) {
				t.Errorf("contact %d is gone and its key is not", id)
			}
			gone[fmt.Sprintf("tag %d", id)] = fmt.Sprintf("zq5tag%03d", i)
			gone[fmt.Sprintf("source detail %d", id)] = fmt.Sprintf("Zq5Src%03d", i)
		default:
			t.Errorf("contact %d after the restart: neither whole nor gone: %+v %v", id, got, err)
		}
	}
	db.Close()
	t.Logf("%d forgets answered 200; after the restart %d contacts whole, %d gone", len(done), intact, len(gone)/2)
	assertNoMarkers(t, cfg, gone)
	for _, d := range []string{"data", "keys"} {
		assertNoMarkers(t, store.Config{DataDir: filepath.Join(backups, d)}, gone)
	}
}

// keyHeld reports whether the key store of cfg holds the contact's key,
// read directly, without opening (and so finishing erasures in) the store.
func keyHeld(t *testing.T, cfg store.Config, id int64) bool {
	t.Helper()
	var d *sql.DB
	var err error
	query := `SELECT COUNT(*) FROM contact_keys WHERE contact_id = $1`
	if cfg.DatabaseURL != "" {
		d, err = sql.Open("pgx", cfg.DatabaseURL)
		query = `SELECT COUNT(*) FROM ` + cfg.Schema + `_keys.contact_keys WHERE contact_id = $1`
	} else {
		d, err = sql.Open("sqlite", "file:"+filepath.Join(cfg.DataDir, store.KeysFile)+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var k int
	if err := d.QueryRow(query, id).Scan(&k); err != nil {
		t.Fatal(err)
	}
	return k > 0
}
