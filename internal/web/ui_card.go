package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custos/custos/internal/custos"
)

// The contact card: one page, /contacts/{id}, with a tab per part of the
// contact (?tab=…), and the form of a new contact, /contacts/new. Like
// every page they change nothing: their forms call the contact routes of
// the API. What the API masks for a reader without personal_data:read the
// card masks the same way, and the parts the API shows only with that
// permission (history, activities, attachments, restrictions) it leaves
// out.

// The card's tabs, in order.
var cardTabs = []string{"fields", "consents", "activities", "attachments", "lists", "timeline", "privacy"}

// cardQuery lists the query parameters of the card: its tab, and the
// cursor of the older page of the tab's list.
var cardQuery = []string{"tab", "cursor"}

// cardPageSize is how many entries a tab's list shows at once.
const cardPageSize = 50

// maxNoticeOptions is how many notices the consent form offers with
// their wording.
const maxNoticeOptions = 200

// cardView is what the contact card shows.
type cardView struct {
	Contact  *custos.Contact
	Tab      string
	Tabs     []string
	Personal bool // whether the reader may see personal data
	Fields   []*cardField
	Next     string // the cursor of the tab's older page; "" on the last

	History []*custos.Change

	Purposes []*custos.Purpose
	States   []*custos.ConsentState
	Events   []*custos.ConsentEvent // newest first
	Notices  []*custos.Notice       // offered to a grant, with their wording
	wording  map[string]string      // notice hash → wording

	Activities   []*custos.Activity
	Attachments  []*custos.Attachment
	Lists        []cardList
	Timeline     []*custos.TimelineEntry
	Restrictions []*custos.Restriction

	// AfterForget is the page to go to once the contact is forgotten.
	AfterForget string
}

// cardList is a list of the workspace and whether the contact is on it.
type cardList struct {
	*custos.List
	Member bool
}

// cardField is one field of the contact with its definition.
type cardField struct {
	Def    *custos.FieldDef
	Value  any
	Set    bool // the contact has a value
	Masked bool // the reader may not see it
	page   *page
}

// T returns the message key in the page's language, for the template of a
// field's input, whose dot is the field.
func (f *cardField) T(key string) string { return f.page.T(key) }

// Text returns the value as an input shows it.
func (f *cardField) Text() string { return formatValue(f.Value) }

// Is reports whether the value is the choice, or holds it for a
// multi-choice field.
func (f *cardField) Is(choice string) bool {
	switch v := f.Value.(type) {
	case string:
		return v == choice
	case []string:
		return slices.Contains(v, choice)
	case []any:
		return slices.Contains(v, any(choice))
	}
	return false
}

// IsBool reports whether the value is the boolean b.
func (f *cardField) IsBool(b bool) bool {
	v, ok := f.Value.(bool)
	return ok && v == b
}

// formatValue writes a field value as text: a number without a needless
// exponent, choices separated by commas; nil is "".
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []string:
		return strings.Join(v, ", ")
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatValue(e)
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

// Value writes a value of the history or of a field as text.
func (v *cardView) Value(x any) string { return formatValue(x) }

// PurposeName returns the name of a purpose by its id.
func (v *cardView) PurposeName(id int64) string {
	for _, p := range v.Purposes {
		if p.ID == id {
			return p.Name
		}
	}
	return "#" + strconv.FormatInt(id, 10)
}

// State returns the contact's state for the purpose, nil when the ledger
// holds nothing of it.
func (v *cardView) State(purposeID int64) *custos.ConsentState {
	for _, st := range v.States {
		if st.PurposeID == purposeID {
			return st
		}
	}
	return nil
}

// Wording returns the text of a notice by its hash, "" when unknown.
func (v *cardView) Wording(hash string) string { return v.wording[hash] }

// Short returns the start of a notice's wording, for a choice of notices.
func (v *cardView) Short(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}

// contactPage renders the contact card.
func (s *server) contactPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadCard(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v.AfterForget = "/"
	if s.hasPage("/contacts") {
		v.AfterForget = "/contacts"
	}
	p := s.newPage(r, "ui.card.title", v)
	p.Title = p.T("ui.card.title", v.Contact.ID)
	s.writeCard(w, r, p, v.Fields)
}

// writeCard renders the contact card or the form of a new contact, giving
// its fields the page for their words.
func (s *server) writeCard(w http.ResponseWriter, r *http.Request, p *page, fields []*cardField) {
	for _, f := range fields {
		f.page = p
	}
	s.writeUI(w, r, http.StatusOK, "contact", p)
}

// hasPage reports whether the menu holds the page href, which it does
// when the route table has it.
func (s *server) hasPage(href string) bool {
	return slices.ContainsFunc(s.nav, func(n navItem) bool { return n.Href == href })
}

// loadCard reads the contact and what its tab shows.
func (s *server) loadCard(r *http.Request) (*cardView, error) {
	ctx := r.Context()
	id, err := pathID(r, "id", "contact")
	if err != nil {
		return nil, err
	}
	q, err := readQuery(r, cardQuery)
	if err != nil {
		return nil, err
	}
	v := &cardView{Tab: "fields", Tabs: cardTabs}
	if t := q.str("tab"); t != nil {
		if !slices.Contains(cardTabs, *t) {
			return nil, custos.Invalid("tab", "must be one of %s", strings.Join(cardTabs, ", "))
		}
		v.Tab = *t
	}
	a, _ := custos.ActorFrom(ctx)
	v.Personal = a.Can(custos.PermPersonalDataRead)
	if v.Contact, err = s.findContact(ctx, id); err != nil {
		return nil, err
	}
	if err := s.redactContacts(ctx, v.Contact); err != nil {
		return nil, err
	}
	cursor := q.values.Get("cursor")
	switch v.Tab {
	case "fields":
		err = s.cardFields(r, v, cursor)
	case "consents":
		err = s.cardConsents(r, v)
	case "activities":
		if v.Personal {
			var before, next int64
			if before, err = decodeCursor(cursor); err == nil {
				v.Activities, next, err = s.svc.ContactActivities(ctx, id, before, cardPageSize)
				v.Next = cursorText(encodeCursor(next))
			}
		}
	case "attachments":
		if v.Personal {
			v.Attachments, err = s.svc.ContactAttachments(ctx, id)
		}
	case "lists":
		err = s.cardLists(r, v)
	case "timeline":
		err = s.cardTimeline(r, v, cursor)
	case "privacy":
		if v.Personal {
			v.Restrictions, err = s.svc.ContactRestrictions(ctx, id)
		}
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// cursorText is an encoded cursor as a page links it: "" for none.
func cursorText(c *string) string {
	if c == nil {
		return ""
	}
	return *c
}

// cardFields fills the fields tab: every field with the contact's value,
// and a page of its change history for a reader of personal data.
func (s *server) cardFields(r *http.Request, v *cardView, cursor string) error {
	ctx := r.Context()
	var err error
	if v.Fields, err = s.fieldsOf(r, v.Contact, v.Personal); err != nil {
		return err
	}
	if !v.Personal {
		return nil
	}
	before, err := decodeCursor(cursor)
	if err != nil {
		return err
	}
	var next int64
	v.History, next, err = s.svc.ContactHistory(ctx, v.Contact.ID, before, cardPageSize)
	v.Next = cursorText(encodeCursor(next))
	return err
}

// fieldsOf pairs the workspace's fields, but the e-mail address, with the
// values of c (nil: a new contact). A field the reader may not see is
// marked masked.
func (s *server) fieldsOf(r *http.Request, c *custos.Contact, personal bool) ([]*cardField, error) {
	defs, err := s.svc.FindFields(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]*cardField, 0, len(defs))
	for _, d := range defs {
		if d.Key == custos.FieldEmail {
			continue
		}
		f := &cardField{Def: d, Masked: !personal && d.Classification != custos.ClassNone}
		if c != nil {
			f.Value, f.Set = c.Fields[d.Key]
		}
		out = append(out, f)
	}
	return out, nil
}

// cardConsents fills the consents tab: the purposes, the contact's state
// per purpose, its ledger newest first with the wording of each notice,
// and the notices a grant may cite.
func (s *server) cardConsents(r *http.Request, v *cardView) error {
	ctx := r.Context()
	var err error
	if v.Purposes, err = s.svc.FindPurposes(ctx); err != nil {
		return err
	}
	if v.States, v.Events, err = s.svc.ContactConsents(ctx, v.Contact.ID); err != nil {
		return err
	}
	redactEvents(ctx, v.Events...)
	slices.Reverse(v.Events)
	v.wording = map[string]string{}
	need := func(hash string) error {
		if _, ok := v.wording[hash]; hash == "" || ok {
			return nil
		}
		n, err := s.svc.FindNotice(ctx, hash)
		if err != nil {
			if custos.ErrorCode(err) == custos.ENOTFOUND {
				return nil
			}
			return err
		}
		v.wording[hash] = n.Body
		return nil
	}
	for _, e := range v.Events {
		hashes := []string{e.NoticeHash}
		if e.Proof != nil {
			hashes = append(hashes, e.Proof.InformationClause, e.Proof.ConfirmationMail)
		}
		for _, h := range hashes {
			if err := need(h); err != nil {
				return err
			}
		}
	}
	a, _ := custos.ActorFrom(ctx)
	if !a.Can(custos.PermConsentsWrite) {
		return nil
	}
	notices, err := s.svc.FindNotices(ctx)
	if err != nil {
		return err
	}
	if len(notices) > maxNoticeOptions {
		notices = notices[:maxNoticeOptions]
	}
	for _, n := range notices {
		if err := need(n.Hash); err != nil {
			return err
		}
		n.Body = v.wording[n.Hash]
	}
	v.Notices = notices
	return nil
}

// cardLists fills the lists tab: every list, and whether the contact is
// on it.
func (s *server) cardLists(r *http.Request, v *cardView) error {
	ctx := r.Context()
	lists, err := s.svc.FindLists(ctx)
	if err != nil {
		return err
	}
	member, err := s.svc.ContactLists(ctx, v.Contact.ID)
	if err != nil {
		return err
	}
	for _, l := range lists {
		v.Lists = append(v.Lists, cardList{List: l, Member: slices.Contains(member, l.ID)})
	}
	return nil
}

// cardTimeline fills the timeline tab with a page of it, redacted as the
// API's timeline is for a reader who may not see personal data.
func (s *server) cardTimeline(r *http.Request, v *cardView, cursor string) error {
	after, err := decodeTimelineCursor(cursor)
	if err != nil {
		return err
	}
	entries, next, err := s.svc.ContactTimeline(r.Context(), v.Contact.ID, after, cardPageSize)
	if err != nil {
		return err
	}
	if !v.Personal {
		for _, e := range entries {
			e.Redact()
		}
	}
	v.Timeline, v.Next = entries, cursorText(encodeTimelineCursor(next))
	return nil
}

// newContactPage renders the form of a new contact, which the API
// creates; the browser then goes to its card.
func (s *server) newContactPage(w http.ResponseWriter, r *http.Request) {
	fields, err := s.fieldsOf(r, nil, true)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.writeCard(w, r, s.newPage(r, "ui.card.new", &cardView{Fields: fields}), fields)
}
