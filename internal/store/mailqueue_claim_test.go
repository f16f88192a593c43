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
