package custos

import (
	"strings"
	"testing"
)

func TestPurposeValidate(t *testing.T) {
	valid := func() Purpose {
		return Purpose{Name: "Newsletter", LegalBasis: BasisConsent, RetentionDays: 730, Channel: "email"}
	}
	with := func(change func(*Purpose)) Purpose {
		p := valid()
		change(&p)
		return p
	}
	tests := []struct {
		name  string
		p     Purpose
		field string
		check func(*testing.T, *Purpose)
	}{
		{
			name: "defaults",
			p:    with(func(p *Purpose) { p.Name = "  Newsletter "; p.Channel = " email " }),
			check: func(t *testing.T, p *Purpose) {
				if p.Name != "Newsletter" || p.Channel != "email" || p.RetentionFrom != RetentionFromConsent {
					t.Errorf("got name %q channel %q retention_from %q", p.Name, p.Channel, p.RetentionFrom)
				}
			},
		},
		{name: "every basis: contract", p: with(func(p *Purpose) { p.LegalBasis = BasisContract })},
		{name: "every basis: legal obligation", p: with(func(p *Purpose) { p.LegalBasis = BasisLegalObligation })},
		{name: "every basis: vital interests", p: with(func(p *Purpose) { p.LegalBasis = BasisVitalInterests })},
		{name: "every basis: public task", p: with(func(p *Purpose) { p.LegalBasis = BasisPublicTask })},
		{name: "every basis: legitimate interests", p: with(func(p *Purpose) { p.LegalBasis = BasisLegitimateInterests })},
		{name: "no retention limit", p: with(func(p *Purpose) { p.RetentionDays = 0 })},
		{name: "retention 100 years", p: with(func(p *Purpose) { p.RetentionDays = 36500 })},
		{name: "retention from last activity", p: with(func(p *Purpose) { p.RetentionFrom = RetentionFromLastActivity })},
		{name: "retention from contract end", p: with(func(p *Purpose) { p.RetentionFrom = RetentionFromContractEnd })},
		{name: "50-character channel", p: with(func(p *Purpose) { p.Channel = strings.Repeat("ś", 50) })},
		{name: "no name", p: with(func(p *Purpose) { p.Name = "" }), field: "name"},
		{name: "blank name", p: with(func(p *Purpose) { p.Name = " \t" }), field: "name"},
		{name: "201-character name", p: with(func(p *Purpose) { p.Name = strings.Repeat("ś", 201) }), field: "name"},
		{name: "5001-character description", p: with(func(p *Purpose) { p.Description = strings.Repeat("ś", 5001) }), field: "description"},
		{name: "no basis", p: with(func(p *Purpose) { p.LegalBasis = "" }), field: "legal_basis"},
		{name: "unknown basis", p: with(func(p *Purpose) { p.LegalBasis = "because" }), field: "legal_basis"},
		{name: "basis in upper case", p: with(func(p *Purpose) { p.LegalBasis = "CONSENT" }), field: "legal_basis"},
		{name: "negative retention", p: with(func(p *Purpose) { p.RetentionDays = -1 }), field: "retention_days"},
		{name: "retention over 100 years", p: with(func(p *Purpose) { p.RetentionDays = 36501 }), field: "retention_days"},
		{name: "unknown retention start", p: with(func(p *Purpose) { p.RetentionFrom = "creation" }), field: "retention_from"},
		{name: "51-character channel", p: with(func(p *Purpose) { p.Channel = strings.Repeat("ś", 51) }), field: "channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			wantValid(t, &p, p.Validate(), tt.field, tt.check)
		})
	}
}

func TestPurposeUpdateApply(t *testing.T) {
	p := Purpose{Name: "Newsletter", LegalBasis: BasisConsent}
	if err := (PurposeUpdate{LegalBasis: ptr(BasisLegitimateInterests), RetentionDays: ptr(30), Marketing: ptr(true)}).Apply(&p); err != nil {
		t.Fatal(err)
	}
	if p.LegalBasis != BasisLegitimateInterests || p.RetentionDays != 30 || p.Name != "Newsletter" || !p.Marketing {
		t.Errorf("Apply gave %+v", p)
	}
	wantInvalid(t, PurposeUpdate{RetentionFrom: ptr(RetentionFrom("never"))}.Apply(&p), "retention_from")
}

func TestNoticeHash(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		// The SHA-256 test vectors of FIPS 180-2.
		{name: "abc", body: "abc", want: "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{name: "empty", body: "", want: "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NoticeHash(tt.body); got != tt.want {
				t.Errorf("NoticeHash(%q) = %s, want %s", tt.body, got, tt.want)
			}
		})
	}
}

func TestNoticeValidate(t *testing.T) {
	tests := []struct {
		name  string
		n     Notice
		field string
		check func(*testing.T, *Notice)
	}{
		{
			name: "hash set, kind defaulted",
			n:    Notice{Body: "abc", Language: "pl"},
			check: func(t *testing.T, n *Notice) {
				if n.Hash != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
					t.Errorf("Hash = %s", n.Hash)
				}
				if n.Kind != NoticeOther {
					t.Errorf("Kind = %q, want %q", n.Kind, NoticeOther)
				}
			},
		},
		{
			name: "hash of the exact bytes, untrimmed",
			n:    Notice{Body: "abc\n", Kind: NoticeCheckbox},
			check: func(t *testing.T, n *Notice) {
				if n.Body != "abc\n" || n.Hash == NoticeHash("abc") || n.Hash != NoticeHash("abc\n") {
					t.Errorf("Body %q hashed to %s", n.Body, n.Hash)
				}
			},
		},
		{
			name: "a hash given by the caller is replaced",
			n:    Notice{Body: "abc", Kind: NoticeEmail, Hash: "sha256:0000"},
			check: func(t *testing.T, n *Notice) {
				if n.Hash != NoticeHash("abc") {
					t.Errorf("Hash = %s", n.Hash)
				}
			},
		},
		{name: "information clause", n: Notice{Body: "x", Kind: NoticeInformationClause}},
		{name: "largest body", n: Notice{Body: strings.Repeat("x", MaxNoticeBody)}},
		{name: "35-byte language tag", n: Notice{Body: "x", Language: strings.Repeat("a", 35)}},
		{name: "empty body", n: Notice{}, field: "body"},
		{name: "body one byte too long", n: Notice{Body: strings.Repeat("x", MaxNoticeBody+1)}, field: "body"},
		{name: "body invalid UTF-8", n: Notice{Body: "zgoda\xff"}, field: "body"},
		{name: "unknown kind", n: Notice{Body: "x", Kind: "banner"}, field: "kind"},
		{name: "36-byte language tag", n: Notice{Body: "x", Language: strings.Repeat("a", 36)}, field: "language"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.n
			wantValid(t, &n, n.Validate(), tt.field, tt.check)
		})
	}
}
