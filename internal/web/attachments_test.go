package web

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

// multipartBody builds a multipart/form-data body of text parts and, when
// file is not nil, a part "file" named fileName.
func multipartBody(t *testing.T, fileName string, file []byte, parts ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	// The other parts first: an import's options must precede its file.
	for i := 0; i+1 < len(parts); i += 2 {
		must(t, mw.WriteField(parts[i], parts[i+1]))
	}
	if file != nil {
		w, err := mw.CreateFormFile("file", fileName)
		must(t, err)
		w.Write(file)
	}
	must(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

func TestAttachmentsAPI(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	must(t, e.db.CreateField(a.ctx, &custos.FieldDef{Key: "contract_signed", Type: custos.FieldBool, Classification: custos.ClassNone}))
	contact := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10)
	base := contact + "/attachments"
	pdf := []byte("%PDF-1.4\nthe signed contract")

	body, ct := multipartBody(t, "umowa.pdf", pdf, "set_field", "contract_signed", "set_value", "true")
	res := e.do(request{method: "POST", path: base, token: a.token, body: body, contentType: ct})
	if res.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	var att custos.Attachment
	must(t, json.Unmarshal(res.body, &att))
	if att.Name != "umowa.pdf" || att.ContentType != "application/pdf" || att.Size != int64(len(pdf)) {
		t.Fatalf("uploaded %+v", att)
	}
	var c custos.Contact
	e.call(a.token, "GET", contact, nil, http.StatusOK, &c)
	if c.Fields["contract_signed"] != true {
		t.Fatalf("field not set: %+v", c.Fields)
	}
	// The contacts without a signed contract: not this one.
	var page struct{ Data []custos.Contact }
	e.call(a.token, "GET", "/api/v1/contacts?missing=contract_signed", nil, http.StatusOK, &page)
	if len(page.Data) != 0 {
		t.Fatalf("missing contract_signed finds %+v", page.Data)
	}
	e.call(a.token, "GET", "/api/v1/contacts?missing="+a.field, nil, http.StatusOK, &page)
	if len(page.Data) != 0 {
		t.Fatalf("missing %s finds %d", a.field, len(page.Data))
	}

	// Download: the bytes, as a download.
	res = e.do(request{method: "GET", path: base + "/" + strconv.FormatInt(att.ID, 10), token: a.token})
	if res.status != http.StatusOK || !bytes.Equal(res.body, pdf) || res.header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(res.header.Get("Content-Disposition"), "attachment;") || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %v", res.status, res.header)
	}
	var list struct{ Data []custos.Attachment }
	e.call(a.token, "GET", base, nil, http.StatusOK, &list)
	if len(list.Data) != 2 || list.Data[0].ID != att.ID {
		t.Fatalf("list %+v", list)
	}

	// A viewer reads neither the list nor the file, nor filters on a personal field.
	viewer := e.key(a, custos.RoleViewer)
	e.call(viewer, "GET", base, nil, http.StatusForbidden, nil)
	e.call(viewer, "GET", base+"/"+strconv.FormatInt(att.ID, 10), nil, http.StatusForbidden, nil)
	e.call(viewer, "GET", "/api/v1/contacts?missing=first_name", nil, http.StatusForbidden, nil)
	e.call(viewer, "GET", "/api/v1/contacts?missing=contract_signed", nil, http.StatusOK, nil)

	big := append(append([]byte{}, pdf...), make([]byte, custos.MaxAttachmentSize)...)
	for _, tc := range []struct {
		name   string
		file   []byte
		parts  []string
		ct     string
		status int
		code   string
		field  string
	}{
		{name: "html", file: []byte("<!DOCTYPE html><script>alert(1)</script>"), status: 415, code: "unsupported", field: "file"},
		{name: "too large", file: big, status: 413, code: "too_large", field: "file"},
		{name: "no file", parts: []string{"set_field", "contract_signed", "set_value", "true"}, status: 400, code: "invalid", field: "file"},
		{name: "field without value", file: pdf, parts: []string{"set_field", "contract_signed"}, status: 400, code: "invalid", field: "set_value"},
		{name: "bad value", file: pdf, parts: []string{"set_field", "contract_signed", "set_value", "maybe"}, status: 400, code: "invalid", field: "set_value"},
		{name: "unknown part", file: pdf, parts: []string{"comment", "x"}, status: 400, code: "invalid", field: "comment"},
		{name: "json body", ct: "application/json", status: 415, code: "unsupported"},
		{name: "broken multipart", ct: "multipart/form-data; boundary=zzz", status: 400, code: "invalid", field: "file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			ct := tc.ct
			if ct == "" {
				body, ct = multipartBody(t, "f.pdf", tc.file, tc.parts...)
			} else {
				body = []byte(`{"x":1}`)
			}
			res := e.do(request{method: "POST", path: base, token: a.token, body: body, contentType: ct})
			if res.status != tc.status {
				t.Fatalf("status %d, want %d: %s", res.status, tc.status, res.body)
			}
			if got := res.apiError(t); got.Code != tc.code || got.Field != tc.field {
				t.Errorf("error %+v, want %s %q", got, tc.code, tc.field)
			}
		})
	}
	e.call(a.token, "GET", base, nil, http.StatusOK, &list)
	if len(list.Data) != 2 {
		t.Fatalf("refused uploads stored files: %d", len(list.Data))
	}
	e.call(a.token, "GET", "/api/v1/contacts?missing=email", nil, http.StatusBadRequest, nil)
	e.call(a.token, "DELETE", base+"/"+strconv.FormatInt(att.ID, 10), nil, http.StatusNoContent, nil)
	e.call(a.token, "GET", base+"/"+strconv.FormatInt(att.ID, 10), nil, http.StatusNotFound, nil)
}

// TestExportHoldsActivitiesAndFiles checks that every export format holds
// the contact's activities and attachments, and the zip the files.
func TestExportHoldsActivitiesAndFiles(t *testing.T) {
	e := newEnv(t)
	a := e.newWorkspace("a")
	path := "/api/v1/contacts/" + strconv.FormatInt(a.contact, 10) + "/export?format="
	for _, f := range []string{"json", "csv"} {
		res := e.call(a.token, "GET", path+f, nil, http.StatusOK, nil)
		for _, m := range []string{"note of a", "file of a.txt"} {
			if !bytes.Contains(res.body, []byte(m)) {
				t.Errorf("%s export lacks %q", f, m)
			}
		}
	}
	res := e.call(a.token, "GET", path+"zip", nil, http.StatusOK, nil)
	z, err := zip.NewReader(bytes.NewReader(res.body), int64(len(res.body)))
	must(t, err)
	found := map[string]string{}
	for _, f := range z.File {
		rc, err := f.Open()
		must(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		found[f.Name] = string(b)
	}
	file := "attachments/" + strconv.FormatInt(a.attach, 10) + "-file of a.txt"
	if found[file] != "content of a" {
		t.Fatalf("zip lacks %s: %v", file, slices.Collect(maps.Keys(found)))
	}
	if !strings.Contains(found["summary.html"], "note of a") || !strings.Contains(found["summary.html"], "file of a.txt") {
		t.Errorf("the summary lacks the note or the file")
	}
}
