package mail

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// BenchmarkOutboxSendBatch writes confirmation-sized messages into the
// outbox in batches of 100, as the mail worker does, and reports the
// process's CPU time a message (the file system's work on its behalf
// included).
// go test ./internal/mail -run '^$' -bench OutboxSendBatch -benchtime 20000x
func BenchmarkOutboxSendBatch(b *testing.B) {
	s, _ := outboxSender(b)
	text := string(make([]byte, 1500))
	var cpu0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &cpu0)
	n := 0
	for b.Loop() {
		if n%100 == 0 {
			ms := make([]*custos.Message, 100)
			for i := range ms {
				ms[i] = &custos.Message{To: "a@example.org", Subject: "Confirm", Text: text, Ref: fmt.Sprintf("signup-%d", n+i)}
			}
			if errs, ok := s.SendBatch(context.Background(), ms); !ok {
				b.Fatal("not sent")
			} else {
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		n++
	}
	var cpu1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &cpu1)
	used := time.Duration(cpu1.Utime.Nano() + cpu1.Stime.Nano() - cpu0.Utime.Nano() - cpu0.Stime.Nano())
	b.ReportMetric(float64(used.Microseconds())/float64(n), "cpu-µs/message")
}
