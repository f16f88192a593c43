package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkContactReadAuth reads one contact through the handler, in
// process, authenticated by an API key and by a session cookie: the
// ratio is the cost of session authentication (its lookups, the IP check).
func BenchmarkContactReadAuth(b *testing.B) {
	db := storetest.Open(b)
	ctx := storetest.Workspace(b, db, "bench", custos.RoleAdmin)
	key, err := db.CreateAPIKey(ctx, &custos.APIKey{Name: "bench", Role: custos.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	c := &custos.Contact{Email: "bench@example.com"}
	if err := c.Validate(); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateContact(ctx, c); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateUser(ctx, &custos.User{Email: "staff@example.com", Role: custos.RoleAdmin}, testPassword); err != nil {
		b.Fatal(err)
	}
	res, err := db.Login(context.Background(), custos.LoginAttempt{Workspace: "bench", Email: "staff@example.com", Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	srv := newServer(db, nil)
	path := "/api/v1/contacts/" + strconv.FormatInt(c.ID, 10)
	for _, bc := range []struct {
		name string
		set  func(*http.Request)
	}{
		{"apikey", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }},
		{"session", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: sessionCookie, Value: res.Token}) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest("GET", path, nil)
				bc.set(r)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
