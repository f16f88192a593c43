package importer

import (
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func testDefs() []*custos.FieldDef {
	var defs []*custos.FieldDef
	for _, d := range custos.BuiltInFields() {
		defs = append(defs, &d)
	}
	return append(defs,
		&custos.FieldDef{Key: "score", Label: "Score", Type: custos.FieldNumber, Classification: custos.ClassNone},
		&custos.FieldDef{Key: "vip", Label: "VIP", Type: custos.FieldBool, Classification: custos.ClassNone},
		&custos.FieldDef{Key: "born", Label: "Birth date", Type: custos.FieldDate, Classification: custos.ClassPersonal},
		&custos.FieldDef{Key: "size", Label: "Size", Type: custos.FieldChoice, Classification: custos.ClassNone, Choices: []string{"S", "M"}},
	)
}

func TestMapping(t *testing.T) {
	header := []string{"E-Mail", "First Name", "score", "Birth date", "Consent timestamp", "consent wording", "Shoe", "Comment"}
	m, err := NewMapping(header, map[string]string{"comment": "-"}, testDefs())
	if err != nil {
		t.Fatal(err)
	}
	if m.Email != 0 || m.Fields[1].Key != "first_name" || m.Fields[2].Key != "score" || m.Fields[3].Key != "born" || m.ConsentAt != 4 || m.ConsentText != 5 {
		t.Fatalf("mapping %+v", m)
	}
	if strings.Join(m.Unknown, ",") != "Shoe" {
		t.Fatalf("unknown columns %q, want Shoe (Comment is left out on purpose)", m.Unknown)
	}
	m, err = NewMapping([]string{"Mail", "Points"}, map[string]string{"Mail": "email", "points": "score"}, testDefs())
	if err != nil || m.Email != 0 || m.Fields[1].Key != "score" || len(m.Unknown) != 0 {
		t.Fatalf("explicit mapping %+v, %v", m, err)
	}
	for _, tt := range []struct {
		name     string
		header   []string
		explicit map[string]string
		want     string
	}{
		{"no e-mail", []string{"name"}, nil, "no column holds the e-mail"},
		{"two columns one field", []string{"email", "score", "Score"}, nil, "both go to score"},
		{"map names a missing column", []string{"email"}, map[string]string{"nope": "score"}, `no column "nope"`},
		{"map names a missing field", []string{"email", "x"}, map[string]string{"x": "nope"}, `no field has the key "nope"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewMapping(tt.header, tt.explicit, testDefs())
			if custos.ErrorCode(err) != custos.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMappingContact(t *testing.T) {
	header := []string{"email", "first_name", "score", "vip", "born", "size", "consent_at", "consent_text"}
	m, err := NewMapping(header, nil, testDefs())
	if err != nil {
		t.Fatal(err)
	}
	c, proof, rerr := m.Contact(&Row{Line: 2, Cells: []string{" Ann@X.eu ", "=HYPERLINK(\"x\")", "4,5", "tak", "1990-02-03", "m", "2026-01-02 10:00:00", "I agree"}})
	if rerr != nil {
		t.Fatal(rerr)
	}
	if c.Email != "ann@x.eu" || c.Fields["first_name"] != "=HYPERLINK(\"x\")" || c.Fields["score"] != 4.5 || c.Fields["vip"] != true ||
		c.Fields["born"] != "1990-02-03" || c.Fields["size"] != "M" || proof == nil || proof.Text != "I agree" || proof.At.Hour() != 10 {
		t.Fatalf("contact %+v proof %+v", c, proof)
	}
	for _, tt := range []struct {
		name  string
		cells []string
		col   string
		want  string
	}{
		{"bad e-mail", []string{"secret-value"}, "email", "not a valid e-mail"},
		{"bad number", []string{"a@x.eu", "", "secret-value"}, "score", "must be a number"},
		{"bad date", []string{"a@x.eu", "", "", "", "31/31/1990"}, "born", "must be a date"},
		{"unknown choice", []string{"a@x.eu", "", "", "", "", "XXL"}, "size", "choices"},
		{"time without wording", []string{"a@x.eu", "", "", "", "", "", "2026-01-02"}, "consent_at", "needs the wording"},
		{"wording without time", []string{"a@x.eu", "", "", "", "", "", "", "I agree"}, "consent_text", "needs the consent's time"},
		{"bad consent time", []string{"a@x.eu", "", "", "", "", "", "yesterday", "I agree"}, "consent_at", "is not a time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, rerr := m.Contact(&Row{Line: 7, Cells: tt.cells})
			if rerr == nil || rerr.Line != 7 || rerr.Column != tt.col || !strings.Contains(rerr.Reason, tt.want) {
				t.Fatalf("error %+v, want column %s %q", rerr, tt.col, tt.want)
			}
			if strings.Contains(rerr.Error(), "secret-value") || strings.Contains(rerr.Error(), "XXL") {
				t.Fatal("the error repeats the cell's value")
			}
		})
	}
}
