package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store"
	"github.com/custos/custos/internal/store/storetest"
)

// start records an import of data with the options.
func start(t *testing.T, db *store.DB, ctx context.Context, data string, o custos.ImportOptions) *custos.Import {
	t.Helper()
	sum := sha256.Sum256([]byte(data))
	imp, err := db.StartImport(ctx, &custos.Import{Name: "file.csv", SHA256: hex.EncodeToString(sum[:]), Options: o})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func findByEmail(t *testing.T, db *store.DB, ctx context.Context, email string) *custos.Contact {
	t.Helper()
	cs, _, err := db.FindContacts(ctx, custos.ContactFilter{Email: &email})
	if err != nil || len(cs) != 1 {
		t.Fatalf("find %s: %v %v", email, cs, err)
	}
	return cs[0]
}

func TestImportRun(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	p := &custos.Purpose{Name: "Newsletter", LegalBasis: custos.BasisConsent, Channel: "email", Unsubscribable: true}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &custos.List{Name: "News"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateField(ctx, &custos.FieldDef{Key: "health", Label: "Health", Type: custos.FieldText, Classification: custos.ClassSpecial, PurposeIDs: []int64{p.ID}}); err != nil {
		t.Fatal(err)
	}
	grant := func(id int64, action custos.ConsentAction) {
		t.Helper()
		if _, err := db.RecordConsent(ctx, id, custos.ConsentRequest{PurposeID: p.ID, Action: action, Notice: "Old wording"}); err != nil {
			t.Fatal(err)
		}
	}
	// Existing people: one who withdrew, one who withdrew but signs again
	// with proof in the file, one restricted, one with a name already, and
	// one erased with suppression.
	withdrew := &custos.Contact{Email: "withdrew@x.eu"}
	again := &custos.Contact{Email: "again@x.eu"}
	restricted := &custos.Contact{Email: "restricted@x.eu", Fields: map[string]any{"first_name": "Rita"}}
	named := &custos.Contact{Email: "named@x.eu", Fields: map[string]any{"first_name": "Nina"}}
	gone := &custos.Contact{Email: "gone@x.eu"}
	for _, c := range []*custos.Contact{withdrew, again, restricted, named, gone} {
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	grant(withdrew.ID, custos.ActionGrant)
	grant(withdrew.ID, custos.ActionWithdraw)
	grant(again.ID, custos.ActionGrant)
	grant(again.ID, custos.ActionWithdraw)
	if _, err := db.RestrictContact(ctx, restricted.ID, "disputed accuracy"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ForgetContact(ctx, gone.ID, custos.ForgetRequest{Mode: custos.ForgetErase, Suppress: true}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	data := "Email;First name;Last name;Shoe size;health;consent_at;consent_text\n" +
		"new@x.eu;Ann;=HYPERLINK(\"http://evil\");42;;;\n" +
		"not-an-address;Bob;;;;;\n" +
		"withdrew@x.eu;Will;;;;;\n" +
		"again@x.eu;Agnes;;;;" + time.Now().UTC().Format(time.RFC3339Nano) + ";I agree again\n" +
		"restricted@x.eu;Other;;;;;\n" +
		"named@x.eu;Other;Nowak;;;;\n" +
		"gone@x.eu;Gina;;;;;\n" +
		"sick@x.eu;Sam;;;flu;;\n" +
		"new@x.eu;Twice;;;;;\n" +
		"future@x.eu;Fay;;;;" + later + ";I agree\n"
	_ = later
	imp := start(t, db, ctx, data, custos.ImportOptions{ListID: l.ID, PurposeID: p.ID, Basis: custos.BasisConsent, Notice: "Send me the newsletter",
		NotFromSubject: true})
	imp, err := Run(ctx, db, imp, strings.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Status != custos.ImportDone || imp.Done != 10 || imp.Created != 1 || imp.Updated != 3 || imp.Skipped != 1 || imp.Rejected != 5 {
		t.Fatalf("import %+v", imp)
	}
	if strings.Join(imp.Unknown, ",") != "Shoe size" {
		t.Fatalf("unknown columns %q", imp.Unknown)
	}
	rej, _, err := db.ImportRejections(ctx, imp.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{3: "not a valid e-mail", 8: "erased at their request", 9: "special-category", 10: "same e-mail address as line 2", 11: "future"}
	if len(rej) != len(want) {
		t.Fatalf("rejections %+v", rej)
	}
	for _, r := range rej {
		if !strings.Contains(r.Reason, want[r.Line]) {
			t.Errorf("line %d: %q, want %q", r.Line, r.Reason, want[r.Line])
		}
		if strings.Contains(r.Reason+r.Column, "not-an-address") || strings.Contains(r.Reason, "flu") {
			t.Errorf("line %d: the rejection repeats a value", r.Line)
		}
	}
	// The new contact: source, Art. 14 due date, formula kept as text, the
	// consent under the declared wording, on the list.
	n := findByEmail(t, db, ctx, "new@x.eu")
	if n.Source.Kind != custos.SourceImport || n.Source.Detail != fmt.Sprint(imp.ID) || n.Fields["last_name"] != "=HYPERLINK(\"http://evil\")" || n.Fields["first_name"] != "Ann" {
		t.Fatalf("new contact %+v", n)
	}
	if n.InformationDue == nil || n.InformationDue.Sub(n.CreatedAt) < 28*24*time.Hour || n.InformationDue.Sub(n.CreatedAt) > 31*24*time.Hour {
		t.Fatalf("information due %v", n.InformationDue)
	}
	allowed := func(c *custos.Contact) bool {
		d, err := db.Permission(ctx, c.ID, p.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	member := func(c *custos.Contact) bool {
		ls, err := db.ContactLists(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(ls) == 1 && ls[0] == l.ID
	}
	_, events, _ := db.ContactConsents(ctx, n.ID)
	if !allowed(n) || !member(n) || len(events) != 1 || events[0].Method != custos.MethodImport || events[0].Actor != imp.Actor() {
		t.Fatalf("new contact consents %+v", events)
	}
	// Withdrew, no proof in the row: not re-consented, not on the list.
	if allowed(withdrew) || member(withdrew) {
		t.Fatal("an import re-consented a contact who withdrew")
	}
	// Withdrew, new proof in the row: consented again under that wording.
	if !allowed(again) || !member(again) {
		t.Fatal("a row with new proof did not consent again")
	}
	// Restricted: untouched.
	if r := findByEmail(t, db, ctx, "restricted@x.eu"); r.Fields["first_name"] != "Rita" || member(r) {
		t.Fatalf("restricted contact changed: %+v", r)
	}
	// fill_empty: the stored first name stays, the empty last name is set,
	// and the history names the import.
	nm := findByEmail(t, db, ctx, "named@x.eu")
	if nm.Fields["first_name"] != "Nina" || nm.Fields["last_name"] != "Nowak" {
		t.Fatalf("fill_empty: %+v", nm.Fields)
	}
	hist, _, err := db.ContactHistory(ctx, nm.ID, 0, 10)
	if err != nil || len(hist) != 1 || hist[0].Actor != imp.Actor() || hist[0].Field != "fields.last_name" {
		t.Fatalf("history %+v %v", hist, err)
	}
	// Running the same file again changes nothing.
	again2 := start(t, db, ctx, data, imp.Options)
	if again2.ID != imp.ID || again2.Status != custos.ImportDone {
		t.Fatalf("second start %+v", again2)
	}
	// Another workspace sees none of it.
	other := storetest.Workspace(t, db, "other", custos.RoleAdmin)
	if _, err := db.FindImport(other, imp.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace: %v", err)
	}
	if _, _, err := db.ImportRejections(other, imp.ID, 0, 10); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("other workspace rejections: %v", err)
	}
}

// faultStore cancels the run after a number of chunks, as a kill -9 would
// stop it between two commits.
type faultStore struct {
	*store.DB
	after  int
	calls  int
	cancel context.CancelFunc
}

func (f *faultStore) ImportChunk(ctx context.Context, id int64, rows []custos.ImportRow, rejected []custos.ImportRejection, last int64, unknown []string) (*custos.Import, error) {
	f.calls++
	if f.calls > f.after {
		f.cancel()
		return nil, ctx.Err()
	}
	return f.DB.ImportChunk(ctx, id, rows, rejected, last, unknown)
}

func TestImportResume(t *testing.T) {
	chunkRows = 7
	t.Cleanup(func() { chunkRows = 10000 })
	db, ctx, p := contractWorkspace(t)
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := range 50 {
		fmt.Fprintf(&b, "p%d@x.eu,Name %d\n", i, i)
	}
	b.WriteString("bad,x\n")
	data := b.String()
	o := custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisContract}
	imp := start(t, db, ctx, data, o)
	cctx, cancel := context.WithCancel(ctx)
	f := &faultStore{DB: db, after: 3, cancel: cancel}
	if _, err := Run(cctx, f, imp, strings.NewReader(data), nil); err == nil {
		t.Fatal("the interrupted run did not fail")
	}
	mid, err := db.FindImport(ctx, imp.ID)
	if err != nil || mid.Status != custos.ImportRunning || mid.Done != 21 || mid.Created != 21 || mid.LastLine != 22 {
		t.Fatalf("after the interruption %+v %v", mid, err)
	}
	// The same file again: the same import, resumed after its checkpoint.
	re := start(t, db, ctx, data, o)
	if re.ID != imp.ID || re.LastLine != 22 {
		t.Fatalf("resumed %+v", re)
	}
	done, err := Run(ctx, db, re, strings.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != custos.ImportDone || done.Done != 51 || done.Created != 50 || done.Rejected != 1 || done.Updated != 0 {
		t.Fatalf("done %+v", done)
	}
	// Every address once, with exactly one ledger event.
	var all []*custos.Contact
	for after := int64(0); ; {
		cs, next, err := db.FindContacts(ctx, custos.ContactFilter{After: after, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
		if next == 0 {
			break
		}
		after = next
	}
	if len(all) != 50 {
		t.Fatalf("%d contacts, want 50", len(all))
	}
	for _, c := range all {
		_, events, err := db.ContactConsents(ctx, c.ID)
		if err != nil || len(events) != 1 {
			t.Fatalf("contact %d: %d events, %v", c.ID, len(events), err)
		}
	}
	// A chunk replayed at or before the checkpoint writes nothing.
	again, err := db.ImportChunk(ctx, imp.ID, nil, nil, 5, nil)
	if custos.ErrorCode(err) != custos.ECONFLICT && (err != nil || again.Done != 51) {
		t.Fatalf("replayed chunk: %+v %v", again, err)
	}
}

// TestImportFindsExistingInLargeChunks: the store looks up a chunk's
// addresses a hundred at a time; contacts that exist are updated wherever
// they fall in the chunk, at either end of a group or in the short last
// one, and every other row is created.
func TestImportFindsExistingInLargeChunks(t *testing.T) {
	db, ctx, p := contractWorkspace(t)
	existing := []int{0, 99, 100, 199, 249}
	for _, i := range existing {
		c := &custos.Contact{Email: fmt.Sprintf("p%d@x.eu", i), Fields: map[string]any{"first_name": "Old"}}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("email,first_name\n")
	for i := range 250 {
		fmt.Fprintf(&b, "p%d@x.eu,Name %d\n", i, i)
	}
	data := b.String()
	o := custos.ImportOptions{PurposeID: p.ID, Basis: custos.BasisContract, Profile: custos.ProfileOverwrite}
	done, err := Run(ctx, db, start(t, db, ctx, data, o), strings.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != custos.ImportDone || done.Created != 245 || done.Updated != int64(len(existing)) || done.Rejected != 0 {
		t.Fatalf("done %+v", done)
	}
	for _, i := range existing {
		if c := findByEmail(t, db, ctx, fmt.Sprintf("p%d@x.eu", i)); c.Fields["first_name"] != fmt.Sprintf("Name %d", i) {
			t.Errorf("p%d: first name %v", i, c.Fields["first_name"])
		}
	}
}

// TestImportRespectsObjection imports, on legitimate interests for a
// purpose of direct marketing, a file naming a contact who objected: the
// other rows go in with the basis, the objector gets none and is not put
// on the list, and the import finishes.
func TestImportRespectsObjection(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	p := &custos.Purpose{Name: "Offers", LegalBasis: custos.BasisLegitimateInterests, Marketing: true}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &custos.List{Name: "Offers"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	objector := &custos.Contact{Email: "objector@x.eu"}
	if err := db.CreateContact(ctx, objector); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ObjectToMarketing(ctx, objector.ID); err != nil {
		t.Fatal(err)
	}
	data := "email;first_name\nnew@x.eu;Ann\nobjector@x.eu;Olga\n"
	imp := start(t, db, ctx, data, custos.ImportOptions{ListID: l.ID, PurposeID: p.ID, Basis: custos.BasisLegitimateInterests})
	imp, err := Run(ctx, db, imp, strings.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Status != custos.ImportDone || imp.Created != 1 {
		t.Fatalf("import: %+v", imp)
	}
	if d, err := db.Permission(ctx, objector.ID, p.ID, nil); err != nil || d.Allowed {
		t.Fatalf("the objector was given the basis: %+v %v", d, err)
	}
	if lists, err := db.ContactLists(ctx, objector.ID); err != nil || len(lists) != 0 {
		t.Fatalf("the objector was put on %v (%v)", lists, err)
	}
	if d, err := db.Permission(ctx, findByEmail(t, db, ctx, "new@x.eu").ID, p.ID, nil); err != nil || !d.Allowed {
		t.Fatalf("the new contact: %+v %v", d, err)
	}
}

// TestImportKeepsUnsubscribes: a contact who left the import's list is not
// put back on it by a later import, unless the row brings proof of consent
// newer than the leaving (listmonk #2008); one who never left is added.
func TestImportKeepsUnsubscribes(t *testing.T) {
	db := storetest.Open(t)
	ctx := storetest.Workspace(t, db, "acme", custos.RoleAdmin)
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	p := &custos.Purpose{Name: "Customers", LegalBasis: custos.BasisContract}
	if err := db.CreatePurpose(ctx, p); err != nil {
		t.Fatal(err)
	}
	l := &custos.List{Name: "News"}
	if err := db.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, email := range []string{"left@x.eu", "stayed@x.eu"} {
		c := &custos.Contact{Email: email}
		if err := db.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids[email] = c.ID
	}
	if _, err := db.AddMembers(ctx, l.ID, []int64{ids["left@x.eu"]}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.RemoveMembers(ctx, l.ID, []int64{ids["left@x.eu"]}); err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}
	onList := func(email string) bool {
		t.Helper()
		lists, err := db.ContactLists(ctx, ids[email])
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(lists, l.ID)
	}
	now = now.Add(time.Hour)
	data := "email\nleft@x.eu\nstayed@x.eu\n"
	imp := start(t, db, ctx, data, custos.ImportOptions{ListID: l.ID, PurposeID: p.ID, Basis: custos.BasisContract})
	if imp, err := Run(ctx, db, imp, strings.NewReader(data), nil); err != nil || imp.Status != custos.ImportDone || imp.Updated != 2 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	if onList("left@x.eu") || !onList("stayed@x.eu") {
		t.Fatalf("after the import: left on the list %v, stayed on it %v", onList("left@x.eu"), onList("stayed@x.eu"))
	}
	// Proof older than the leaving does not bring them back; newer does.
	for _, tc := range []struct {
		at   time.Time
		back bool
	}{{now.Add(-2 * time.Hour), false}, {now.Add(-time.Minute), true}} {
		data := fmt.Sprintf("email,consent_at,consent_text\nleft@x.eu,%s,Yes I want the news.\n", tc.at.Format(time.RFC3339))
		imp := start(t, db, ctx, data, custos.ImportOptions{ListID: l.ID, PurposeID: p.ID, Basis: custos.BasisContract})
		if imp, err := Run(ctx, db, imp, strings.NewReader(data), nil); err != nil || imp.Status != custos.ImportDone || imp.Rejected != 0 {
			t.Fatalf("import with proof of %s: %+v %v", tc.at, imp, err)
		}
		if got := onList("left@x.eu"); got != tc.back {
			t.Fatalf("proof of %s: on the list %v, want %v", tc.at, got, tc.back)
		}
	}
}
