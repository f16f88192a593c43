package store_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/mail"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// formFixture makes a workspace with a consent purpose (main), a second
// one (optional), a list and a form showing first_name.
type formFixture struct {
	ctx        context.Context
	main, opt  *custos.Purpose
	list       *custos.List
	form       *custos.Form
	clock      time.Time
	lastToken  string
	lastTo     string
	lastMailed *custos.Message
}

func newFormFixture(t *testing.T, db *store.DB) *formFixture {
	t.Helper()
	fx := &formFixture{clock: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	db.Now = func() time.Time { return fx.clock }
	fx.ctx = storetest.Workspace(t, db, "shop", custos.RoleAdmin)
	fx.main = mustPurpose(t, db, fx.ctx, custos.BasisConsent)
	fx.opt = mustPurpose(t, db, fx.ctx, custos.BasisConsent)
	fx.list = &custos.List{Name: "News"}
	if err := db.CreateList(fx.ctx, fx.list); err != nil {
		t.Fatal(err)
	}
	fx.form = &custos.Form{Name: "Newsletter", Language: "pl",
		Fields: []custos.FormField{{Field: "first_name", Required: true}},
		Purposes: []custos.FormPurpose{{PurposeID: fx.main.ID, Main: true, Notice: "Chcę dostawać newsletter."},
			{PurposeID: fx.opt.ID, Notice: "Chcę dostawać oferty partnerów."}},
		InformationClause: "Administratorem danych jest Sklep sp. z o.o.", PrivacyPolicyURL: "https://shop.example/privacy",
		ListIDs: []int64{fx.list.ID}}
	if err := db.CreateForm(fx.ctx, fx.form); err != nil {
		t.Fatal(err)
	}
	return fx
}

// mailer is the confirmation-mail builder SubmitForm calls.
func (fx *formFixture) mailer(to, token, lang string) (*custos.Message, string) {
	fx.lastTo, fx.lastToken = to, token
	fx.lastMailed = &custos.Message{To: to, Subject: "Confirm", Text: "Open https://crm.example/confirm/" + token}
	return fx.lastMailed, "Confirm\n\nOpen {link}"
}

func (fx *formFixture) submit(db *store.DB, email string, purposes ...int64) error {
	return db.SubmitForm(context.Background(), fx.form.ID, custos.Submission{
		Fields:   map[string]string{"email": email, "first_name": "Ala"},
		Purposes: purposes, IP: "198.51.100.7", UserAgent: "SubmitUA/1.0"}, fx.mailer)
}

func TestFormVersions(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	f := fx.form
	if f.ID == 0 || f.Version != 1 || f.Fields[0].Field != "email" || !f.Fields[0].Required || len(f.Fields) != 2 {
		t.Fatalf("created: %+v", f)
	}
	if !strings.HasPrefix(f.Purposes[0].NoticeHash, "sha256:") || !strings.HasPrefix(f.InformationClauseHash, "sha256:") {
		t.Fatalf("notice versions: %+v", f)
	}
	for _, h := range []string{f.Purposes[0].NoticeHash, f.Purposes[1].NoticeHash, f.InformationClauseHash} {
		if n, err := db.FindNotice(fx.ctx, h); err != nil || n.Language != "pl" {
			t.Fatalf("notice %s: %+v %v", h, n, err)
		}
	}
	g, err := db.UpdateForm(fx.ctx, f.ID, custos.FormUpdate{Name: ptr("Newsletter 2"), Purposes: &[]custos.FormPurpose{
		{PurposeID: fx.main.ID, Main: true, Notice: "Chcę newsletter, nowe brzmienie."}}})
	if err != nil || g.Version != 2 || g.Name != "Newsletter 2" || len(g.Purposes) != 1 || g.InformationClause != f.InformationClause {
		t.Fatalf("update: %+v %v", g, err)
	}
	vs, err := db.FormVersions(fx.ctx, f.ID)
	if err != nil || len(vs) != 2 || vs[0].Name != "Newsletter" || len(vs[0].Purposes) != 2 || vs[1].Version != 2 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	if fs, err := db.FindForms(fx.ctx); err != nil || len(fs) != 1 || fs[0].Version != 2 {
		t.Fatalf("list: %+v %v", fs, err)
	}
	// Another workspace sees nothing of it.
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.FindForm(other, f.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace: %v", err)
	}
	if _, err := db.UpdateForm(other, f.ID, custos.FormUpdate{Name: ptr("x")}); code(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace update: %v", err)
	}
	// Archived: off line, versions kept, no more changes.
	if a, err := db.ArchiveForm(fx.ctx, f.ID); err != nil || a.ArchivedAt == nil {
		t.Fatalf("archive: %+v %v", a, err)
	}
	if _, err := db.PublicForm(context.Background(), f.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("archived form in public: %v", err)
	}
	if _, err := db.UpdateForm(fx.ctx, f.ID, custos.FormUpdate{Name: ptr("x")}); code(err) != custos.ECONFLICT {
		t.Fatalf("update of an archived form: %v", err)
	}
}

func TestFormInvalid(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	contract := mustPurpose(t, db, fx.ctx, custos.BasisContract)
	health := &custos.FieldDef{Key: "health", Type: custos.FieldText, Classification: custos.ClassSpecial, PurposeIDs: []int64{fx.main.ID}}
	if err := db.CreateField(fx.ctx, health); err != nil {
		t.Fatal(err)
	}
	base := func() custos.Form {
		return custos.Form{Name: "F", Purposes: []custos.FormPurpose{{PurposeID: fx.main.ID, Main: true, Notice: "Tak."}},
			InformationClause: "Info.", PrivacyPolicyURL: "https://shop.example/privacy"}
	}
	for _, tc := range []struct {
		name, field string
		change      func(f *custos.Form)
	}{
		{"no name", "name", func(f *custos.Form) { f.Name = " " }},
		{"language", "language", func(f *custos.Form) { f.Language = "de" }},
		{"unknown field", "fields.field", func(f *custos.Form) { f.Fields = []custos.FormField{{Field: "nope"}} }},
		{"special field", "fields.field", func(f *custos.Form) { f.Fields = []custos.FormField{{Field: "health"}} }},
		{"field twice", "fields.field", func(f *custos.Form) { f.Fields = []custos.FormField{{Field: "first_name"}, {Field: "first_name"}} }},
		{"no purposes", "purposes", func(f *custos.Form) { f.Purposes = nil }},
		{"no main", "purposes.main", func(f *custos.Form) { f.Purposes[0].Main = false }},
		{"two mains", "purposes.main", func(f *custos.Form) {
			f.Purposes = append(f.Purposes, custos.FormPurpose{PurposeID: fx.opt.ID, Main: true, Notice: "B"})
		}},
		{"no wording", "purposes.notice", func(f *custos.Form) { f.Purposes[0].Notice = "" }},
		{"unknown purpose", "purposes.purpose_id", func(f *custos.Form) { f.Purposes[0].PurposeID = 9999 }},
		{"not consent", "purposes.purpose_id", func(f *custos.Form) { f.Purposes[0].PurposeID = contract.ID }},
		{"no information clause", "information_clause", func(f *custos.Form) { f.InformationClause = "" }},
		{"no privacy policy", "privacy_policy_url", func(f *custos.Form) { f.PrivacyPolicyURL = "" }},
		{"script privacy policy", "privacy_policy_url", func(f *custos.Form) { f.PrivacyPolicyURL = "javascript:alert(1)" }},
		{"relative redirect", "redirect_url", func(f *custos.Form) { f.RedirectURL = "//evil.example/" }},
		{"unknown list", "list_ids", func(f *custos.Form) { f.ListIDs = []int64{9999} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			tc.change(&f)
			err := db.CreateForm(fx.ctx, &f)
			if e := custos.AsError(err); e == nil || e.Code != custos.EINVALID || e.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
	if fs, _ := db.FindForms(fx.ctx); len(fs) != 1 {
		t.Fatalf("a refused form was written: %d forms", len(fs))
	}
}

func TestSubmissionInvalid(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	for _, tc := range []struct {
		name, field string
		s           custos.Submission
	}{
		{"no email", "fields.email", custos.Submission{Fields: map[string]string{"first_name": "A"}, Purposes: []int64{fx.main.ID}}},
		{"bad email", "fields.email", custos.Submission{Fields: map[string]string{"email": "nope", "first_name": "A"}, Purposes: []int64{fx.main.ID}}},
		{"missing required", "fields.first_name", custos.Submission{Fields: map[string]string{"email": "a@example.com"}, Purposes: []int64{fx.main.ID}}},
		{"field not on the form", "fields.company", custos.Submission{Fields: map[string]string{"email": "a@example.com", "first_name": "A", "company": "X"}, Purposes: []int64{fx.main.ID}}},
		{"too long", "fields.first_name", custos.Submission{Fields: map[string]string{"email": "a@example.com", "first_name": strings.Repeat("a", 501)}, Purposes: []int64{fx.main.ID}}},
		{"main unticked", "purposes", custos.Submission{Fields: map[string]string{"email": "a@example.com", "first_name": "A"}, Purposes: []int64{fx.opt.ID}}},
		{"purpose not offered", "purposes", custos.Submission{Fields: map[string]string{"email": "a@example.com", "first_name": "A"}, Purposes: []int64{fx.main.ID, 9999}}},
		{"purpose twice", "purposes", custos.Submission{Fields: map[string]string{"email": "a@example.com", "first_name": "A"}, Purposes: []int64{fx.main.ID, fx.main.ID}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.SubmitForm(context.Background(), fx.form.ID, tc.s, fx.mailer)
			if e := custos.AsError(err); e == nil || e.Code != custos.EINVALID || e.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
	if err := db.SubmitForm(context.Background(), 9999, custos.Submission{}, fx.mailer); code(err) != custos.ENOTFOUND {
		t.Fatalf("unknown form: %v", err)
	}
	if s, _ := db.PendingSignups(context.Background()); len(s) != 0 {
		t.Fatalf("refused submissions were stored: %+v", s)
	}
	if q, _ := db.MailQueueStatus(context.Background()); len(q) != 0 {
		t.Fatalf("refused submissions queued mail: %+v", q)
	}
}

func TestSignupDoubleOptIn(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	if err := fx.submit(db, " Ala@Example.com ", fx.main.ID); err != nil {
		t.Fatal(err)
	}
	if fx.lastTo != "ala@example.com" || len(fx.lastToken) < 22 {
		t.Fatalf("mail to %q with token %q", fx.lastTo, fx.lastToken)
	}
	pending, err := db.PendingSignups(context.Background())
	if err != nil || len(pending) != 1 || pending[0].FormVersion != 1 || !pending[0].ExpiresAt.Equal(fx.clock.Add(custos.SignupTokenTTL)) {
		t.Fatalf("pending: %+v %v", pending, err)
	}
	q, _ := db.MailQueueStatus(context.Background())
	if len(q) != 1 || q[0].Status != custos.MailQueued || !strings.HasPrefix(q[0].Subject, "signup-") {
		t.Fatalf("queue: %+v", q)
	}
	// Not a contact: not listed, not searchable.
	if cs, _, err := db.FindContacts(fx.ctx, custos.ContactFilter{}); err != nil || len(cs) != 0 {
		t.Fatalf("a pending sign-up is listed as a contact: %v %v", cs, err)
	}
	if lang, err := db.CheckSignupToken(context.Background(), fx.lastToken); err != nil || lang != "pl" {
		t.Fatalf("check: %q %v", lang, err)
	}
	if _, err := db.CheckSignupToken(context.Background(), fx.lastToken+"x"); code(err) != custos.ENOTFOUND {
		t.Fatalf("a wrong token: %v", err)
	}
	fx.clock = fx.clock.Add(time.Hour)
	c, err := db.ConfirmSignup(context.Background(), fx.lastToken, "203.0.113.9", "ConfirmUA/2.0")
	if err != nil || !c.Created || c.FormID != fx.form.ID {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	ct, err := db.FindContactByID(fx.ctx, c.ContactID)
	if err != nil || ct.Email != "ala@example.com" || ct.Fields["first_name"] != "Ala" || ct.Source.Kind != custos.SourceForm ||
		ct.Source.Detail != "form "+itoa(fx.form.ID)+" version 1" || ct.Status != custos.StatusActive {
		t.Fatalf("contact: %+v %v", ct, err)
	}
	if lists, _ := db.ContactLists(fx.ctx, c.ContactID); len(lists) != 1 || lists[0] != fx.list.ID {
		t.Fatalf("lists: %v", lists)
	}
	_, events, err := db.ContactConsents(fx.ctx, c.ContactID)
	if err != nil || len(events) != 1 {
		t.Fatalf("ledger: %+v %v", events, err)
	}
	e := events[0]
	p := e.Proof
	if e.PurposeID != fx.main.ID || e.Method != custos.MethodDOI || e.Action != custos.ActionGrant || e.NoticeHash != fx.form.Purposes[0].NoticeHash ||
		e.IP != "203.0.113.9" || p == nil || p.FormID != fx.form.ID || p.FormVersion != 1 || p.SubmittedIP != "198.51.100.7" ||
		p.SubmittedUserAgent != "SubmitUA/1.0" || p.ConfirmedUserAgent != "ConfirmUA/2.0" || !p.ConfirmedAt.Equal(fx.clock) ||
		!p.SubmittedAt.Equal(fx.clock.Add(-time.Hour)) || p.InformationClause != fx.form.InformationClauseHash {
		t.Fatalf("event and proof: %+v %+v", e, p)
	}
	if n, err := db.FindNotice(fx.ctx, p.ConfirmationMail); err != nil || n.Kind != custos.NoticeEmail || n.Body != "Confirm\n\nOpen {link}" {
		t.Fatalf("mail notice: %+v %v", n, err)
	}
	// The export shows the proof and the wordings it names.
	x, err := db.ExportContact(fx.ctx, c.ContactID)
	if err != nil || len(x.Ledger) != 1 || x.Ledger[0].Proof == nil || len(x.Notices) != 3 {
		t.Fatalf("export: %+v %v", x, err)
	}
	// Single use; the sign-up and its mail are gone.
	if _, err := db.ConfirmSignup(context.Background(), fx.lastToken, "", ""); code(err) != custos.ENOTFOUND {
		t.Fatalf("second confirmation: %v", err)
	}
	if s, _ := db.PendingSignups(context.Background()); len(s) != 0 {
		t.Fatalf("confirmed sign-up kept: %+v", s)
	}
	if q, _ := db.MailQueueStatus(context.Background()); len(q) != 0 {
		t.Fatalf("mail of a confirmed sign-up kept: %+v", q)
	}
}

func TestSignupExistingContact(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	old := mustContact(t, db, fx.ctx, "ala@example.com", map[string]any{"first_name": "Alicja"})
	if _, err := db.RecordConsent(fx.ctx, old.ID, custos.ConsentRequest{PurposeID: fx.main.ID, Action: custos.ActionGrant, Notice: "Stara zgoda."}); err != nil {
		t.Fatal(err)
	}
	if err := fx.submit(db, "ala@example.com", fx.main.ID, fx.opt.ID); err != nil {
		t.Fatal(err)
	}
	c, err := db.ConfirmSignup(context.Background(), fx.lastToken, "203.0.113.9", "UA")
	if err != nil || c.Created || c.ContactID != old.ID {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	ct, _ := db.FindContactByID(fx.ctx, old.ID)
	if ct.Fields["first_name"] != "Alicja" || ct.Source.Kind == custos.SourceForm {
		t.Fatalf("the recorded contact was overwritten: %+v", ct)
	}
	_, events, _ := db.ContactConsents(fx.ctx, old.ID)
	if len(events) != 3 || events[0].Method != custos.MethodAPI || events[1].Method != custos.MethodDOI || events[2].Method != custos.MethodDOI {
		t.Fatalf("ledger: %+v", events)
	}
}

func TestSignupExpiryAndSweep(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	db.SignupTTL = 48 * time.Hour
	if err := fx.submit(db, "ala@example.com", fx.main.ID); err != nil {
		t.Fatal(err)
	}
	fx.clock = fx.clock.Add(49 * time.Hour)
	if _, err := db.CheckSignupToken(context.Background(), fx.lastToken); code(err) != custos.EGONE {
		t.Fatalf("expired: %v", err)
	}
	if _, err := db.ConfirmSignup(context.Background(), fx.lastToken, "", ""); code(err) != custos.EGONE {
		t.Fatalf("confirm expired: %v", err)
	}
	if n, err := db.SweepSignups(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if s, _ := db.PendingSignups(context.Background()); len(s) != 0 {
		t.Fatalf("swept sign-up kept: %+v", s)
	}
	if q, _ := db.MailQueueStatus(context.Background()); len(q) != 0 {
		t.Fatalf("swept sign-up's mail kept: %+v", q)
	}
	if _, err := db.CheckSignupToken(context.Background(), fx.lastToken); code(err) != custos.ENOTFOUND {
		t.Fatalf("after the sweep: %v", err)
	}
}

// TestSignupAddressLimit: the per-address limit is in the database, so it
// holds across a restart.
func TestSignupAddressLimit(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	db := storetest.OpenConfig(t, cfg, v)
	fx := newFormFixture(t, db)
	for i := range 3 {
		if err := fx.submit(db, "ala@example.com", fx.main.ID); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	if err := fx.submit(db, "ALA@example.com", fx.main.ID); code(err) != custos.ERATELIMIT {
		t.Fatalf("fourth sign-up: %v", err)
	}
	if err := fx.submit(db, "ola@example.com", fx.main.ID); err != nil {
		t.Fatalf("another address: %v", err)
	}
	db.Close()
	db = storetest.OpenConfig(t, cfg, v)
	db.Now = func() time.Time { return fx.clock.Add(23 * time.Hour) }
	if err := fx.submit(db, "ala@example.com", fx.main.ID); code(err) != custos.ERATELIMIT {
		t.Fatalf("after a restart: %v", err)
	}
	db.Now = func() time.Time { return fx.clock.Add(24*time.Hour + time.Second) }
	if err := fx.submit(db, "ala@example.com", fx.main.ID); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

// A person erased with suppression who signs up again is answered as
// anyone else, and nothing is kept or mailed; the sign-ups submitted with
// theirs, in the same transaction, are.
func TestSignupSuppressedAddress(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	gone := mustContact(t, db, fx.ctx, "gone@example.com", nil)
	if _, err := db.ForgetContact(fx.ctx, gone.ID, custos.ForgetRequest{Mode: custos.ForgetErase, Suppress: true}); err != nil {
		t.Fatal(err)
	}
	addrs := []string{"ala@example.com", "Gone@example.com", "ola@example.com", "gone@example.com"}
	errs := make(chan error, len(addrs))
	mailer := func(to, token, lang string) (*custos.Message, string) {
		return &custos.Message{To: to, Subject: "Confirm", Text: "Open https://crm.example/confirm/" + token}, "Confirm\n\nOpen {link}"
	}
	for _, a := range addrs {
		go func() {
			errs <- db.SubmitForm(context.Background(), fx.form.ID, custos.Submission{
				Fields: map[string]string{"email": a, "first_name": "Ala"}, Purposes: []int64{fx.main.ID}}, mailer)
		}()
	}
	for range addrs {
		if err := <-errs; err != nil {
			t.Fatalf("a sign-up was refused: %v", err)
		}
	}
	signups, err := db.PendingSignups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mails, err := db.ClaimMail(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(signups) != 2 || len(mails) != 2 {
		t.Fatalf("%d sign-ups and %d mails kept, want 2 of each (not the suppressed address's)", len(signups), len(mails))
	}
	for _, m := range mails {
		if m.Message.To != "ala@example.com" && m.Message.To != "ola@example.com" {
			t.Errorf("mail to %s", m.Message.To)
		}
	}
}

// TestSignupForgetLeavesNoBytes: forgetting a contact removes the pending
// sign-ups with its address, their queued mail and their copies in the
// outbox, and no file of the data directory holds the address after.
func TestSignupForgetLeavesNoBytes(t *testing.T) {
	cfg, v := storetest.Config(t), storetest.Vault(t)
	outbox := filepath.Join(cfg.DataDir, "outbox")
	sender, err := mail.New(mail.Config{From: "noreply@example.com", OutboxDir: outbox})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Outbox = sender
	db := storetest.OpenConfig(t, cfg, v)
	fx := newFormFixture(t, db)
	const marker = "zq8signup.marker@example.com"
	c := mustContact(t, db, fx.ctx, marker, nil)
	if err := fx.submit(db, marker, fx.main.ID); err != nil {
		t.Fatal(err)
	}
	// The confirmation mail as the worker would have written it.
	claimed, err := db.ClaimMail(context.Background(), 10)
	if err != nil || len(claimed) != 1 || claimed[0].Message.To != marker {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := sender.Send(context.Background(), &claimed[0].Message); err != nil {
		t.Fatal(err)
	}
	if err := fx.submit(db, marker, fx.main.ID); err != nil { // a second, still queued
		t.Fatal(err)
	}
	ts, err := db.ForgetContact(fx.ctx, c.ID, custos.ForgetRequest{Mode: custos.ForgetErase})
	if err != nil || ts.Removed["pending_signups"] != 2 {
		t.Fatalf("forget: %+v %v", ts, err)
	}
	if s, _ := db.PendingSignups(context.Background()); len(s) != 0 {
		t.Fatalf("pending sign-ups kept: %+v", s)
	}
	if q, _ := db.MailQueueStatus(context.Background()); len(q) != 0 {
		t.Fatalf("queued mail kept: %+v", q)
	}
	if _, err := db.CheckSignupToken(context.Background(), fx.lastToken); code(err) != custos.ENOTFOUND {
		t.Fatalf("token after forget: %v", err)
	}
	err = filepath.Walk(cfg.DataDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(bytes.ToLower(b), []byte(marker)) {
			t.Errorf("%s holds the address in plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSignupRestrictedContact: a contact whose processing is restricted
// gets no consents from a sign-up; the sign-up waits, and works once the
// restriction is lifted.
func TestSignupRestrictedContact(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	c := mustContact(t, db, fx.ctx, "ala@example.com", nil)
	if _, err := db.RestrictContact(fx.ctx, c.ID, "disputes the data"); err != nil {
		t.Fatal(err)
	}
	if err := fx.submit(db, "ala@example.com", fx.main.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConfirmSignup(context.Background(), fx.lastToken, "", ""); code(err) != custos.ERESTRICTED {
		t.Fatalf("confirm while restricted: %v", err)
	}
	if _, events, _ := db.ContactConsents(fx.ctx, c.ID); len(events) != 0 {
		t.Fatalf("consents recorded while restricted: %+v", events)
	}
	if lists, _ := db.ContactLists(fx.ctx, c.ID); len(lists) != 0 {
		t.Fatalf("lists joined while restricted: %v", lists)
	}
	if _, err := db.LiftRestriction(fx.ctx, c.ID, "settled"); err != nil {
		t.Fatal(err)
	}
	if r, err := db.ConfirmSignup(context.Background(), fx.lastToken, "", ""); err != nil || r.ContactID != c.ID {
		t.Fatalf("confirm after the lifting: %+v %v", r, err)
	}
}

// TestSignupConfirmTwiceAtOnce: two sign-ups of one new address confirmed
// at the same moment make one contact with the consents of both.
func TestSignupConfirmTwiceAtOnce(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	var tokens []string
	for range 2 {
		if err := fx.submit(db, "ala@example.com", fx.main.ID); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, fx.lastToken)
	}
	results := make(chan *custos.ConfirmedSignup, 2)
	errs := make(chan error, 2)
	for _, tok := range tokens {
		go func() {
			r, err := db.ConfirmSignup(context.Background(), tok, "", "")
			results <- r
			errs <- err
		}()
	}
	var ids []int64
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		ids = append(ids, (<-results).ContactID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("two contacts: %v", ids)
	}
	if _, events, _ := db.ContactConsents(fx.ctx, ids[0]); len(events) != 2 {
		t.Fatalf("ledger: %+v", events)
	}
}

// TestSignupMailDropsContentOnceSent: a confirmation mail belongs to a
// pending sign-up, not yet a contact, so nothing of it is kept once sent.
func TestSignupMailDropsContentOnceSent(t *testing.T) {
	db := storetest.Open(t)
	fx := newFormFixture(t, db)
	if err := fx.submit(db, "dropped@example.com", fx.main.ID); err != nil {
		t.Fatal(err)
	}
	claimed, err := db.ClaimMail(context.Background(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := db.MailSent(context.Background(), claimed[0].ID); err != nil {
		t.Fatal(err)
	}
	q, err := db.MailQueueStatus(context.Background())
	if err != nil || len(q) != 1 || q[0].Status != custos.MailSent || q[0].Sealed {
		t.Fatalf("after sending: %+v %v", q, err)
	}
}
