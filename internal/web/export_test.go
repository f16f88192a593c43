package web

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/xuri/excelize/v2"
)

func TestExportThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	// A formula, markup and a script in values a person or an import sets.
	_, err := e.db.UpdateContact(w.ctx, w.contact, custos.ContactUpdate{Fields: map[string]any{
		"first_name": "=HYPERLINK(\"http://evil\")", "company": "<script>alert(1)</script>"}})
	must(t, err)
	// A reason, personal and in markup, in the restriction the export holds.
	_, err = e.db.RestrictContact(w.ctx, w.contact, "=1+1 <b>contests</b> the data")
	must(t, err)
	path := fmt.Sprintf("/api/v1/contacts/%d/export", w.contact)

	e.call(e.key(w, custos.RoleMarketer), "GET", path, nil, 403, nil)
	e.call(w.token, "GET", path+"?format=pdf", nil, 400, nil)
	// The export is everything held about the person: a role of the
	// workspace's own that may export but not read personal data is
	// refused it, naming the permission, and the read is not audited.
	e.call(w.token, "POST", "/api/v1/roles", map[string]any{"name": "exporter", "permissions": []string{"contacts:read", "export"}}, 201, nil)
	before := newestAudit(e, w)
	res := e.call(e.key(w, "exporter"), "GET", path, nil, 403, nil)
	if strings.Contains(string(res.body), w.email) || !strings.Contains(string(res.body), "personal_data:read") {
		t.Fatalf("an exporter without personal_data:read: %s", res.body)
	}
	if got := newestAudit(e, w); got.Seq != before.Seq+1 || got.Action != "apikey.create" {
		t.Fatalf("the refused export was audited: %+v", got)
	}
	// Nor does the card offer it to such a user.
	exporter := e.staffSession(w, "exporter")
	for _, tab := range []string{"fields", "privacy"} {
		_, html := e.adminPage(exporter, fmt.Sprintf("/contacts/%d?tab=%s", w.contact, tab))
		if strings.Contains(html, "/export?format=") {
			t.Errorf("the %s tab offers the export to an exporter without personal_data:read", tab)
		}
	}

	var x custos.Export
	e.call(w.token, "GET", path, nil, 200, &x)
	if x.Contact.Email != w.email || len(x.Ledger) == 0 || len(x.Purposes) == 0 || len(x.History) == 0 ||
		len(x.Restrictions) != 1 || x.Restrictions[0].Reason != "=1+1 <b>contests</b> the data" {
		t.Fatalf("json export: %+v", x)
	}

	res = e.call(w.token, "GET", path+"?format=csv", nil, 200, nil)
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv content type %q", ct)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	must(t, err)
	found := map[string]string{}
	for _, r := range rows {
		found[r[0]+"/"+r[2]] = r[3]
	}
	if got := found["field/First name"]; got != "'=HYPERLINK(\"http://evil\")" {
		t.Fatalf("formula cell written as %q", got)
	}
	if got := found["restriction/reason"]; got != "'=1+1 <b>contests</b> the data" {
		t.Fatalf("restriction reason written as %q", got)
	}
	if found["contact/email"] != w.email {
		t.Fatalf("csv email %q", found["contact/email"])
	}

	res = e.call(w.token, "GET", path+"?format=xlsx", nil, 200, nil)
	book, err := excelize.OpenReader(bytes.NewReader(res.body))
	must(t, err)
	sheet, err := book.GetRows("Sheet1")
	must(t, err)
	book.Close()
	cells := map[string]string{}
	for _, r := range sheet {
		if len(r) == 4 {
			cells[r[0]+"/"+r[2]] = r[3]
		}
	}
	if cells["field/First name"] != "'=HYPERLINK(\"http://evil\")" || cells["contact/email"] != w.email {
		t.Fatalf("xlsx cells: first name %q, email %q", cells["field/First name"], cells["contact/email"])
	}

	res = e.call(w.token, "GET", path+"?format=zip", nil, 200, nil)
	z, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	must(t, err)
	files := map[string]string{}
	for _, f := range z.File {
		rc, err := f.Open()
		must(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	html := files["summary.html"]
	if files["export.json"] == "" || files["export.csv"] == "" || files["export.xlsx"] == "" || html == "" {
		t.Fatalf("zip holds %d files", len(files))
	}
	if strings.Contains(html, "<script>alert(1)") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(html, w.email) {
		t.Fatal("the summary does not escape values, or lacks them")
	}
	if !strings.Contains(html, "&lt;b&gt;contests&lt;/b&gt; the data") || strings.Contains(html, "<b>contests") {
		t.Fatal("the summary lacks the restriction's reason")
	}
}

// TestExportIsAudited exports through the API and finds the entry, with
// the key that did it, in the audit log; a DPO may read it, a marketer not.
func TestExportIsAudited(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	b := e.newWorkspace("b")
	dpo := e.key(a, custos.RoleDPO)
	e.call(dpo, "GET", "/api/v1/contacts/"+strconv.FormatInt(a.contact, 10)+"/export?format=csv", nil, http.StatusOK, nil)

	var page struct {
		Data []custos.AuditEntry `json:"data"`
	}
	e.call(dpo, "GET", "/api/v1/audit?action=contact.export&contact_id="+strconv.FormatInt(a.contact, 10), nil, http.StatusOK, &page)
	if len(page.Data) != 2 || !strings.HasPrefix(page.Data[0].Actor, "apikey:") || *page.Data[0].ContactID != a.contact {
		t.Fatalf("audit after an export: %+v", page.Data)
	}
	e.call(a.token, "GET", "/api/v1/audit?contact_id="+strconv.FormatInt(b.contact, 10), nil, http.StatusOK, &page)
	if len(page.Data) != 0 {
		t.Fatalf("A's log shows B's contact: %+v", page.Data)
	}
	var rep custos.AuditReport
	e.call(dpo, "GET", "/api/v1/audit/verify", nil, http.StatusOK, &rep)
	// Two exports, the creation and sign-in of the workspace's user, its
	// role, the creation of its three keys (admin, viewer, DPO), and the
	// two reads of the log above (which may open diffs: personal data).
	if !rep.OK || rep.Entries != 10 {
		t.Fatalf("verify: %+v", rep)
	}
	e.call(e.key(a, custos.RoleMarketer), "GET", "/api/v1/audit", nil, http.StatusForbidden, nil)
}
