package totp

import (
	"strings"
	"testing"
	"time"
)

// TestRFC6238 checks the SHA-1 vectors of RFC 6238 appendix B, cut to six
// digits.
func TestRFC6238(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		name string
		unix int64
		want string
	}{
		{"59", 59, "287082"},
		{"1111111109", 1111111109, "081804"},
		{"1111111111", 1111111111, "050471"},
		{"1234567890", 1234567890, "005924"},
		{"2000000000", 2000000000, "279037"},
		{"20000000000", 20000000000, "353130"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(secret, Step(time.Unix(tc.unix, 0))); got != tc.want {
				t.Fatalf("code %s, want %s", got, tc.want)
			}
		})
	}
}

func TestMatchWindow(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_700_000_000, 0)
	cur := Step(now)
	for _, tc := range []struct {
		name string
		step int64
		ok   bool
	}{
		{"previous", cur - 1, true}, {"current", cur, true}, {"next", cur + 1, true},
		{"two back", cur - 2, false}, {"two ahead", cur + 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := Match(secret, Code(secret, tc.step), now)
			if ok != tc.ok || ok && s != tc.step {
				t.Fatalf("Match = %d %v", s, ok)
			}
		})
	}
	if _, ok := Match(secret, "12345", now); ok {
		t.Error("a five-digit code matched")
	}
	if u := URI("Custos", "a@example.com", secret); !strings.HasPrefix(u, "otpauth://totp/Custos:a@example.com?") || !strings.Contains(u, "secret="+Encode(secret)) {
		t.Errorf("URI %s", u)
	}
}
