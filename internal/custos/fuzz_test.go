package custos

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", " Alice@Example.COM\n", "Alice <alice@example.com>", "alice@localhost",
		`"a b"@example.com`, "a@[192.0.2.1]", "a@b.c.", "a..b@example.com", "@example.com",
		"ǅ@example.com", "İ@example.com", "a@b.com\u0085", "\u00a0a@b.com",
		"a@" + strings.Repeat("b", 248) + ".com", "a@" + strings.Repeat("B", 249) + ".com",
		"a(comment)@example.com", "a@example.com (Alice)", "=?utf-8?q?a?= <a@example.com>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizeEmail("email", s)
		if err != nil {
			wantInvalid(t, err, "email")
			return
		}
		if !utf8.ValidString(s) {
			t.Errorf("accepted invalid UTF-8 %q as %q", s, out)
		}
		if out != strings.ToLower(out) {
			t.Errorf("%q: output %q is not lower-case", s, out)
		}
		if out != strings.TrimSpace(out) || out == "" {
			t.Errorf("%q: output %q is not trimmed", s, out)
		}
		if len(out) > MaxEmail {
			t.Errorf("%q: output is %d bytes long", s, len(out))
		}
		at := strings.LastIndexByte(out, '@')
		if at < 1 || !strings.Contains(out[at:], ".") {
			t.Errorf("%q: output %q has no local part or no dot in its domain", s, out)
		}
		again, err := NormalizeEmail("email", out)
		if err != nil || again != out {
			t.Errorf("%q: normalising %q again gave %q, %v", s, out, again, err)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+48 600-100-200", "(022) 123.45/67", "112", "+", "++48", "48+600", "６００１００２００",
		"600\xff100", strings.Repeat("9", 20), strings.Repeat("9", 21), "+0 0 0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := NormalizePhone("phone", s)
		if err != nil {
			wantInvalid(t, err, "phone")
			return
		}
		digits := strings.TrimPrefix(out, "+")
		if len(digits) < 3 || len(digits) > 20 {
			t.Errorf("%q: output %q has %d digits", s, out, len(digits))
		}
		for _, r := range digits {
			if r < '0' || r > '9' {
				t.Errorf("%q: output %q holds %q", s, out, r)
			}
		}
		again, err := NormalizePhone("phone", out)
		if err != nil || again != out {
			t.Errorf("%q: normalising %q again gave %q, %v", s, out, again, err)
		}
	})
}

// FuzzFieldNormalize feeds one JSON value to a field of every type.
func FuzzFieldNormalize(f *testing.F) {
	for _, s := range []string{
		`"Ada"`, `"  Ada  "`, `"a\u0000b"`, `"\ud800"`, `" +48 600-100-200 "`, `1.5`, `-0`, `1e400`, `1e-400`,
		`"2024-02-29"`, `"2026-02-30"`, `"0000-01-01"`, `true`, `null`, `"M"`, `["sql","go","sql"]`, `[]`,
		`[1]`, `{"a":1}`, `"\u2028<>&"`, `"\t\n"`, `"` + strings.Repeat("ż", MaxTextValue) + `"`,
	} {
		f.Add([]byte(s))
	}
	fields := []FieldDef{textField, phoneField, numberField, dateField, boolField, choiceField, multiField}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, fd := range fields {
			v, err := fd.NormalizeValue(raw)
			if err != nil {
				wantInvalid(t, err, "fields."+fd.Key)
				continue
			}
			checkCanonical(t, &fd, raw, v)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s %s: accepted %#v does not encode: %v", fd.Type, raw, v, err)
			}
			again, err := fd.NormalizeValue(b)
			if err != nil {
				t.Fatalf("%s %s: accepted value re-encoded as %s is refused: %v", fd.Type, raw, b, err)
			}
			if !reflect.DeepEqual(again, v) {
				t.Fatalf("%s %s: %#v re-encoded as %s normalises to %#v", fd.Type, raw, v, b, again)
			}
		}
	})
}

// checkCanonical checks an accepted value against what NormalizeValue
// promises for the field's type.
func checkCanonical(t *testing.T, f *FieldDef, raw []byte, v any) {
	t.Helper()
	switch f.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok || s != strings.TrimSpace(s) || !utf8.ValidString(s) || strings.ContainsRune(s, 0) ||
			utf8.RuneCountInString(s) > MaxTextValue {
			t.Fatalf("text %s: accepted as %#v", raw, v)
		}
		if f.Key == FieldPhone {
			if p, err := NormalizePhone("phone", s); err != nil || p != s {
				t.Fatalf("phone %s: accepted as %q, not a normal phone number", raw, s)
			}
		}
	case FieldNumber:
		n, ok := v.(float64)
		if !ok || math.IsInf(n, 0) || math.IsNaN(n) {
			t.Fatalf("number %s: accepted as %#v", raw, v)
		}
	case FieldDate:
		s, ok := v.(string)
		if !ok {
			t.Fatalf("date %s: accepted as %#v", raw, v)
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || d.Format(time.DateOnly) != s {
			t.Fatalf("date %s: accepted as %q, not a canonical date", raw, s)
		}
	case FieldBool:
		if _, ok := v.(bool); !ok {
			t.Fatalf("bool %s: accepted as %#v", raw, v)
		}
	case FieldChoice:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Choices, s) {
			t.Fatalf("choice %s: accepted as %#v", raw, v)
		}
	case FieldMultiChoice:
		l, ok := v.([]string)
		if !ok || l == nil || !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
			t.Fatalf("multi-choice %s: accepted as %#v", raw, v)
		}
		for _, s := range l {
			if !slices.Contains(f.Choices, s) {
				t.Fatalf("multi-choice %s: accepted unknown choice %q", raw, s)
			}
		}
	default:
		t.Fatalf("%s: unknown type %q accepted %#v", raw, f.Type, v)
	}
}
