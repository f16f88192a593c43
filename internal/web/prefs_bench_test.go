package web

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkPreferenceLinkRequest times the answer of POST /p/request for
// a known and an unknown address: the lookup and the mail happen after
// the answer, so the two should take the same time. Each address is used
// once (fresh limits), and the mails are waited for outside the timer.
func BenchmarkPreferenceLinkRequest(b *testing.B) {
	for _, known := range []bool{true, false} {
		name := "unknown"
		if known {
			name = "known"
		}
		b.Run(name, func(b *testing.B) {
			db := storetest.Open(b)
			mail := &recordingMailer{}
			srv := newServer(db, nil, WithMailer(mail), WithBaseURL(testBaseURL))
			srv.prefs.byIP = newRateLimit(1<<30, time.Hour)
			srv.prefs.byAddress = newRateLimit(1<<30, time.Hour)
			ctx := storetest.Workspace(b, db, custos.DefaultWorkspace, custos.RoleAdmin)
			c := &custos.Contact{Email: "known@example.com"}
			if err := c.Validate(); err != nil {
				b.Fatal(err)
			}
			if err := db.CreateContact(ctx, c); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				email := "unknown" + strconv.Itoa(i) + "@example.com"
				if known {
					email = c.Email
				}
				req := httptest.NewRequest("POST", "/p/request", strings.NewReader(`{"email": "`+email+`"}`))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("status %d", rec.Code)
				}
				if i%32 == 31 { // keep the mails from piling up past the cap
					b.StopTimer()
					srv.prefs.wg.Wait()
					b.StartTimer()
				}
			}
			b.StopTimer()
			srv.prefs.wg.Wait()
		})
	}
}
