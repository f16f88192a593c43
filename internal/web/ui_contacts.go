package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// contactsView is what the contacts list shows: the filter form filled
// with the query, the chosen columns, a page of rows, the link to the next
// page, the caller's saved filters and what the bulk actions need.
type contactsView struct {
	Error    *custos.Error     // a refused filter or column, shown with the form
	Values   map[string]string // the query's filter parameters, to fill the form
	Columns  []column
	Choices  []columnChoice
	Rows     []contactRow
	Next     string // the next page's address; "" on the last page
	First    string // the first page's address
	Query    string // the filter as a query string, without cursor and columns
	Cols     string // the chosen columns' keys, comma-separated
	Lists    []*custos.List
	Purposes []*custos.Purpose
	Fields   []*custos.FieldDef // those a filter may name
	Statuses []custos.ContactStatus
	Saved    []savedLink
	Bulk     []hiddenInput // the filter as members of a bulk request's body
	Export   []hiddenInput // the filter as parameters of the export
}

// columnChoice is a column the reader may tick.
type columnChoice struct {
	column
	Chosen bool
}

// contactRow is one contact of the page.
type contactRow struct {
	ID    int64
	Cells []cell
}

// savedLink is a saved filter and the address that applies it.
type savedLink struct {
	*custos.SavedFilter
	Href string
}

// hiddenInput is a value a form sends without showing it; Type is the
// data-type app.js converts it with.
type hiddenInput struct {
	Name, Value, Type string
}

// contactsPage renders the contacts list. Its query is the API's
// (GET /api/v1/contacts), read by the same parser, plus cols; an empty
// parameter, as a form sends an empty box, is left out.
func (s *server) contactsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		values = url.Values{}
	}
	keys := takeColumns(values)
	for k, vs := range values {
		if strings.Join(vs, "") == "" {
			delete(values, k)
		}
	}
	// The page selects contacts by ticking rows, never by a list of ids,
	// and shows pages of the default size.
	delete(values, "contact_ids")
	delete(values, "limit")
	v := contactsView{Values: map[string]string{}, Statuses: []custos.ContactStatus{custos.StatusActive,
		custos.StatusPending, custos.StatusRestricted, custos.StatusAnonymized}}
	for k, vs := range values {
		v.Values[k] = vs[0]
	}
	defs, err := s.svc.FindFields(ctx)
	if err == nil {
		v.Lists, err = s.svc.FindLists(ctx)
	}
	if err == nil {
		v.Purposes, err = s.svc.FindPurposes(ctx)
	}
	var saved []*custos.SavedFilter
	if err == nil {
		saved, err = s.svc.FindSavedFilters(ctx)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	for _, d := range defs {
		if d.Key != custos.FieldEmail && d.Classification != custos.ClassSpecial {
			v.Fields = append(v.Fields, d)
		}
	}
	for _, f := range saved {
		v.Saved = append(v.Saved, savedLink{f, contactsHref(f.Query, strings.Join(f.Columns, ","), nil)})
	}

	status, next := http.StatusOK, int64(0)
	v.Columns, err = chooseColumns(keys, defs, "cols")
	if err != nil {
		v.Columns, _ = chooseColumns(nil, defs, "cols")
	} else {
		next, err = s.contactRows(r, values, &v)
	}
	if err != nil {
		e := custos.AsError(err)
		st, known := statusByCode[custos.ErrorCode(err)]
		if e == nil || !known || st >= 500 {
			s.pageError(w, r, err)
			return
		}
		// The form is shown again with what was refused; no contact is.
		v.Error, status, v.Rows, next = e, st, nil, 0
	}

	chosen := map[string]bool{}
	colKeys := make([]string, len(v.Columns))
	for i, c := range v.Columns {
		chosen[c.Key], colKeys[i] = true, c.Key
	}
	v.Cols = strings.Join(colKeys, ",")
	all, _ := chooseColumns(builtinColumns, defs, "cols")
	for _, d := range v.Fields {
		if c, err := chooseColumns([]string{d.Key}, defs, "cols"); err == nil {
			all = append(all, c[0])
		}
	}
	for _, c := range all {
		v.Choices = append(v.Choices, columnChoice{c, chosen[c.Key]})
	}
	filter := url.Values{}
	for k, vs := range values {
		if k != "cursor" {
			filter[k] = vs
		}
	}
	v.Query = filter.Encode()
	v.Bulk = bulkFilterInputs(filter)
	for _, k := range sortedKeys(filter) {
		v.Export = append(v.Export, hiddenInput{Name: k, Value: filter.Get(k)})
	}
	v.Export = append(v.Export, hiddenInput{Name: "cols", Value: v.Cols})
	v.First = contactsHref(v.Query, v.Cols, nil)
	if next > 0 {
		v.Next = contactsHref(v.Query, v.Cols, encodeCursor(next))
	}
	s.writeUI(w, r, status, "contacts", s.newPage(r, "ui.nav.contacts", v))
}

// contactRows reads the page of contacts the query selects into v, as the
// reader may see them, and returns the cursor of the next page (0: none).
func (s *server) contactRows(r *http.Request, values url.Values, v *contactsView) (int64, error) {
	ctx := r.Context()
	f, err := contactFilterFromQuery(values)
	if err != nil {
		return 0, err
	}
	if err := s.checkFilterAccess(ctx, f, ""); err != nil {
		return 0, err
	}
	cs, next, err := s.svc.FindContacts(ctx, f)
	if err != nil {
		return 0, err
	}
	if err := s.redactContacts(ctx, cs...); err != nil {
		return 0, err
	}
	a, _ := custos.ActorFrom(ctx)
	masked := !a.Can(custos.PermPersonalDataRead)
	v.Rows = make([]contactRow, len(cs))
	for i, c := range cs {
		row := contactRow{ID: c.ID, Cells: make([]cell, len(v.Columns))}
		for j, col := range v.Columns {
			row.Cells[j] = col.value(c, masked)
		}
		v.Rows[i] = row
	}
	return next, nil
}

// contactsHref is the address of the contacts list with the filter query,
// the columns and the cursor (nil: the first page).
func contactsHref(query, cols string, cursor *string) string {
	q := query
	add := func(k, v string) {
		if q != "" {
			q += "&"
		}
		q += k + "=" + url.QueryEscape(v)
	}
	if cols != "" {
		add("cols", cols)
	}
	if cursor != nil {
		add("cursor", *cursor)
	}
	if q == "" {
		return "/contacts"
	}
	return "/contacts?" + q
}

// bulkFilterInputs writes the page's filter as the filter member of a
// bulk request (lists' members, consents): {"all": true} when it is empty.
func bulkFilterInputs(filter url.Values) []hiddenInput {
	if len(filter) == 0 {
		return []hiddenInput{{Name: "filter.all", Value: "true", Type: "json"}}
	}
	var out []hiddenInput
	for _, k := range sortedKeys(filter) {
		in := hiddenInput{Name: "filter." + k, Value: filter.Get(k)}
		if key, ok := strings.CutPrefix(k, fieldParamPrefix); ok {
			in.Name = "filter.fields." + key
		} else if k == "list_id" {
			in.Type = "number"
		}
		out = append(out, in)
	}
	return out
}

// sortedKeys returns the query's parameter names in order.
func sortedKeys(values url.Values) []string {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
