package store

import (
	"testing"

	"github.com/custos/custos/internal/vault"
)

// FuzzParsePreferenceToken feeds link tokens from outside to the parser:
// it never panics, and accepts only a token it made itself, spelled
// exactly as it spells it.
func FuzzParsePreferenceToken(f *testing.F) {
	master := make([]byte, vault.KeySize)
	v, err := vault.New(master)
	if err != nil {
		f.Fatal(err)
	}
	good := makePreferenceToken(v, 1, 42, 1_900_000_000)
	f.Add(good)
	f.Add(good[:len(good)-1] + "B")
	f.Add("")
	f.Add("AQAAAAAAAAABAAAAAAAAACoAAAAAcUTaAA")
	f.Fuzz(func(t *testing.T, token string) {
		ws, c, exp, ok := parsePreferenceToken(v, token)
		if !ok {
			return
		}
		if ws <= 0 || c <= 0 {
			t.Fatalf("accepted ids %d %d", ws, c)
		}
		if again := makePreferenceToken(v, ws, c, exp); again != token {
			t.Fatalf("accepted %q, which it spells %q", token, again)
		}
	})
}
