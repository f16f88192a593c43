package mail

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos/custos/internal/custos"
	"github.com/emersion/go-msgauth/dkim"
)

// writeKey writes key to a new PEM file of the given mode.
func writeKey(tb testing.TB, key crypto.Signer, pkcs1 bool, mode os.FileMode) string {
	tb.Helper()
	block := &pem.Block{Type: "PRIVATE KEY"}
	if pkcs1 {
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			tb.Fatal(err)
		}
		block.Bytes = der
	}
	path := filepath.Join(tb.TempDir(), "dkim.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), mode); err != nil {
		tb.Fatal(err)
	}
	return path
}

// dkimRecord returns the DNS TXT record that publishes key's public half.
func dkimRecord(tb testing.TB, key crypto.Signer) string {
	tb.Helper()
	switch pub := key.Public().(type) {
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	default:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			tb.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	}
}

// verifyDKIM verifies raw's one signature against record, published as
// selector s1 of example.com.
func verifyDKIM(tb testing.TB, raw []byte, record string) *dkim.Verification {
	tb.Helper()
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != "s1._domainkey.example.com" {
				return nil, fmt.Errorf("no TXT record for %s", domain)
			}
			return []string{record}, nil
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(vs) != 1 {
		tb.Fatalf("%d signatures, want 1", len(vs))
	}
	return vs[0]
}

func TestDKIM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		key   crypto.Signer
		pkcs1 bool
		from  string
	}{
		{"RSA PKCS #8", rsaKey, false, testFrom},
		{"RSA PKCS #1", rsaKey, true, testFrom},
		{"Ed25519", edKey, false, testFrom},
		{"subdomain sender", edKey, false, "Zespół <noreply@mail.example.com>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := New(Config{From: tt.from, OutboxDir: dir, DKIM: &DKIMConfig{
				Domain: "Example.com.", Selector: "s1", KeyFile: writeKey(t, tt.key, tt.pkcs1, 0o600),
			}})
			if err != nil {
				t.Fatal(err)
			}
			m := testMessage()
			m.HTML = "<p>Kliknij <a href=\"https://example.org/c\">tutaj</a>.</p>\n"
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			names := outboxFiles(t, dir)
			raw, err := os.ReadFile(filepath.Join(dir, names[0]))
			if err != nil {
				t.Fatal(err)
			}
			v := verifyDKIM(t, raw, dkimRecord(t, tt.key))
			if v.Err != nil || v.Domain != "example.com" {
				t.Fatalf("verification %+v", v)
			}
			signed := strings.ToLower(strings.Join(v.HeaderKeys, ":"))
			for _, h := range []string{"from:from", "to:to", "subject:subject", "date", "message-id", "content-type"} {
				if !strings.Contains(":"+signed+":", ":"+h+":") {
					t.Errorf("%s is not signed (h=%v)", h, v.HeaderKeys)
				}
			}
			if p := parseMessage(t, raw); p.subject != m.Subject || len(p.parts) != 2 {
				t.Errorf("signed message reads back as %q with %d parts", p.subject, len(p.parts))
			}

			tampered := bytes.Replace(raw, []byte("To: <anna@example.org>"), []byte("To: <eve@example.net>"), 1)
			if v := verifyDKIM(t, tampered, dkimRecord(t, tt.key)); v.Err == nil {
				t.Error("a changed recipient still verifies")
			}
			// Signed twice, From, To and Subject cannot gain a second field.
			tampered = bytes.Replace(raw, []byte("From: "), []byte("Subject: Pilne: zaloguj się\r\nFrom: "), 1)
			if v := verifyDKIM(t, tampered, dkimRecord(t, tt.key)); v.Err == nil {
				t.Error("an added Subject still verifies")
			}
			tampered = bytes.Replace(raw, []byte("tutaj"), []byte("tam"), 1)
			if v := verifyDKIM(t, tampered, dkimRecord(t, tt.key)); v.Err == nil {
				t.Error("a changed body still verifies")
			}
		})
	}
}

func TestDKIMOverSMTP(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, modeSTARTTLS)
	s, err := New(Config{
		URL: ts.url("smtp", testUser, testPass), From: testFrom, TLSConfig: &tls.Config{RootCAs: ts.roots},
		DKIM: &DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: writeKey(t, key, false, 0o600)},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A body line that is a lone dot is escaped for DATA and must come out
	// as it went in, or the signature breaks.
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	msgs := ts.received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	if v := verifyDKIM(t, msgs[0].data, dkimRecord(t, key)); v.Err != nil {
		t.Errorf("verification %+v", v)
	}
}

func TestDKIMConfig(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := writeKey(t, key, false, 0o600)
	other := func(name string, b []byte) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name  string
		cfg   DKIMConfig
		field string
	}{
		{"other domain", DKIMConfig{Domain: "example.net", Selector: "s1", KeyFile: good}, "dkim.domain"},
		{"suffix but no parent", DKIMConfig{Domain: "ample.com", Selector: "s1", KeyFile: good}, "dkim.domain"},
		{"bad domain", DKIMConfig{Domain: "exa mple.com", Selector: "s1", KeyFile: good}, "dkim.domain"},
		{"no domain", DKIMConfig{Selector: "s1", KeyFile: good}, "dkim.domain"},
		{"no selector", DKIMConfig{Domain: "example.com", KeyFile: good}, "dkim.selector"},
		{"bad selector", DKIMConfig{Domain: "example.com", Selector: "s1;x=y", KeyFile: good}, "dkim.selector"},
		{"no key file", DKIMConfig{Domain: "example.com", Selector: "s1"}, "dkim.key_file"},
		{"readable by others", DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: writeKey(t, key, false, 0o644)}, "dkim.key_file"},
		{"not PEM", DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: other("key.pem", []byte("not a key"))}, "dkim.key_file"},
		{"certificate", DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: other("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}))}, "dkim.key_file"},
		{"broken key", DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: other("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}))}, "dkim.key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{From: testFrom, OutboxDir: t.TempDir(), DKIM: &tt.cfg})
			wantInvalid(t, err, tt.field)
		})
	}
	_, err = New(Config{From: testFrom, OutboxDir: t.TempDir(), DKIM: &DKIMConfig{Domain: "example.com", Selector: "s1", KeyFile: filepath.Join(t.TempDir(), "missing.pem")}})
	if err == nil || custos.ErrorCode(err) != custos.EINTERNAL || !strings.Contains(err.Error(), "dkim key file") {
		t.Errorf("missing key file: %v", err)
	}
}
