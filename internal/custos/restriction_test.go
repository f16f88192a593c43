package custos

import (
	"strings"
	"testing"
)

func TestNormalizeReason(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string
		field string
	}{
		{name: "plain", in: "Contests the accuracy of the address.", want: "Contests the accuracy of the address."},
		{name: "trimmed", in: "  Sprzeciw wobec przetwarzania \n", want: "Sprzeciw wobec przetwarzania"},
		{name: "longest", in: strings.Repeat("ž", MaxReason), want: strings.Repeat("ž", MaxReason)},
		{name: "empty", in: "", field: "reason"},
		{name: "blank", in: " \t\r\n", field: "reason"},
		{name: "too long", in: strings.Repeat("ž", MaxReason+1), field: "reason"},
		{name: "NUL", in: "a\x00b", field: "reason"},
		{name: "not UTF-8", in: "a\xffb", field: "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeReason(tt.in)
			if tt.field != "" {
				wantInvalid(t, err, tt.field)
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeReason(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRestrictedNamesFieldAndArticle(t *testing.T) {
	e := Restricted("tags", "its tags stay as they are until the restriction is lifted")
	if e.Code != ERESTRICTED || e.Field != "tags" || !strings.Contains(e.Message, "Art. 18") || !strings.Contains(e.Message, "tags stay") {
		t.Fatalf("%+v", e)
	}
}
