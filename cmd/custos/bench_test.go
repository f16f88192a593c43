package main

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkPermissionAPI measures GET /api/v1/contacts/{id}/permissions
// through the real server over loopback HTTP, with parallel clients.
func BenchmarkPermissionAPI(b *testing.B) {
	tm := startServe(b, storetest.Config(b))
	defer tm.stop(b)
	key := lastLine(tm.out.String())
	p := tm.call(b, key, "POST", "/api/v1/purposes", map[string]any{"name": "Newsletter", "legal_basis": "consent"}, 201)
	c := tm.call(b, key, "POST", "/api/v1/contacts", map[string]any{"email": "bench@example.com"}, 201)
	tm.call(b, key, "POST", fmt.Sprintf("/api/v1/contacts/%v/consents", c["id"]), map[string]any{"purpose_id": p["id"], "action": "grant", "notice": "Yes."}, 201)
	url := fmt.Sprintf("http://%s/api/v1/contacts/%v/permissions?purpose_id=%v", tm.Addr, c["id"], p["id"])
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
