package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testMaster is a fixed master key, so that fuzz workers share one vault.
var testMaster = func() []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}()

func mustNew(tb testing.TB, master []byte) *Vault {
	tb.Helper()
	v, err := New(master)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		ok   bool
	}{
		{name: "32 bytes", key: make([]byte, 32), ok: true},
		{name: "31 bytes", key: make([]byte, 31)},
		{name: "33 bytes", key: make([]byte, 33)},
		{name: "16 bytes", key: make([]byte, 16)},
		{name: "nil", key: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.key)
			if tt.ok != (err == nil) || tt.ok != (v != nil) {
				t.Errorf("New(%d bytes) = %v, %v", len(tt.key), v, err)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	v := mustNew(t, testMaster)
	k, _ := v.NewContactKey(1, 2)
	tests := []struct {
		name      string
		field     string
		plaintext []byte
	}{
		{name: "text", field: "first_name", plaintext: []byte("Zażółć")},
		{name: "empty", field: "company", plaintext: []byte{}},
		{name: "binary", field: "history:17", plaintext: []byte{0, 1, 2, 255}},
		{name: "empty name", field: "", plaintext: []byte("x")},
		{name: "large", field: "notes", plaintext: bytes.Repeat([]byte("a"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := k.Seal(tt.field, tt.plaintext)
			if len(sealed) != 1+12+len(tt.plaintext)+16 {
				t.Errorf("sealed is %d bytes for %d of plaintext", len(sealed), len(tt.plaintext))
			}
			if sealed[0] != format {
				t.Errorf("format byte = %d, want %d", sealed[0], format)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("sealed value holds the plaintext")
			}
			got, err := k.Open(tt.field, sealed)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	v := mustNew(t, testMaster)
	dk := bytes.Repeat([]byte{7}, KeySize)
	// Keys that share the data key but not the place isolate the binding:
	// only the associated data differs.
	key := func(workspace, contact int64) *ContactKey {
		k, err := v.contactKey(workspace, contact, dk)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k := key(1, 2)
	sealed := k.Seal("first_name", []byte("Ada"))
	if _, err := k.Open("first_name", sealed); err != nil {
		t.Fatalf("the genuine seal does not open: %v", err)
	}
	other, _ := v.NewContactKey(1, 2) // the same contact, a new data key
	with := func(change func([]byte) []byte) []byte { return change(bytes.Clone(sealed)) }

	type openCase struct {
		name   string
		k      *ContactKey
		field  string
		sealed []byte
	}
	tests := []openCase{
		{name: "another name", k: k, field: "last_name", sealed: sealed},
		{name: "name differing in case", k: k, field: "First_name", sealed: sealed},
		{name: "another contact", k: key(1, 3), field: "first_name", sealed: sealed},
		{name: "another workspace", k: key(2, 2), field: "first_name", sealed: sealed},
		{name: "workspace and contact swapped", k: key(2, 1), field: "first_name", sealed: sealed},
		{name: "another data key", k: other, field: "first_name", sealed: sealed},
		{name: "wrong format byte", k: k, field: "first_name", sealed: with(func(b []byte) []byte { b[0] = 2; return b })},
		{name: "format byte zero", k: k, field: "first_name", sealed: with(func(b []byte) []byte { b[0] = 0; return b })},
		{name: "extra byte", k: k, field: "first_name", sealed: append(bytes.Clone(sealed), 0)},
		{name: "nil", k: k, field: "first_name", sealed: nil},
		{name: "format byte only", k: k, field: "first_name", sealed: []byte{format}},
	}
	for i := range sealed {
		tests = append(tests,
			openCase{name: fmt.Sprintf("flipped bit in byte %d", i), k: k, field: "first_name",
				sealed: with(func(b []byte) []byte { b[i] ^= 0x01; return b })},
			openCase{name: fmt.Sprintf("truncated to %d bytes", i), k: k, field: "first_name",
				sealed: bytes.Clone(sealed[:i])})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.k.Open(tt.field, tt.sealed)
			if !errors.Is(err, ErrDecrypt) {
				t.Errorf("Open = %q, %v; want ErrDecrypt", got, err)
			}
			if got != nil {
				t.Errorf("a refused Open returned %q", got)
			}
		})
	}
}

func TestSealsDiffer(t *testing.T) {
	v := mustNew(t, testMaster)
	k, _ := v.NewContactKey(1, 2)
	a, b := k.Seal("f", []byte("same")), k.Seal("f", []byte("same"))
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are equal")
	}
	if bytes.Equal(a[1:13], b[1:13]) {
		t.Error("two seals share a nonce")
	}
	_, w1 := v.NewContactKey(1, 2)
	_, w2 := v.NewContactKey(1, 2)
	if bytes.Equal(w1, w2) {
		t.Error("two wrapped keys of the same contact are equal")
	}
}

func TestUnwrapContactKey(t *testing.T) {
	v := mustNew(t, testMaster)
	k, wrapped := v.NewContactKey(1, 2)
	sealed := k.Seal("first_name", []byte("Ada"))

	k2, err := v.UnwrapContactKey(1, 2, wrapped)
	if err != nil {
		t.Fatalf("UnwrapContactKey = %v", err)
	}
	if got, err := k2.Open("first_name", sealed); err != nil || string(got) != "Ada" {
		t.Fatalf("the unwrapped key opens %q, %v", got, err)
	}
	if got, err := k.Open("first_name", k2.Seal("first_name", []byte("Bo"))); err != nil || string(got) != "Bo" {
		t.Fatalf("the unwrapped key seals what the original cannot open: %q, %v", got, err)
	}
	// The same master key in a new process unwraps the same keys.
	if _, err := mustNew(t, bytes.Clone(testMaster)).UnwrapContactKey(1, 2, wrapped); err != nil {
		t.Errorf("a vault of the same master key cannot unwrap: %v", err)
	}

	otherMaster := bytes.Repeat([]byte{9}, KeySize)
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)-1] ^= 0x80
	tests := []struct {
		name               string
		v                  *Vault
		workspace, contact int64
		wrapped            []byte
	}{
		{name: "another contact", v: v, workspace: 1, contact: 3, wrapped: wrapped},
		{name: "another workspace", v: v, workspace: 2, contact: 2, wrapped: wrapped},
		{name: "another master key", v: mustNew(t, otherMaster), workspace: 1, contact: 2, wrapped: wrapped},
		{name: "flipped bit", v: v, workspace: 1, contact: 2, wrapped: flipped},
		{name: "truncated", v: v, workspace: 1, contact: 2, wrapped: wrapped[:len(wrapped)-1]},
		{name: "empty", v: v, workspace: 1, contact: 2, wrapped: nil},
		{name: "a sealed value, not a key", v: v, workspace: 1, contact: 2, wrapped: sealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.v.UnwrapContactKey(tt.workspace, tt.contact, tt.wrapped)
			if !errors.Is(err, ErrDecrypt) || k != nil {
				t.Errorf("UnwrapContactKey = %v, %v; want ErrDecrypt", k, err)
			}
		})
	}
}

func TestBlindIndex(t *testing.T) {
	v := mustNew(t, testMaster)
	base := v.BlindIndex(1, "email", "ada@example.com")
	if len(base) != 16 {
		t.Fatalf("blind index is %d bytes, want 16", len(base))
	}
	if !bytes.Equal(base, v.BlindIndex(1, "email", "ada@example.com")) {
		t.Error("equal inputs give different indexes")
	}
	if !bytes.Equal(base, mustNew(t, bytes.Clone(testMaster)).BlindIndex(1, "email", "ada@example.com")) {
		t.Error("the same master key gives another index after a restart")
	}
	differ := []struct {
		name string
		got  []byte
	}{
		{name: "another workspace", got: v.BlindIndex(2, "email", "ada@example.com")},
		{name: "another field", got: v.BlindIndex(1, "phone", "ada@example.com")},
		{name: "another value", got: v.BlindIndex(1, "email", "bo@example.com")},
		{name: "another case", got: v.BlindIndex(1, "email", "Ada@example.com")},
		{name: "another master key", got: mustNew(t, bytes.Repeat([]byte{9}, KeySize)).BlindIndex(1, "email", "ada@example.com")},
		{name: "field and value split elsewhere", got: v.BlindIndex(1, "emai", "lada@example.com")},
		{name: "workspace digits moved into the field", got: v.BlindIndex(11, "email", "ada@example.com")},
	}
	for _, tt := range differ {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Equal(base, tt.got) {
				t.Errorf("index equals that of workspace 1, email, ada@example.com")
			}
		})
	}
	// The pooled HMACs must not bleed state between concurrent callers.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				value := strings.Repeat("x", (g+i)%7) + "ada@example.com"
				want := v.BlindIndex(1, "email", value)
				if !hmac.Equal(want, v.BlindIndex(1, "email", value)) {
					t.Errorf("concurrent BlindIndex of %q differs", value)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSuppressionHash(t *testing.T) {
	v := mustNew(t, testMaster)
	const email = "ada@example.com"
	h := v.SuppressionHash(1, email)
	if !bytes.Equal(h, v.SuppressionHash(1, email)) {
		t.Error("equal inputs give different hashes")
	}
	if bytes.Equal(h, v.SuppressionHash(2, email)) {
		t.Error("the hash is the same in another workspace")
	}
	if bytes.Equal(h, v.SuppressionHash(1, "bo@example.com")) {
		t.Error("two addresses give the same hash")
	}
	bidx := v.BlindIndex(1, "email", email)
	if bytes.HasPrefix(h, bidx) || bytes.Contains(h, bidx) {
		t.Error("the suppression hash holds the blind index")
	}
	// Its key is not the blind-index key: the same message under the blind
	// index key gives another MAC.
	mac := hmac.New(sha256.New, v.bidxKey)
	mac.Write(binding("suppress", 1, 0, ""))
	mac.Write([]byte(email))
	if hmac.Equal(h, mac.Sum(nil)) {
		t.Error("the suppression hash is keyed with the blind-index key")
	}
	if bytes.Equal(v.suppress, v.bidxKey) {
		t.Error("the suppression and blind-index keys are equal")
	}
}

func TestLoadMasterKey(t *testing.T) {
	t.Run("created on first use, read back after", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "data", "keys", MasterKeyFile)
		key, err := LoadMasterKey("", path)
		if err != nil {
			t.Fatalf("first LoadMasterKey = %v", err)
		}
		if len(key) != KeySize || bytes.Equal(key, make([]byte, KeySize)) {
			t.Fatalf("new key = %x", key)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %v, want 0600", fi.Mode().Perm())
		}
		if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm()&0o077 != 0 {
			t.Errorf("key directory mode = %v, %v; want no access for others", di.Mode().Perm(), err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := hex.DecodeString(strings.TrimSpace(string(b))); err != nil || !bytes.Equal(got, key) {
			t.Errorf("key file holds %q, want the hex of the key", b)
		}
		again, err := LoadMasterKey("", path)
		if err != nil {
			t.Fatalf("second LoadMasterKey = %v", err)
		}
		if !bytes.Equal(again, key) {
			t.Errorf("second LoadMasterKey = %x, want %x", again, key)
		}
		if other, err := LoadMasterKey("", filepath.Join(t.TempDir(), MasterKeyFile)); err != nil || bytes.Equal(other, key) {
			t.Errorf("a second data directory got the same key (%v)", err)
		}
	})

	t.Run("env", func(t *testing.T) {
		tests := []struct {
			name string
			env  string
			ok   bool
		}{
			{name: "hex", env: hex.EncodeToString(testMaster), ok: true},
			{name: "upper-case hex", env: strings.ToUpper(hex.EncodeToString(testMaster)), ok: true},
			{name: "hex with newline", env: hex.EncodeToString(testMaster) + "\n", ok: true},
			{name: "base64", env: base64.StdEncoding.EncodeToString(testMaster), ok: true},
			{name: "base64 with spaces", env: "  " + base64.StdEncoding.EncodeToString(testMaster) + " ", ok: true},
			{name: "31 bytes of hex", env: hex.EncodeToString(testMaster[:31])},
			{name: "33 bytes of hex", env: hex.EncodeToString(append(bytes.Clone(testMaster), 0))},
			{name: "31 bytes of base64", env: base64.StdEncoding.EncodeToString(testMaster[:31])},
			{name: "33 bytes of base64", env: base64.StdEncoding.EncodeToString(append(bytes.Clone(testMaster), 0))},
			{name: "a passphrase", env: "correct horse battery staple"},
			{name: "blank", env: "   "},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// The env wins over the file, which is neither read nor made.
				path := filepath.Join(t.TempDir(), MasterKeyFile)
				key, err := LoadMasterKey(tt.env, path)
				if tt.ok {
					if err != nil || !bytes.Equal(key, testMaster) {
						t.Errorf("LoadMasterKey(%q) = %x, %v; want %x", tt.env, key, err, testMaster)
					}
				} else if err == nil {
					t.Errorf("LoadMasterKey(%q) = %x, want an error", tt.env, key)
				}
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a key file was made although the env was set: %v", err)
				}
			})
		}
	})

	t.Run("env wins over the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), MasterKeyFile)
		if _, err := LoadMasterKey("", path); err != nil {
			t.Fatal(err)
		}
		key, err := LoadMasterKey(hex.EncodeToString(testMaster), path)
		if err != nil || !bytes.Equal(key, testMaster) {
			t.Errorf("LoadMasterKey = %x, %v; want the env key", key, err)
		}
	})

	t.Run("key file", func(t *testing.T) {
		tests := []struct {
			name    string
			content string
			mode    os.FileMode
			wantErr string // "" when the key must load
		}{
			{name: "hex 0600", content: hex.EncodeToString(testMaster) + "\n", mode: 0o600},
			{name: "base64 0400", content: base64.StdEncoding.EncodeToString(testMaster), mode: 0o400},
			{name: "readable by all", content: hex.EncodeToString(testMaster), mode: 0o644, wantErr: "chmod"},
			{name: "readable by the group", content: hex.EncodeToString(testMaster), mode: 0o640, wantErr: "chmod"},
			{name: "writable by others", content: hex.EncodeToString(testMaster), mode: 0o602, wantErr: "chmod"},
			{name: "wrong length", content: hex.EncodeToString(testMaster[:31]), mode: 0o600, wantErr: "32 bytes"},
			{name: "empty", content: "", mode: 0o600, wantErr: "32 bytes"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), MasterKeyFile)
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
				key, err := LoadMasterKey("", path)
				if tt.wantErr == "" {
					if err != nil || !bytes.Equal(key, testMaster) {
						t.Errorf("LoadMasterKey = %x, %v; want %x", key, err, testMaster)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("LoadMasterKey = %x, %v; want an error naming %q", key, err, tt.wantErr)
				}
				if key != nil {
					t.Errorf("a refused key file returned a key")
				}
			})
		}
	})

	t.Run("unreadable path", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "is-a-dir")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if key, err := LoadMasterKey("", dir); err == nil {
			t.Errorf("LoadMasterKey(a directory) = %x, want an error", key)
		}
	})
}

// fuzzKey returns a vault and a contact key that are the same in every fuzz
// worker, and the real seals under that key: made with fixed nonces so that
// every worker knows the same ones, keyed by name, NUL and sealed bytes.
// Nothing else may open.
func fuzzKey(tb testing.TB) (*Vault, *ContactKey, map[string]string) {
	v := mustNew(tb, testMaster)
	k, err := v.contactKey(1, 2, bytes.Repeat([]byte{3}, KeySize))
	if err != nil {
		tb.Fatal(err)
	}
	real := map[string]string{}
	for i, p := range []struct{ name, plaintext string }{
		{"first_name", "Ada"}, {"email", "ada@example.com"}, {"", ""}, {"notes", strings.Repeat("n", 100)},
	} {
		nonce := bytes.Repeat([]byte{byte(i + 1)}, k.aead.NonceSize())
		sealed := append([]byte{format}, nonce...)
		sealed = k.aead.Seal(sealed, nonce, []byte(p.plaintext), binding("val", 1, 2, p.name))
		if got, err := k.Open(p.name, sealed); err != nil || string(got) != p.plaintext {
			tb.Fatalf("fixed-nonce seal does not open: %v", err)
		}
		real[p.name+"\x00"+string(sealed)] = p.plaintext
	}
	return v, k, real
}

func FuzzOpen(f *testing.F) {
	_, _, real := fuzzKey(f)
	for s := range real {
		name, sealed, _ := strings.Cut(s, "\x00")
		f.Add(name, []byte(sealed))
		f.Add("last_name", []byte(sealed))
		f.Add(name, []byte(sealed[:len(sealed)-1]))
	}
	f.Add("first_name", []byte{})
	f.Add("first_name", []byte{format})
	f.Add("first_name", bytes.Repeat([]byte{format}, 29))
	f.Add("first_name", bytes.Repeat([]byte{0}, 64))
	v, k, _ := fuzzKey(f)
	f.Fuzz(func(t *testing.T, name string, sealed []byte) {
		got, err := k.Open(name, sealed)
		if want, ok := real[name+"\x00"+string(sealed)]; ok {
			if err != nil || string(got) != want {
				t.Fatalf("a real seal opens as %q, %v; want %q", got, err, want)
			}
		} else if !errors.Is(err, ErrDecrypt) || got != nil {
			t.Fatalf("Open(%q, %x) = %q, %v; want ErrDecrypt", name, sealed, got, err)
		}
		if ck, err := v.UnwrapContactKey(1, 2, sealed); !errors.Is(err, ErrDecrypt) || ck != nil {
			t.Fatalf("UnwrapContactKey(%x) = %v, %v; want ErrDecrypt", sealed, ck, err)
		}
	})
}

func TestRequestKey(t *testing.T) {
	v := mustNew(t, testMaster)
	k, wrapped := v.NewRequestKey(1, 2)
	sealed := k.Seal("request", []byte("ada@example.com"))

	k2, err := v.UnwrapRequestKey(1, 2, wrapped)
	if err != nil {
		t.Fatalf("UnwrapRequestKey = %v", err)
	}
	if got, err := k2.Open("request", sealed); err != nil || string(got) != "ada@example.com" {
		t.Fatalf("the unwrapped key opens %q, %v", got, err)
	}
	if _, err := k2.Open("note", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a value opened under another name: %v", err)
	}
	other, _ := v.NewRequestKey(1, 3)
	if _, err := other.Open("request", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another request's key opened the value: %v", err)
	}

	// A request key is no contact key, and the other way round, even for
	// the same numbers.
	if _, err := v.UnwrapContactKey(1, 2, wrapped); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a request key unwrapped as a contact key: %v", err)
	}
	ck, cwrapped := v.NewContactKey(1, 2)
	if _, err := v.UnwrapRequestKey(1, 2, cwrapped); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a contact key unwrapped as a request key: %v", err)
	}
	if _, err := ck.Open("request", sealed); !errors.Is(err, ErrDecrypt) {
		t.Errorf("a contact key opened a request's value: %v", err)
	}
	for name, tt := range map[string]struct {
		workspace, request int64
		wrapped            []byte
	}{
		"another request":   {1, 3, wrapped},
		"another workspace": {2, 2, wrapped},
		"truncated":         {1, 2, wrapped[:len(wrapped)-1]},
	} {
		if k, err := v.UnwrapRequestKey(tt.workspace, tt.request, tt.wrapped); !errors.Is(err, ErrDecrypt) || k != nil {
			t.Errorf("%s: UnwrapRequestKey = %v, %v; want ErrDecrypt", name, k, err)
		}
	}
}

// TestPreferenceMAC keys the MACs of preference-centre links with a key of
// their own, which only the master key gives.
func TestPreferenceMAC(t *testing.T) {
	v := mustNew(t, testMaster)
	body := []byte("link body")
	m := v.PreferenceMAC(body)
	if !hmac.Equal(m, v.PreferenceMAC(body)) {
		t.Error("equal bodies give different MACs")
	}
	if hmac.Equal(m, v.PreferenceMAC([]byte("link bodz"))) {
		t.Error("two bodies give the same MAC")
	}
	if hmac.Equal(m, v.JournalMAC(body)) {
		t.Error("a link MAC equals a journal MAC")
	}
	for name, k := range map[string][]byte{"blind-index": v.bidxKey, "suppression": v.suppress, "journal": v.journal} {
		if bytes.Equal(v.prefs, k) {
			t.Errorf("the preference-link key equals the %s key", name)
		}
	}
	other := testMaster[:len(testMaster):len(testMaster)]
	other = append(append([]byte(nil), other...)[:KeySize-1], 0xff)
	if hmac.Equal(m, mustNew(t, other).PreferenceMAC(body)) {
		t.Error("another master key gives the same MAC")
	}
}

// Blind indexes and suppression hashes are stored: the bytes they are
// computed from must never change, however they are computed.
func TestKeyedHashInputs(t *testing.T) {
	v := mustNew(t, testMaster)
	sum := func(key []byte, parts ...string) []byte {
		h := hmac.New(sha256.New, key)
		for _, p := range parts {
			h.Write([]byte(p))
		}
		return h.Sum(nil)
	}
	if got, want := v.BlindIndex(12, "last_name", `"Nowak"`), sum(v.bidxKey, "bidx|12|0|last_name", "\x00", `"Nowak"`)[:16]; !bytes.Equal(got, want) {
		t.Errorf("BlindIndex = %x, want %x", got, want)
	}
	if got, want := v.SuppressionHash(12, "ada@example.com"), sum(v.suppress, "suppress|12|0|", "ada@example.com"); !bytes.Equal(got, want) {
		t.Errorf("SuppressionHash = %x, want %x", got, want)
	}
}
