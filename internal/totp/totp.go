// Package totp computes time-based one-time passwords (RFC 6238): HMAC-SHA-1,
// six digits, 30-second steps, accepted one step either side.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// Period is the length of one step.
const Period = 30 * time.Second

// Digits is the length of a code.
const Digits = 6

// NewSecret returns 160 random bits, the size RFC 4226 recommends.
func NewSecret() []byte {
	s := make([]byte, 20)
	rand.Read(s)
	return s
}

// Encode writes a secret in base32 without padding, as authenticator apps
// take it.
func Encode(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// URI returns the otpauth URI of the secret, which authenticator apps read
// from a QR code.
func URI(issuer, account string, secret []byte) string {
	q := url.Values{}
	q.Set("secret", Encode(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(Digits))
	q.Set("period", fmt.Sprint(int(Period/time.Second)))
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + q.Encode()
}

// Step returns the step of a time.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code returns the code of a step (RFC 4226 section 5.3).
func Code(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// Match finds the step, within one of now's, whose code is code. It
// returns the step and whether one matched; a caller must refuse a step
// not after the last it accepted, so that no code is used twice.
func Match(secret []byte, code string, now time.Time) (int64, bool) {
	if len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	for _, s := range []int64{cur - 1, cur, cur + 1} {
		if subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// Decode reads a secret written by Encode.
func Decode(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}
