package store

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// The fast JSON encoder must write what encoding/json writes, byte for
// byte: blind indexes are keyed hashes of these bytes.
func TestEncodeJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"empty string", ""},
		{"ascii", "Anna Kowalska"},
		{"polish", "Łukasz Wiśniewski"},
		{"html characters", "<b>&amp;</b>"},
		{"quote", `say "hi"`},
		{"backslash", `a\b`},
		{"newline", "a\nb"},
		{"tab", "a\tb"},
		{"control", "a\x01b\x1f"},
		{"invalid utf-8", "a\xffb"},
		{"truncated rune", "a\xc5"},
		{"line separator", "a\u2028b"},
		{"paragraph separator", "a\u2029b"},
		{"emoji", "🙂 ok"},
		{"true", true},
		{"false", false},
		{"nil list", []string(nil)},
		{"empty list", []string{}},
		{"list", []string{"a", "b\"c", "ż"}},
		{"nil map", map[string]any(nil)},
		{"empty map", map[string]any{}},
		{"map", map[string]any{"b": "x", "a": true, "c": []string{"1"}, "ä": "ü"}},
		{"map with number", map[string]any{"n": 1.5, "m": 1e21, "s": "x"}},
		{"map with nil", map[string]any{"n": nil}},
		{"map with escaped key", map[string]any{"a\"b": "x", "a\nb": "y"}},
		{"nested map", map[string]any{"o": map[string]any{"z": "1", "y": false}}},
		{"number", 3.25},
		{"personal empty", personal{}},
		{"personal email", personal{Email: "a@example.com"}},
		{"personal fields", personal{Fields: map[string]any{"first_name": "Jan"}}},
		{"personal both", personal{Email: "a@example.com", Fields: map[string]any{"first_name": "Jan", "phone": "+48600100200", "langs": []string{"en", "pl"}}}},
		{"personal escaped", personal{Email: "a\"@example.com", Fields: map[string]any{"x": "\u2028"}}},
		{"personal number", personal{Email: "a@example.com", Fields: map[string]any{"age": 42.0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := encodeJSON(tt.v), encodeJSONReflect(tt.v); got != want {
				t.Errorf("encodeJSON(%#v) = %q, encoding/json writes %q", tt.v, got, want)
			}
		})
	}
}

func FuzzEncodeJSONString(f *testing.F) {
	for _, s := range []string{"", "Anna", "a\"b", "a\\b", "\x00", "\xff", "\u2028", "Łódź", "<&>"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, v := range []any{a, []string{a, b}, map[string]any{a: b, b: []string{a}}, personal{Email: a, Fields: map[string]any{b: a}}} {
			if got, want := encodeJSON(v), encodeJSONReflect(v); got != want {
				t.Fatalf("encodeJSON(%#v) = %q, encoding/json writes %q", v, got, want)
			}
		}
	})
}

// seal writes its JSON objects directly; they must be what encoding/json
// writes of the maps and the personal struct, or blind indexes and stored
// values would differ from those written before.
func TestSealWritesWhatEncodingJSONWrites(t *testing.T) {
	v, err := vault.New(bytes.Repeat([]byte{7}, vault.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{vault: v}
	defs := map[string]*custos.FieldDef{
		"first_name": {Key: "first_name", Classification: custos.ClassPersonal},
		"phone":      {Key: "phone", Classification: custos.ClassIdentifier},
		"city":       {Key: "city", Classification: custos.ClassNone},
		"size":       {Key: "size", Classification: custos.ClassNone},
		"health":     {Key: "health", Classification: custos.ClassSpecial},
		"langs":      {Key: "langs", Classification: custos.ClassPersonal},
		"age":        {Key: "age", Classification: custos.ClassPersonal},
		"quote":      {Key: "quote", Classification: custos.ClassPersonal},
	}
	const ws = 3
	tests := []struct {
		name string
		c    custos.Contact
	}{
		{"nothing", custos.Contact{}},
		{"e-mail only", custos.Contact{Email: "a@example.com"}},
		{"clear only", custos.Contact{Fields: map[string]any{"city": "Kraków", "size": 3.0}}},
		{"everything", custos.Contact{Email: "anna@example.com", Fields: map[string]any{
			"first_name": "Anna", "phone": "+48600100200", "city": "Łódź", "size": 1e21, "health": "x",
			"langs": []string{"en", "pl"}, "age": 42.5, "quote": "say \"hi\"\n\u2028", "deleted": "kept sealed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			k, _ := v.NewContactKey(ws, 9)
			got := db.seal(ws, k, &c, defs)

			// What seal wrote before it wrote the JSON itself.
			p := personal{Email: c.Email, Fields: map[string]any{}}
			clear, bidx := map[string]any{}, map[string]any{}
			for name, val := range c.Fields {
				d := defs[name]
				if d != nil && !d.Classification.Encrypted() {
					clear[name] = val
					continue
				}
				p.Fields[name] = val
				switch list, ok := val.([]string); {
				case d != nil && d.Classification == custos.ClassSpecial:
					bidx[name] = true
				case name == custos.FieldPhone:
				case ok:
					hs := make([]string, len(list))
					for i, s := range list {
						hs[i] = hex.EncodeToString(v.BlindIndex(ws, name, encodeJSONReflect(s)))
					}
					bidx[name] = hs
				default:
					bidx[name] = hex.EncodeToString(v.BlindIndex(ws, name, encodeJSONReflect(val)))
				}
			}
			if got.clear != encodeJSONReflect(clear) {
				t.Errorf("clear = %s, want %s", got.clear, encodeJSONReflect(clear))
			}
			if got.bidx != encodeJSONReflect(bidx) {
				t.Errorf("bidx = %s, want %s", got.bidx, encodeJSONReflect(bidx))
			}
			if c.Email == "" && len(p.Fields) == 0 {
				if got.sealed != nil {
					t.Errorf("sealed %d bytes of nothing", len(got.sealed))
				}
				return
			}
			plain, err := k.Open(sealedName, got.sealed)
			if err != nil {
				t.Fatal(err)
			}
			if string(plain) != encodeJSONReflect(p) {
				t.Errorf("sealed %s, want %s", plain, encodeJSONReflect(p))
			}
		})
	}
}
