package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos/custos/internal/custos"
)

// evalAsync evaluates a JavaScript expression that gives a promise, and
// returns what the promise resolves to.
func evalAsync[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return v
}

// waitCard waits until the browser shows a contact card and returns its
// contact's id.
func (b *browser) waitCard() int64 {
	b.t.Helper()
	var id int64
	b.waitUntil("a contact card", func() (bool, string) {
		loc, _ := try[string](b, "location.pathname")
		s, ok := strings.CutPrefix(loc, "/contacts/")
		n, err := strconv.ParseInt(s, 10, 64)
		id = n
		return ok && err == nil, "at " + loc
	})
	b.run(chromedp.WaitVisible(chromedp.CSS("#contact-status")))
	return id
}

// waitJS waits until the JavaScript expression is true in the page,
// across the reload of a form sent.
func (b *browser) waitJS(expr string) {
	b.t.Helper()
	b.waitUntil(expr, func() (bool, string) {
		ok, err := try[bool](b, expr)
		return err == nil && ok, fmt.Sprint("the last answer: ", ok, err)
	})
}

// TestBrowserContactJourney is the journey of issue 6 in the browser:
// sign in through the sign-in page, create a purpose on its page, create a
// contact through its form, grant a consent on its card with the wording
// the person saw, see the consent with its proof, export the contact's
// data, forget the contact through the confirmation, and find it gone.
func TestBrowserContactJourney(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.login(w)

	b.open("/purposes")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#name"), "Product news"),
		chromedp.SetValue(chromedp.CSS("#legal_basis"), "consent"),
		chromedp.SetValue(chromedp.CSS("#retention_days"), "365"),
		chromedp.Click(chromedp.CSS("#marketing")),
		submit("#new-purpose"),
		chromedp.WaitVisible(chromedp.CSS("#purpose-version")),
	)
	purpose, err := strconv.ParseInt(strings.TrimPrefix(eval[string](b, "location.pathname"), "/purposes/"), 10, 64)
	if err != nil {
		t.Fatalf("after creating a purpose the browser is at %s", eval[string](b, "location.pathname"))
	}
	if p, err := e.db.FindPurpose(w.ctx, purpose); err != nil || p.Name != "Product news" || !p.Marketing {
		t.Fatalf("the purpose created: %+v %v", p, err)
	}

	b.open("/contacts/new")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#email"), "jan.kowalski@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-first_name"), "Jan"),
		chromedp.SendKeys(chromedp.CSS("#f-"+w.field), "plain value"),
		chromedp.Click(chromedp.CSS("#new-contact button[type=submit]")),
	)
	id := b.waitCard()
	email := "jan.kowalski@example.com"
	cs, _, err := e.db.FindContacts(w.ctx, custos.ContactFilter{Email: &email})
	must(t, err)
	if len(cs) != 1 || cs[0].ID != id || cs[0].Fields[custos.FieldFirstName] != "Jan" || cs[0].Source.Kind != custos.SourceManual {
		t.Fatalf("created %+v, card of %d", cs, id)
	}
	if got := b.text("#contact-email"); got != email {
		t.Errorf("the card shows %q", got)
	}
	card := "/contacts/" + strconv.FormatInt(id, 10)

	// Grant a consent with the wording the person saw, where and how it
	// was given.
	const wording = "Yes, send me product news by e-mail."
	b.open(card + "?tab=consents")
	b.run(
		chromedp.SetValue(chromedp.CSS("#c-purpose"), strconv.FormatInt(purpose, 10)),
		chromedp.SetValue(chromedp.CSS("#c-action"), "grant"),
		chromedp.SendKeys(chromedp.CSS("#c-notice"), wording),
		chromedp.SendKeys(chromedp.CSS("#c-ip"), "203.0.113.9"),
		chromedp.SendKeys(chromedp.CSS("#c-ua"), "Mozilla/5.0 (the person's browser)"),
		chromedp.Click(chromedp.CSS("#consent-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#ledger")),
	)
	_, events, err := e.db.ContactConsents(w.ctx, id)
	must(t, err)
	if len(events) != 1 || events[0].Action != custos.ActionGrant || events[0].PurposeID != purpose || events[0].IP != "203.0.113.9" {
		t.Fatalf("ledger %+v", events)
	}
	row := "#event-" + strconv.FormatInt(events[0].ID, 10)
	if got := b.text(row + " .wording"); got != wording {
		t.Errorf("wording %q", got)
	}
	if got := b.text(row + " .ip"); got != "203.0.113.9" {
		t.Errorf("IP %q", got)
	}
	if got := b.text(row + " .ua"); got != "Mozilla/5.0 (the person's browser)" {
		t.Errorf("user agent %q", got)
	}
	if got := b.text(row + " .method"); got != "manual" {
		t.Errorf("method %q", got)
	}
	if got, want := b.text(row+" .effective"), events[0].EffectiveFrom.UTC().Format("2006-01-02 15:04 UTC"); got != want {
		t.Errorf("time %q, want %q", got, want)
	}
	if got := b.text(`#consent-states tr[data-purpose="` + strconv.FormatInt(purpose, 10) + `"] .state`); got != "Consent granted" {
		t.Errorf("state %q", got)
	}

	// Export: the button's link answers the contact's data as a zip.
	got := evalAsync[string](b, `fetch(document.querySelector("#export-data").href).then(async (r) => {
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("Content-Type") + " " + String.fromCharCode(b[0], b[1]);
	})`)
	if got != "200 application/zip PK" {
		t.Errorf("export answered %q", got)
	}

	// Forget: nothing happens until the consequences are acknowledged.
	b.run(chromedp.Click(chromedp.CSS("#forget-me")))
	b.run(chromedp.WaitVisible(chromedp.CSS("#forget-form")))
	if got := b.text("#erase-hint"); !strings.Contains(got, "cannot") && !strings.Contains(got, "no longer") {
		t.Errorf("the erase mode says %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS("#mode-erase")), chromedp.Click(chromedp.CSS("#forget-form button[type=submit]")))
	time.Sleep(300 * time.Millisecond)
	if _, err := e.db.FindContactByID(w.ctx, id); err != nil {
		t.Fatalf("forgotten without the acknowledgement: %v", err)
	}
	b.run(chromedp.Click(chromedp.CSS("#forget-confirm")), chromedp.Click(chromedp.CSS("#forget-form button[type=submit]")))
	after := "/"
	if e.srv.hasPage("/contacts") {
		after = "/contacts"
	}
	b.waitPath(after)
	if got := b.text(".flash"); got != "The contact is forgotten." {
		t.Errorf("flash %q", got)
	}
	if _, err := e.db.FindContactByID(w.ctx, id); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Errorf("the store still finds the contact: %v", err)
	}
	if n := e.countContacts(w); n != 1 {
		t.Errorf("%d contacts, want only the fixture's", n)
	}
	// (Asked for by the server's client: a page that answers 404 is a
	// console error in the browser.)
	if status, html := e.adminPage(w.session, card); status != 404 || !strings.Contains(html, `class="error"`) {
		t.Errorf("the forgotten contact's card: %d %s", status, html)
	}
}

// TestBrowserContactCardEdits edits the card: a field with bad input shows
// the error by the field and changes nothing, a good one is saved and in
// the history; a note is added, a task added and done, the contact taken
// off a list and put back, a file uploaded, monitoring switched off,
// processing restricted and the restriction lifted.
func TestBrowserContactCardEdits(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.signIn(w)
	card := "/contacts/" + strconv.FormatInt(w.contact, 10)

	b.open(card)
	b.run(
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "not a phone"),
		chromedp.Click(chromedp.CSS("#row-phone form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#row-phone .form-error")),
	)
	if got := b.text("#row-phone .form-error"); !strings.Contains(got, "fields.phone") {
		t.Errorf("error %q, want one naming fields.phone", got)
	}
	if got := eval[string](b, `document.querySelector("#f-phone").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("aria-invalid %q", got)
	}
	c, err := e.db.FindContactByID(w.ctx, w.contact)
	must(t, err)
	if _, ok := c.Fields[custos.FieldPhone]; ok {
		t.Errorf("bad input changed the contact: %+v", c.Fields)
	}
	changes, _, err := e.db.ContactHistory(w.ctx, w.contact, 0, 10)
	must(t, err)
	if len(changes) != 0 {
		t.Errorf("bad input is in the history: %+v", changes[0])
	}

	b.open(card)
	if got := eval[string](b, `document.querySelector("#f-phone").value`); got != "" {
		t.Errorf("after bad input the phone is %q", got)
	}
	b.run(
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "+48 600 100 200"),
		chromedp.Click(chromedp.CSS("#row-phone form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#history")),
	)
	if got := eval[string](b, `document.querySelector("#f-phone").value`); got != "+48600100200" {
		t.Errorf("phone shown as %q", got)
	}
	if got := b.text("#history tbody tr"); !strings.Contains(got, "fields.phone") || !strings.Contains(got, "+48600100200") {
		t.Errorf("history row %q", got)
	}

	// A note.
	b.open(card + "?tab=activities")
	b.run(
		chromedp.SendKeys(chromedp.CSS("#note-body"), "Called; wants the offer by Friday."),
		chromedp.Click(chromedp.CSS("#note-form button[type=submit]")),
	)
	b.waitJS(`document.querySelectorAll("#activities li.activity").length === 2`)
	if got := b.text(`#activities li.activity .body`); got != "Called; wants the offer by Friday." {
		t.Errorf("newest activity %q", got)
	}

	// A task with a due date, then done.
	b.run(
		chromedp.SendKeys(chromedp.CSS("#task-title"), "Send the offer"),
		chromedp.SetValue(chromedp.CSS("#task-due"), "2030-01-15"),
		chromedp.Click(chromedp.CSS("#task-form button[type=submit]")),
	)
	b.waitJS(`document.querySelectorAll("#activities li.activity").length === 3`)
	task := `#activities li.activity[data-type="task"]`
	if got := b.text(task + " h3"); got != "Task: Send the offer" {
		t.Errorf("task %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS(task + " .actions form button")))
	b.waitJS(`(document.querySelector('` + task + ` .done') || {}).textContent?.startsWith("Done")`)
	acts, _, err := e.db.ContactActivities(w.ctx, w.contact, 0, 10)
	must(t, err)
	if acts[0].Type != custos.ActivityTask || !acts[0].Done || acts[0].DueAt == nil || acts[0].DueAt.Format("2006-01-02") != "2030-01-15" {
		t.Errorf("task stored as %+v", acts[0])
	}

	// Off the list, and back on.
	b.open(card + "?tab=lists")
	row := "#list-" + strconv.FormatInt(w.list, 10)
	if got := b.text(row + " .member"); got != "Yes" {
		t.Errorf("member %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS(row + " button")))
	b.waitJS(`document.querySelector("` + row + ` .member")?.textContent === "No"`)
	if ids, err := e.db.ContactLists(w.ctx, w.contact); err != nil || len(ids) != 0 {
		t.Errorf("lists %v, %v", ids, err)
	}
	b.run(chromedp.Click(chromedp.CSS(row + " button")))
	b.waitJS(`document.querySelector("` + row + ` .member")?.textContent === "Yes"`)

	// A file.
	file := filepath.Join(t.TempDir(), "contract.txt")
	must(t, os.WriteFile(file, []byte("The signed contract."), 0o600))
	b.open(card + "?tab=attachments")
	attached := func() int {
		atts, err := e.db.ContactAttachments(w.ctx, w.contact)
		must(t, err)
		return len(atts)
	}
	n := attached()
	b.run(
		chromedp.SetUploadFiles(chromedp.CSS("#att-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")),
	)
	// The page reloads with the file.
	b.waitJS(`document.querySelectorAll("#attachments tbody tr").length === ` + strconv.Itoa(n+1))
	if got := attached(); got != n+1 {
		t.Errorf("%d files, want %d", got, n+1)
	}
	if got := b.text("#attachments tbody tr:first-child td a"); got != "contract.txt" {
		t.Errorf("newest file %q", got)
	}
	got := evalAsync[string](b, `fetch(document.querySelector("#attachments tbody tr:first-child td a").href).then((r) => r.text())`)
	if got != "The signed contract." {
		t.Errorf("download %q", got)
	}

	// Monitoring off.
	b.open(card + "?tab=privacy")
	b.run(chromedp.Click(chromedp.CSS("#monitoring-form button")))
	b.waitJS(`document.querySelector("#monitoring-state")?.textContent === "Monitoring is off."`)

	// Restriction: a reason is required; then restricted, then lifted.
	b.run(
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "   "),
		chromedp.Click(chromedp.CSS("#restriction-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#restriction-form .form-error")),
	)
	if got := b.text("#restriction-form .form-error"); !strings.Contains(got, "reason") {
		t.Errorf("error %q", got)
	}
	b.run(
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "The person contests the accuracy of the data."),
		chromedp.Click(chromedp.CSS("#restriction-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#restrictions")),
	)
	if got := b.text("#contact-status"); got != "Restricted" {
		t.Errorf("status %q", got)
	}
	b.run(
		chromedp.SendKeys(chromedp.CSS("#r-reason"), "The data is corrected."),
		chromedp.Click(chromedp.CSS("#restriction-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#restriction-form:not([data-method])`)),
	)
	if got := b.text("#contact-status"); got != "Active" {
		t.Errorf("status %q after lifting", got)
	}
	c, err = e.db.FindContactByID(w.ctx, w.contact)
	must(t, err)
	if c.Status != custos.StatusActive || c.Monitoring {
		t.Errorf("stored status %s, monitoring %v", c.Status, c.Monitoring)
	}
}

// TestBrowserContactCardViewer opens the card as a viewer, who sees the
// contact masked and no form, export or forget, and as a sales user, who
// edits but neither exports nor forgets.
func TestBrowserContactCardViewer(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	b := newBrowser(t, e)
	b.useSession(e.staffSession(w, custos.RoleViewer))
	card := "/contacts/" + strconv.FormatInt(w.contact, 10)
	for _, tab := range cardTabs {
		b.open(card + "?tab=" + tab)
		if n := eval[int](b, `document.querySelectorAll("form[data-api]").length`); n != 0 {
			t.Errorf("%s: the viewer has %d forms", tab, n)
		}
		if n := eval[int](b, `document.querySelectorAll("#export-data, #forget-me, #forget-form").length`); n != 0 {
			t.Errorf("%s: the viewer may export or forget", tab)
		}
		if html := eval[string](b, `document.querySelector("main").innerHTML`); strings.Contains(html, w.email) || strings.Contains(html, "Firsta") {
			t.Errorf("%s: the viewer sees personal data", tab)
		}
	}
	b.open(card)
	if got := b.text("#contact-email"); got != "hidden" {
		t.Errorf("the viewer sees the e-mail as %q", got)
	}
	if got := b.text("#row-first_name td"); got != "hidden" {
		t.Errorf("the viewer sees the first name as %q", got)
	}
	if got := b.text("#row-" + w.field + " td"); got != "value of a" {
		t.Errorf("the viewer sees the plain field as %q", got)
	}
	// The API refuses what the page does not offer.
	res := e.do(request{method: "PATCH", path: "/api/v1/contacts/" + strconv.FormatInt(w.contact, 10),
		token: e.key(w, custos.RoleViewer), body: map[string]any{"tags": []string{"x"}}})
	if res.status != 403 {
		t.Errorf("the viewer's PATCH: %d", res.status)
	}

	b.useSession(e.staffSession(w, custos.RoleSales))
	b.open(card + "?tab=privacy")
	if n := eval[int](b, `document.querySelectorAll("#export-data, #forget-me, #forget-form, #restriction-form").length`); n != 0 {
		t.Errorf("sales may export, forget or restrict (%d)", n)
	}
	if n := eval[int](b, `document.querySelectorAll("#monitoring-form").length`); n != 1 {
		t.Errorf("sales has no monitoring switch")
	}
	b.open(card)
	if got := eval[string](b, `document.querySelector("#f-first_name").value`); got != "Firsta" {
		t.Errorf("sales sees the first name as %q", got)
	}
}
