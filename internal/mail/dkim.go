package mail

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/emersion/go-msgauth/dkim"
)

// dkimHeaders are the header fields signed: those RFC 6376 section 5.4.1
// recommends that build writes, and the MIME fields that say how to read
// the body. From, To and Subject are named twice, one more time than they
// occur, so that a second such field added on the way breaks the signature
// (RFC 6376 section 8.15).
var dkimHeaders = []string{
	"From", "From", "To", "To", "Subject", "Subject", "Date", "Message-ID",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// loadDKIM checks cfg against the sender's domain and reads the key.
func loadDKIM(cfg *DKIMConfig, fromDomain string) (*dkim.SignOptions, error) {
	domain := strings.ToLower(strings.TrimSuffix(cfg.Domain, "."))
	if !isDNSName(domain) {
		return nil, custos.Invalid("dkim.domain", "must be a domain name")
	}
	// DMARC passes only when the signing domain aligns with From.
	if d := strings.ToLower(fromDomain); d != domain && !strings.HasSuffix(d, "."+domain) {
		return nil, custos.Invalid("dkim.domain", "must be the domain of the sender address or a parent of it")
	}
	if !isDNSName(cfg.Selector) {
		return nil, custos.Invalid("dkim.selector", "must be one or more DNS labels")
	}
	key, err := readSigningKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	return &dkim.SignOptions{
		Domain:                 domain,
		Selector:               cfg.Selector,
		Signer:                 key,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             dkimHeaders,
	}, nil
}

// readSigningKey reads a PEM private key, RSA of at least 1024 bits
// (RFC 8301) or Ed25519 (RFC 8463), from a file others may not read.
func readSigningKey(path string) (crypto.Signer, error) {
	if path == "" {
		return nil, custos.Invalid("dkim.key_file", "is required")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mail: dkim key file: %w", err)
	} else if fi.Mode().Perm()&0o077 != 0 {
		return nil, custos.Invalid("dkim.key_file", "is readable by others (mode %v); chmod 600 it", fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mail: dkim key file: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, custos.Invalid("dkim.key_file", "holds no PEM block")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, custos.Invalid("dkim.key_file", "holds a %q PEM block; expected PRIVATE KEY or RSA PRIVATE KEY", block.Type)
	}
	if err != nil {
		return nil, custos.Invalid("dkim.key_file", "holds a key that does not parse")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, custos.Invalid("dkim.key_file", "holds an RSA key of %d bits; DKIM needs at least 1024 (2048 recommended)", k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, custos.Invalid("dkim.key_file", "holds a %T; expected an RSA or Ed25519 key", key)
}

// sign returns raw with a DKIM-Signature field in front.
func sign(raw []byte, opts *dkim.SignOptions) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(raw) + 1024)
	if err := dkim.Sign(&b, bytes.NewReader(raw), opts); err != nil {
		return nil, fmt.Errorf("mail: dkim: %w", err)
	}
	return b.Bytes(), nil
}
