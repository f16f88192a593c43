package vault

import (
	"bytes"
	"testing"
)

func TestSignupKey(t *testing.T) {
	master := bytes.Repeat([]byte{7}, KeySize)
	v := mustNew(t, master)
	k, wrapped := v.NewSignupKey(1, 42)
	sealed := k.Seal("signup", []byte("ala@example.com"))
	if bytes.Contains(sealed, []byte("ala@")) {
		t.Fatal("plaintext in the sealed value")
	}
	again, err := v.UnwrapSignupKey(1, 42, wrapped)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := again.Open("signup", sealed); err != nil || string(p) != "ala@example.com" {
		t.Fatalf("open: %q %v", p, err)
	}
	// Bound to its workspace, sign-up and name, and no other kind of key.
	if _, err := v.UnwrapSignupKey(2, 42, wrapped); err == nil {
		t.Error("unwrapped in another workspace")
	}
	if _, err := v.UnwrapSignupKey(1, 43, wrapped); err == nil {
		t.Error("unwrapped for another sign-up")
	}
	if _, err := v.UnwrapContactKey(1, 42, wrapped); err == nil {
		t.Error("a sign-up key unwrapped as a contact key")
	}
	if _, err := v.UnwrapRequestKey(1, 42, wrapped); err == nil {
		t.Error("a sign-up key unwrapped as a request key")
	}
	if _, err := again.Open("mail", sealed); err == nil {
		t.Error("opened under another name")
	}
	other, _ := v.NewSignupKey(1, 42)
	if _, err := other.Open("signup", sealed); err == nil {
		t.Error("opened with another key")
	}
}
