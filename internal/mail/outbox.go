package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/durable"
)

// outbox keeps messages as files, <ref>-<unix nanoseconds>-<16 hex>.eml,
// mode 0600, in a directory of mode 0700. While a file is written it is
// named "." + its name + ".tmp"; the rename that gives it its name is
// atomic, so a reader never sees half a message.
type outbox struct {
	dir string
}

func newOutbox(dir string) (*outbox, error) {
	if dir == "" {
		return nil, custos.Invalid("outbox_dir", "is required when no SMTP URL is set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create the outbox directory: %w", err)
	}
	return &outbox{dir: dir}, nil
}

// write stores raw as a new message about ref.
func (o *outbox) write(ctx context.Context, ref string, raw []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	name := ref + "-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + randomHex(8) + ".eml"
	tmp := filepath.Join(o.dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(raw); err != nil {
		return fmt.Errorf("mail: outbox: write: %w", err)
	} else if err = f.Sync(); err != nil {
		return fmt.Errorf("mail: outbox: write: %w", err)
	} else if err = f.Close(); err != nil {
		return fmt.Errorf("mail: outbox: write: %w", err)
	} else if err = os.Rename(tmp, filepath.Join(o.dir, name)); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return syncDir(o.dir)
}

// writeAll stores many messages, raws[i] about refs[i], at the cost of
// about one: each file is written, then all are synced (syncFiles),
// renamed, and the directory synced once. It returns each one's error; a
// message whose error is nil is durable.
func (o *outbox) writeAll(ctx context.Context, refs []string, raws [][]byte) []error {
	errs := make([]error, len(raws))
	type pending struct {
		i         int
		f         *os.File
		tmp, name string
	}
	var ps []pending
	fail := func(p pending, err error) {
		if p.f != nil {
			p.f.Close()
		}
		os.Remove(p.tmp)
		errs[p.i] = err
	}
	for i, raw := range raws {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("mail: outbox: %w", err)
			continue
		}
		name := refs[i] + "-" + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + randomHex(8) + ".eml"
		p := pending{i: i, tmp: filepath.Join(o.dir, "."+name+".tmp"), name: filepath.Join(o.dir, name)}
		f, err := os.OpenFile(p.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			errs[i] = fmt.Errorf("mail: outbox: %w", err)
			continue
		}
		p.f = f
		if _, err := f.Write(raw); err != nil {
			fail(p, fmt.Errorf("mail: outbox: write: %w", err))
			continue
		}
		ps = append(ps, p)
	}
	files := make([]*os.File, len(ps))
	for j, p := range ps {
		files[j] = p.f
	}
	for j, err := range syncFiles(files) {
		p := &ps[j]
		if cerr := p.f.Close(); err == nil {
			err = cerr
		}
		p.f = nil
		if err != nil {
			fail(*p, fmt.Errorf("mail: outbox: write: %w", err))
		}
	}
	renamed := 0
	for _, p := range ps {
		if errs[p.i] != nil {
			continue
		}
		if err := os.Rename(p.tmp, p.name); err != nil {
			fail(p, fmt.Errorf("mail: outbox: %w", err))
		} else {
			renamed++
		}
	}
	if renamed > 0 {
		if err := syncDir(o.dir); err != nil {
			for _, p := range ps {
				if errs[p.i] == nil {
					errs[p.i] = err
				}
			}
		}
	}
	return errs
}

// purge removes every file about ref, finished or not, and returns how
// many it removed.
func (o *outbox) purge(ref string) (int, error) {
	return o.purgeSet(map[string]bool{ref: true})
}

// purgeSet removes every file about any of refs in one pass over the
// directory, and returns how many it removed.
func (o *outbox) purgeSet(refs map[string]bool) (int, error) {
	entries, err := os.ReadDir(o.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("mail: outbox: purge: %w", err)
	}
	n := 0
	for _, e := range entries {
		if r, ok := refOf(e.Name()); !ok || !refs[r] {
			continue
		}
		err := os.Remove(filepath.Join(o.dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a write gave up, or another purge was quicker
		} else if err != nil {
			return n, fmt.Errorf("mail: outbox: purge: %w", err)
		}
		n++
	}
	if n > 0 {
		return n, syncDir(o.dir)
	}
	return n, nil
}

// refOf returns the ref part of an outbox file name, or of the name of a
// file being written, and false for any other name. It reads the name from
// the right, because a ref may itself hold dashes and digits: ref
// "contact-1" and ref "contact-12" never match each other's files.
func refOf(name string) (string, bool) {
	if s, ok := strings.CutPrefix(name, "."); ok {
		if name, ok = strings.CutSuffix(s, ".tmp"); !ok {
			return "", false
		}
	}
	rest, ok := strings.CutSuffix(name, ".eml")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '-')
	if i < 0 || !isLowerHex(rest[i+1:], 16) {
		return "", false
	}
	rest = rest[:i]
	i = strings.LastIndexByte(rest, '-')
	if i < 0 || !isDigits(rest[i+1:]) {
		return "", false
	}
	if ref := rest[:i]; validRef(ref) {
		return ref, true
	}
	return "", false
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("mail: outbox: sync: %w", err)
	}
	return nil
}
