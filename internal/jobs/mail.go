// Package jobs runs Custos's persisted background work: its state lives
// in the database, so that a crash loses nothing, and each job is retried
// with backoff.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/mail"
)

// MailQueue is what the mail worker needs of the store.
type MailQueue interface {
	// RequeueSending puts back the messages a dead process was sending.
	RequeueSending(ctx context.Context) (int64, error)
	// ClaimMail marks up to limit due messages as sending and returns them.
	ClaimMail(ctx context.Context, limit int) ([]*custos.QueuedMail, error)
	// MailSent, MailRetry and MailFailed record the outcome of an attempt;
	// MailSent takes many, so that a batch costs one commit.
	MailSent(ctx context.Context, ids ...int64) error
	MailRetry(ctx context.Context, id int64, at time.Time, reason string) error
	MailFailed(ctx context.Context, id int64, reason string) error
}

// BatchMailer is a custos.Mailer that can deliver many messages at the
// cost of about one (mail.Sender into its outbox). SendBatch reports each
// message's error, or false when it sent nothing because batching would
// not help (SMTP): the worker then sends each, Concurrency at once.
type BatchMailer interface {
	SendBatch(ctx context.Context, ms []*custos.Message) ([]error, bool)
}

// Backoff of a message that could not be sent: BaseBackoff after the first
// attempt, doubling each time, at most MaxBackoff; after MaxAttempts the
// message is marked failed.
const (
	BaseBackoff = time.Minute
	MaxBackoff  = 6 * time.Hour
	MaxAttempts = 12
)

// MailWorker sends the queued mail through a custos.Mailer. Delivery is
// at least once: a message being sent when the process dies is sent again
// when it starts, since the SMTP server's acceptance and the queue's
// record of it cannot be one transaction.
type MailWorker struct {
	Queue  MailQueue
	Mailer custos.Mailer
	Log    *slog.Logger
	// Wake, when set, makes the worker look at the queue at once.
	Wake <-chan struct{}
	// Poll is how often the worker looks at the queue unwoken (default 5s).
	Poll time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Concurrency is how many messages are sent at once (default 4).
	Concurrency int
}

func (w *MailWorker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

func (w *MailWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Run requeues what a dead process left sending, then sends due mail until
// ctx ends.
func (w *MailWorker) Run(ctx context.Context) error {
	if n, err := w.Queue.RequeueSending(ctx); err != nil {
		return err
	} else if n > 0 {
		w.log().Info("mail queue: sending again what was in flight when the process stopped", "messages", n)
	}
	poll := w.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.log().Error("mail queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.Wake:
		}
	}
}

// RunOnce sends every message due now and returns how many it handled
// (sent, retried later or failed); stopped (ctx cancelled), it returns
// ctx's error after recording the batch in hand.
func (w *MailWorker) RunOnce(ctx context.Context) (int, error) {
	conc := w.Concurrency
	if conc <= 0 {
		conc = 4
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		batch, err := w.Queue.ClaimMail(ctx, conc*64)
		if err != nil {
			return total, err
		}
		if len(batch) == 0 {
			return total, nil
		}
		var mu sync.Mutex
		var errs []error
		var sent []int64
		record := func(q *custos.QueuedMail, err error) {
			ok, err := w.outcome(ctx, q, err)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				sent = append(sent, q.ID)
			}
		}
		var wg sync.WaitGroup
		if bm, ok := w.Mailer.(BatchMailer); ok {
			ms := make([]*custos.Message, len(batch))
			for i, q := range batch {
				ms[i] = &q.Message
			}
			if results, ok := bm.SendBatch(ctx, ms); ok {
				for i, q := range batch {
					record(q, results[i])
				}
				batch, total = batch[:0], total+len(batch)
			}
		}
		next := make(chan *custos.QueuedMail)
		for range min(conc, len(batch)) {
			wg.Go(func() {
				for q := range next {
					record(q, w.Mailer.Send(ctx, &q.Message))
				}
			})
		}
		for _, q := range batch {
			next <- q
		}
		close(next)
		wg.Wait()
		total += len(batch)
		if len(sent) > 0 {
			// What was delivered is recorded even when the worker is
			// stopping meanwhile, or the next start would send it again.
			if err := w.Queue.MailSent(context.WithoutCancel(ctx), sent...); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return total, err
		}
	}
}

// outcome records a failed attempt to send q; it reports whether the
// message was sent, which the caller records for the batch.
func (w *MailWorker) outcome(ctx context.Context, q *custos.QueuedMail, err error) (bool, error) {
	if err == nil {
		return true, nil
	}
	reason, permanent := classify(err)
	if ctx.Err() != nil {
		// Stopping: the message stays "sending" and is queued again at
		// the next start.
		return false, nil
	}
	if permanent || q.Attempts >= MaxAttempts {
		w.log().Warn("mail failed", "mail", q.ID, "attempts", q.Attempts, "reason", reason)
		return false, w.Queue.MailFailed(ctx, q.ID, reason)
	}
	return false, w.Queue.MailRetry(ctx, q.ID, w.now().Add(Backoff(q.Attempts)), reason)
}

// Backoff is the wait after the given number of failed attempts.
func Backoff(attempts int) time.Duration {
	d := BaseBackoff
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// classify says why a send failed, in words free of personal data (a
// server's text may quote an address, so only codes are kept), and
// whether trying again is pointless: a 5xx refusal, or a message not fit
// to send.
func classify(err error) (reason string, permanent bool) {
	var se *mail.SMTPError
	if errors.As(err, &se) {
		return se.Error(), !se.Temporary()
	}
	if custos.ErrorCode(err) == custos.EINVALID {
		return "the message is not fit to send", true
	}
	return "the SMTP server could not be reached", false
}
