package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/importer"
)

func TestImportUpload(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	bg, err := importer.NewBackground(ctx, dir, e.db, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(func() { cancel(); bg.Wait() })
	e.srv = newServer(e.db, nil, WithImporter(bg))
	a := e.newWorkspace("a")

	file := "email;first_name;shoe\r\nnew-import@example.com;Ann;42\r\nbroken;Bob;1\r\n"
	body, ct := multipartBody(t, "people.csv", []byte(file), "options", fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"consent","notice":"I agree","list_id":%d,"not_from_subject":true}`, a.purpose, a.list))
	res := e.do(request{method: "POST", path: "/api/v1/imports", token: a.token, body: body, contentType: ct})
	if res.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	var imp custos.Import
	must(t, json.Unmarshal(res.body, &imp))
	bg.Flush()

	var got struct {
		custos.Import
		RejectedRows []custos.ImportRejection `json:"rejected_rows"`
	}
	e.call(a.token, "GET", fmt.Sprintf("/api/v1/imports/%d", imp.ID), nil, http.StatusOK, &got)
	if got.Status != custos.ImportDone || got.Created != 1 || got.Rejected != 1 || len(got.RejectedRows) != 1 || got.RejectedRows[0].Line != 3 ||
		got.RejectedRows[0].Column != "email" || strings.Join(got.Unknown, ",") != "shoe" {
		t.Fatalf("import %+v", got)
	}
	if strings.Contains(string(e.call(a.token, "GET", fmt.Sprintf("/api/v1/imports/%d", imp.ID), nil, http.StatusOK, nil).body), "broken") {
		t.Fatal("the result repeats a rejected value")
	}
	// The staged file and its key are gone.
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("staged files left: %v", left)
	}
	if _, err := e.db.ImportKey(a.ctx, imp.ID); custos.ErrorCode(err) != custos.ENOTFOUND {
		t.Fatalf("the staged file's key: %v", err)
	}
	// The same file again answers the same import, done.
	body, ct = multipartBody(t, "people.csv", []byte(file), "options", fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"consent","notice":"I agree","list_id":%d,"not_from_subject":true}`, a.purpose, a.list))
	res = e.do(request{method: "POST", path: "/api/v1/imports", token: a.token, body: body, contentType: ct})
	var again custos.Import
	must(t, json.Unmarshal(res.body, &again))
	if res.status != http.StatusAccepted || again.ID != imp.ID || again.Status != custos.ImportDone {
		t.Fatalf("again: %d %s", res.status, res.body)
	}
	var page struct {
		Data []custos.Import `json:"data"`
	}
	e.call(a.token, "GET", "/api/v1/imports", nil, http.StatusOK, &page)
	if len(page.Data) != 2 || page.Data[0].ID != imp.ID {
		t.Fatalf("listing %+v", page)
	}

	for _, tt := range []struct {
		name, options, file, contentType string
		status                           int
		field                            string
	}{
		{name: "not multipart", contentType: "application/json", status: 415},
		{name: "unknown option", options: fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"consent","colour":1}`, a.purpose), file: file, status: 400, field: "colour"},
		{name: "no purpose", options: `{"legal_basis":"consent"}`, file: file, status: 400, field: "purpose_id"},
		{name: "bad profile", options: fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"consent","profile":"merge"}`, a.purpose), file: file, status: 400, field: "profile"},
		{name: "basis not the purpose's", options: fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"contract"}`, a.purpose), file: "email\nx@example.com\n", status: 400, field: "legal_basis"},
		{name: "another workspace's purpose", options: `{"purpose_id":999999,"legal_basis":"consent"}`, file: "email\ny@example.com\n", status: 400, field: "purpose_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body any = "{}"
			ct := tt.contentType
			if ct == "" {
				body, ct = multipartBody(t, "people.csv", []byte(tt.file), "options", tt.options)
			}
			res := e.do(request{method: "POST", path: "/api/v1/imports", token: a.token, body: body, contentType: ct})
			if res.status != tt.status || (tt.field != "" && !strings.Contains(string(res.body), `"field":"`+tt.field+`"`)) {
				t.Fatalf("%d %s, want %d field %s", res.status, res.body, tt.status, tt.field)
			}
		})
	}
	if _, err := os.ReadDir(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("a refused upload left %v", left)
	}
}
