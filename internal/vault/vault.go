// Package vault holds the cryptography that keeps personal data unreadable
// at rest: the master key, per-contact data keys wrapped by it, the
// encryption of field values under a contact's key, and blind indexes for
// equality lookups. It stores nothing itself; the store keeps the wrapped
// keys in a key store apart from the data.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/custos/custos/internal/durable"
)

// KeySize is the size of the master key and of every data key, in bytes.
const KeySize = 32

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// format is the first byte of every sealed value, so the format can change.
const format byte = 1

// ErrDecrypt is returned when a ciphertext does not open: wrong key, wrong
// binding, or tampered bytes.
var ErrDecrypt = errors.New("vault: ciphertext does not open")

// Vault derives the working keys from the master key.
type Vault struct {
	wrap     cipher.AEAD // wraps data keys
	bidxKey  []byte      // keys blind indexes
	suppress []byte      // keys address HMACs kept after erasure
	journal  []byte      // keys the MACs of the erasure journal's entries
	prefs    []byte      // keys the MACs of preference-centre links
	tracking []byte      // keys the MACs of tracking pixel tokens
	staff    []byte      // derives the keys of staff users' data
	hmacs    sync.Pool   // of *pooledMAC under bidxKey
	supps    sync.Pool   // of *pooledMAC under suppress
}

// pooledMAC is an HMAC with buffers for its input and its sum, reused
// through a pool: blind indexes are computed several times per contact.
type pooledMAC struct {
	h       hash.Hash
	in, sum []byte
}

// mac returns a new slice of the first n bytes of the HMAC under the
// pool's key of what fill appends to an empty input.
func mac(pool *sync.Pool, n int, fill func(b []byte) []byte) []byte {
	m := pool.Get().(*pooledMAC)
	defer pool.Put(m)
	m.in = fill(m.in[:0])
	m.h.Reset()
	m.h.Write(m.in)
	m.sum = m.h.Sum(m.sum[:0])
	return append(make([]byte, 0, n), m.sum[:n]...)
}

// New returns a vault for a 32-byte master key.
func New(master []byte) (*Vault, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("vault: master key must be %d bytes, got %d", KeySize, len(master))
	}
	derive := func(purpose string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, "custos "+purpose, KeySize)
		if err != nil {
			panic(err) // only for impossible lengths
		}
		return k
	}
	wrap, err := newAEAD(derive("key-wrap v1"))
	if err != nil {
		return nil, err
	}
	v := &Vault{wrap: wrap, bidxKey: derive("blind-index v1"), suppress: derive("suppression v1"), journal: derive("erasure-journal v1"),
		prefs:    derive("preference-link v1"),
		tracking: derive("tracking-token v1"),
		staff:    derive("staff v1")}
	v.hmacs.New = func() any { return &pooledMAC{h: hmac.New(sha256.New, v.bidxKey)} }
	v.supps.New = func() any { return &pooledMAC{h: hmac.New(sha256.New, v.suppress)} }
	return v, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return cipher.NewGCM(block)
}

// LoadMasterKey returns the master key: from env (hex or base64 of 32
// bytes) when it is set, else from the file at path, which it creates with
// a new random key and mode 0600 when it does not exist. It refuses a key
// file that others can read.
func LoadMasterKey(env, path string) ([]byte, error) {
	if env != "" {
		return decodeKey(env)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, KeySize)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("vault: create master key: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("vault: write master key: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("vault: write master key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("vault: write master key: %w", err)
		}
		// Without the key the data is noise: its name must survive a
		// power cut as surely as what it encrypts.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("vault: write master key: %w", err)
		}
		return key, nil
	} else if err != nil {
		return nil, fmt.Errorf("vault: read master key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("vault: master key file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	return decodeKey(string(b))
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("vault: master key must be %d bytes as hex or base64", KeySize)
}

// binding returns the associated data that ties a ciphertext to its place:
// workspace, contact and the name of what it holds.
func binding(kind string, workspace, contact int64, name string) []byte {
	return appendBinding(make([]byte, 0, 48+len(name)), kind, workspace, contact, name)
}

// appendBinding appends binding(kind, workspace, contact, name) to b.
func appendBinding(b []byte, kind string, workspace, contact int64, name string) []byte {
	b = append(b, kind...)
	b = append(b, '|')
	b = strconv.AppendInt(b, workspace, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, contact, 10)
	b = append(b, '|')
	return append(b, name...)
}

func seal(aead cipher.AEAD, plaintext, ad []byte) []byte {
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = format
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, ad)
}

func open(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < 1+n+aead.Overhead() || sealed[0] != format {
		return nil, ErrDecrypt
	}
	p, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return p, nil
}

// ContactKey encrypts and decrypts one contact's values.
type ContactKey struct {
	aead      cipher.AEAD
	workspace int64
	contact   int64
}

// NewContactKey makes a new random data key for a contact and returns it
// with its wrapped form, which is what the key store keeps.
func (v *Vault) NewContactKey(workspace, contact int64) (*ContactKey, []byte) {
	dk := make([]byte, KeySize)
	rand.Read(dk)
	k, err := v.contactKey(workspace, contact, dk)
	if err != nil {
		panic(err) // only for a key of the wrong size, which this is not
	}
	return k, seal(v.wrap, dk, binding("dek", workspace, contact, ""))
}

// UnwrapContactKey opens a wrapped data key of the contact.
func (v *Vault) UnwrapContactKey(workspace, contact int64, wrapped []byte) (*ContactKey, error) {
	dk, err := open(v.wrap, wrapped, binding("dek", workspace, contact, ""))
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap key of contact %d: %w", contact, err)
	}
	return v.contactKey(workspace, contact, dk)
}

func (v *Vault) contactKey(workspace, contact int64, dk []byte) (*ContactKey, error) {
	aead, err := newAEAD(dk)
	if err != nil {
		return nil, err
	}
	return &ContactKey{aead: aead, workspace: workspace, contact: contact}, nil
}

// Seal encrypts a value of the named field (or other named item, such as a
// history entry) so that it opens only for this contact and name.
func (k *ContactKey) Seal(name string, plaintext []byte) []byte {
	return seal(k.aead, plaintext, binding("val", k.workspace, k.contact, name))
}

// Open decrypts what Seal sealed under the same name.
func (k *ContactKey) Open(name string, sealed []byte) ([]byte, error) {
	return open(k.aead, sealed, binding("val", k.workspace, k.contact, name))
}

// objectKey is the random data key of one object that holds personal
// data apart from a contact's key, wrapped for the key store and shredded
// with the object. Each kind binds its wrapping (dek) and its values
// (val) under labels of its own, so no kind's key or value opens as
// another's.
type objectKey struct {
	aead      cipher.AEAD
	workspace int64
	id        int64
	val       string
}

// newObjectKey makes a new random key of the kind and returns it with its
// wrapped form.
func (v *Vault) newObjectKey(dek, val string, workspace, id int64) (objectKey, []byte) {
	dk := make([]byte, KeySize)
	rand.Read(dk)
	aead, err := newAEAD(dk)
	if err != nil {
		panic(err) // only for a key of the wrong size, which this is not
	}
	return objectKey{aead: aead, workspace: workspace, id: id, val: val}, seal(v.wrap, dk, binding(dek, workspace, id, ""))
}

// unwrapObjectKey opens a wrapped key of the kind; what names the object
// in an error.
func (v *Vault) unwrapObjectKey(dek, val, what string, workspace, id int64, wrapped []byte) (objectKey, error) {
	dk, err := open(v.wrap, wrapped, binding(dek, workspace, id, ""))
	if err != nil {
		return objectKey{}, fmt.Errorf("vault: unwrap key of %s %d: %w", what, id, err)
	}
	aead, err := newAEAD(dk)
	if err != nil {
		return objectKey{}, err
	}
	return objectKey{aead: aead, workspace: workspace, id: id, val: val}, nil
}

// Seal encrypts an item of the object so that it opens only for this
// object and name.
func (k objectKey) Seal(name string, plaintext []byte) []byte {
	return seal(k.aead, plaintext, binding(k.val, k.workspace, k.id, name))
}

// Open decrypts what Seal sealed under the same name.
func (k objectKey) Open(name string, sealed []byte) ([]byte, error) {
	return open(k.aead, sealed, binding(k.val, k.workspace, k.id, name))
}

// RequestKey encrypts and decrypts the personal data of one data-subject
// request: the subject's address, notes, the answer. A request has a key of
// its own because it may name a person Custos holds no contact for, and
// because it outlives the contact: its skeleton stays as evidence after
// its subject is forgotten.
type RequestKey struct{ objectKey }

// NewRequestKey makes a new random data key for a request and returns it
// with its wrapped form, which is what the key store keeps.
func (v *Vault) NewRequestKey(workspace, request int64) (*RequestKey, []byte) {
	k, wrapped := v.newObjectKey("rdek", "rval", workspace, request)
	return &RequestKey{k}, wrapped
}

// UnwrapRequestKey opens a wrapped data key of the request.
func (v *Vault) UnwrapRequestKey(workspace, request int64, wrapped []byte) (*RequestKey, error) {
	k, err := v.unwrapObjectKey("rdek", "rval", "request", workspace, request, wrapped)
	if err != nil {
		return nil, err
	}
	return &RequestKey{k}, nil
}

// BlindIndex returns a keyed hash of a normalised value of the named field
// in the workspace, for equality lookups without plaintext. Equal values
// give equal indexes; nothing else can be learnt from it without the key.
func (v *Vault) BlindIndex(workspace int64, field, value string) []byte {
	return mac(&v.hmacs, 16, func(b []byte) []byte {
		b = append(appendBinding(b, "bidx", workspace, 0, field), 0)
		return append(b, value...)
	})
}

// SuppressionHash returns a keyed hash of an e-mail address kept after its
// owner's erasure, so that the address is not imported again. It uses a key
// of its own, so it cannot be matched against blind indexes.
func (v *Vault) SuppressionHash(workspace int64, email string) []byte {
	return mac(&v.supps, sha256.Size, func(b []byte) []byte {
		return append(appendBinding(b, "suppress", workspace, 0, ""), email...)
	})
}

// JournalMAC returns a MAC of one entry of the erasure journal, so that an
// entry cannot be forged or altered (to erase someone, or to bring an
// erased person back) without the master key.
func (v *Vault) JournalMAC(entry []byte) []byte {
	return v.fileMAC("journal", entry)
}

// CheckpointMAC returns a MAC of one checkpoint of the audit log, kept
// outside the database, so that a rewritten chain cannot be made to match
// its checkpoints without the master key.
func (v *Vault) CheckpointMAC(entry []byte) []byte {
	return v.fileMAC("audit-checkpoint", entry)
}

// fileMAC is a MAC of a line of one of the files kept beside the data, the
// kind of file bound in.
func (v *Vault) fileMAC(kind string, entry []byte) []byte {
	h := hmac.New(sha256.New, v.journal)
	h.Write(binding(kind, 0, 0, ""))
	h.Write(entry)
	return h.Sum(nil)
}

// PreferenceMAC returns a MAC of the body of a preference-centre link
// token (workspace, contact, expiry), so that a link cannot be forged or
// pointed at another contact without the master key. It uses a key of its
// own: a link's MAC says nothing about a blind index or a journal entry.
func (v *Vault) PreferenceMAC(body []byte) []byte {
	h := hmac.New(sha256.New, v.prefs)
	h.Write(binding("prefs", 0, 0, ""))
	h.Write(body)
	return h.Sum(nil)
}

// TrackingMAC returns a MAC of a tracking pixel token's payload (which
// names workspace, contact and message), so that a token cannot be made or
// altered, to record an open of someone else, without the master key.
func (v *Vault) TrackingMAC(payload []byte) []byte {
	h := hmac.New(sha256.New, v.tracking)
	h.Write(binding("tracking", 0, 0, ""))
	h.Write(payload)
	return h.Sum(nil)[:16]
}

// StaffKey encrypts and decrypts the personal data of one staff user: the
// address, the TOTP secret, the addresses and browsers of sign-ins. Its key
// is derived from the master key, bound to workspace and user, so it needs
// no key store row; a staff account's data goes with its rows.
type StaffKey struct {
	aead      cipher.AEAD
	workspace int64
	user      int64
}

// StaffKey returns the key of the user's personal data.
func (v *Vault) StaffKey(workspace, user int64) *StaffKey {
	k, err := hkdf.Key(sha256.New, v.staff, binding("staff", workspace, user, ""), "custos staff-data v1", KeySize)
	if err != nil {
		panic(err) // only for impossible lengths
	}
	aead, err := newAEAD(k)
	if err != nil {
		panic(err)
	}
	return &StaffKey{aead: aead, workspace: workspace, user: user}
}

// Seal encrypts an item of the user so that it opens only for this user
// and name.
func (k *StaffKey) Seal(name string, plaintext []byte) []byte {
	return seal(k.aead, plaintext, binding("sval", k.workspace, k.user, name))
}

// Open decrypts what Seal sealed under the same name.
func (k *StaffKey) Open(name string, sealed []byte) ([]byte, error) {
	return open(k.aead, sealed, binding("sval", k.workspace, k.user, name))
}

// StaffMAC returns a keyed hash of a value of the named kind: a client address or an
// account in the sign-in throttle, a recovery code; so that none is stored in clear.
func (v *Vault) StaffMAC(workspace int64, kind, value string) []byte {
	h := hmac.New(sha256.New, v.staff)
	h.Write(binding("smac", workspace, 0, kind))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return h.Sum(nil)[:16]
}

// SignupKey encrypts and decrypts the personal data of one pending sign-up
// (the values a person typed into a form, the IP address and user agent
// they sent it from) and the confirmation mail queued for it. A sign-up
// has a key of its own because it names a person who is not a contact
// until they confirm, and whose data must go when they do not.
type SignupKey struct{ objectKey }

// NewSignupKey makes a new random data key for a sign-up and returns it
// with its wrapped form, which is what the key store keeps.
func (v *Vault) NewSignupKey(workspace, signup int64) (*SignupKey, []byte) {
	k, wrapped := v.newObjectKey("sdek", "sval", workspace, signup)
	return &SignupKey{k}, wrapped
}

// UnwrapSignupKey opens a wrapped data key of the sign-up.
func (v *Vault) UnwrapSignupKey(workspace, signup int64, wrapped []byte) (*SignupKey, error) {
	k, err := v.unwrapObjectKey("sdek", "sval", "sign-up", workspace, signup, wrapped)
	if err != nil {
		return nil, err
	}
	return &SignupKey{k}, nil
}

// FileKey encrypts a file staged on disk, such as an uploaded import,
// which holds personal data and must never sit there in clear. It is made
// before the file has an id and wrapped under the id once it has one; its
// binding differs from every other key's.
type FileKey struct {
	aead cipher.AEAD
	dk   []byte
}

// NewFileKey makes a new random file key.
func NewFileKey() *FileKey {
	dk := make([]byte, KeySize)
	rand.Read(dk)
	aead, err := newAEAD(dk)
	if err != nil {
		panic(err) // only for a key of the wrong size, which this is not
	}
	return &FileKey{aead: aead, dk: dk}
}

// WrapFileKey wraps k for the key store, bound to the kind of file and its
// id in the workspace.
func (v *Vault) WrapFileKey(k *FileKey, kind string, workspace, id int64) []byte {
	return seal(v.wrap, k.dk, binding("fdek", workspace, id, kind))
}

// UnwrapFileKey opens a wrapped file key.
func (v *Vault) UnwrapFileKey(kind string, workspace, id int64, wrapped []byte) (*FileKey, error) {
	dk, err := open(v.wrap, wrapped, binding("fdek", workspace, id, kind))
	if err != nil {
		return nil, fmt.Errorf("vault: unwrap key of %s %d: %w", kind, id, err)
	}
	aead, err := newAEAD(dk)
	if err != nil {
		return nil, err
	}
	return &FileKey{aead: aead, dk: dk}, nil
}

// Seal encrypts one segment of the file under its name.
func (k *FileKey) Seal(name string, plaintext []byte) []byte {
	return seal(k.aead, plaintext, binding("fval", 0, 0, name))
}

// Open decrypts what Seal sealed under the same name.
func (k *FileKey) Open(name string, sealed []byte) ([]byte, error) {
	return open(k.aead, sealed, binding("fval", 0, 0, name))
}

// MailKey encrypts one queued message to a member of staff or to the
// subject of a request (a reset link, a sign-in code, an invitation, a
// verification link): such a message is no contact's, and holds a secret
// that must not stay readable once it is sent or no longer works, so it
// has a key of its own, shredded then.
type MailKey struct{ objectKey }

// NewMailKey makes a new random data key for a queued message and returns
// it with its wrapped form, which is what the key store keeps.
func (v *Vault) NewMailKey(workspace, id int64) (*MailKey, []byte) {
	k, wrapped := v.newObjectKey("mdek", "mval", workspace, id)
	return &MailKey{k}, wrapped
}

// UnwrapMailKey opens a wrapped data key of a queued message.
func (v *Vault) UnwrapMailKey(workspace, id int64, wrapped []byte) (*MailKey, error) {
	k, err := v.unwrapObjectKey("mdek", "mval", "mail", workspace, id, wrapped)
	if err != nil {
		return nil, err
	}
	return &MailKey{k}, nil
}
