package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// The columns of the contacts list and of its CSV export: the built-in
// ones below, and any field by its key (company, contract_signed, …).
var builtinColumns = []string{"email", "name", "status", "tags", "created", "updated"}

// defaultColumns are shown when the query chooses none.
var defaultColumns = []string{"email", "name", "company", "status", "tags", "created"}

// column is one chosen column.
type column struct {
	Key      string
	Builtin  bool             // its heading is the catalog's ui.contacts.col.<key>
	Field    *custos.FieldDef // a field's column: its label heads it
	personal bool             // masked for a reader without personal_data:read
}

// cell is one value of the list: Masked when the reader may not see it,
// Status when it is a contact status (shown translated).
type cell struct {
	Value  string
	Masked bool
	Status bool
}

// takeColumns removes the cols parameter from a query and returns the
// column keys it names (comma-separated, or repeated, as a form of
// checkboxes sends them), nil when it was not given.
func takeColumns(values url.Values) []string {
	vs, ok := values["cols"]
	if !ok {
		return nil
	}
	delete(values, "cols")
	keys := []string{}
	for _, v := range vs {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" && !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// chooseColumns returns the columns keys name (the defaults when nil, or
// when it is empty), or EINVALID naming param for a key that is neither
// built in nor a field.
func chooseColumns(keys []string, defs []*custos.FieldDef, param string) ([]column, error) {
	if len(keys) == 0 {
		keys = defaultColumns
	}
	byKey := make(map[string]*custos.FieldDef, len(defs))
	for _, d := range defs {
		byKey[d.Key] = d
	}
	cols := make([]column, 0, len(keys))
	for _, k := range keys {
		switch {
		case slices.Contains(builtinColumns, k):
			cols = append(cols, column{Key: k, Builtin: true, personal: k == "email" || k == "name"})
		case byKey[k] != nil && k != custos.FieldEmail:
			d := byKey[k]
			cols = append(cols, column{Key: k, Field: d, personal: d.Classification != custos.ClassNone})
		default:
			return nil, custos.Invalid(param, "%q is not a column: choose from %s or a field's key", k, strings.Join(builtinColumns, ", "))
		}
	}
	return cols, nil
}

// value returns the contact's value in the column, as text.
func (col column) value(c *custos.Contact, masked bool) cell {
	if masked && col.personal {
		return cell{Masked: true}
	}
	switch col.Key {
	case "email":
		return cell{Value: c.Email}
	case "name":
		return cell{Value: strings.TrimSpace(fieldText(c.Fields[custos.FieldFirstName]) + " " + fieldText(c.Fields[custos.FieldLastName]))}
	case "status":
		return cell{Value: string(c.Status), Status: true}
	case "tags":
		return cell{Value: strings.Join(c.Tags, ", ")}
	case "created":
		return cell{Value: c.CreatedAt.UTC().Format("2006-01-02 15:04")}
	case "updated":
		return cell{Value: c.UpdatedAt.UTC().Format("2006-01-02 15:04")}
	}
	return cell{Value: fieldText(c.Fields[col.Key])}
}

// fieldText writes a field's value as text: a multi-choice one as its
// choices separated by commas.
func fieldText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fieldText(p)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(v, ", ")
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// maxExportRows is the most contacts one CSV export holds: the answer is
// built in memory, to be answered only once its read is audited.
const maxExportRows = 100_000

// exportContactsCSV answers a CSV file of the chosen columns of every
// contact the query selects (the contacts list's filter, with contact_ids
// for a selection), headed by the column keys. Cells that begin like a
// formula are neutralised; values the caller may not read are empty.
// Contacts whose processing is restricted (Art. 18) are left out: a file
// like this leaves Custos, and such a contact's data may only be stored.
// X-Custos-Restricted-Omitted counts them.
func (s *server) exportContactsCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, r, custos.Errorf(custos.EINVALID, "The query string is malformed."))
		return
	}
	keys := takeColumns(values)
	f, err := contactFilterFromQuery(values)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.checkFilterAccess(ctx, f, ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	defs, err := s.svc.FindFields(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cols, err := chooseColumns(keys, defs, "cols")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, _ := custos.ActorFrom(ctx)
	masked := !a.Can(custos.PermPersonalDataRead)
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	row := make([]string, len(cols))
	for i, col := range cols {
		row[i] = col.Key
	}
	cw.Write(row)
	f.Limit = custos.MaxLimit
	omitted := 0
	for n := 0; ; {
		cs, next, err := s.svc.FindContacts(ctx, f)
		if err == nil {
			err = s.redactContacts(ctx, cs...)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if n += len(cs); n > maxExportRows {
			s.writeError(w, r, custos.Errorf(custos.ETOOMANY, "the filter matches more than %d contacts; narrow it", maxExportRows))
			return
		}
		for _, c := range cs {
			if c.Status == custos.StatusRestricted {
				omitted++
				continue
			}
			for i, col := range cols {
				row[i] = csvCell(col.value(c, masked).Value)
			}
			cw.Write(row)
		}
		if next == 0 {
			break
		}
		f.After = next
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
	w.Header().Set("X-Custos-Restricted-Omitted", strconv.Itoa(omitted))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
