package store

import (
	"context"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestClaimMailSkipsUnreadable queues three messages and spoils the stored
// ciphertext of the second: the claim hands out the other two, and puts
// the spoiled one back for later instead of holding the batch.
func TestClaimMailSkipsUnreadable(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "queued@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"one", "two", "three"} {
		if err := db.QueueContactMail(ctx, c.ID, &custos.Message{To: c.Email, Subject: subject, Text: "Hello."}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.ExecContext(context.Background(), `UPDATE mail_queue SET sealed = X'00010203' WHERE id = (SELECT MIN(id) + 1 FROM mail_queue)`); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimMail(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Message.Subject != "one" || got[1].Message.Subject != "three" {
		t.Fatalf("claimed %d: %+v", len(got), got)
	}
	var status string
	if err := db.read.QueryRowContext(context.Background(), `SELECT status FROM mail_queue WHERE id = (SELECT MIN(id) + 1 FROM mail_queue)`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != custos.MailQueued {
		t.Fatalf("the spoiled message is %s, want queued for a later try", status)
	}
}

// TestExportHoldsMessagesSent sends one message to a contact and fails
// another: the export holds both with their content, under the contact's
// key, and forgetting the contact removes them.
func TestExportHoldsMessagesSent(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "mailed@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"sent one", "refused one"} {
		if err := db.QueueContactMail(ctx, c.ID, &custos.Message{To: c.Email, Subject: subject, Text: "Body of " + subject + "."}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ClaimMail(context.Background(), 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claimed %d: %v", len(got), err)
	}
	if err := db.MailSent(context.Background(), got[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.MailFailed(context.Background(), got[1].ID, "550 no such mailbox"); err != nil {
		t.Fatal(err)
	}
	x, err := db.ExportContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Messages) != 2 {
		t.Fatalf("export holds %d messages, want 2: %+v", len(x.Messages), x.Messages)
	}
	refused, sent := x.Messages[0], x.Messages[1] // newest first
	if sent.Status != custos.MailSent || sent.Subject != "sent one" || sent.Text != "Body of sent one." || sent.To != c.Email || sent.DoneAt == nil {
		t.Errorf("sent message: %+v", sent)
	}
	if refused.Status != custos.MailFailed || refused.Subject != "refused one" {
		t.Errorf("refused message: %+v", refused)
	}
	if _, err := db.ForgetContact(ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase}); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM mail_queue`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d messages left after the contact was forgotten", left)
	}
}

// TestRestrictedContactGetsOnlyTransactionalMail: while a contact's
// processing is restricted, a message the person did not ask for is
// refused, and one they asked for (their preference link) still goes.
func TestRestrictedContactGetsOnlyTransactionalMail(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "frozen@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RestrictContact(ctx, c.ID, "Contests the accuracy of the data."); err != nil {
		t.Fatal(err)
	}
	err := db.QueueContactMail(ctx, c.ID, &custos.Message{To: c.Email, Subject: "Our offer", Text: "Buy now."})
	if custos.ErrorCode(err) != custos.ERESTRICTED {
		t.Fatalf("a newsletter to a restricted contact: %v, want restricted", err)
	}
	if err := db.QueueContactMail(ctx, c.ID, &custos.Message{To: c.Email, Subject: "Your link", Text: "Here it is.", Transactional: true}); err != nil {
		t.Fatalf("the person's own link: %v", err)
	}
	q, err := db.MailQueueStatus(context.Background())
	if err != nil || len(q) != 1 {
		t.Fatalf("queue: %+v %v", q, err)
	}
}

// TestClaimMailStoppedClaimsNothing: a worker that was stopped (its
// context cancelled) and woken at the same moment claims nothing; the
// message stays queued, due at once, for the next worker. The claim rides
// the sign-up writer, whose own context is never cancelled, so a claim
// that reached it before would be committed, the keys not read, and the
// message put off a minute.
func TestClaimMailStoppedClaimsNothing(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	c := &custos.Contact{Email: "stopped@example.com"}
	if err := db.CreateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.QueueContactMail(ctx, c.ID, &custos.Message{To: c.Email, Subject: "Link", Text: "Hello."}); err != nil {
		t.Fatal(err)
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		if got, err := db.ClaimMail(stopped, 10); err == nil || len(got) != 0 {
			t.Fatalf("a stopped worker claimed %d: %v", len(got), err)
		}
	}
	got, err := db.ClaimMail(context.Background(), 10)
	if err != nil || len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("the next worker claimed %+v: %v", got, err)
	}
}
