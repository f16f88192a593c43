package i18n

import (
	"regexp"
	"slices"
	"testing"
)

// verbs are the fmt verbs of a message, in order.
var verbs = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z%]`)

// TestCatalogComplete holds every language to the default one: the same
// keys, and the same format verbs in each message, so no page or mail
// falls back to English or prints %!s(MISSING).
func TestCatalogComplete(t *testing.T) {
	if !slices.Contains(Languages(), "pl") {
		t.Fatalf("languages %v: want Polish too", Languages())
	}
	for _, lang := range Languages() {
		for key, msg := range catalog[Default] {
			tr, ok := catalog[lang][key]
			if !ok {
				t.Errorf("%s: %q missing", lang, key)
				continue
			}
			if want, got := verbs.FindAllString(msg, -1), verbs.FindAllString(tr, -1); !slices.Equal(want, got) {
				t.Errorf("%s: %q has verbs %v, %s has %v", lang, key, got, Default, want)
			}
		}
		for key := range catalog[lang] {
			if _, ok := catalog[Default][key]; !ok {
				t.Errorf("%s: %q is not in %s", lang, key, Default)
			}
		}
	}
}

func TestT(t *testing.T) {
	if got := T("pl", "dsr.confirm.button"); got != "Potwierdzam" {
		t.Errorf("pl button = %q", got)
	}
	if got := T("de", "dsr.confirm.button"); got != "Confirm" {
		t.Errorf("unknown language = %q, want the English", got)
	}
	if got := T("en", "dsr.done.body", "X"); got != "Your request for X is confirmed. We will answer it within the time the law gives us and let you know." {
		t.Errorf("formatted = %q", got)
	}
}

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		accept string
		prefer []string
		want   string
	}{
		{"", nil, "en"},
		{"pl-PL,pl;q=0.9,en;q=0.8", nil, "pl"},
		{"de-DE,en;q=0.5,pl;q=0.7", nil, "pl"},
		{"de, fr;q=0.9", nil, "en"},
		{"pl;q=0", nil, "en"},
		{"pl;q=abc, en;q=0.1", nil, "en"},
		{"en", []string{"pl"}, "pl"},
		{"pl", []string{"xx", ""}, "pl"},
		{"PL", nil, "pl"},
	} {
		if got := Negotiate(c.accept, c.prefer...); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.accept, c.prefer, got, c.want)
		}
	}
}
