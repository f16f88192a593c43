package custos

import (
	"encoding/json"
	"testing"
)

func validForm() Form {
	return Form{Name: "Newsletter", Purposes: []FormPurpose{{PurposeID: 1, Main: true, Notice: "Yes, the newsletter."}},
		InformationClause: "The controller is Shop Ltd.", PrivacyPolicyURL: "https://shop.example/privacy"}
}

func TestFormValidate(t *testing.T) {
	f := validForm()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if f.Language != "en" || len(f.Fields) != 1 || f.Fields[0] != (FormField{Field: "email", Required: true}) ||
		f.Purposes[0].NoticeHash != NoticeHash("Yes, the newsletter.") || f.InformationClauseHash != NoticeHash(f.InformationClause) {
		t.Fatalf("normalised %+v", f)
	}
	for _, tc := range []struct {
		name, field string
		change      func(f *Form)
	}{
		{"email optional made required", "", func(f *Form) { f.Fields = []FormField{{Field: "email"}} }},
		{"NUL in the name", "name", func(f *Form) { f.Name = "a\x00" }},
		{"language", "language", func(f *Form) { f.Language = "xx" }},
		{"empty field key", "fields.field", func(f *Form) { f.Fields = []FormField{{}} }},
		{"purpose id 0", "purposes.purpose_id", func(f *Form) { f.Purposes[0].PurposeID = 0 }},
		{"purpose twice", "purposes.purpose_id", func(f *Form) { f.Purposes = append(f.Purposes, f.Purposes[0]) }},
		{"http privacy link with a quote", "privacy_policy_url", func(f *Form) { f.PrivacyPolicyURL = `https://a.example/"onmouseover=x` }},
		{"data URL", "redirect_url", func(f *Form) { f.RedirectURL = "data:text/html,x" }},
		{"list 0", "list_ids", func(f *Form) { f.ListIDs = []int64{0} }},
		{"list twice", "list_ids", func(f *Form) { f.ListIDs = []int64{3, 3} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := validForm()
			tc.change(&f)
			err := f.Validate()
			if tc.field == "" {
				if err != nil || !f.Fields[0].Required {
					t.Fatalf("%v %+v", err, f.Fields)
				}
				return
			}
			if e := AsError(err); e == nil || e.Code != EINVALID || e.Field != tc.field {
				t.Fatalf("got %v, want invalid %s", err, tc.field)
			}
		})
	}
}

// FuzzFormValidate: any JSON a client sends as a form is refused with an
// invalid error or accepted; an accepted form stays valid when checked
// again and keeps its email field first and required.
func FuzzFormValidate(f *testing.F) {
	b, _ := json.Marshal(validForm())
	f.Add(b)
	f.Add([]byte(`{"name":"x","purposes":[{"purpose_id":1,"main":true,"notice":"n"}],"information_clause":"i","privacy_policy_url":"http://a.b/"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var form Form
		if json.Unmarshal(data, &form) != nil {
			return
		}
		if err := form.Validate(); err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("not an invalid error: %v", err)
			}
			return
		}
		if form.Fields[0].Field != "email" || !form.Fields[0].Required {
			t.Fatalf("email not first and required: %+v", form.Fields)
		}
		again := form
		if err := again.Validate(); err != nil {
			t.Fatalf("valid once, invalid again: %v", err)
		}
	})
}
