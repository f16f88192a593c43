package store

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
)

// mailKeyCount counts the keys of staff mail in the key store.
func mailKeyCount(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.keysRead.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM mail_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaffMailKeys: a message to staff is sealed under a key of its own,
// which is shredded once it is sent or fails, or when it expires (the
// message, if still queued, is then failed unsent), or when its user is
// deleted; an unknown address's reset request commits a key as a known
// one's does, which the sweep shreds.
func TestStaffMailKeys(t *testing.T) {
	db := openTestDB(t)
	ctx := testActor(t, db)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	bg := context.Background()
	msg := func(subject string) *custos.Message {
		return &custos.Message{To: "staff@example.com", Subject: subject, Text: "code 123456", Ref: "user-1"}
	}

	// Sent: content and key gone.
	if err := db.QueueStaffMail(ctx, msg("sent"), now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	q, err := db.ClaimMail(bg, 10)
	if err != nil || len(q) != 1 || q[0].Message.Subject != "sent" || !q[0].Message.Transactional {
		t.Fatalf("claimed %+v, %v", q, err)
	}
	if err := db.MailSent(bg, q[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := mailKeyCount(t, db); n != 0 {
		t.Fatalf("%d keys after sending, want 0", n)
	}
	// Failed: the same.
	if err := db.QueueStaffMail(ctx, msg("refused"), now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	q, _ = db.ClaimMail(bg, 10)
	if err := db.MailFailed(bg, q[0].ID, "550"); err != nil {
		t.Fatal(err)
	}
	if n := mailKeyCount(t, db); n != 0 {
		t.Fatalf("%d keys after a refusal, want 0", n)
	}
	// Expired while waiting for a retry: failed unsent, key shredded.
	if err := db.QueueStaffMail(ctx, msg("late"), now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	q, _ = db.ClaimMail(bg, 10)
	if err := db.MailRetry(bg, q[0].ID, now.Add(time.Hour), "421"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.SweepMailKeys(bg); err != nil || n != 0 {
		t.Fatalf("swept %d before the expiry, %v", n, err)
	}
	now = now.Add(11 * time.Minute)
	if n, err := db.SweepMailKeys(bg); err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	st, err := db.MailQueueStatus(bg)
	if err != nil {
		t.Fatal(err)
	}
	if late := st[len(st)-1]; late.Status != custos.MailFailed || late.Sealed || late.LastError != "expired" {
		t.Fatalf("the expired message: %+v", late)
	}
	for _, s := range st {
		if s.Sealed {
			t.Errorf("message %+v still holds its content", s)
		}
	}

	// A reset request: known and unknown addresses each commit one key.
	u := &custos.User{Email: "known@example.com", Role: custos.RoleViewer}
	if err := db.CreateUser(ctx, u, "violet tractor sings loudly"); err != nil {
		t.Fatal(err)
	}
	build := func(pr *custos.PasswordReset) *custos.Message {
		return &custos.Message{To: pr.Email, Subject: "reset", Text: "link " + pr.Token, Ref: "user-1"}
	}
	ip := netip.MustParseAddr("192.0.2.1")
	if _, err := db.RequestPasswordReset(bg, "t", "nobody@example.com", ip, build); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("unknown: %v", err)
	}
	if n := mailKeyCount(t, db); n != 1 {
		t.Fatalf("%d keys after an unknown address's request, want 1", n)
	}
	if _, err := db.RequestPasswordReset(bg, "t", "known@example.com", ip, build); err != nil {
		t.Fatal(err)
	}
	if n := mailKeyCount(t, db); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
	// Deleting the user shreds the key of the link queued to them: the
	// worker drops the message unopened.
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if q, err := db.ClaimMail(bg, 10); err != nil || len(q) != 0 {
		t.Fatalf("claimed %+v, %v after the user was deleted", q, err)
	}
	// The unknown address's key goes at its expiry.
	now = now.Add(11 * time.Minute)
	if _, err := db.SweepMailKeys(bg); err != nil {
		t.Fatal(err)
	}
	if n := mailKeyCount(t, db); n != 0 {
		t.Fatalf("%d keys after the sweep, want 0", n)
	}
}
