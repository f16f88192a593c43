package password

import (
	"context"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(Default, 64<<20)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("encoded %q does not carry its parameters", enc)
	}
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{
		{"same", "correct horse battery staple", true},
		{"other", "correct horse battery stapl", false},
		{"longer: no truncation", "correct horse battery staple!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, enc, tc.pw)
			if err != nil || ok != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	// NFC: a precomposed and a decomposed "é" are the same password.
	enc, _ = h.Hash(ctx, "caf\u00e9 au lait, s'il vous plaît")
	if ok, _ := h.Verify(ctx, enc, "cafe\u0301 au lait, s'il vous plaît"); !ok {
		t.Error("decomposed form does not verify against the precomposed one")
	}
	// No password set: never matches, and runs a hash all the same.
	if ok, err := h.Verify(ctx, "", "not a password"); ok || err != nil {
		t.Errorf("empty hash verified: %v %v", ok, err)
	}
	if _, err := h.Verify(ctx, "$argon2id$v=19$m=99999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x"); err == nil {
		t.Error("a hash with runaway parameters was accepted")
	}
}

func TestHasherBounded(t *testing.T) {
	h := NewHasher(Default, 64<<20)
	if h.Slots() != 3 {
		t.Fatalf("slots %d for 64 MiB at 19 MiB each, want 3", h.Slots())
	}
	for range h.Slots() {
		h.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "a password long enough"); custos.ErrorCode(err) != custos.EUNAVAILABLE {
		t.Fatalf("full hasher: %v, want unavailable", err)
	}
}

func TestCheck(t *testing.T) {
	c := LoadCommon()
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"short", "elevenchars", false},
		{"12 characters", "tulip-harbor", true},
		{"unicode counted by characters", "zażółćgęśląj", true},
		{"129 characters", strings.Repeat("ab", 64) + "c", false},
		{"128 characters", strings.Repeat("xq7", 42) + "zz", true},
		{"in the list", "masterbating", false},
		{"list word with digits", "password12345678", false},
		{"list word upper case", "Dragon!!2024@@", false},
		{"repetition", "abcabcabcabc", false},
		{"digit run", "123456789012", false},
		{"keyboard", "qwertyuiopasdf", false},
		{"date", "2024-01-31 12:00", true},
		{"passphrase", "violet tractor sings loudly", true},
		{"no composition rules", "lowercaseonlyletters", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check("password", tc.pw)
			if (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want ok %v", tc.pw, err, tc.ok)
			}
			if err != nil && custos.AsError(err).Field != "password" {
				t.Errorf("error names %q", custos.AsError(err).Field)
			}
		})
	}
}

// BenchmarkHash measures one argon2id hash at the default parameters.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(Default, 64<<20)
	for b.Loop() {
		_, _ = h.Hash(context.Background(), "a benchmark password")
	}
}
