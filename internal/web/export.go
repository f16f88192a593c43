package web

import (
	"archive/zip"
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/xuri/excelize/v2"
)

//go:embed templates/export.html
var templates embed.FS

// ExportFormat reports whether f is a format exports are written in.
func ExportFormat(f string) bool { return f == "json" || f == "csv" || f == "xlsx" || f == "zip" }

// exportTypes are the media types of the export formats.
var exportTypes = map[string]string{"json": "application/json", "csv": "text/csv; charset=utf-8", "zip": "application/zip",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

// Exporter writes access-request exports in the formats the API offers;
// the command line uses it too.
type Exporter struct {
	html *template.Template
}

// NewExporter parses the human-readable summary; a broken template stops
// the program at start.
func NewExporter() *Exporter {
	return &Exporter{html: template.Must(template.ParseFS(templates, "templates/export.html"))}
}

// Write writes x in the format (see ExportFormat).
func (e *Exporter) Write(w io.Writer, x *custos.Export, format string) error {
	switch format {
	case "json":
		return writeExportJSON(w, x)
	case "csv":
		return writeExportCSV(w, x)
	case "xlsx":
		return writeExportXLSX(w, x)
	case "zip":
		return e.writeZip(w, x)
	}
	return custos.Invalid("format", "must be json, csv, xlsx or zip")
}

// exportView is what the summary template reads.
type exportView struct {
	*custos.Export
	notices map[string]string
}

// Wording returns the text of a notice by its hash.
func (v exportView) Wording(hash string) string { return v.notices[hash] }

// exportQuery lists the query parameters of the export route.
var exportQuery = []string{"format"}

// exportContact answers an access or portability request: everything held
// about the contact, as JSON, CSV, or a zip of both with a summary a person
// can read.
func (s *server) exportContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "contact")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := readQuery(r, exportQuery)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := "json"
	if f := q.str("format"); f != nil {
		format = *f
	}
	if !ExportFormat(format) {
		s.writeError(w, r, custos.Invalid("format", "must be json, csv, xlsx or zip"))
		return
	}
	// The export is everything held about the person, unmasked: a role of
	// the workspace's own may grant export without personal_data:read
	// (for the contacts list's CSV, which masks).
	if a, _ := custos.ActorFrom(r.Context()); !a.Can(custos.PermPersonalDataRead) {
		s.writeError(w, r, custos.Errorf(custos.EFORBIDDEN, "A contact's export holds their personal data: it needs the personal_data:read permission too."))
		return
	}
	x, err := s.svc.ExportContact(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body bytes.Buffer
	if err := s.exporter.Write(&body, x, format); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", exportTypes[format])
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contact-%d.%s"`, id, format))
	w.WriteHeader(http.StatusOK)
	w.Write(body.Bytes())
}

func writeExportJSON(w io.Writer, x *custos.Export) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// csvCell makes a value safe for a spreadsheet: a cell that starts like a
// formula is prefixed with an apostrophe, so it is read as text.
func csvCell(v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s = v
	case time.Time:
		s = v.Format(time.RFC3339)
	default:
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportRows flattens the export into section, item, name and value rows,
// each value made safe for a spreadsheet, the header first.
func exportRows(x *custos.Export) [][]string {
	rows := [][]string{{"section", "item", "name", "value"}}
	row := func(section, item, name string, value any) {
		rows = append(rows, []string{section, csvCell(item), csvCell(name), csvCell(value)})
	}
	c := x.Contact
	row("contact", "", "email", c.Email)
	row("contact", "", "status", string(c.Status))
	row("contact", "", "source", string(c.Source.Kind))
	row("contact", "", "source_detail", c.Source.Detail)
	row("contact", "", "created_at", c.CreatedAt)
	row("contact", "", "tags", strings.Join(c.Tags, ", "))
	if x.ObjectedAt != nil {
		row("contact", "", "objected_to_marketing_at", *x.ObjectedAt)
	}
	for _, f := range x.Fields {
		if f.Key != custos.FieldEmail {
			row("field", f.Key, f.Label, c.Fields[f.Key])
		}
	}
	for _, l := range x.Lists {
		row("list", fmt.Sprint(l.ID), "name", l.Name)
	}
	for _, v := range x.ListsLeft {
		item := fmt.Sprint(v.ListID)
		row("list_left", item, "name", v.ListName)
		row("list_left", item, "left_at", v.LeftAt)
		row("list_left", item, "left_by", v.LeftBy)
	}
	for _, p := range x.Purposes {
		item := fmt.Sprintf("%d v%d", p.ID, p.Version)
		row("purpose", item, "name", p.Name)
		row("purpose", item, "legal_basis", string(p.LegalBasis))
		row("purpose", item, "retention", fmt.Sprintf("%d days from %s", p.RetentionDays, p.RetentionFrom))
		row("purpose", item, "direct_marketing", p.Marketing)
	}
	for _, e := range x.Ledger {
		item := fmt.Sprint(e.ID)
		row("consent", item, "purpose", fmt.Sprintf("%d v%d", e.PurposeID, e.PurposeVersion))
		row("consent", item, "action", string(e.Action))
		row("consent", item, "method", string(e.Method))
		row("consent", item, "effective_from", e.EffectiveFrom)
		row("consent", item, "ip", e.IP)
		row("consent", item, "user_agent", e.UserAgent)
		row("consent", item, "notice", e.NoticeHash)
		if p := e.Proof; p != nil {
			// The evidence of a double opt-in.
			row("consent", item, "form", fmt.Sprintf("%d v%d", p.FormID, p.FormVersion))
			row("consent", item, "information_clause", p.InformationClause)
			row("consent", item, "confirmation_mail", p.ConfirmationMail)
			row("consent", item, "submitted_at", p.SubmittedAt)
			row("consent", item, "submitted_ip", p.SubmittedIP)
			row("consent", item, "submitted_user_agent", p.SubmittedUserAgent)
			row("consent", item, "confirmed_at", p.ConfirmedAt)
			row("consent", item, "confirmed_ip", p.ConfirmedIP)
			row("consent", item, "confirmed_user_agent", p.ConfirmedUserAgent)
		}
	}
	for _, n := range x.Notices {
		row("notice", n.Hash, "wording", n.Body)
	}
	for _, q := range x.Requests {
		item := fmt.Sprint(q.ID)
		row("request", item, "type", string(q.Type))
		row("request", item, "status", string(q.Status))
		row("request", item, "received_at", q.ReceivedAt)
		row("request", item, "due_at", q.DueAt)
		for _, n := range q.Notes {
			row("request", item, "note", n.Text)
		}
	}
	for _, h := range x.History {
		item := fmt.Sprint(h.ID)
		row("change", item, "at", h.At)
		row("change", item, "by", h.Actor)
		row("change", item, "field", h.Field)
		row("change", item, "old", h.Old)
		row("change", item, "new", h.New)
	}
	for _, a := range x.Activities {
		item := fmt.Sprint(a.ID)
		row("activity", item, "type", a.Type)
		row("activity", item, "created_at", a.CreatedAt)
		row("activity", item, "created_by", a.CreatedBy)
		row("activity", item, "title", a.Title)
		row("activity", item, "body", a.Body)
		if a.DueAt != nil {
			row("activity", item, "due_at", *a.DueAt)
		}
		if a.Type == custos.ActivityTask {
			row("activity", item, "done", a.Done)
		}
		if a.Type == custos.ActivityDeal {
			row("activity", item, "value", strings.TrimSpace(a.Value+" "+a.Currency))
			row("activity", item, "stage", a.Stage)
		}
	}
	for _, a := range x.Attachments {
		item := fmt.Sprint(a.ID)
		row("attachment", item, "name", a.Name)
		row("attachment", item, "content_type", a.ContentType)
		row("attachment", item, "size", a.Size)
		row("attachment", item, "created_at", a.CreatedAt)
		row("attachment", item, "file_in_zip", attachmentEntry(a))
	}
	for _, e := range x.Tracking {
		item := fmt.Sprint(e.ID)
		row("tracking", item, "type", e.Type)
		row("tracking", item, "at", e.At)
		row("tracking", item, "message_ref", e.MessageRef)
		for _, k := range slices.Sorted(maps.Keys(e.Properties)) {
			row("tracking", item, "property "+k, e.Properties[k])
		}
	}
	for _, m := range x.Messages {
		item := fmt.Sprint(m.ID)
		row("message", item, "status", m.Status)
		row("message", item, "queued_at", m.QueuedAt)
		if m.DoneAt != nil {
			row("message", item, "done_at", *m.DoneAt)
		}
		row("message", item, "to", m.To)
		row("message", item, "subject", m.Subject)
		row("message", item, "text", m.Text)
	}
	for _, r := range x.Restrictions {
		item := fmt.Sprint(r.ID)
		row("restriction", item, "restricted_at", r.RestrictedAt)
		row("restriction", item, "restricted_by", r.RestrictedBy)
		row("restriction", item, "reason", r.Reason)
		if r.LiftedAt != nil {
			row("restriction", item, "lifted_at", *r.LiftedAt)
			row("restriction", item, "lifted_by", r.LiftedBy)
			row("restriction", item, "lift_reason", r.LiftReason)
		}
	}
	return rows
}

// writeExportCSV writes the export's rows as CSV (RFC 4180 quoting).
func writeExportCSV(w io.Writer, x *custos.Export) error {
	cw := csv.NewWriter(w)
	cw.WriteAll(exportRows(x))
	return cw.Error()
}

// writeExportXLSX writes the export's rows as one sheet, every cell a
// string, never a formula.
func writeExportXLSX(w io.Writer, x *custos.Export) error {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	for i, r := range exportRows(x) {
		for j, v := range r {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(sheet, cell, v); err != nil {
				return err
			}
		}
	}
	return f.Write(w)
}

// attachmentEntry is where the zip export puts an attachment's file.
func attachmentEntry(a *custos.Attachment) string {
	return fmt.Sprintf("attachments/%d-%s", a.ID, a.Name)
}

// writeZip writes export.json, export.csv, export.xlsx, summary.html and
// the attached files under attachments/.
func (e *Exporter) writeZip(w io.Writer, x *custos.Export) error {
	z := zip.NewWriter(w)
	view := exportView{Export: x, notices: map[string]string{}}
	for _, n := range x.Notices {
		view.notices[n.Hash] = n.Body
	}
	for _, part := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"export.json", func(w io.Writer) error { return writeExportJSON(w, x) }},
		{"export.csv", func(w io.Writer) error { return writeExportCSV(w, x) }},
		{"export.xlsx", func(w io.Writer) error { return writeExportXLSX(w, x) }},
		{"summary.html", func(w io.Writer) error { return e.html.Execute(w, view) }},
	} {
		f, err := z.Create(part.name)
		if err != nil {
			return err
		}
		if err := part.write(f); err != nil {
			return fmt.Errorf("web: export %s: %w", part.name, err)
		}
	}
	for _, a := range x.Attachments {
		if x.Content == nil {
			return fmt.Errorf("web: export: the attachments' content cannot be read")
		}
		content, err := x.Content(a.ID)
		if err != nil {
			return fmt.Errorf("web: export attachment %d: %w", a.ID, err)
		}
		f, err := z.Create(attachmentEntry(a))
		if err != nil {
			return err
		}
		if _, err := f.Write(content); err != nil {
			return err
		}
	}
	return z.Close()
}
