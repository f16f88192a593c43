package custos

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// wantInvalid fails the test unless err is an EINVALID *Error naming field.
// wantValid checks a Validate call of a table test: EINVALID naming field
// when field is set; otherwise no error, and then check on the result.
func wantValid[T any](t *testing.T, v *T, err error, field string, check func(*testing.T, *T)) {
	t.Helper()
	if field != "" {
		wantInvalid(t, err, field)
		return
	}
	if err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if check != nil {
		check(t, v)
	}
}

func wantInvalid(tb testing.TB, err error, field string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want EINVALID on %q", field)
	}
	e := AsError(err)
	if e == nil {
		tb.Fatalf("got %T %v, want a *custos.Error", err, err)
	}
	if e.Code != EINVALID || e.Field != field {
		tb.Fatalf("got code %q field %q (%v), want %q on %q", e.Code, e.Field, err, EINVALID, field)
	}
	if e.Message == "" {
		tb.Fatalf("EINVALID on %q has no message", field)
	}
}

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "bare", err: Invalid("email", "bad"), want: EINVALID},
		{name: "wrapped", err: fmt.Errorf("store: create contact: %w", Errorf(ECONFLICT, "taken")), want: ECONFLICT},
		{name: "wrapped twice", err: fmt.Errorf("http: %w", fmt.Errorf("store: %w", NotFound("contact"))), want: ENOTFOUND},
		{name: "joined", err: errors.Join(errors.New("other"), Errorf(EFORBIDDEN, "no")), want: EFORBIDDEN},
		{name: "plain", err: errors.New("sqlite: database is locked"), want: EINTERNAL},
		{name: "plain wrapped", err: fmt.Errorf("store: %w", errors.New("boom")), want: EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	const secret = "pq: password authentication failed for user custos at 10.0.0.7"
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "domain", err: Invalid("email", "is not a valid e-mail address"), want: "is not a valid e-mail address"},
		{name: "wrapped domain", err: fmt.Errorf("store: %w", NotFound("contact")), want: "contact not found"},
		{name: "plain error hidden", err: errors.New(secret), want: "Internal error."},
		{name: "wrapped plain error hidden", err: fmt.Errorf("store: open: %w", errors.New(secret)), want: "Internal error."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorMessage(tt.err)
			if got != tt.want {
				t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if strings.Contains(got, "password") || strings.Contains(got, "10.0.0.7") {
				t.Errorf("ErrorMessage leaks internals: %q", got)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "with field", err: Invalid("email", "is %s", "required"), want: "custos: invalid: email: is required"},
		{name: "without field", err: Errorf(ECONFLICT, "e-mail %q is taken", "a@b.cz"), want: `custos: conflict: e-mail "a@b.cz" is taken`},
		{name: "not found", err: NotFound("purpose"), want: "custos: not_found: purpose not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAsError(t *testing.T) {
	inner := Errorf(ECONSENT, "needs consent")
	if got := AsError(fmt.Errorf("store: %w", inner)); got != inner {
		t.Errorf("AsError(wrapped) = %v, want the wrapped *Error", got)
	}
	if got := AsError(errors.New("plain")); got != nil {
		t.Errorf("AsError(plain) = %v, want nil", got)
	}
	if got := AsError(nil); got != nil {
		t.Errorf("AsError(nil) = %v, want nil", got)
	}
}

// TestTextRefusesNUL covers the texts that reach a text column: PostgreSQL
// cannot store a NUL, and SQLite would store what PostgreSQL refuses.
func TestTextRefusesNUL(t *testing.T) {
	_, tagErr := NormalizeTags("tags", []string{"a\x00"})
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"tag", tagErr, "tags"},
		{"list name", (&List{Name: "a\x00b"}).Validate(), "name"},
		{"group description", (&ListGroup{Name: "g", Description: "\x00"}).Validate(), "description"},
		{"source detail", (&Source{Kind: SourceAPI, Detail: "x\x00"}).Validate(), "source.detail"},
		{"notice body", (&Notice{Body: "x\x00"}).Validate(), "body"},
		{"choice", (&FieldDef{Key: "k", Type: FieldChoice, Classification: ClassNone, Choices: []string{"a\x00"}}).Validate(), "choices"},
		{"tag filter", (&ContactFilter{Tag: ptr("a\x00")}).Validate(), "tag"},
		{"field filter", (&ContactFilter{Fields: map[string]string{"city": "\x00"}}).Validate(), "field.city"},
		{"purpose channel", (&Purpose{Name: "p", LegalBasis: BasisConsent, Channel: "e\x00"}).Validate(), "channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantInvalid(t, tt.err, tt.field) })
	}
}
