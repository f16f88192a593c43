package web

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// TestErrorShapes sends malformed requests and checks the status, the
// error code and field, the headers, and that nothing was written.
func TestErrorShapes(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	contact := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10)
	list := "/api/v1/lists/" + strconv.FormatInt(a.list, 10)
	huge := `{"email":"big@example.com","source":{"kind":"api","detail":"` + strings.Repeat("x", maxBodyBytes) + `"}}`
	tooManyIDs := make([]int64, custos.MaxBulkIDs+1)
	for i := range tooManyIDs {
		tooManyIDs[i] = int64(i + 1)
	}
	const noToken = "-"
	req := requestPath(a.request)
	erasure := &custos.DSRRequest{Type: custos.DSRErasure, ContactID: &a.contact}
	must(t, e.db.CreateDSRRequest(a.ctx, erasure))
	erase := requestPath(erasure.ID)
	longText := strings.Repeat("x", custos.MaxDSRNote+1)

	tests := []struct {
		name        string
		method      string
		path        string
		token       string // a.token when empty; noToken for none
		header      map[string]string
		contentType string
		body        any
		status      int
		code        string
		field       string
	}{
		{name: "unknown member", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","nickname":"x"}`, status: 400, code: "invalid", field: "nickname"},
		{name: "unknown nested member", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","source":{"kind":"api","where":"x"}}`, status: 400, code: "invalid", field: "where"},
		{name: "wrong type", method: "POST", path: "/api/v1/contacts",
			body: `{"email":5}`, status: 400, code: "invalid", field: "email"},
		{name: "wrong type in array", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","tags":"vip"}`, status: 400, code: "invalid", field: "tags"},
		{name: "wrong type nested", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","source":{"kind":1}}`, status: 400, code: "invalid", field: "source.kind"},
		{name: "invalid e-mail", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"not an address"}`, status: 400, code: "invalid", field: "email"},
		{name: "field of wrong type", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","fields":{"first_name":5}}`, status: 400, code: "invalid", field: "fields.first_name"},
		{name: "unknown field", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com","fields":{"shoe_size":5}}`, status: 400, code: "invalid"},
		{name: "text/plain", method: "POST", path: "/api/v1/contacts", contentType: "text/plain",
			body: `{"email":"new@example.com"}`, status: 415, code: "unsupported"},
		{name: "form", method: "POST", path: "/api/v1/contacts", contentType: "application/x-www-form-urlencoded",
			body: `email=new@example.com`, status: 415, code: "unsupported"},
		{name: "no content type", method: "POST", path: "/api/v1/contacts", contentType: "-",
			body: `{"email":"new@example.com"}`, status: 415, code: "unsupported"},
		{name: "json with charset", method: "POST", path: "/api/v1/contacts", contentType: "application/json; charset=latin1",
			body: `{"email":"new@example.com"}`, status: 415, code: "unsupported"},
		{name: "oversized body", method: "POST", path: "/api/v1/contacts",
			body: huge, status: 413, code: "too_large"},
		{name: "trailing garbage", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com"} x`, status: 400, code: "invalid"},
		{name: "two objects", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com"}{"email":"new2@example.com"}`, status: 400, code: "invalid"},
		{name: "empty body", method: "POST", path: "/api/v1/contacts",
			body: ``, status: 400, code: "invalid"},
		{name: "syntax error", method: "POST", path: "/api/v1/contacts",
			body: `{"email":}`, status: 400, code: "invalid"},
		{name: "truncated", method: "POST", path: "/api/v1/contacts",
			body: `{"email":"new@example.com"`, status: 400, code: "invalid"},
		{name: "array body", method: "POST", path: "/api/v1/contacts",
			body: `[{"email":"new@example.com"}]`, status: 400, code: "invalid"},
		{name: "integer overflow", method: "POST", path: "/api/v1/lists",
			body: `{"name":"x","group_id":99999999999999999999}`, status: 400, code: "invalid", field: "group_id"},
		{name: "source in patch", method: "PATCH", path: contact,
			body: `{"source":{"kind":"form"}}`, status: 400, code: "invalid", field: "source"},
		{name: "status in patch", method: "PATCH", path: contact,
			body: `{"status":"restricted"}`, status: 400, code: "invalid", field: "status"},
		{name: "status and tags in patch", method: "PATCH", path: contact,
			body: `{"tags":["x"],"status":"active"}`, status: 400, code: "invalid", field: "status"},
		{name: "restrict without reason", method: "POST", path: contact + "/restriction",
			body: `{}`, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with empty reason", method: "POST", path: contact + "/restriction",
			body: `{"reason":""}`, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with blank reason", method: "POST", path: contact + "/restriction",
			body: `{"reason":" \t "}`, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with too long a reason", method: "POST", path: contact + "/restriction",
			body: map[string]any{"reason": strings.Repeat("x", custos.MaxReason+1)}, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with NUL in the reason", method: "POST", path: contact + "/restriction",
			body: `{"reason":"a\u0000b"}`, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with a number as reason", method: "POST", path: contact + "/restriction",
			body: `{"reason":5}`, status: 400, code: "invalid", field: "reason"},
		{name: "restrict with unknown member", method: "POST", path: contact + "/restriction",
			body: `{"reason":"x","until":"2030-01-01"}`, status: 400, code: "invalid", field: "until"},
		{name: "restrict without body", method: "POST", path: contact + "/restriction",
			status: 415, code: "unsupported"},
		{name: "lift without reason", method: "DELETE", path: contact + "/restriction",
			body: `{}`, status: 400, code: "invalid", field: "reason"},
		{name: "lift with empty reason", method: "DELETE", path: contact + "/restriction",
			body: `{"reason":""}`, status: 400, code: "invalid", field: "reason"},
		{name: "lift with too long a reason", method: "DELETE", path: contact + "/restriction",
			body: map[string]any{"reason": strings.Repeat("ż", custos.MaxReason+1)}, status: 400, code: "invalid", field: "reason"},
		{name: "lift with NUL in the reason", method: "DELETE", path: contact + "/restriction",
			body: `{"reason":"a\u0000b"}`, status: 400, code: "invalid", field: "reason"},
		{name: "lift without body", method: "DELETE", path: contact + "/restriction",
			status: 415, code: "unsupported"},
		{name: "lift an unrestricted contact", method: "DELETE", path: contact + "/restriction",
			body: `{"reason":"x"}`, status: 409, code: "conflict"},
		{name: "method in consent", method: "POST", path: contact + "/consents",
			body: `{"purpose_id":1,"action":"withdraw","method":"doi"}`, status: 400, code: "invalid", field: "method"},
		{name: "bad effective_from", method: "POST", path: contact + "/consents",
			body: `{"purpose_id":1,"action":"withdraw","effective_from":"yesterday"}`, status: 400, code: "invalid", field: "effective_from"},
		{name: "bulk without filter", method: "POST", path: "/api/v1/consents/bulk",
			body: `{"consent":{"purpose_id":1,"action":"withdraw"}}`, status: 400, code: "invalid", field: "filter"},
		{name: "bulk with empty filter", method: "POST", path: "/api/v1/consents/bulk",
			body: `{"filter":{},"consent":{"purpose_id":1,"action":"withdraw"}}`, status: 400, code: "invalid", field: "filter"},
		{name: "bulk with bad time", method: "POST", path: "/api/v1/consents/bulk",
			body: `{"filter":{"all":true},"consent":{"purpose_id":1,"action":"withdraw","effective_from":"x"}}`, status: 400, code: "invalid", field: "consent.effective_from"},
		{name: "bulk with bad filter", method: "POST", path: "/api/v1/consents/bulk",
			body: `{"filter":{"status":"sleeping"},"consent":{"purpose_id":1,"action":"withdraw"}}`, status: 400, code: "invalid", field: "filter.status"},
		{name: "members both ways", method: "POST", path: list + "/members",
			body: `{"contact_ids":[1],"filter":{"all":true}}`, status: 400, code: "invalid"},
		{name: "members neither way", method: "POST", path: list + "/members",
			body: `{}`, status: 400, code: "invalid"},
		{name: "members too many", method: "POST", path: list + "/members",
			body: map[string]any{"contact_ids": tooManyIDs}, status: 400, code: "too_many", field: "contact_ids"},
		{name: "unknown route", method: "GET", path: "/api/v1/nothing", status: 404, code: "not_found"},
		{name: "unknown route outside the API", method: "GET", path: "/favicon.ico", token: noToken, status: 404, code: "not_found"},
		{name: "trailing slash", method: "GET", path: "/api/v1/contacts/", status: 404, code: "not_found"},
		{name: "wrong method", method: "PUT", path: "/api/v1/contacts", status: 405, code: "not_allowed"},
		{name: "wrong method on an object", method: "DELETE", path: contact, status: 405, code: "not_allowed"},
		{name: "no token", method: "GET", path: "/api/v1/contacts", token: noToken, status: 401, code: "unauthorized"},
		{name: "bad token", method: "GET", path: "/api/v1/contacts", token: "custos_nonsense", status: 401, code: "unauthorized"},
		{name: "basic auth", method: "GET", path: "/api/v1/contacts", token: noToken,
			header: map[string]string{"Authorization": "Basic YTpi"}, status: 401, code: "unauthorized"},
		{name: "no token on a write", method: "POST", path: "/api/v1/contacts", token: noToken,
			body: `{"email":"new@example.com"}`, status: 401, code: "unauthorized"},
		{name: "non-numeric id", method: "GET", path: "/api/v1/contacts/abc", status: 404, code: "not_found"},
		{name: "zero id", method: "GET", path: "/api/v1/contacts/0", status: 404, code: "not_found"},
		{name: "negative id", method: "GET", path: "/api/v1/lists/-1", status: 404, code: "not_found"},
		{name: "huge id", method: "GET", path: "/api/v1/purposes/99999999999999999999", status: 404, code: "not_found"},
		{name: "missing contact", method: "GET", path: "/api/v1/contacts/987654", status: 404, code: "not_found"},
		{name: "objection of a missing contact", method: "POST", path: "/api/v1/contacts/987654/objection", status: 404, code: "not_found"},
		{name: "restriction of a missing contact", method: "POST", path: "/api/v1/contacts/987654/restriction",
			body: `{"reason":"x"}`, status: 404, code: "not_found"},
		{name: "bad cursor", method: "GET", path: "/api/v1/contacts?cursor=%%%", status: 400, code: "invalid"},
		{name: "forged cursor", method: "GET", path: "/api/v1/contacts?cursor=-5", status: 400, code: "invalid", field: "cursor"},
		{name: "bad limit", method: "GET", path: "/api/v1/contacts?limit=0", status: 400, code: "invalid", field: "limit"},
		{name: "limit too large", method: "GET", path: "/api/v1/contacts?limit=501", status: 400, code: "invalid", field: "limit"},
		{name: "bad list_id", method: "GET", path: "/api/v1/contacts?list_id=x", status: 400, code: "invalid", field: "list_id"},
		{name: "bad time", method: "GET", path: "/api/v1/contacts?created_after=2024-13-01", status: 400, code: "invalid", field: "created_after"},
		{name: "bad status", method: "GET", path: "/api/v1/contacts?status=sleeping", status: 400, code: "invalid", field: "status"},
		{name: "unknown parameter", method: "GET", path: "/api/v1/contacts?colour=red", status: 400, code: "invalid", field: "colour"},
		{name: "repeated parameter", method: "GET", path: "/api/v1/contacts?tag=a&tag=b", status: 400, code: "invalid", field: "tag"},
		{name: "short search", method: "GET", path: "/api/v1/contacts?q=a", status: 400, code: "invalid", field: "q"},
		{name: "history bad cursor", method: "GET", path: contact + "/history?cursor=abc", status: 400, code: "invalid", field: "cursor"},
		{name: "processor bad country", method: "POST", path: "/api/v1/processors", body: `{"name":"X","country":"Poland"}`, status: 400, code: "invalid", field: "country"},
		{name: "processor without name", method: "POST", path: "/api/v1/processors", body: `{"country":"PL"}`, status: 400, code: "invalid", field: "name"},
		{name: "processor unknown purpose", method: "POST", path: "/api/v1/processors", body: `{"name":"X","country":"PL","purpose_ids":[999999]}`, status: 400, code: "invalid", field: "purpose_ids"},
		{name: "processor bad kind", method: "PATCH", path: "/api/v1/processors/" + strconv.FormatInt(a.processor, 10), body: `{"kind":"friend"}`, status: 400, code: "invalid", field: "kind"},
		{name: "processor unknown member", method: "POST", path: "/api/v1/processors", body: `{"name":"X","country":"PL","dpa":"yes"}`, status: 400, code: "invalid", field: "dpa"},
		{name: "audit bad contact", method: "GET", path: "/api/v1/audit?contact_id=x", status: 400, code: "invalid", field: "contact_id"},
		{name: "audit bad time", method: "GET", path: "/api/v1/audit?after=yesterday", status: 400, code: "invalid", field: "after"},
		{name: "audit bad limit", method: "GET", path: "/api/v1/audit?limit=0", status: 400, code: "invalid", field: "limit"},
		{name: "audit NUL in action", method: "GET", path: "/api/v1/audit?action=a%00b", status: 400, code: "invalid", field: "action"},
		{name: "audit unknown parameter", method: "GET", path: "/api/v1/audit?user=1", status: 400, code: "invalid", field: "user"},
		{name: "audit verify parameter", method: "GET", path: "/api/v1/audit/verify?deep=1", status: 400, code: "invalid", field: "deep"},
		{name: "permission without purpose", method: "GET", path: contact + "/permissions", status: 400, code: "invalid", field: "purpose_id"},
		{name: "permission bad at", method: "GET", path: contact + "/permissions?purpose_id=1&at=now", status: 400, code: "invalid", field: "at"},

		{name: "request without type", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"email":"new@example.com"}`, status: 400, code: "invalid", field: "type"},
		{name: "request of unknown type", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"deletion","email":"new@example.com"}`, status: 400, code: "invalid", field: "type"},
		{name: "request type of wrong type", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":1,"email":"new@example.com"}`, status: 400, code: "invalid", field: "type"},
		{name: "request without subject", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access"}`, status: 400, code: "invalid", field: "email"},
		{name: "request with bad e-mail", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","email":"nobody"}`, status: 400, code: "invalid", field: "email"},
		{name: "request e-mail of wrong type", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","email":["a@example.com"]}`, status: 400, code: "invalid", field: "email"},
		{name: "request contact_id of wrong type", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","contact_id":"1"}`, status: 400, code: "invalid", field: "contact_id"},
		{name: "request contact_id zero", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","contact_id":0}`, status: 400, code: "invalid", field: "contact_id"},
		{name: "request for a missing contact", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","contact_id":987654}`, status: 400, code: "invalid", field: "contact_id"},
		{name: "request received_at malformed", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","email":"new@example.com","received_at":"yesterday"}`, status: 400, code: "invalid", field: "received_at"},
		{name: "request received_at in the future", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","email":"new@example.com","received_at":"2999-01-01T00:00:00Z"}`, status: 400, code: "invalid", field: "received_at"},
		{name: "request with unknown member", method: "POST", path: "/api/v1/dsr-requests",
			body: `{"type":"access","email":"new@example.com","status":"verified"}`, status: 400, code: "invalid", field: "status"},
		{name: "request as text/plain", method: "POST", path: "/api/v1/dsr-requests", contentType: "text/plain",
			body: `{"type":"access","email":"new@example.com"}`, status: 415, code: "unsupported"},
		{name: "extension of three months", method: "POST", path: req + "/extension",
			body: `{"months":3,"reason":"x"}`, status: 400, code: "invalid", field: "months"},
		{name: "extension of no months", method: "POST", path: req + "/extension",
			body: `{"reason":"x"}`, status: 400, code: "invalid", field: "months"},
		{name: "extension months of wrong type", method: "POST", path: req + "/extension",
			body: `{"months":"1","reason":"x"}`, status: 400, code: "invalid", field: "months"},
		{name: "extension without reason", method: "POST", path: req + "/extension",
			body: `{"months":1}`, status: 400, code: "invalid", field: "reason"},
		{name: "extension reason too long", method: "POST", path: req + "/extension",
			body: map[string]any{"months": 1, "reason": strings.Repeat("x", custos.MaxDSRReason+1)}, status: 400, code: "invalid", field: "reason"},
		{name: "extension with by", method: "POST", path: req + "/extension",
			body: `{"months":1,"reason":"x","by":"someone"}`, status: 400, code: "invalid", field: "by"},
		{name: "note without text", method: "POST", path: req + "/notes",
			body: `{}`, status: 400, code: "invalid", field: "text"},
		{name: "note text of wrong type", method: "POST", path: req + "/notes",
			body: `{"text":5}`, status: 400, code: "invalid", field: "text"},
		{name: "note with NUL", method: "POST", path: req + "/notes",
			body: `{"text":"a\u0000b"}`, status: 400, code: "invalid", field: "text"},
		{name: "note too long", method: "POST", path: req + "/notes",
			body: map[string]any{"text": longText}, status: 400, code: "invalid", field: "text"},
		{name: "execute in pdf", method: "POST", path: req + "/execute",
			body: `{"format":"pdf"}`, status: 400, code: "invalid", field: "format"},
		{name: "execute format of wrong type", method: "POST", path: req + "/execute",
			body: `{"format":1}`, status: 400, code: "invalid", field: "format"},
		{name: "execute access with a mode", method: "POST", path: req + "/execute",
			body: `{"mode":"erase"}`, status: 400, code: "invalid", field: "mode"},
		{name: "execute access with suppression", method: "POST", path: req + "/execute",
			body: `{"suppress":true}`, status: 400, code: "invalid", field: "suppress"},
		{name: "execute with unknown member", method: "POST", path: req + "/execute",
			body: `{"format":"zip","pages":3}`, status: 400, code: "invalid", field: "pages"},
		{name: "execute unverified", method: "POST", path: req + "/execute",
			body: `{"format":"zip"}`, status: 409, code: "conflict"},
		{name: "execute erasure without mode", method: "POST", path: erase + "/execute",
			body: `{}`, status: 400, code: "invalid", field: "mode"},
		{name: "execute erasure in an unknown mode", method: "POST", path: erase + "/execute",
			body: `{"mode":"shred"}`, status: 400, code: "invalid", field: "mode"},
		{name: "execute erasure with a format", method: "POST", path: erase + "/execute",
			body: `{"mode":"erase","format":"zip"}`, status: 400, code: "invalid", field: "format"},
		{name: "execute erasure suppress of wrong type", method: "POST", path: erase + "/execute",
			body: `{"mode":"erase","suppress":"yes"}`, status: 400, code: "invalid", field: "suppress"},
		{name: "execute erasure unverified", method: "POST", path: erase + "/execute",
			body: `{"mode":"erase"}`, status: 409, code: "conflict"},
		{name: "complete without note", method: "POST", path: req + "/complete",
			body: `{}`, status: 400, code: "invalid", field: "note"},
		{name: "complete with blank note", method: "POST", path: req + "/complete",
			body: `{"note":"  "}`, status: 400, code: "invalid", field: "note"},
		{name: "complete note too long", method: "POST", path: req + "/complete",
			body: map[string]any{"note": longText}, status: 400, code: "invalid", field: "note"},
		{name: "reject with a note for a reason", method: "POST", path: req + "/reject",
			body: `{"note":"x"}`, status: 400, code: "invalid", field: "note"},
		{name: "reject with empty reason", method: "POST", path: req + "/reject",
			body: `{"reason":""}`, status: 400, code: "invalid", field: "reason"},
		{name: "reject reason of wrong type", method: "POST", path: req + "/reject",
			body: `{"reason":false}`, status: 400, code: "invalid", field: "reason"},
		{name: "no answer yet", method: "GET", path: req + "/answer", status: 404, code: "not_found"},
		{name: "request id not a number", method: "GET", path: "/api/v1/dsr-requests/abc", status: 404, code: "not_found"},
		{name: "missing request", method: "POST", path: "/api/v1/dsr-requests/987654/notes", body: `{"text":"x"}`, status: 404, code: "not_found"},
		{name: "requests bad status", method: "GET", path: "/api/v1/dsr-requests?status=open", status: 400, code: "invalid", field: "status"},
		{name: "requests bad type", method: "GET", path: "/api/v1/dsr-requests?type=deletion", status: 400, code: "invalid", field: "type"},
		{name: "requests bad contact_id", method: "GET", path: "/api/v1/dsr-requests?contact_id=x", status: 400, code: "invalid", field: "contact_id"},
		{name: "requests due_within not a number", method: "GET", path: "/api/v1/dsr-requests?due_within=soon", status: 400, code: "invalid", field: "due_within"},
		{name: "requests due_within negative", method: "GET", path: "/api/v1/dsr-requests?due_within=-1", status: 400, code: "invalid", field: "due_within"},
		{name: "requests overdue not a boolean", method: "GET", path: "/api/v1/dsr-requests?overdue=yes", status: 400, code: "invalid", field: "overdue"},
		{name: "requests bad cursor", method: "GET", path: "/api/v1/dsr-requests?cursor=-5", status: 400, code: "invalid", field: "cursor"},
		{name: "requests unknown parameter", method: "GET", path: "/api/v1/dsr-requests?email=a@example.com", status: 400, code: "invalid", field: "email"},
		{name: "requests without token", method: "GET", path: "/api/v1/dsr-requests", token: noToken, status: 401, code: "unauthorized"},
	}
	before := e.countContacts(a)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			switch token {
			case "":
				token = a.token
			case noToken:
				token = ""
			}
			res := e.do(request{method: tc.method, path: tc.path, token: token, body: tc.body,
				contentType: tc.contentType, header: tc.header})
			if res.status != tc.status {
				t.Fatalf("status %d, want %d; body %.300s", res.status, tc.status, res.body)
			}
			got := res.apiError(t)
			if got.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", got.Code, tc.code, got.Message)
			}
			if tc.field != "" && got.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", got.Field, tc.field, got.Message)
			}
			if res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", res.header)
			}
			if tc.status == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if tc.status == 405 && res.header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
	if after := e.countContacts(a); after != before {
		t.Errorf("contacts %d after the bad requests, %d before", after, before)
	}
	checkUntouched(t, e, a)
}

// TestInternalErrorHidden checks that an error outside the domain is shown
// as "Internal error." with no detail.
func TestInternalErrorHidden(t *testing.T) {
	var logged bytes.Buffer
	s := newServer(nil, slog.New(slog.NewTextHandler(&logged, nil)))
	rec := &recorder{header: http.Header{}}
	req, err := http.NewRequest("GET", "/x", nil)
	must(t, err)
	s.writeError(rec, req, fmt.Errorf("store: find contact: %w", errors.New("secret table exploded")))
	if rec.status != 500 {
		t.Fatalf("status %d", rec.status)
	}
	if body := rec.body.String(); strings.Contains(body, "secret") || !strings.Contains(body, `"Internal error."`) {
		t.Errorf("body %s", body)
	}
	if !strings.Contains(logged.String(), "secret table exploded") {
		t.Errorf("internal error not logged: %q", logged.String())
	}
}

// TestHealthz checks the public health check.
func TestHealthz(t *testing.T) {
	e := &testEnv{t: t, srv: newServer(nil, nil)}
	res := e.do(request{method: "GET", path: "/healthz"})
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"status":"ok"}` {
		t.Fatalf("status %d body %s", res.status, res.body)
	}
}
