package custos

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" when the input must be refused
	}{
		{name: "international with separators", in: "+48 600-100-200", want: "+48600100200"},
		{name: "already normal", in: "+48600100200", want: "+48600100200"},
		{name: "national with brackets dots and slash", in: "(022) 123.45/67", want: "0221234567"},
		{name: "three digits", in: "112", want: "112"},
		{name: "twenty digits", in: "+" + strings.Repeat("1", 20), want: "+" + strings.Repeat("1", 20)},
		{name: "twenty-one digits", in: strings.Repeat("1", 21)},
		{name: "two digits", in: "12"},
		{name: "plus and two digits", in: "+12"},
		{name: "plus only", in: "+"},
		{name: "separators only", in: " - ( ) "},
		{name: "empty", in: ""},
		{name: "plus in the middle", in: "48+600100200"},
		{name: "two pluses", in: "++48600100200"},
		{name: "letters", in: "+48 600 CALL ME"},
		{name: "extension", in: "600100200 ext. 12"},
		{name: "full-width digits", in: "６００１００２００"},
		{name: "arabic-indic digits", in: "٦٠٠١٠٠٢٠٠"},
		{name: "invalid UTF-8", in: "600\xff100"},
		{name: "NUL", in: "600\x00100200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone("fields.phone", tt.in)
			if tt.want == "" {
				wantInvalid(t, err, "fields.phone")
				return
			}
			if err != nil {
				t.Fatalf("NormalizePhone(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFieldDefValidate(t *testing.T) {
	choices := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "c" + strings.Repeat("x", i%150) + string(rune('a'+i/150))
		}
		return out
	}
	tests := []struct {
		name  string
		f     FieldDef
		field string // set when the definition must be refused
		check func(*testing.T, *FieldDef)
	}{
		{
			name: "text with defaults",
			f:    FieldDef{Key: "nickname", Type: FieldText, Classification: ClassPersonal},
			check: func(t *testing.T, f *FieldDef) {
				if f.Label != "nickname" {
					t.Errorf("Label = %q, want the key", f.Label)
				}
				if f.PurposeIDs == nil || len(f.PurposeIDs) != 0 {
					t.Errorf("PurposeIDs = %#v, want empty", f.PurposeIDs)
				}
			},
		},
		{name: "number", f: FieldDef{Key: "score", Type: FieldNumber, Classification: ClassNone}},
		{name: "date", f: FieldDef{Key: "birthday", Type: FieldDate, Classification: ClassPersonal}},
		{name: "bool", f: FieldDef{Key: "vip", Type: FieldBool, Classification: ClassNone}},
		{name: "choice", f: FieldDef{Key: "size", Type: FieldChoice, Classification: ClassNone, Choices: []string{"S", "M", "L"}}},
		{name: "multi-choice", f: FieldDef{Key: "topics", Type: FieldMultiChoice, Classification: ClassPersonal, Choices: []string{"go", "sql"}}},
		{name: "500 choices", f: FieldDef{Key: "c", Type: FieldChoice, Classification: ClassNone, Choices: choices(500)}},
		{name: "200-character choice", f: FieldDef{Key: "c", Type: FieldChoice, Classification: ClassNone, Choices: []string{strings.Repeat("ł", 200)}}},
		{name: "63-character key", f: FieldDef{Key: "k" + strings.Repeat("_", 62), Type: FieldText, Classification: ClassNone}},
		{name: "200-character label", f: FieldDef{Key: "k", Label: strings.Repeat("ł", 200), Type: FieldText, Classification: ClassNone}},
		{
			name: "special with purposes sorted and deduplicated",
			f:    FieldDef{Key: "health", Type: FieldText, Classification: ClassSpecial, PurposeIDs: []int64{7, 2, 7, 2}},
			check: func(t *testing.T, f *FieldDef) {
				if !reflect.DeepEqual(f.PurposeIDs, []int64{2, 7}) {
					t.Errorf("PurposeIDs = %v, want [2 7]", f.PurposeIDs)
				}
			},
		},
		{name: "empty key", f: FieldDef{Key: "", Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "upper-case key", f: FieldDef{Key: "Name", Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "key starts with a digit", f: FieldDef{Key: "1st", Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "key with a dash", f: FieldDef{Key: "first-name", Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "key with a dot", f: FieldDef{Key: "a.b", Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "64-character key", f: FieldDef{Key: "k" + strings.Repeat("_", 63), Type: FieldText, Classification: ClassNone}, field: "key"},
		{name: "unknown type", f: FieldDef{Key: "k", Type: "json", Classification: ClassNone}, field: "type"},
		{name: "no type", f: FieldDef{Key: "k", Classification: ClassNone}, field: "type"},
		{name: "text with choices", f: FieldDef{Key: "k", Type: FieldText, Classification: ClassNone, Choices: []string{"a"}}, field: "choices"},
		{name: "bool with choices", f: FieldDef{Key: "k", Type: FieldBool, Classification: ClassNone, Choices: []string{"yes"}}, field: "choices"},
		{name: "choice without choices", f: FieldDef{Key: "k", Type: FieldChoice, Classification: ClassNone}, field: "choices"},
		{name: "multi-choice without choices", f: FieldDef{Key: "k", Type: FieldMultiChoice, Classification: ClassNone, Choices: []string{}}, field: "choices"},
		{name: "501 choices", f: FieldDef{Key: "k", Type: FieldChoice, Classification: ClassNone, Choices: choices(501)}, field: "choices"},
		{name: "empty choice", f: FieldDef{Key: "k", Type: FieldChoice, Classification: ClassNone, Choices: []string{"a", ""}}, field: "choices"},
		{name: "201-character choice", f: FieldDef{Key: "k", Type: FieldChoice, Classification: ClassNone, Choices: []string{strings.Repeat("ł", 201)}}, field: "choices"},
		{name: "duplicate choice", f: FieldDef{Key: "k", Type: FieldMultiChoice, Classification: ClassNone, Choices: []string{"a", "b", "a"}}, field: "choices"},
		{name: "unknown classification", f: FieldDef{Key: "k", Type: FieldText, Classification: "secret"}, field: "classification"},
		{name: "no classification", f: FieldDef{Key: "k", Type: FieldText}, field: "classification"},
		{name: "special without purposes", f: FieldDef{Key: "health", Type: FieldText, Classification: ClassSpecial}, field: "purpose_ids"},
		{name: "201-character label", f: FieldDef{Key: "k", Label: strings.Repeat("ł", 201), Type: FieldText, Classification: ClassNone}, field: "label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			wantValid(t, &f, f.Validate(), tt.field, tt.check)
		})
	}
}

func TestFieldUpdateApply(t *testing.T) {
	choice := func() FieldDef {
		return FieldDef{Key: "size", Type: FieldChoice, Classification: ClassSpecial, Choices: []string{"S"}, PurposeIDs: []int64{1}}
	}
	tests := []struct {
		name  string
		f     FieldDef
		u     FieldUpdate
		field string
	}{
		{name: "new choices", f: choice(), u: FieldUpdate{Choices: &[]string{"S", "M"}}},
		{name: "new label", f: choice(), u: FieldUpdate{Label: ptr("Size")}},
		{name: "choices on a text field", f: FieldDef{Key: "k", Type: FieldText, Classification: ClassNone}, u: FieldUpdate{Choices: &[]string{"a"}}, field: "choices"},
		{name: "no choices left", f: choice(), u: FieldUpdate{Choices: &[]string{}}, field: "choices"},
		{name: "duplicate choices", f: choice(), u: FieldUpdate{Choices: &[]string{"S", "S"}}, field: "choices"},
		{name: "special without purposes", f: choice(), u: FieldUpdate{PurposeIDs: &[]int64{}}, field: "purpose_ids"},
		{name: "label too long", f: choice(), u: FieldUpdate{Label: ptr(strings.Repeat("l", 201))}, field: "label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			err := tt.u.Apply(&f)
			if tt.field != "" {
				wantInvalid(t, err, tt.field)
				return
			}
			if err != nil {
				t.Fatalf("Apply() = %v", err)
			}
		})
	}
}

// The definitions the value tests and the fuzz target use, one per type,
// plus the built-in phone field, whose text is a phone number.
var (
	textField   = FieldDef{Key: "nickname", Type: FieldText, Classification: ClassPersonal}
	phoneField  = FieldDef{Key: FieldPhone, Type: FieldText, Classification: ClassIdentifier}
	numberField = FieldDef{Key: "score", Type: FieldNumber, Classification: ClassNone}
	dateField   = FieldDef{Key: "birthday", Type: FieldDate, Classification: ClassPersonal}
	boolField   = FieldDef{Key: "vip", Type: FieldBool, Classification: ClassNone}
	choiceField = FieldDef{Key: "size", Type: FieldChoice, Classification: ClassNone, Choices: []string{"S", "M", "L", "Extra Large"}}
	multiField  = FieldDef{Key: "topics", Type: FieldMultiChoice, Classification: ClassPersonal, Choices: []string{"go", "sql", "gdpr"}}
)

func TestFieldNormalizeValue(t *testing.T) {
	tests := []struct {
		name    string
		f       FieldDef
		raw     string
		want    any
		refused bool
	}{
		{name: "text", f: textField, raw: `"Ada"`, want: "Ada"},
		{name: "text trimmed", f: textField, raw: `"  Ada \n"`, want: "Ada"},
		{name: "text empty", f: textField, raw: `""`, want: ""},
		{name: "text 10000 characters", f: textField, raw: `"` + strings.Repeat("ż", MaxTextValue) + `"`, want: strings.Repeat("ż", MaxTextValue)},
		{name: "text 10001 characters", f: textField, raw: `"` + strings.Repeat("ż", MaxTextValue+1) + `"`, refused: true},
		{name: "text 10000 characters after trimming", f: textField, raw: `"  ` + strings.Repeat("a", MaxTextValue) + `  "`, want: strings.Repeat("a", MaxTextValue)},
		{name: "text NUL", f: textField, raw: `"a\u0000b"`, refused: true},
		{name: "text number", f: textField, raw: `42`, refused: true},
		{name: "text bool", f: textField, raw: `true`, refused: true},
		{name: "text null", f: textField, raw: `null`, refused: true},
		{name: "text list", f: textField, raw: `["a"]`, refused: true},
		{name: "text object", f: textField, raw: `{"a":1}`, refused: true},
		{name: "phone normalised", f: phoneField, raw: `" +48 600-100-200 "`, want: "+48600100200"},
		{name: "phone with letters", f: phoneField, raw: `"+48 600 CALL"`, refused: true},
		{name: "phone as number", f: phoneField, raw: `48600100200`, refused: true},
		{name: "number", f: numberField, raw: `1.5`, want: 1.5},
		{name: "number negative exponent", f: numberField, raw: `-2e3`, want: -2000.0},
		{name: "number zero", f: numberField, raw: `0`, want: 0.0},
		{name: "number out of range", f: numberField, raw: `1e400`, refused: true},
		{name: "number as string", f: numberField, raw: `"1"`, refused: true},
		{name: "number bool", f: numberField, raw: `false`, refused: true},
		{name: "number null", f: numberField, raw: `null`, refused: true},
		{name: "number NaN literal", f: numberField, raw: `NaN`, refused: true},
		{name: "date", f: dateField, raw: `"2026-02-28"`, want: "2026-02-28"},
		{name: "date leap day", f: dateField, raw: `"2024-02-29"`, want: "2024-02-29"},
		{name: "date 30 February", f: dateField, raw: `"2026-02-30"`, refused: true},
		{name: "date 29 February of a common year", f: dateField, raw: `"2025-02-29"`, refused: true},
		{name: "date 31 April", f: dateField, raw: `"2026-04-31"`, refused: true},
		{name: "date day 0", f: dateField, raw: `"2026-01-00"`, refused: true},
		{name: "date month 13", f: dateField, raw: `"2026-13-01"`, refused: true},
		{name: "date without leading zeros", f: dateField, raw: `"2026-1-5"`, refused: true},
		{name: "date with time", f: dateField, raw: `"2026-01-05T00:00:00Z"`, refused: true},
		{name: "date with space", f: dateField, raw: `" 2026-01-05"`, refused: true},
		{name: "date day first", f: dateField, raw: `"05-01-2026"`, refused: true},
		{name: "date slashes", f: dateField, raw: `"2026/01/05"`, refused: true},
		{name: "date empty", f: dateField, raw: `""`, refused: true},
		{name: "date number", f: dateField, raw: `20260105`, refused: true},
		{name: "bool true", f: boolField, raw: `true`, want: true},
		{name: "bool false", f: boolField, raw: `false`, want: false},
		{name: "bool string", f: boolField, raw: `"true"`, refused: true},
		{name: "bool number", f: boolField, raw: `1`, refused: true},
		{name: "bool null", f: boolField, raw: `null`, refused: true},
		{name: "choice", f: choiceField, raw: `"M"`, want: "M"},
		{name: "choice with a space", f: choiceField, raw: `"Extra Large"`, want: "Extra Large"},
		{name: "unknown choice", f: choiceField, raw: `"XL"`, refused: true},
		{name: "choice in another case", f: choiceField, raw: `"m"`, refused: true},
		{name: "choice with spaces around", f: choiceField, raw: `" M"`, refused: true},
		{name: "choice as list", f: choiceField, raw: `["M"]`, refused: true},
		{name: "choice number", f: choiceField, raw: `1`, refused: true},
		{name: "multi-choice deduplicated and sorted", f: multiField, raw: `["sql","go","sql","gdpr"]`, want: []string{"gdpr", "go", "sql"}},
		{name: "multi-choice one", f: multiField, raw: `["go"]`, want: []string{"go"}},
		{name: "multi-choice none", f: multiField, raw: `[]`, want: []string{}},
		{name: "multi-choice unknown choice", f: multiField, raw: `["go","rust"]`, refused: true},
		{name: "multi-choice as string", f: multiField, raw: `"go"`, refused: true},
		{name: "multi-choice number element", f: multiField, raw: `["go",1]`, refused: true},
		{name: "multi-choice null element", f: multiField, raw: `[null]`, refused: true},
		{name: "multi-choice nested list", f: multiField, raw: `[["go"]]`, refused: true},
		{name: "multi-choice null", f: multiField, raw: `null`, refused: true},
		{name: "invalid JSON", f: textField, raw: `"unterminated`, refused: true},
		{name: "two values", f: boolField, raw: `true false`, refused: true},
		{name: "empty input", f: boolField, raw: ``, refused: true},
		{name: "unknown type", f: FieldDef{Key: "odd", Type: "json"}, raw: `{}`, refused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.NormalizeValue(json.RawMessage(tt.raw))
			if tt.refused {
				wantInvalid(t, err, "fields."+tt.f.Key)
				return
			}
			if err != nil {
				t.Fatalf("NormalizeValue(%s) = %v", tt.raw, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NormalizeValue(%s) = %#v (%T), want %#v (%T)", tt.raw, got, got, tt.want, tt.want)
			}
		})
	}
}

// Values that JSON cannot carry but a caller holding decoded values can.
func TestFieldNormalizeDecoded(t *testing.T) {
	tests := []struct {
		name string
		f    FieldDef
		v    any
	}{
		{name: "number +Inf", f: numberField, v: math.Inf(1)},
		{name: "number -Inf", f: numberField, v: math.Inf(-1)},
		{name: "number NaN", f: numberField, v: math.NaN()},
		{name: "number as int", f: numberField, v: 3},
		{name: "text invalid UTF-8", f: textField, v: "caf\xe9"},
		{name: "text NUL", f: textField, v: "a\x00"},
		{name: "multi-choice []string is not a decoded list", f: multiField, v: []string{"go"}},
		{name: "date 30 February", f: dateField, v: "2026-02-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.f.Normalize("fields.x", tt.v)
			wantInvalid(t, err, "fields.x")
		})
	}
}

func TestBuiltInFieldsValid(t *testing.T) {
	for _, f := range BuiltInFields() {
		if err := f.Validate(); err != nil {
			t.Errorf("built-in %s: %v", f.Key, err)
		}
		if !f.BuiltIn || !f.Classification.Encrypted() {
			t.Errorf("built-in %s: BuiltIn %v, classification %q", f.Key, f.BuiltIn, f.Classification)
		}
	}
	if ClassNone.Encrypted() {
		t.Error("ClassNone is encrypted")
	}
}
