package web

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestAuditShowsSealedDiffs changes a contact through the API: the audit
// log shows the change's diff to a reader of personal data (and audits
// that read), only the mark of a sealed diff to an auditor without
// personal_data:read, and an erased diff once the contact is forgotten,
// with the chain still verifying.
func TestAuditShowsSealedDiffs(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	e.call(w.token, "POST", "/api/v1/roles", map[string]any{"name": "auditor", "permissions": []custos.Permission{custos.PermAuditRead}}, http.StatusCreated, nil)
	auditor := e.key(w, "auditor")
	const email, name = "zq8mailmarker@example.com", "Zq8NameMarker"
	e.call(w.token, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", w.contact),
		map[string]any{"email": email, "fields": map[string]any{"first_name": name}}, http.StatusOK, nil)

	path := fmt.Sprintf("/api/v1/audit?contact_id=%d&action=api.write&limit=1", w.contact)
	type page struct {
		Data []*custos.AuditEntry `json:"data"`
	}
	read := func(token string) (*custos.AuditEntry, []byte) {
		t.Helper()
		var p page
		res := e.call(token, "GET", path, nil, http.StatusOK, &p)
		if len(p.Data) != 1 || p.Data[0].Route != "PATCH /api/v1/contacts/{id}" {
			t.Fatalf("audit: %s", res.body)
		}
		return p.Data[0], res.body
	}
	entry, _ := read(w.token)
	d := entry.Diff
	if d == nil || d.State != custos.DiffOpen || len(d.Changes) != 2 ||
		d.Changes[0] != (custos.AuditChange{Field: "email", Old: w.email, New: email}) || d.Changes[1].Field != "fields.first_name" || d.Changes[1].New != name {
		t.Fatalf("admin sees diff %+v", d)
	}
	// The admin's read showed personal data: it is audited.
	if last := newestAudit(e, w); last.Action != custos.AuditRead || last.Route != "GET /api/v1/audit" {
		t.Fatalf("newest entry after the read %+v", last)
	}
	before := newestAudit(e, w)
	entry, body := read(auditor)
	if entry.Diff == nil || entry.Diff.State != custos.DiffSealed || entry.Diff.Changes != nil ||
		bytes.Contains(body, []byte(email)) || bytes.Contains(body, []byte(name)) {
		t.Fatalf("auditor without personal_data:read sees %s", body)
	}
	if last := newestAudit(e, w); last.Seq != before.Seq {
		t.Fatalf("the masked read was audited: %+v", last)
	}

	// The audit page shows the same: the changes to whom may read personal
	// data, "sealed" to the others.
	html := map[string]string{"Accept": "text/html"}
	auditPage := fmt.Sprintf("/audit?contact_id=%d&action=api.write", w.contact)
	if res := e.do(request{method: "GET", path: auditPage, token: w.session, header: html}); res.status != http.StatusOK ||
		!bytes.Contains(res.body, []byte(name)) || !bytes.Contains(res.body, []byte("fields.first_name")) {
		t.Fatalf("the admin's audit page: %d %s", res.status, res.body)
	}
	if res := e.do(request{method: "GET", path: auditPage, token: auditor, header: html}); res.status != http.StatusOK ||
		bytes.Contains(res.body, []byte(name)) || !bytes.Contains(res.body, []byte("sealed: needs the permission")) {
		t.Fatalf("the auditor's audit page: %d %s", res.status, res.body)
	}

	e.call(w.token, "POST", fmt.Sprintf("/api/v1/contacts/%d/forget", w.contact), map[string]any{"mode": "erase"}, http.StatusOK, nil)
	var rep custos.AuditReport
	e.call(w.token, "GET", "/api/v1/audit/verify", nil, http.StatusOK, &rep)
	if !rep.OK {
		t.Fatalf("verify after forgetting: %+v", rep)
	}
	entry, body = read(w.token)
	if entry.Diff == nil || entry.Diff.State != custos.DiffErased || entry.Diff.Changes != nil ||
		bytes.Contains(body, []byte(email)) || bytes.Contains(body, []byte(name)) {
		t.Fatalf("forgotten contact's entry %s", body)
	}
}
