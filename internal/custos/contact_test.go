package custos

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	// 254 characters is the longest address allowed (RFC 5321 path limit).
	at254 := "a@" + strings.Repeat("b", 248) + ".com"
	tests := []struct {
		name  string
		field string
		in    string
		want  string // "" when the input must be refused
	}{
		{name: "valid", field: "email", in: "alice@example.com", want: "alice@example.com"},
		{name: "plus and dots", field: "email", in: "a.b+tag@mail.example.co.uk", want: "a.b+tag@mail.example.co.uk"},
		{name: "upper case to lower", field: "email", in: "Alice.Smith@Example.COM", want: "alice.smith@example.com"},
		{name: "spaces trimmed", field: "email", in: " \t bob@example.org \r\n", want: "bob@example.org"},
		{name: "254 characters", field: "email", in: at254, want: at254},
		{name: "255 characters", field: "email", in: at254 + "m"},
		{name: "255 characters upper case", field: "email", in: strings.ToUpper(at254 + "m")},
		{name: "display name", field: "email", in: "Alice <alice@example.com>"},
		{name: "quoted display name", field: "email", in: `"Alice Smith" <alice@example.com>`},
		{name: "angle brackets", field: "email", in: "<alice@example.com>"},
		{name: "comment", field: "email", in: "alice@example.com (Alice)"},
		{name: "two addresses", field: "email", in: "a@example.com, b@example.com"},
		{name: "no dot in domain", field: "email", in: "alice@localhost"},
		{name: "dot only in local part", field: "email", in: "alice.smith@localhost"},
		{name: "trailing dot in domain", field: "email", in: "alice@example."},
		{name: "leading dot in domain", field: "email", in: "alice@.example.com"},
		{name: "no at", field: "email", in: "alice.example.com"},
		{name: "two ats", field: "email", in: "alice@home@example.com"},
		{name: "no local part", field: "email", in: "@example.com"},
		{name: "no domain", field: "email", in: "alice@"},
		{name: "space inside", field: "email", in: "alice smith@example.com"},
		{name: "empty", field: "email", in: ""},
		{name: "only spaces", field: "email", in: "   "},
		{name: "field named by caller", field: "contacts[3].email", in: "not an address"},
		// Latin-1 bytes from a mis-encoded import are not an address; they
		// must be refused, not stored as U+FFFD.
		{name: "invalid UTF-8", field: "email", in: "j\xf3zef@example.pl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.field, tt.in)
			if tt.want == "" {
				wantInvalid(t, err, tt.field)
				if got != "" {
					t.Errorf("refused input returned %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeEmail(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeTags(t *testing.T) {
	tests := []struct {
		name  string
		in    []string
		want  []string
		field string // set when the input must be refused
	}{
		{name: "nil", in: nil, want: []string{}},
		{name: "trimmed sorted deduplicated", in: []string{" vip ", "b2b", "vip", "b2b"}, want: []string{"b2b", "vip"}},
		{name: "case kept", in: []string{"VIP", "vip"}, want: []string{"VIP", "vip"}},
		{name: "64 characters", in: []string{strings.Repeat("ž", 64)}, want: []string{strings.Repeat("ž", 64)}},
		{name: "65 characters", in: []string{strings.Repeat("ž", 65)}, field: "tags"},
		{name: "empty tag", in: []string{"a", ""}, field: "tags"},
		{name: "blank tag", in: []string{"  "}, field: "tags"},
		{name: "invalid UTF-8", in: []string{"\xff"}, field: "tags"},
		{name: "101 tags", in: make([]string, 101), field: "tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeTags("tags", tt.in)
			if tt.field != "" {
				wantInvalid(t, err, tt.field)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NormalizeTags(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func hundredTags() []string {
	tags := make([]string, 100)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	return tags
}

func TestContactValidate(t *testing.T) {
	tests := []struct {
		name  string
		c     Contact
		field string // set when the contact must be refused
		check func(*testing.T, *Contact)
	}{
		{
			name: "defaults",
			c:    Contact{Email: " Ada@Example.com "},
			check: func(t *testing.T, c *Contact) {
				if c.Email != "ada@example.com" || c.Status != StatusActive || c.Source.Kind != SourceAPI {
					t.Errorf("got email %q status %q source %q", c.Email, c.Status, c.Source.Kind)
				}
				if c.Fields == nil || len(c.Fields) != 0 {
					t.Errorf("Fields = %#v, want an empty map", c.Fields)
				}
				if c.Tags == nil || len(c.Tags) != 0 {
					t.Errorf("Tags = %#v, want an empty slice", c.Tags)
				}
			},
		},
		{
			name: "pending from a form with tags",
			c: Contact{Email: "a@example.com", Status: StatusPending, Source: Source{Kind: SourceForm, Detail: "newsletter"},
				Tags: []string{"b", " a", "b"}, Fields: map[string]any{"first_name": "Ada"}},
			check: func(t *testing.T, c *Contact) {
				if c.Status != StatusPending || c.Source.Kind != SourceForm {
					t.Errorf("status %q source %q changed", c.Status, c.Source.Kind)
				}
				if !reflect.DeepEqual(c.Tags, []string{"a", "b"}) {
					t.Errorf("Tags = %q", c.Tags)
				}
				if c.Fields["first_name"] != "Ada" {
					t.Errorf("Fields = %v", c.Fields)
				}
			},
		},
		{name: "100 tags", c: Contact{Email: "a@example.com", Tags: hundredTags()}},
		{name: "500-character source detail", c: Contact{Email: "a@example.com", Source: Source{Kind: SourceImport, Detail: strings.Repeat("é", 500)}}},
		{name: "missing email", c: Contact{}, field: "email"},
		{name: "bad email", c: Contact{Email: "Ada <ada@example.com>"}, field: "email"},
		{name: "restricted", c: Contact{Email: "a@example.com", Status: StatusRestricted}, field: "status"},
		{name: "anonymized", c: Contact{Email: "a@example.com", Status: StatusAnonymized}, field: "status"},
		{name: "unknown status", c: Contact{Email: "a@example.com", Status: "deleted"}, field: "status"},
		{name: "unknown source", c: Contact{Email: "a@example.com", Source: Source{Kind: "scraped"}}, field: "source.kind"},
		{name: "501-character source detail", c: Contact{Email: "a@example.com", Source: Source{Kind: SourceManual, Detail: strings.Repeat("é", 501)}}, field: "source.detail"},
		{name: "101 tags", c: Contact{Email: "a@example.com", Tags: append(hundredTags(), "one more")}, field: "tags"},
		{name: "empty tag", c: Contact{Email: "a@example.com", Tags: []string{""}}, field: "tags"},
		{name: "email among the fields", c: Contact{Email: "a@example.com", Fields: map[string]any{"email": "b@example.com"}}, field: "fields.email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			wantValid(t, &c, c.Validate(), tt.field, tt.check)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestContactUpdateValidate(t *testing.T) {
	tests := []struct {
		name  string
		u     ContactUpdate
		field string
		check func(*testing.T, *ContactUpdate)
	}{
		{name: "empty", u: ContactUpdate{}},
		{
			name: "email normalised",
			u:    ContactUpdate{Email: ptr("  Ada@EXAMPLE.com")},
			check: func(t *testing.T, u *ContactUpdate) {
				if *u.Email != "ada@example.com" {
					t.Errorf("Email = %q", *u.Email)
				}
			},
		},
		{
			name: "tags normalised",
			u:    ContactUpdate{Tags: &[]string{"z", " a ", "z"}},
			check: func(t *testing.T, u *ContactUpdate) {
				if !reflect.DeepEqual(*u.Tags, []string{"a", "z"}) {
					t.Errorf("Tags = %q", *u.Tags)
				}
			},
		},
		{
			name: "tags cleared",
			u:    ContactUpdate{Tags: &[]string{}},
			check: func(t *testing.T, u *ContactUpdate) {
				if u.Tags == nil || len(*u.Tags) != 0 {
					t.Errorf("Tags = %v, want a pointer to an empty slice", u.Tags)
				}
			},
		},
		{name: "clear a field", u: ContactUpdate{Fields: map[string]any{"phone": nil}}},
		{name: "bad email", u: ContactUpdate{Email: ptr("ada@localhost")}, field: "email"},
		{name: "empty email", u: ContactUpdate{Email: ptr("")}, field: "email"},
		{name: "bad tag", u: ContactUpdate{Tags: &[]string{strings.Repeat("t", 65)}}, field: "tags"},
		{name: "email among the fields", u: ContactUpdate{Fields: map[string]any{"email": nil}}, field: "fields.email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.u
			wantValid(t, &u, u.Validate(), tt.field, tt.check)
		})
	}
}

func TestContactFilterValidate(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		f     ContactFilter
		field string
		check func(*testing.T, *ContactFilter)
	}{
		{
			name: "zero value gets the default limit",
			f:    ContactFilter{},
			check: func(t *testing.T, f *ContactFilter) {
				if f.Limit != DefaultLimit {
					t.Errorf("Limit = %d, want %d", f.Limit, DefaultLimit)
				}
			},
		},
		{name: "limit 1", f: ContactFilter{Limit: 1}},
		{name: "limit at the maximum", f: ContactFilter{Limit: MaxLimit}},
		{name: "every condition", f: ContactFilter{ListID: ptr(int64(3)), Tag: ptr("vip"), Status: ptr(StatusRestricted),
			Fields: map[string]string{"company": "Acme"}, CreatedAfter: &now, UpdatedBefore: &now, After: 99}},
		{
			name: "email normalised",
			f:    ContactFilter{Email: ptr(" ADA@example.com ")},
			check: func(t *testing.T, f *ContactFilter) {
				if *f.Email != "ada@example.com" {
					t.Errorf("Email = %q", *f.Email)
				}
			},
		},
		{
			name: "search trimmed and lower-cased",
			f:    ContactFilter{Search: "  Nowak "},
			check: func(t *testing.T, f *ContactFilter) {
				if f.Search != "nowak" {
					t.Errorf("Search = %q", f.Search)
				}
			},
		},
		{name: "two-letter search", f: ContactFilter{Search: "ab"}},
		{name: "blank search is no search", f: ContactFilter{Search: "   "}},
		{name: "limit above the maximum", f: ContactFilter{Limit: MaxLimit + 1}, field: "limit"},
		{name: "negative limit", f: ContactFilter{Limit: -1}, field: "limit"},
		{name: "unknown status", f: ContactFilter{Status: ptr(ContactStatus("deleted"))}, field: "status"},
		{name: "bad email", f: ContactFilter{Email: ptr("nobody")}, field: "email"},
		{name: "one-letter search", f: ContactFilter{Search: " a "}, field: "q"},
		{name: "one two-byte letter", f: ContactFilter{Search: "ż"}, field: "q"},
		{name: "search over 200 bytes", f: ContactFilter{Search: strings.Repeat("x", 201)}, field: "q"},
		{name: "negative cursor", f: ContactFilter{After: -1}, field: "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			wantValid(t, &f, f.Validate(), tt.field, tt.check)
		})
	}
}

func TestListValidate(t *testing.T) {
	l := List{Name: "  Newsletter  "}
	if err := l.Validate(); err != nil || l.Name != "Newsletter" {
		t.Fatalf("Validate() = %v, name %q", err, l.Name)
	}
	wantInvalid(t, (&List{Name: " "}).Validate(), "name")
	wantInvalid(t, (&ListGroup{Name: strings.Repeat("n", 201)}).Validate(), "name")
	wantInvalid(t, (&List{Name: "x", Description: strings.Repeat("d", 5001)}).Validate(), "description")

	g := int64(4)
	l = List{Name: "a", GroupID: &g}
	if err := (ListUpdate{GroupID: ptr(int64(0))}).Apply(&l); err != nil || l.GroupID != nil {
		t.Errorf("group 0 did not ungroup: %v, %v", err, l.GroupID)
	}
	wantInvalid(t, ListUpdate{Name: ptr("")}.Apply(&l), "name")
}
