package web

import (
	"net/http"
	"slices"

	"github.com/custos/custos/internal/custos"
)

// The configuration pages: fields, purposes, lists and list groups, notice
// versions. Like every page they change nothing: their forms call the API.

// The choices the configuration pages offer, in the order shown.
var (
	fieldTypes = []custos.FieldType{custos.FieldText, custos.FieldNumber, custos.FieldDate, custos.FieldBool,
		custos.FieldChoice, custos.FieldMultiChoice}
	classifications = []custos.Classification{custos.ClassNone, custos.ClassPersonal, custos.ClassIdentifier, custos.ClassSpecial}
	legalBases      = []custos.LegalBasis{custos.BasisConsent, custos.BasisContract, custos.BasisLegalObligation,
		custos.BasisVitalInterests, custos.BasisPublicTask, custos.BasisLegitimateInterests}
	retentionFroms = []custos.RetentionFrom{custos.RetentionFromConsent, custos.RetentionFromLastActivity, custos.RetentionFromContractEnd}
	noticeKinds    = []custos.NoticeKind{custos.NoticeCheckbox, custos.NoticeInformationClause, custos.NoticeEmail, custos.NoticeOther}
)

// fieldsView is what the fields page shows.
type fieldsView struct {
	Fields          []*custos.FieldDef
	Purposes        map[int64]*custos.Purpose
	PurposeList     []*custos.Purpose
	Types           []custos.FieldType
	Classifications []custos.Classification
}

// fieldsPage lists the contact fields, with forms to define, change and
// delete them for whoever may manage them.
func (s *server) fieldsPage(w http.ResponseWriter, r *http.Request) {
	fields, err := s.svc.FindFields(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	purposes, err := s.svc.FindPurposes(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := fieldsView{Fields: fields, Purposes: map[int64]*custos.Purpose{}, PurposeList: purposes,
		Types: fieldTypes, Classifications: classifications}
	for _, p := range purposes {
		v.Purposes[p.ID] = p
	}
	s.renderPage(w, r, "fields", "ui.nav.fields", v)
}

// purposesView is what the purposes page shows.
type purposesView struct {
	Purposes       []*custos.Purpose
	Bases          []custos.LegalBasis
	RetentionFroms []custos.RetentionFrom
}

// purposesPage lists the purposes, with a form to create one.
func (s *server) purposesPage(w http.ResponseWriter, r *http.Request) {
	purposes, err := s.svc.FindPurposes(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "purposes", "ui.nav.purposes", purposesView{Purposes: purposes, Bases: legalBases, RetentionFroms: retentionFroms})
}

// purposeView is what a purpose's page shows.
type purposeView struct {
	Purpose        *custos.Purpose
	Versions       []*custos.Purpose
	Bases          []custos.LegalBasis
	RetentionFroms []custos.RetentionFrom
}

// purposePage shows a purpose, a form to change it (which makes a new
// version) and its versions.
func (s *server) purposePage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "purpose")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	p, err := s.svc.FindPurpose(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	versions, err := s.svc.PurposeVersions(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "purpose", "ui.config.purpose.title",
		purposeView{Purpose: p, Versions: versions, Bases: legalBases, RetentionFroms: retentionFroms})
}

// listsView is what the lists page shows.
type listsView struct {
	Lists  []*custos.List
	Groups []*custos.ListGroup
	Names  map[int64]string // group names by id
}

// Group returns the id of the list's group, 0 for none.
func (listsView) Group(l *custos.List) int64 {
	if l.GroupID == nil {
		return 0
	}
	return *l.GroupID
}

// listsPage lists the lists with their member counts and the list groups,
// with forms to create, rename, regroup and delete them.
func (s *server) listsPage(w http.ResponseWriter, r *http.Request) {
	lists, err := s.svc.FindLists(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	groups, err := s.svc.FindListGroups(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := listsView{Lists: lists, Groups: groups, Names: map[int64]string{}}
	for _, g := range groups {
		v.Names[g.ID] = g.Name
	}
	s.renderPage(w, r, "lists", "ui.nav.lists", v)
}

// noticesView is what the notices page shows.
type noticesView struct {
	Notices []*custos.Notice
	Kinds   []custos.NoticeKind
}

// noticesPage lists the notice versions, with a form to store a wording.
func (s *server) noticesPage(w http.ResponseWriter, r *http.Request) {
	notices, err := s.svc.FindNotices(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "notices", "ui.nav.notices", noticesView{Notices: notices, Kinds: noticeKinds})
}

// noticePage shows one notice version with its exact wording.
func (s *server) noticePage(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.FindNotice(r.Context(), r.PathValue("hash"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "notice", "ui.config.notice.title", n)
}

// importsView is what the imports page shows: a page of imports and what
// the upload form offers.
type importsView struct {
	Imports  []*custos.Import
	Next     *string // the cursor of the next page
	Lists    []*custos.List
	Purposes []*custos.Purpose
	Fields   []*custos.FieldDef
	Bases    []custos.LegalBasis
	Profiles []custos.ProfilePolicy
}

// The profile policies of an import, in the order offered.
var profilePolicies = []custos.ProfilePolicy{custos.ProfileFillEmpty, custos.ProfileOverwrite, custos.ProfileSkipExisting}

// importsPage lists the imports, newest first, with the upload form for
// whoever may import.
func (s *server) importsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	before, limit, err := readPage(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := importsView{Bases: legalBases, Profiles: profilePolicies}
	var next int64
	if v.Imports, next, err = s.svc.FindImports(ctx, before, limit); err != nil {
		s.pageError(w, r, err)
		return
	}
	v.Next = encodeCursor(next)
	if a, _ := custos.ActorFrom(ctx); a.Can(custos.PermImport) {
		if v.Lists, err = s.svc.FindLists(ctx); err == nil {
			if v.Purposes, err = s.svc.FindPurposes(ctx); err == nil {
				v.Fields, err = s.svc.FindFields(ctx)
			}
		}
		if err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	s.renderPage(w, r, "imports", "ui.nav.imports", v)
}

// importView is what an import's page shows: its progress and a page of
// its rejected rows.
type importView struct {
	Import   *custos.Import
	Rejected []*custos.ImportRejection
	Next     *string
	Running  bool
}

// importPage shows an import's progress, which the page follows while it
// runs, and its rejected rows with their line, column and reason.
func (s *server) importPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "import")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	after, limit, err := readPage(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	imp, err := s.svc.FindImport(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rows, next, err := s.svc.ImportRejections(r.Context(), id, after, limit)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "import", "ui.config.import.title",
		importView{Import: imp, Rejected: rows, Next: encodeCursor(next), Running: imp.Status == custos.ImportRunning})
}

// formsView is what the forms page shows.
type formsView struct {
	Forms     []*custos.Form
	Purposes  []*custos.Purpose // those a form may ask consent for
	Languages []string
}

// consentPurposes returns the purposes that rest on consent: the only ones
// a form may ask for.
func (s *server) consentPurposes(r *http.Request) ([]*custos.Purpose, error) {
	all, err := s.svc.FindPurposes(r.Context())
	if err != nil {
		return nil, err
	}
	var out []*custos.Purpose
	for _, p := range all {
		if p.LegalBasis == custos.BasisConsent {
			out = append(out, p)
		}
	}
	return out, nil
}

// formsPage lists the sign-up forms with a form to start a new one.
func (s *server) formsPage(w http.ResponseWriter, r *http.Request) {
	forms, err := s.svc.FindForms(r.Context())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	purposes, err := s.consentPurposes(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "forms", "ui.nav.forms", formsView{Forms: forms, Purposes: purposes, Languages: custos.FormLanguages})
}

// formView is what a form's page shows: the builder, the preview, the
// embed snippet and the versions.
type formView struct {
	Form      *custos.Form
	Fields    []formFieldRow
	Purposes  []formPurposeRow
	Lists     []formListRow
	Languages []string
	Embed     string
	Versions  []*custos.Form
}

// formFieldRow is a contact field in the builder: whether the form shows
// it and requires it.
type formFieldRow struct {
	Key, Label      string
	Shown, Required bool
}

// formPurposeRow is a consent purpose in the builder: whether the form asks
// for it, whether it is the main one and the checkbox's wording.
type formPurposeRow struct {
	ID          int64
	Name        string
	Asked, Main bool
	Notice      string
}

// formListRow is a list in the builder: whether a sign-up joins it.
type formListRow struct {
	ID     int64
	Name   string
	Joined bool
}

// formPage shows a form's builder, preview, embed snippet and versions.
func (s *server) formPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := pathID(r, "id", "form")
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f, err := s.svc.FindForm(ctx, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v := formView{Form: f, Languages: custos.FormLanguages}
	fields, err := s.svc.FindFields(ctx)
	if err == nil {
		for _, d := range fields {
			if d.Key == custos.FieldEmail {
				continue // always shown, always required
			}
			row := formFieldRow{Key: d.Key, Label: d.Label}
			for _, ff := range f.Fields {
				if ff.Field == d.Key {
					row.Shown, row.Required = true, ff.Required
				}
			}
			v.Fields = append(v.Fields, row)
		}
	}
	var purposes []*custos.Purpose
	if err == nil {
		purposes, err = s.consentPurposes(r)
	}
	for _, p := range purposes {
		row := formPurposeRow{ID: p.ID, Name: p.Name}
		for _, fp := range f.Purposes {
			if fp.PurposeID == p.ID {
				row.Asked, row.Main, row.Notice = true, fp.Main, fp.Notice
			}
		}
		v.Purposes = append(v.Purposes, row)
	}
	var lists []*custos.List
	if err == nil {
		lists, err = s.svc.FindLists(ctx)
	}
	for _, l := range lists {
		v.Lists = append(v.Lists, formListRow{ID: l.ID, Name: l.Name, Joined: slices.Contains(f.ListIDs, l.ID)})
	}
	if err == nil {
		v.Versions, err = s.svc.FormVersions(ctx, id)
	}
	if err == nil && f.ArchivedAt == nil {
		v.Embed, err = s.embedSnippet(ctx, id)
	}
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.renderPage(w, r, "form", "ui.config.form.title", v)
}
