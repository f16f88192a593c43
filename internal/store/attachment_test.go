package store_test

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/store/storetest"
)

// pdf is the start of a PDF file, enough to be sniffed as one.
var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n")

func TestAttachments(t *testing.T) {
	cfg := storetest.Config(t)
	db := storetest.OpenConfig(t, cfg, storetest.Vault(t))
	ctx := storetest.Workspace(t, db, "crm", custos.RoleAdmin)
	signed := &custos.FieldDef{Key: "contract_signed", Type: custos.FieldBool, Classification: custos.ClassNone}
	if err := db.CreateField(ctx, signed); err != nil {
		t.Fatal(err)
	}
	c := mustContact(t, db, ctx, "client@example.com", nil)
	other := mustContact(t, db, ctx, "other@example.com", nil)

	// The contract, with the field set in the same transaction.
	contract := append(append([]byte{}, pdf...), []byte("zq5contract-content")...)
	att := &custos.Attachment{Name: `C:\scans\zq5umowa-kowalski.pdf`}
	if err := db.CreateAttachment(ctx, c.ID, att, contract, &custos.FieldSet{Key: "contract_signed", Value: "true"}); err != nil {
		t.Fatal(err)
	}
	if att.ID == 0 || att.Name != "zq5umowa-kowalski.pdf" || att.ContentType != custos.TypePDF || att.Size != int64(len(contract)) {
		t.Fatalf("created %+v", att)
	}
	got, err := db.FindContactByID(ctx, c.ID)
	if err != nil || got.Fields["contract_signed"] != true {
		t.Fatalf("field not set: %+v %v", got, err)
	}
	hist, _, err := db.ContactHistory(ctx, c.ID, 0, 10)
	if err != nil || len(hist) != 1 || hist[0].Field != "fields.contract_signed" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	meta, content, err := db.AttachmentContent(ctx, c.ID, att.ID)
	if err != nil || !bytes.Equal(content, contract) || meta.Name != att.Name {
		t.Fatalf("content: %+v %v", meta, err)
	}
	text := &custos.Attachment{Name: "notes.txt"}
	if err := db.CreateAttachment(ctx, c.ID, text, []byte("Zażółć gęślą jaźń\n"), nil); err != nil || text.ContentType != custos.TypeText {
		t.Fatalf("text: %+v %v", text, err)
	}
	list, err := db.ContactAttachments(ctx, c.ID)
	if err != nil || len(list) != 2 || list[0].ID != text.ID {
		t.Fatalf("list: %+v %v", list, err)
	}

	// The filter finds the contacts without the field.
	missing, _, err := db.FindContacts(ctx, custos.ContactFilter{Missing: ptr("contract_signed")})
	if err != nil || len(missing) != 1 || missing[0].ID != other.ID {
		t.Fatalf("missing contract_signed: %+v %v", missing, err)
	}
	missing, _, err = db.FindContacts(ctx, custos.ContactFilter{Missing: ptr("first_name")})
	if err != nil || len(missing) != 2 {
		t.Fatalf("missing first_name: %d %v", len(missing), err)
	}
	if _, err := db.UpdateContact(ctx, other.ID, custos.ContactUpdate{Fields: map[string]any{"first_name": "Ola", "phone": "+48 600 100 200"}}); err != nil {
		t.Fatal(err)
	}
	if missing, _, err = db.FindContacts(ctx, custos.ContactFilter{Missing: ptr("first_name")}); err != nil || len(missing) != 1 || missing[0].ID != c.ID {
		t.Fatalf("missing first_name after setting it: %+v %v", missing, err)
	}
	if missing, _, err = db.FindContacts(ctx, custos.ContactFilter{Missing: ptr("phone")}); err != nil || len(missing) != 1 || missing[0].ID != c.ID {
		t.Fatalf("missing phone: %+v %v", missing, err)
	}
	for _, name := range []string{"email", "nope"} {
		if _, _, err := db.FindContacts(ctx, custos.ContactFilter{Missing: ptr(name)}); code(err) != custos.EINVALID {
			t.Fatalf("missing %s: %v", name, err)
		}
	}

	// Refusals write nothing: not the file, not the field.
	for _, tc := range []struct {
		name    string
		content []byte
		set     *custos.FieldSet
		code    string
	}{
		{"html", []byte("<html><body>x</body></html>"), nil, custos.EUNSUPPORTED},
		{"executable", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), nil, custos.EUNSUPPORTED},
		{"zip that is no document", zipOf(t, "a.txt"), nil, custos.EUNSUPPORTED},
		{"too large", append(append([]byte{}, pdf...), make([]byte, custos.MaxAttachmentSize)...), nil, custos.ETOOLARGE},
		{"bad field value", pdf, &custos.FieldSet{Key: "contract_signed", Value: "yes please"}, custos.EINVALID},
		{"unknown field", pdf, &custos.FieldSet{Key: "nope", Value: "1"}, custos.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.CreateAttachment(ctx, other.ID, &custos.Attachment{Name: "x.pdf"}, tc.content, tc.set)
			if code(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	if list, _ := db.ContactAttachments(ctx, other.ID); len(list) != 0 {
		t.Fatalf("a refused upload stored %d files", len(list))
	}
	if err := db.CreateAttachment(ctx, other.ID, &custos.Attachment{Name: "doc.docx"}, zipOf(t, "[Content_Types].xml", "word/document.xml"), nil); err != nil {
		t.Fatalf("docx: %v", err)
	}
	if err := db.CreateAttachment(ctx, other.ID, &custos.Attachment{Name: " "}, pdf, nil); code(err) != custos.EINVALID {
		t.Fatalf("no name: %v", err)
	}

	// Another workspace and another contact reach nothing.
	foreign := storetest.Workspace(t, db, "elsewhere", custos.RoleAdmin)
	if _, _, err := db.AttachmentContent(foreign, c.ID, att.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("from another workspace: %v", err)
	}
	if _, _, err := db.AttachmentContent(ctx, other.ID, att.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("through another contact: %v", err)
	}
	if err := db.DeleteAttachment(ctx, other.ID, att.ID); code(err) != custos.ENOTFOUND {
		t.Fatalf("delete through another contact: %v", err)
	}

	// Restricted: no upload, no deletion, and no field set with one.
	if _, err := db.RestrictContact(ctx, c.ID, "Contests the data."); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAttachment(ctx, c.ID, &custos.Attachment{Name: "x.pdf"}, pdf, nil); code(err) != custos.ERESTRICTED {
		t.Fatalf("upload on a restricted contact: %v", err)
	}
	if err := db.DeleteAttachment(ctx, c.ID, att.ID); code(err) != custos.ERESTRICTED {
		t.Fatalf("delete on a restricted contact: %v", err)
	}
	if _, err := db.LiftRestriction(ctx, c.ID, "Settled."); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAttachment(ctx, c.ID, text.ID); err != nil {
		t.Fatal(err)
	}

	// Name and content are ciphertext on disk.
	if cfg.DatabaseURL == "" {
		files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, m := range []string{"zq5umowa", "zq5contract"} {
				if bytes.Contains(b, []byte(m)) {
					t.Errorf("%s holds %s in plaintext", filepath.Base(f), m)
				}
			}
		}
	}
}

// zipOf returns a zip archive holding empty files of the names.
func zipOf(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(strings.Repeat("x", 10)))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
