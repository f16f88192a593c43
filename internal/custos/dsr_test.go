package custos

import (
	"strings"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{name: "mid-month", from: "2025-03-15T10:30:00Z", n: 1, want: "2025-04-15T10:30:00Z"},
		{name: "31 January to February", from: "2025-01-31T09:00:00Z", n: 1, want: "2025-02-28T09:00:00Z"},
		{name: "31 January to February of a leap year", from: "2024-01-31T09:00:00Z", n: 1, want: "2024-02-29T09:00:00Z"},
		{name: "30 January to February of a leap year", from: "2024-01-30T09:00:00Z", n: 1, want: "2024-02-29T09:00:00Z"},
		{name: "29 January to February", from: "2025-01-29T00:00:00Z", n: 1, want: "2025-02-28T00:00:00Z"},
		{name: "28 February to March keeps the 28th", from: "2025-02-28T12:00:00Z", n: 1, want: "2025-03-28T12:00:00Z"},
		{name: "29 February to March", from: "2024-02-29T12:00:00Z", n: 1, want: "2024-03-29T12:00:00Z"},
		{name: "31 March to April", from: "2025-03-31T23:59:59Z", n: 1, want: "2025-04-30T23:59:59Z"},
		{name: "31 May to June", from: "2025-05-31T08:00:00Z", n: 1, want: "2025-06-30T08:00:00Z"},
		{name: "31 August to September", from: "2025-08-31T08:00:00Z", n: 1, want: "2025-09-30T08:00:00Z"},
		{name: "31 October to November", from: "2025-10-31T08:00:00Z", n: 1, want: "2025-11-30T08:00:00Z"},
		{name: "December into the next year", from: "2025-12-31T17:00:00Z", n: 1, want: "2026-01-31T17:00:00Z"},
		{name: "December 15 into the next year", from: "2025-12-15T17:00:00Z", n: 2, want: "2026-02-15T17:00:00Z"},
		{name: "31 December plus two to February", from: "2025-12-31T17:00:00Z", n: 2, want: "2026-02-28T17:00:00Z"},
		{name: "31 December plus two to a leap February", from: "2023-12-31T17:00:00Z", n: 2, want: "2024-02-29T17:00:00Z"},
		{name: "29 February plus twelve", from: "2024-02-29T00:00:00Z", n: 12, want: "2025-02-28T00:00:00Z"},
		{name: "29 February plus forty-eight", from: "2024-02-29T00:00:00Z", n: 48, want: "2028-02-29T00:00:00Z"},
		{name: "zero months", from: "2025-01-31T09:00:00Z", n: 0, want: "2025-01-31T09:00:00Z"},
		{name: "nanoseconds kept", from: "2025-01-31T09:00:00.123456789Z", n: 1, want: "2025-02-28T09:00:00.123456789Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AddMonths(day(tt.from), tt.n)
			if want := day(tt.want); !got.Equal(want) {
				t.Errorf("AddMonths(%s, %d) = %s, want %s", tt.from, tt.n, got.Format(time.RFC3339Nano), tt.want)
			}
		})
	}
}

func TestDSRDueAt(t *testing.T) {
	tests := []struct {
		name     string
		received string
		ext      int
		want     string
	}{
		{name: "one month", received: "2025-03-10T08:00:00Z", want: "2025-04-10T08:00:00Z"},
		{name: "31 January, not 3 March", received: "2025-01-31T08:00:00Z", want: "2025-02-28T08:00:00Z"},
		{name: "31 January in a leap year", received: "2024-01-31T08:00:00Z", want: "2024-02-29T08:00:00Z"},
		// Extensions count from the first due date: two further months
		// after 29 February is 29 April, not 30 April.
		{name: "extended by one from the first due date", received: "2024-01-31T08:00:00Z", ext: 1, want: "2024-03-29T08:00:00Z"},
		{name: "extended by two from the first due date", received: "2024-01-31T08:00:00Z", ext: 2, want: "2024-04-29T08:00:00Z"},
		{name: "extended across the year", received: "2025-11-30T08:00:00Z", ext: 2, want: "2026-02-28T08:00:00Z"},
		{name: "31 July extended", received: "2025-07-31T08:00:00Z", ext: 1, want: "2025-09-30T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DSRDueAt(day(tt.received), tt.ext)
			if want := day(tt.want); !got.Equal(want) {
				t.Errorf("DSRDueAt(%s, %d) = %s, want %s", tt.received, tt.ext, got.Format(time.RFC3339), tt.want)
			}
		})
	}
}

// FuzzAddMonths checks AddMonths against what it promises for any time
// and count: the target month is exactly n months on, the day is the same
// or the target month's last, and the clock is kept.
func FuzzAddMonths(f *testing.F) {
	f.Add(int64(1706691600), 1) // 2024-01-31
	f.Add(int64(1735603200), 2) // 2024-12-31
	f.Add(int64(0), -13)
	f.Fuzz(func(t *testing.T, sec int64, n int) {
		if sec < -1e11 || sec > 1e11 || n < -1200 || n > 1200 {
			return
		}
		from := time.Unix(sec, 0).UTC()
		got := AddMonths(from, n)
		months := (got.Year()-from.Year())*12 + int(got.Month()) - int(from.Month())
		if months != n {
			t.Fatalf("AddMonths(%s, %d) = %s: %d months on", from, n, got, months)
		}
		last := time.Date(got.Year(), got.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if got.Day() != min(from.Day(), last) {
			t.Fatalf("AddMonths(%s, %d) = %s: day %d", from, n, got, got.Day())
		}
		h1, m1, s1 := from.Clock()
		h2, m2, s2 := got.Clock()
		if h1 != h2 || m1 != m2 || s1 != s2 {
			t.Fatalf("AddMonths(%s, %d) = %s: clock changed", from, n, got)
		}
	})
}

func TestDSRRequestValidate(t *testing.T) {
	id := int64(7)
	zero := int64(0)
	tests := []struct {
		name  string
		r     DSRRequest
		field string // "" when valid
		email string // the normalised address, when valid
	}{
		{name: "by e-mail", r: DSRRequest{Type: DSRAccess, Email: " Ada@Example.COM "}, email: "ada@example.com"},
		{name: "by contact", r: DSRRequest{Type: DSRErasure, ContactID: &id}},
		{name: "by both", r: DSRRequest{Type: DSRObjection, ContactID: &id, Email: "ada@example.com"}, email: "ada@example.com"},
		{name: "every type", r: DSRRequest{Type: DSRRectification, Email: "a@example.com"}, email: "a@example.com"},
		{name: "no type", r: DSRRequest{Email: "a@example.com"}, field: "type"},
		{name: "unknown type", r: DSRRequest{Type: "deletion", Email: "a@example.com"}, field: "type"},
		{name: "no subject", r: DSRRequest{Type: DSRAccess}, field: "email"},
		{name: "bad e-mail", r: DSRRequest{Type: DSRAccess, Email: "not an address"}, field: "email"},
		{name: "zero contact", r: DSRRequest{Type: DSRAccess, ContactID: &zero}, field: "contact_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				if tt.r.Email != tt.email {
					t.Errorf("email %q, want %q", tt.r.Email, tt.email)
				}
				return
			}
			if e := AsError(err); e == nil || e.Code != EINVALID || e.Field != tt.field {
				t.Errorf("Validate = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestDSRExtensionValidate(t *testing.T) {
	tests := []struct {
		name  string
		e     DSRExtension
		field string
	}{
		{name: "one month", e: DSRExtension{Months: 1, Reason: "many systems to search"}},
		{name: "two months", e: DSRExtension{Months: 2, Reason: "complex"}},
		{name: "zero months", e: DSRExtension{Months: 0, Reason: "x"}, field: "months"},
		{name: "three months", e: DSRExtension{Months: 3, Reason: "x"}, field: "months"},
		{name: "negative", e: DSRExtension{Months: -1, Reason: "x"}, field: "months"},
		{name: "no reason", e: DSRExtension{Months: 1}, field: "reason"},
		{name: "blank reason", e: DSRExtension{Months: 1, Reason: "  \t"}, field: "reason"},
		{name: "long reason", e: DSRExtension{Months: 1, Reason: strings.Repeat("x", MaxDSRReason+1)}, field: "reason"},
		{name: "NUL in reason", e: DSRExtension{Months: 1, Reason: "a\x00b"}, field: "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			if tt.field == "" && err != nil {
				t.Fatalf("Validate = %v", err)
			} else if e := AsError(err); tt.field != "" && (e == nil || e.Field != tt.field) {
				t.Errorf("Validate = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestDSRFilterValidate(t *testing.T) {
	bad := DSRStatus("open")
	badType := DSRType("x")
	neg, big, ok := -1, MaxDueWithin+1, 30
	zero := int64(0)
	tests := []struct {
		name  string
		f     DSRFilter
		field string
	}{
		{name: "empty", f: DSRFilter{}},
		{name: "due within", f: DSRFilter{DueWithin: &ok, Overdue: true}},
		{name: "bad status", f: DSRFilter{Status: &bad}, field: "status"},
		{name: "bad type", f: DSRFilter{Type: &badType}, field: "type"},
		{name: "negative days", f: DSRFilter{DueWithin: &neg}, field: "due_within"},
		{name: "too many days", f: DSRFilter{DueWithin: &big}, field: "due_within"},
		{name: "zero contact", f: DSRFilter{ContactID: &zero}, field: "contact_id"},
		{name: "limit", f: DSRFilter{Limit: MaxLimit + 1}, field: "limit"},
		{name: "cursor", f: DSRFilter{After: -1}, field: "cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if tt.field == "" && (err != nil || tt.f.Limit != DefaultLimit) {
				t.Fatalf("Validate = %v, limit %d", err, tt.f.Limit)
			} else if e := AsError(err); tt.field != "" && (e == nil || e.Field != tt.field) {
				t.Errorf("Validate = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestDSRExecutable(t *testing.T) {
	id := int64(3)
	tests := []struct {
		name string
		r    DSRRequest
		ok   bool
	}{
		{name: "verified access", r: DSRRequest{Type: DSRAccess, Status: DSRVerified, ContactID: &id}, ok: true},
		{name: "verified portability", r: DSRRequest{Type: DSRPortability, Status: DSRVerified, ContactID: &id}, ok: true},
		{name: "verified erasure", r: DSRRequest{Type: DSRErasure, Status: DSRVerified, ContactID: &id}, ok: true},
		{name: "unverified erasure", r: DSRRequest{Type: DSRErasure, Status: DSRVerificationSent, ContactID: &id}},
		{name: "received access", r: DSRRequest{Type: DSRAccess, Status: DSRReceived, ContactID: &id}},
		{name: "verified without contact", r: DSRRequest{Type: DSRAccess, Status: DSRVerified}},
		{name: "completed", r: DSRRequest{Type: DSRAccess, Status: DSRCompleted, ContactID: &id}},
		{name: "rejected", r: DSRRequest{Type: DSRErasure, Status: DSRRejected, ContactID: &id}},
		{name: "rectification", r: DSRRequest{Type: DSRRectification, Status: DSRVerified, ContactID: &id}},
		// Restriction and objection only protect the person: no check of
		// identity is needed to act on them.
		{name: "restriction", r: DSRRequest{Type: DSRRestriction, Status: DSRReceived, ContactID: &id}, ok: true},
		{name: "objection", r: DSRRequest{Type: DSRObjection, Status: DSRVerificationSent, ContactID: &id}, ok: true},
		{name: "restriction without contact", r: DSRRequest{Type: DSRRestriction, Status: DSRReceived}},
		{name: "completed objection", r: DSRRequest{Type: DSRObjection, Status: DSRCompleted, ContactID: &id}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Executable()
			if tt.ok != (err == nil) {
				t.Fatalf("Executable = %v, want ok %v", err, tt.ok)
			}
			if err != nil && ErrorCode(err) != ECONFLICT {
				t.Errorf("code %s, want conflict", ErrorCode(err))
			}
		})
	}
}

func TestDSRStatus(t *testing.T) {
	for _, s := range []DSRStatus{DSRReceived, DSRVerificationSent, DSRVerified} {
		if !s.Open() || !s.Valid() {
			t.Errorf("%s: open %v valid %v", s, s.Open(), s.Valid())
		}
	}
	for _, s := range []DSRStatus{DSRCompleted, DSRRejected} {
		if s.Open() || !s.Valid() {
			t.Errorf("%s: open %v valid %v", s, s.Open(), s.Valid())
		}
	}
	if DSRStatus("open").Valid() {
		t.Error("an unknown status is valid")
	}
}
