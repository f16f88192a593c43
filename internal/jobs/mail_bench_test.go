package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/jobs"
	"github.com/custos/custos/internal/store/storetest"
)

// BenchmarkMailQueueSMTP sends b.N queued messages of confirmation size
// through the worker to an SMTP server on loopback (in process, STARTTLS)
// and reports messages a second, the queue's bookkeeping included.
//
//	go test ./internal/jobs -run '^$' -bench MailQueueSMTP -benchtime 5000x
func BenchmarkMailQueueSMTP(b *testing.B) {
	db := storetest.Open(b)
	ctx, contact, _ := fixture(b, db)
	db.Now = time.Now // the fixture's clock stands still
	text := string(make([]byte, 1500))
	for range b.N {
		if err := db.QueueContactMail(ctx, contact, &custos.Message{To: "ala@example.com", Subject: "Confirm", Text: text}); err != nil {
			b.Fatal(err)
		}
	}
	ts := startSMTP(b)
	w := &jobs.MailWorker{Queue: db, Mailer: ts.sender(b)}
	b.ResetTimer()
	n, err := w.RunOnce(context.Background())
	if err != nil || n != b.N {
		b.Fatalf("sent %d, %v; want %d", n, err, b.N)
	}
	b.StopTimer()
	if got := len(ts.received()); got != b.N {
		b.Fatalf("the server received %d, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
