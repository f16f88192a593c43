package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// adminPage asks for an admin page as a browser does and returns its status
// and HTML.
func (e *testEnv) adminPage(token, path string) (int, string) {
	e.t.Helper()
	res := e.do(request{method: "GET", path: path, token: token, header: map[string]string{"Accept": "text/html"}})
	return res.status, string(res.body)
}

// TestContactCardTabs renders every tab of the card for an admin, who sees
// the personal data and every form, and for a viewer, who sees neither.
func TestContactCardTabs(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	viewer := e.staffSession(w, custos.RoleViewer)
	card := "/contacts/" + strconv.FormatInt(w.contact, 10)
	for _, tab := range cardTabs {
		t.Run(tab, func(t *testing.T) {
			status, html := e.adminPage(w.session, card+"?tab="+tab)
			if status != http.StatusOK {
				t.Fatalf("admin: status %d: %s", status, html)
			}
			if !strings.Contains(html, w.email) {
				t.Error("admin: the e-mail address is not shown")
			}
			if !strings.Contains(html, "data-api") && tab != "timeline" {
				t.Error("admin: no form")
			}
			want := map[string]string{"fields": "value of a", "consents": "I agree to the newsletter of a.",
				"activities": "note of a", "attachments": "file of a.txt", "lists": "list of a", "timeline": "Consent granted",
				"privacy": `id="forget-form"`}[tab]
			if !strings.Contains(html, want) {
				t.Errorf("admin: %q is not shown", want)
			}

			status, html = e.adminPage(viewer, card+"?tab="+tab)
			if status != http.StatusOK {
				t.Fatalf("viewer: status %d: %s", status, html)
			}
			for _, secret := range []string{w.email, "Firsta", "note of a", "file of a", "192.0.2.1", "test agent", "data-api"} {
				if strings.Contains(html, secret) {
					t.Errorf("viewer sees %q", secret)
				}
			}
		})
	}
	status, html := e.adminPage(w.session, card+"?tab=nope")
	if status != http.StatusBadRequest || !strings.Contains(html, "tab") {
		t.Errorf("unknown tab: status %d: %s", status, html)
	}
	status, _ = e.adminPage(w.session, "/contacts/987654")
	if status != http.StatusNotFound {
		t.Errorf("unknown contact: status %d", status)
	}
	status, html = e.adminPage(w.session, "/contacts/new")
	if status != http.StatusOK || !strings.Contains(html, `action="/api/v1/contacts"`) || !strings.Contains(html, `name="fields.`+w.field+`"`) {
		t.Errorf("new contact form: status %d: %s", status, html)
	}
	if status, _ = e.adminPage(viewer, "/contacts/new"); status != http.StatusForbidden {
		t.Errorf("viewer's new contact form: status %d", status)
	}
}

// TestContactCardEscapes plants markup in every value of the card that a
// client can set and checks that the page shows it as text.
func TestContactCardEscapes(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	const payload = `<script>alert(1)</script><img src=x onerror=alert(2)>`
	f := &custos.FieldDef{Key: "kind", Label: payload, Type: custos.FieldChoice, Classification: custos.ClassNone, Choices: []string{payload, "b"}}
	must(t, f.Validate())
	must(t, e.db.CreateField(w.ctx, f))
	_, err := e.db.UpdateContact(w.ctx, w.contact, custos.ContactUpdate{Tags: &[]string{payload},
		Fields: map[string]any{custos.FieldFirstName: payload, w.field: payload, "kind": payload}})
	must(t, err)
	must(t, e.db.CreateActivity(w.ctx, w.contact, &custos.Activity{Type: custos.ActivityTask, Title: payload, Body: payload}))
	must(t, e.db.CreateAttachment(w.ctx, w.contact, &custos.Attachment{Name: payload + ".txt"}, []byte("x"), nil))
	_, err = e.db.RecordConsent(w.ctx, w.contact, custos.ConsentRequest{PurposeID: w.purpose, Action: custos.ActionGrant,
		Notice: payload, UserAgent: payload, Method: custos.MethodManual})
	must(t, err)
	_, err = e.db.RestrictContact(w.ctx, w.contact, payload)
	must(t, err)
	card := "/contacts/" + strconv.FormatInt(w.contact, 10)
	for _, tab := range cardTabs {
		status, html := e.adminPage(w.session, card+"?tab="+tab)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", tab, status, html)
		}
		if strings.Contains(html, "<script>alert") || strings.Contains(html, "<img src=x") {
			t.Errorf("%s: the payload is in the page as markup", tab)
		}
		// (A file's name loses what comes before its last slash.)
		if tab != "lists" && !strings.Contains(html, "&lt;img src=x onerror=alert(2)&gt;") {
			t.Errorf("%s: the payload is not shown as text", tab)
		}
	}
}

// TestContactCardOlderPages follows the "older" links of the history, the
// activities and the timeline: each page shows what the one before did
// not, and the last has no link.
func TestContactCardOlderPages(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	for i := range cardPageSize + 5 {
		must(t, e.db.CreateActivity(w.ctx, w.contact, &custos.Activity{Type: custos.ActivityNote, Body: "note number " + strconv.Itoa(i) + "."}))
		_, err := e.db.UpdateContact(w.ctx, w.contact, custos.ContactUpdate{Tags: &[]string{"tag" + strconv.Itoa(i)}})
		must(t, err)
	}
	older := regexp.MustCompile(`id="older" href="([^"]+)"`)
	card := "/contacts/" + strconv.FormatInt(w.contact, 10)
	for tab, want := range map[string][2]string{
		"fields":     {"tag54", "tag0"},
		"activities": {"note number 54.", "note number 0."},
		"timeline":   {"note number 54.", "note number 20."},
	} {
		_, first := e.adminPage(w.session, card+"?tab="+tab)
		if !strings.Contains(first, want[0]) || strings.Contains(first, want[1]+"<") {
			t.Errorf("%s: the first page lacks %q or has %q", tab, want[0], want[1])
		}
		m := older.FindStringSubmatch(first)
		if m == nil {
			t.Fatalf("%s: no older link", tab)
		}
		status, second := e.adminPage(w.session, strings.ReplaceAll(m[1], "&amp;", "&"))
		if status != http.StatusOK || !strings.Contains(second, want[1]) || strings.Contains(second, want[0]+"<") {
			t.Errorf("%s: the older page (%d) lacks %q or has %q", tab, status, want[1], want[0])
		}
		if tab != "timeline" && older.MatchString(second) {
			t.Errorf("%s: the last page has an older link", tab)
		}
	}
	if status, html := e.adminPage(w.session, card+"?tab=timeline&cursor=nonsense"); status != http.StatusBadRequest || !strings.Contains(html, "cursor") {
		t.Errorf("a bad cursor: %d", status)
	}
}
