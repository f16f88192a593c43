// Package password hashes and checks staff passwords: argon2id with its
// parameters in the encoded hash (the PHC string format), a bounded number
// of hashes at once, and a list of common passwords shipped in the binary.
package password

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"

	"github.com/custos/custos/internal/custos"
)

// Params are argon2id's costs.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// Default is OWASP's first argon2id setting: 19 MiB, two passes, one lane.
var Default = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords, at most a fixed number at once so
// that a burst of sign-ins cannot exhaust memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string // a hash to verify against when the user is unknown
}

// NewHasher returns a hasher that holds at most budget bytes of argon2
// memory at once (at least one hash).
func NewHasher(p Params, budget uint64) *Hasher {
	n := max(1, budget/(uint64(p.Memory)*1024))
	h := &Hasher{params: p, slots: make(chan struct{}, n)}
	h.dummy = h.encode(make([]byte, saltLen), "not a password")
	return h
}

// Slots returns how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// acquire waits for a free slot, or for the context's end.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return custos.Errorf(custos.EUNAVAILABLE, "the server is busy; try again")
	}
}

func (h *Hasher) release() { <-h.slots }

// Normalize returns the password in Unicode NFC, so that the same
// characters typed on different systems give the same password.
func Normalize(pw string) string { return norm.NFC.String(pw) }

func (h *Hasher) encode(salt []byte, pw string) string {
	key := argon2.IDKey([]byte(Normalize(pw)), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Hash returns the encoded argon2id hash of the password with a new salt.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, saltLen)
	rand.Read(salt)
	return h.encode(salt, pw), nil
}

// errFormat is an encoded hash this package did not write.
var errFormat = errors.New("password: malformed hash")

// Verify reports whether pw matches the encoded hash. encoded "" (no
// password set) is verified against a dummy hash, so that it takes as long
// as a real one, and never matches.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	known := encoded != ""
	if !known {
		encoded = h.dummy
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(Normalize(pw)), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1 && known, nil
}

// decode parses "$argon2id$v=19$m=…,t=…,p=…$salt$key".
func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errFormat
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errFormat
	}
	// Bounds, so that a planted hash cannot make verification run away.
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 20 || p.Threads < 1 {
		return p, nil, nil, errFormat
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errFormat
	}
	return p, salt, key, nil
}

// commonList holds common passwords, one a line, lower-case: the
// password frequency list of zxcvbn as shipped by the Go port
// github.com/nbutton23/zxcvbn-go (MIT, see COMMON_LICENSE.txt), entries
// of at least 4 characters, plus long passwords common in breach lists.
//
//go:embed common.txt
var commonList []byte

// Common is the list as a set.
type Common map[string]struct{}

// LoadCommon parses the embedded list.
func LoadCommon() Common {
	set := Common{}
	sc := bufio.NewScanner(bytes.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
}

// sequences are runs typed without thought; a password inside one of
// them, repeated, is refused.
var sequences = []string{
	"01234567890123456789", "09876543210987654321",
	"abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcba",
	"qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "!@#$%^&*()_+",
}

// IsCommon reports whether pw is a common password: in the list (ignoring
// case and digits or symbols before or after it), a repetition of a short
// run, or a keyboard or alphabet sequence.
func (c Common) IsCommon(pw string) bool {
	lower := strings.ToLower(Normalize(pw))
	if _, ok := c[lower]; ok {
		return true
	}
	core := strings.TrimFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if _, ok := c[core]; ok {
		return true
	}
	if core == "" { // digits and symbols only: a date, a number
		core = lower
	}
	// Repetitions of a unit of at most half its length.
	for n := 1; n <= len(core)/2; n++ {
		if len(core)%n == 0 && strings.Repeat(core[:n], len(core)/n) == core {
			return true
		}
	}
	for _, s := range sequences {
		if strings.Contains(s+s, core) {
			return true
		}
	}
	return false
}

// Check checks a new password against the policy: 12 to 128 characters
// after NFC normalisation, any characters, not a common one. field names
// the input in the error.
func (c Common) Check(field, pw string) error {
	if err := custos.CheckPasswordLength(field, Normalize(pw)); err != nil {
		return err
	}
	if c.IsCommon(pw) {
		return custos.Invalid(field, "is too common: choose a password that is not on lists of leaked passwords")
	}
	return nil
}
