package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/custos/custos/internal/custos"
)

// waitRows waits until the list shows n contacts.
func (b *browser) waitRows(n int) {
	b.t.Helper()
	b.waitUntil(fmt.Sprint(n, " contacts in the list"), func() (bool, string) {
		got, err := try[int](b, `document.querySelectorAll("#contacts tbody tr").length`)
		return err == nil && got == n, fmt.Sprint("it shows ", got)
	})
}

// TestBrowserContactsList drives the contacts list: chosen columns with a
// custom field, the next page, a filter by tag, a search, a saved filter
// saved, applied and deleted, two ticked contacts added to a list (and
// the refusal of none), and a viewer's masked, action-less list.
func TestBrowserContactsList(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	e.contractField(w)
	var ids []int64
	batch := make([]*custos.Contact, 60)
	for i := range batch {
		c := &custos.Contact{Email: fmt.Sprintf("p%02d@example.com", i),
			Fields: map[string]any{custos.FieldFirstName: fmt.Sprintf("Person%02d", i), "contract_signed": i%2 == 0}}
		if i < 3 {
			c.Tags = []string{"vip"}
		}
		must(t, c.Validate())
		must(t, e.db.CreateContact(w.ctx, c))
		ids = append(ids, c.ID)
	}
	b := newBrowser(t, e)
	b.signIn(w)

	b.open("/contacts?cols=email,name,contract_signed")
	if got := b.text(`th[data-col="contract_signed"]`); got != "Contract signed" {
		t.Errorf("custom field heading %q", got)
	}
	b.waitRows(50)
	if got := b.text(fmt.Sprintf(`tr[data-id="%d"] td:nth-of-type(4)`, ids[58])); got != "true" {
		t.Errorf("contract signed of an even contact: %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS("#next-page")))
	b.waitRows(11) // 60 and the workspace's own contact
	if !strings.Contains(eval[string](b, "location.search"), "cols=email%2Cname%2Ccontract_signed") {
		t.Errorf("the next page forgot the columns: %s", eval[string](b, "location.search"))
	}

	b.open("/contacts")
	b.run(chromedp.SendKeys(chromedp.CSS("#f-tag"), "vip"), chromedp.Click(chromedp.CSS("#filter button[type=submit]")))
	b.waitRows(3)
	b.open("/contacts")
	b.run(chromedp.SendKeys(chromedp.CSS("#f-q"), "person05"), chromedp.Click(chromedp.CSS("#filter button[type=submit]")))
	b.waitRows(1)
	if got := b.text("#contacts tbody tr td:nth-of-type(2)"); got != "p05@example.com" {
		t.Errorf("search found %q", got)
	}

	// Save the vip filter, apply it from another page, delete it.
	b.open("/contacts?tag=vip&cols=email,contract_signed")
	b.run(chromedp.SendKeys(chromedp.CSS("#save-name"), "VIPs"), chromedp.Click(chromedp.CSS("#save-filter button")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	b.open("/contacts")
	b.waitRows(50)
	b.run(chromedp.Click(chromedp.CSS(".saved a")))
	b.waitRows(3)
	if got := b.text(`th[data-col="contract_signed"]`); got != "Contract signed" {
		t.Errorf("the saved columns are not applied: %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS(".saved button")))
	deadline := time.Now().Add(20 * time.Second)
	for eval[int](b, `document.querySelectorAll(".saved li").length`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the saved filter is still listed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Add to a list: none ticked is refused on the page; two ticked go in.
	b.open("/contacts?tag=vip")
	b.run(chromedp.Click(chromedp.CSS("#bulk-list button")), chromedp.WaitVisible(chromedp.CSS("#bulk-list .form-error")))
	if got := b.text("#bulk-list .form-error"); !strings.Contains(got, "Select at least one contact") {
		t.Errorf("none ticked: %q", got)
	}
	b.run(chromedp.Click(chromedp.CSS(fmt.Sprintf("#sel-%d", ids[0]))), chromedp.Click(chromedp.CSS(fmt.Sprintf("#sel-%d", ids[2]))),
		chromedp.Click(chromedp.CSS("#bulk-list button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); got != "Done: 2 added; 0 left out (processing restricted, or they left the list)." {
		t.Errorf("flash %q", got)
	}
	for i, id := range ids[:3] {
		lists, err := e.db.ContactLists(w.ctx, id)
		must(t, err)
		if in := slices.Contains(lists, w.list); in != (i != 1) {
			t.Errorf("contact %d in the list: %v", i, in)
		}
	}

	// A legal basis for every contact matching the filter, on all pages.
	basis := &custos.Purpose{Name: "contract", LegalBasis: custos.BasisContract}
	must(t, e.db.CreatePurpose(w.ctx, basis))
	b.open("/contacts?tag=vip")
	b.run(chromedp.Click(chromedp.CSS("#scope-all")), chromedp.SetValue(chromedp.CSS("#bulk-purpose"), strconv.FormatInt(basis.ID, 10)),
		chromedp.Click(chromedp.CSS("#bulk-consent button")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); got != "Done: 3 recorded; 0 left out (processing restricted)." {
		t.Errorf("flash %q", got)
	}
	for i, id := range ids[:4] {
		d, err := e.db.Permission(w.ctx, id, basis.ID, nil)
		must(t, err)
		if d.Allowed != (i < 3) {
			t.Errorf("contact %d has the basis: %v", i, d.Allowed)
		}
	}

	// A viewer: values masked, no bulk action.
	b.useSession(e.staffSession(w, custos.RoleViewer))
	b.open("/contacts?cols=email,contract_signed")
	b.waitRows(50)
	if n := eval[int](b, `document.querySelectorAll("#contacts .masked").length`); n != 50 {
		t.Errorf("%d masked e-mails, want 50", n)
	}
	if eval[bool](b, `document.querySelector("#bulk") !== null`) {
		t.Error("the viewer is offered bulk actions")
	}
	if got := b.text(`tr[data-id="` + strconv.FormatInt(ids[58], 10) + `"] td:nth-of-type(3)`); got != "true" {
		t.Errorf("the viewer's contract signed: %q", got)
	}
}
