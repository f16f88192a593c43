package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/vault"
)

// signupKeys returns the unwrapped data keys of the sign-ups. A sign-up
// whose key is gone (shredded) is missing from the map.
func (db *DB) signupKeys(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.SignupKey, error) {
	return readKeys(ctx, db, "signup_keys", "signup_id", ws, ids, func(id int64, wrapped []byte) (*vault.SignupKey, error) {
		return db.vault.UnwrapSignupKey(ws, id, wrapped)
	})
}

// signupName is the name a sign-up's data is sealed under.
const signupName = "signup"

// signupData is the sealed part of a pending sign-up.
type signupData struct {
	Email     string            `json:"email"`
	Fields    map[string]string `json:"fields,omitempty"`
	Purposes  []int64           `json:"purposes"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"ua,omitempty"`
	Language  string            `json:"lang"`
	Mail      string            `json:"mail"` // notice hash of the confirmation mail's wording
}

// SignupTTL is how long a pending sign-up and its link live; tests and the
// configuration may change it before serving.
func (db *DB) signupTTL() time.Duration {
	if db.SignupTTL > 0 {
		return db.SignupTTL
	}
	return custos.SignupTokenTTL
}

// signupLimits returns the anti-abuse limits in force.
func (db *DB) signupLimits() custos.SignupLimits {
	l := db.SignupLimits
	if l.MailsPerAddress == 0 {
		l.MailsPerAddress = 3
	}
	if l.AddressWindow == 0 {
		l.AddressWindow = 24 * time.Hour
	}
	return l
}

// PublicForm returns the current version of an unarchived form with the
// labels of its fields.
func (db *DB) PublicForm(ctx context.Context, formID int64) (*custos.PublicForm, error) {
	pf, _, err := db.publicForm(ctx, formID)
	return pf, err
}

// publicFormTTL is how long a public form is served from memory: a change
// made by this process shows at once, one made by another (the command
// line) within this time.
const publicFormTTL = time.Second

// cachedForm is a public form with the field definitions its submissions
// are checked against.
type cachedForm struct {
	pf   *custos.PublicForm
	defs map[string]*custos.FieldDef
	at   time.Time
}

// publicForm returns the public form and the field definitions, from
// memory when fresh: every submission needs them, twice.
func (db *DB) publicForm(ctx context.Context, formID int64) (*custos.PublicForm, map[string]*custos.FieldDef, error) {
	now := time.Now()
	db.forms.mu.Lock()
	c, ok := db.forms.m[formID]
	db.forms.mu.Unlock()
	if ok && now.Sub(c.at) < publicFormTTL {
		if c.pf == nil {
			return nil, nil, custos.NotFound("form")
		}
		return c.pf, c.defs, nil
	}
	var ws int64
	err := db.read.QueryRowContext(ctx, db.q(`SELECT workspace_id FROM forms WHERE id = ? AND archived_at IS NULL`), formID).Scan(&ws)
	if errors.Is(err, sql.ErrNoRows) {
		db.cacheForm(formID, cachedForm{at: now})
		return nil, nil, custos.NotFound("form")
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: public form: %w", err)
	}
	f, err := db.findForm(ctx, db.read, ws, formID)
	if err != nil {
		return nil, nil, err
	}
	defs, err := db.fieldMap(ctx, db.read, ws)
	if err != nil {
		return nil, nil, err
	}
	pf := &custos.PublicForm{WorkspaceID: ws, Form: f, Labels: map[string]string{}, Types: map[string]custos.FieldType{}, Choices: map[string][]string{}}
	for _, ff := range f.Fields {
		if d := defs[ff.Field]; d != nil {
			pf.Labels[ff.Field], pf.Types[ff.Field] = d.Label, d.Type
			if d.Type == custos.FieldChoice {
				pf.Choices[ff.Field] = d.Choices
			}
		}
	}
	db.cacheForm(formID, cachedForm{pf: pf, defs: defs, at: now})
	return pf, defs, nil
}

// cacheForm keeps c; an entry of 0 forgets them all (a form or a field
// changed).
func (db *DB) cacheForm(id int64, c cachedForm) {
	db.forms.mu.Lock()
	defer db.forms.mu.Unlock()
	if db.forms.m == nil || id == 0 || len(db.forms.m) > 10000 {
		db.forms.m = map[int64]cachedForm{}
	}
	if id != 0 {
		db.forms.m[id] = c
	}
}

// maxFormValue is the longest value a form field takes, in characters.
const maxFormValue = 500

// checkSubmission validates s against form f and returns the sealed data
// to keep, without the mail's notice.
func (db *DB) checkSubmission(defs map[string]*custos.FieldDef, f *custos.Form, s custos.Submission) (*signupData, error) {
	d := &signupData{Fields: map[string]string{}, IP: s.IP, UserAgent: s.UserAgent, Language: f.Language}
	shown := map[string]custos.FormField{}
	for _, ff := range f.Fields {
		shown[ff.Field] = ff
	}
	for k, v := range s.Fields {
		if _, ok := shown[k]; !ok {
			return nil, custos.Invalid("fields."+k, "is not a field of this form")
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return nil, custos.Invalid("fields."+k, "is not valid text")
		}
	}
	email, err := custos.NormalizeEmail("fields.email", s.Fields[custos.FieldEmail])
	if err != nil {
		return nil, err
	}
	d.Email = email
	values := map[string]any{}
	for _, ff := range f.Fields {
		if ff.Field == custos.FieldEmail {
			continue
		}
		v := strings.TrimSpace(s.Fields[ff.Field])
		if v == "" {
			if ff.Required {
				return nil, custos.Invalid("fields."+ff.Field, "is required")
			}
			continue
		}
		if utf8.RuneCountInString(v) > maxFormValue {
			return nil, custos.Invalid("fields."+ff.Field, "must be at most %d characters", maxFormValue)
		}
		d.Fields[ff.Field], values[ff.Field] = v, v
	}
	if len(values) > 0 {
		// The field definitions check the values as a contact's would be.
		if _, _, err := normalizeFields(defs, values); err != nil {
			return nil, err
		}
	}
	offered := map[int64]bool{}
	var main int64
	for _, p := range f.Purposes {
		offered[p.PurposeID] = true
		if p.Main {
			main = p.PurposeID
		}
	}
	if len(s.Purposes) > len(f.Purposes) {
		return nil, custos.Invalid("purposes", "names more purposes than the form offers")
	}
	for _, id := range s.Purposes {
		if !offered[id] {
			return nil, custos.Invalid("purposes", "purpose %d is not offered by this form", id)
		} else if slices.Contains(d.Purposes, id) {
			return nil, custos.Invalid("purposes", "purpose %d is named twice", id)
		}
		d.Purposes = append(d.Purposes, id)
	}
	if !slices.Contains(d.Purposes, main) {
		return nil, custos.Invalid("purposes", "the main purpose's box must be ticked to sign up")
	}
	if len(s.UserAgent) > 1000 {
		d.UserAgent = s.UserAgent[:1000]
	}
	return d, nil
}

func hashSignupToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// SubmitForm validates a submission and stores a pending sign-up and its
// confirmation mail in one transaction. An address erased with suppression
// is answered as any other, and nothing is stored or sent.
func (db *DB) SubmitForm(ctx context.Context, formID int64, s custos.Submission, mail func(to, token, lang string) (*custos.Message, string)) error {
	pf, defs, err := db.publicForm(ctx, formID)
	if err != nil {
		return err
	}
	ws, f := pf.WorkspaceID, pf.Form
	d, err := db.checkSubmission(defs, f, s)
	if err != nil {
		return err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := base64.RawURLEncoding.EncodeToString(secret)
	m, template := mail(d.Email, token, d.Language)
	mailNotice := &custos.Notice{Body: template, Kind: custos.NoticeEmail, Language: d.Language}
	if err := mailNotice.Validate(); err != nil {
		return err
	}
	d.Mail = mailNotice.Hash
	w := &signupWrite{ws: ws, form: f, bidx: db.vault.BlindIndex(ws, custos.FieldEmail, d.Email), data: d,
		tokenHash: hashSignupToken(token), mail: m, notice: mailNotice, done: make(chan error, 1)}
	if err := db.writeSignup(ctx, w); errors.Is(err, errSuppressed) {
		return nil
	} else if err != nil {
		return err
	}
	db.wakeMail()
	return nil
}

// errSuppressed is the outcome of a sign-up whose address belongs to a
// person erased with suppression: nothing is stored or sent, and the
// submission is answered as any other.
var errSuppressed = errors.New("store: the address is suppressed")

// signupWrite is a checked submission waiting for the writer, or a job:
// another small write that rides in the writer's next transaction.
type signupWrite struct {
	ws        int64
	form      *custos.Form
	bidx      []byte
	data      *signupData
	tokenHash []byte
	mail      *custos.Message
	notice    *custos.Notice
	job       func(ctx context.Context, tx *sql.Tx) error
	done      chan error
}

// maxSignupBatch is the most sign-ups one transaction writes.
const maxSignupBatch = 500

// startSignupWriters starts the sign-up writers once.
func (db *DB) startSignupWriters() {
	db.signupOnce.Do(func() {
		n := 1
		if db.pg {
			n = 4
		}
		db.signupDone = make(chan struct{})
		var writers sync.WaitGroup
		for range n {
			q := make(chan *signupWrite, maxSignupBatch)
			db.signupQ = append(db.signupQ, q)
			writers.Add(1)
			db.bg.Go(func() {
				defer writers.Done()
				db.signupWriter(q)
			})
		}
		db.bg.Go(func() {
			writers.Wait()
			close(db.signupDone)
		})
	})
}

// writeSignup hands w to a sign-up writer and waits for its commit.
// Sign-ups arriving together share one transaction (group commit): with
// synchronous=FULL, a commit costs an fsync, which one sign-up each would
// not afford at a thousand a second. SQLite has one writer; PostgreSQL,
// which commits transactions side by side, has several, and an address
// always goes to the same one, so that its limit is counted exactly.
func (db *DB) writeSignup(ctx context.Context, w *signupWrite) error {
	db.startSignupWriters()
	q := db.signupQ[0]
	if w.job == nil {
		q = db.signupQ[int(w.bidx[0])%len(db.signupQ)]
	}
	// A select picks at random among what is ready: a cancelled caller
	// must not be queued because the writer happened to be free too (the
	// writer runs its work under a context of its own).
	if ctx.Err() != nil {
		return custos.Errorf(custos.EUNAVAILABLE, "the request was cancelled or timed out")
	}
	select {
	case q <- w:
	case <-db.closing:
		return custos.Errorf(custos.EUNAVAILABLE, "the server is shutting down")
	case <-ctx.Done():
		return custos.Errorf(custos.EUNAVAILABLE, "the request was cancelled or timed out")
	}
	// Once queued, the outcome is waited for: the caller must not answer
	// before it knows whether the sign-up was kept.
	select {
	case err := <-w.done:
		return err
	case <-db.signupDone:
		// The writers stopped (the store is closing); they answered what
		// they took before they did.
		select {
		case err := <-w.done:
			return err
		default:
			return custos.Errorf(custos.EUNAVAILABLE, "the server is shutting down")
		}
	}
}

// writeJob runs fn in a write transaction and returns once it commits. On
// SQLite that is the sign-up writer's next transaction, after the sign-ups
// it writes: the mail worker's bookkeeping (claiming a batch, recording it
// sent) would otherwise hold SQLite's one writer connection between the
// sign-ups' commits; this way a submission never waits behind it, and
// under load it costs no commit (no fsync) of its own. fn failing rolls
// back only its own writes (a savepoint). PostgreSQL writes side by side,
// so there a job is a transaction of its own: riding in a sign-up writer's
// would only add its work to that writer's sign-ups.
func (db *DB) writeJob(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if db.pg {
		return db.tx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	return db.writeSignup(ctx, &signupWrite{job: fn, done: make(chan error, 1)})
}

// signupWriter writes the sign-ups of q in batches until the store closes.
func (db *DB) signupWriter(q <-chan *signupWrite) {
	for {
		var batch []*signupWrite
		select {
		case w := <-q:
			batch = append(batch, w)
		case <-db.closing:
			return
		}
	drain:
		for len(batch) < maxSignupBatch {
			select {
			case w := <-q:
				batch = append(batch, w)
			default:
				break drain
			}
		}
		errs := db.writeSignups(context.Background(), batch)
		for i, w := range batch {
			w.done <- errs[i]
		}
	}
}

// writeSignups writes a batch of sign-ups, each with its rate-limit row
// and its confirmation mail, in one transaction, after committing their
// keys, and then runs the batch's jobs in it, each in a savepoint. It
// returns each one's outcome: a sign-up over the per-address limit, or a
// job that fails, fails alone.
func (db *DB) writeSignups(ctx context.Context, all []*signupWrite) []error {
	var batch, jobs []*signupWrite
	for _, w := range all {
		if w.job != nil {
			jobs = append(jobs, w)
		} else {
			batch = append(batch, w)
		}
	}
	errs := make([]error, len(batch))
	jobErrs := make([]error, len(jobs))
	runJobs := func(tx *sql.Tx) error {
		for i, j := range jobs {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT job`); err != nil {
				return err
			}
			jobErrs[i] = j.job(ctx, tx)
			end := `RELEASE SAVEPOINT job`
			if jobErrs[i] != nil {
				end = `ROLLBACK TO SAVEPOINT job`
			}
			if _, err := tx.ExecContext(ctx, end); err != nil {
				return err
			}
		}
		return nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for i := range errs {
			errs[i] = nil
		}
		if len(batch) > 0 {
			if err := db.insertSignups(ctx, tx, batch, errs); err != nil {
				return err
			}
		}
		return runJobs(tx)
	})
	jobsErr := err
	if err != nil && len(batch) > 0 && len(jobs) > 0 {
		// The sign-ups failed the transaction: the jobs are not theirs to
		// fail with, and run again alone.
		jobsErr = db.tx(ctx, runJobs)
	}
	out := make([]error, 0, len(all))
	bi, ji := 0, 0
	for _, w := range all {
		switch {
		case w.job != nil && jobsErr != nil:
			out = append(out, jobsErr)
		case w.job != nil:
			out = append(out, jobErrs[ji])
		case err != nil:
			out = append(out, err)
		default:
			out = append(out, errs[bi])
		}
		if w.job != nil {
			ji++
		} else {
			bi++
		}
	}
	return out
}

// insertSignups writes, in tx, a batch of sign-ups with their rate-limit
// rows and confirmation mails, after committing their keys; errs receives
// the outcome of each sign-up refused alone.
func (db *DB) insertSignups(ctx context.Context, tx *sql.Tx, batch []*signupWrite, errs []error) error {
	limits := db.signupLimits()
	now := db.Now()
	ids, err := db.allocIDs(ctx, tx, "signups", len(batch))
	if err != nil {
		return err
	}
	type addr struct {
		ws   int64
		bidx string
	}
	// The mails each address had lately: one query per workspace.
	sent := map[addr]int{}
	byWS := map[int64][]any{}
	for _, w := range batch {
		byWS[w.ws] = append(byWS[w.ws], w.bidx)
	}
	// The addresses erased with suppression, checked in the transaction
	// that would store them, so that an erasure committed a moment before
	// is never undone: one query per workspace.
	suppressed := map[int64]map[string]bool{}
	emails := map[int64][]string{}
	for _, w := range batch {
		emails[w.ws] = append(emails[w.ws], w.data.Email)
	}
	for ws, es := range emails {
		var err error
		if suppressed[ws], err = db.suppressedSet(ctx, tx, ws, es); err != nil {
			return err
		}
	}
	for ws, bidxs := range byWS {
		args := append([]any{ws, micros(now.Add(-limits.AddressWindow))}, bidxs...)
		rows, err := tx.QueryContext(ctx, db.q(`SELECT email_bidx, COUNT(*) FROM signup_mails WHERE workspace_id = ? AND sent_at > ?
			AND email_bidx IN (`+placeholders(len(bidxs))+`) GROUP BY email_bidx`), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b []byte
			var n int
			if err := rows.Scan(&b, &n); err != nil {
				rows.Close()
				return err
			}
			sent[addr{ws, string(b)}] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	notices := map[addr]bool{}
	var signups, mails, queue, keys [][]any
	for i, w := range batch {
		a := addr{w.ws, string(w.bidx)}
		if suppressed[w.ws][w.data.Email] {
			errs[i] = errSuppressed
			continue
		}
		if sent[a] >= limits.MailsPerAddress {
			errs[i] = custos.Errorf(custos.ERATELIMIT, "Too many confirmation mails were sent to this address lately; try again later.")
			continue
		}
		sent[a]++
		if n := (addr{w.ws, w.notice.Hash}); !notices[n] {
			if err := db.ensureNotice(ctx, tx, w.ws, w.notice); err != nil {
				return err
			}
			notices[n] = true
		}
		id := ids[i]
		k, wrapped := db.vault.NewSignupKey(w.ws, id)
		w.mail.Ref = "signup-" + strconv.FormatInt(id, 10)
		body, err := json.Marshal(w.mail)
		if err != nil {
			return err
		}
		signups = append(signups, []any{id, w.ws, w.form.ID, w.form.Version, w.bidx, w.tokenHash,
			k.Seal(signupName, []byte(encodeJSON(w.data))), micros(now), micros(now.Add(db.signupTTL()))})
		mails = append(mails, []any{w.ws, w.bidx, micros(now)})
		queue = append(queue, []any{w.ws, mailSubjectSignup, id, custos.MailQueued, 0, micros(now), k.Seal(mailName, body), micros(now)})
		keys = append(keys, []any{w.ws, id, wrapped, micros(now)})
	}
	// The keys commit first: a crash between leaves keys without
	// data, which the sweep removes, never data without its key. Their
	// commit runs while the data's rows are written, and the data
	// commits only after it.
	keysDone := make(chan error, 1)
	go func() {
		keysDone <- db.txOn(ctx, db.keys, func(ktx *sql.Tx) error {
			return db.insertRows(ctx, ktx, "signup_keys", []string{"workspace_id", "signup_id", "wrapped", "created_at"}, keys)
		})
	}()
	put := db.inserter(tx)
	err = put(ctx, "signups", []string{"id", "workspace_id", "form_id", "form_version", "email_bidx", "token_hash", "sealed", "created_at", "expires_at"}, nil, signups)
	if err == nil {
		err = put(ctx, "signup_mails", []string{"workspace_id", "email_bidx", "sent_at"}, nil, mails)
	}
	if err == nil {
		err = put(ctx, "mail_queue", []string{"workspace_id", "subject_kind", "subject_id", "status", "attempts", "next_at", "sealed", "created_at"}, nil, queue)
	}
	if kerr := <-keysDone; err == nil {
		err = kerr
	}
	return err
}

// signupRow is a pending sign-up as stored.
type signupRow struct {
	ws, id, form int64
	version      int
	created      int64
	expires      int64
	sealed       []byte
}

// findSignup finds the sign-up of a token: ENOTFOUND for one unknown or
// used, EGONE for one expired.
func (db *DB) findSignup(ctx context.Context, q querier, token string, lock bool) (*signupRow, error) {
	invalid := custos.NotFound("confirmation link")
	if token == "" || len(token) > 100 {
		return nil, invalid
	}
	suffix := ""
	if lock && db.pg {
		suffix = " FOR UPDATE"
	}
	r := &signupRow{}
	err := q.QueryRowContext(ctx, db.q(`SELECT workspace_id, id, form_id, form_version, created_at, expires_at, sealed FROM signups WHERE token_hash = ?`+suffix),
		hashSignupToken(token)).Scan(&r.ws, &r.id, &r.form, &r.version, &r.created, &r.expires, &r.sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("store: confirmation token: %w", err)
	}
	if db.Now().UnixMicro() > r.expires {
		return nil, custos.Errorf(custos.EGONE, "the confirmation link has expired")
	}
	return r, nil
}

// openSignup opens a sign-up's data; EGONE when its key is gone.
func (db *DB) openSignup(ctx context.Context, r *signupRow) (*signupData, error) {
	keys, err := db.signupKeys(ctx, r.ws, []int64{r.id})
	if err != nil {
		return nil, err
	}
	k, ok := keys[r.id]
	if !ok {
		return nil, custos.Errorf(custos.EGONE, "the confirmation link has expired")
	}
	p, err := k.Open(signupName, r.sealed)
	if err != nil {
		return nil, err
	}
	d := &signupData{}
	if err := json.Unmarshal(p, d); err != nil {
		return nil, fmt.Errorf("store: sign-up %d: %w", r.id, err)
	}
	return d, nil
}

// CheckSignupToken returns the language of the token's sign-up.
func (db *DB) CheckSignupToken(ctx context.Context, token string) (string, error) {
	r, err := db.findSignup(ctx, db.read, token, false)
	if err != nil {
		return "", err
	}
	d, err := db.openSignup(ctx, r)
	if err != nil {
		return "", err
	}
	return d.Language, nil
}

// ConfirmSignup turns the token's sign-up into a contact, or into new
// consents of the contact that has the address, in one transaction; then
// shreds the sign-up's key.
func (db *DB) ConfirmSignup(ctx context.Context, token, ip, userAgent string) (*custos.ConfirmedSignup, error) {
	c, err := db.confirmSignup(ctx, token, ip, userAgent)
	if isConflict(err) {
		// Another sign-up with the address was confirmed at the same
		// moment and made the contact: this one adds its consents to it.
		c, err = db.confirmSignup(ctx, token, ip, userAgent)
	}
	return c, err
}

func (db *DB) confirmSignup(ctx context.Context, token, ip, userAgent string) (*custos.ConfirmedSignup, error) {
	r, err := db.findSignup(ctx, db.read, token, false)
	if err != nil {
		return nil, err
	}
	d, err := db.openSignup(ctx, r)
	if err != nil {
		return nil, err
	}
	ws := r.ws
	a := custos.Actor{WorkspaceID: ws, Kind: "subject"}
	f, err := db.formVersion(ctx, db.read, ws, r.form, r.version)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	proof := &custos.ConsentProof{FormID: f.ID, FormVersion: f.Version, InformationClause: f.InformationClauseHash,
		ConfirmationMail: d.Mail, SubmittedAt: fromMicros(r.created), SubmittedIP: d.IP, SubmittedUserAgent: d.UserAgent,
		ConfirmedAt: now, ConfirmedIP: ip, ConfirmedUserAgent: userAgent}
	var consents []custos.ConsentRequest
	for _, p := range f.Purposes {
		if slices.Contains(d.Purposes, p.PurposeID) {
			consents = append(consents, custos.ConsentRequest{PurposeID: p.PurposeID, Action: custos.ActionGrant, NoticeHash: p.NoticeHash,
				IP: ip, UserAgent: userAgent, Method: custos.MethodDOI, Proof: proof})
		}
	}
	purposes, err := db.consentPurposes(ctx, ws, consents, now)
	if err != nil {
		return nil, err
	}
	defs, err := db.fieldMap(ctx, db.read, ws)
	if err != nil {
		return nil, err
	}
	out := &custos.ConfirmedSignup{Language: d.Language, FormID: f.ID}
	bidx := db.vault.BlindIndex(ws, custos.FieldEmail, d.Email)
	err = db.bulkTx(ctx, db.write, func(tx *sql.Tx, put rowWriter) error {
		// Again, locked: a second confirmation waits, then finds it used.
		if _, err := db.findSignup(ctx, tx, token, true); err != nil {
			return err
		}
		var existing int64
		err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM contacts WHERE workspace_id = ? AND email_bidx = ?`), ws, bidx).Scan(&existing)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c := &custos.Contact{Email: d.Email, Status: custos.StatusActive,
				Source: custos.Source{Kind: custos.SourceForm, Detail: fmt.Sprintf("form %d version %d", f.ID, f.Version)}, Fields: map[string]any{}}
			for k, v := range d.Fields {
				if defs[k] != nil { // a field deleted since is left out
					c.Fields[k] = v
				}
			}
			if err := c.Validate(); err != nil {
				return err
			}
			if c.Fields, _, err = normalizeFields(defs, c.Fields); err != nil {
				return err
			}
			maps.DeleteFunc(c.Fields, func(_ string, v any) bool { return v == nil })
			if err := db.checkSuppressed(ctx, tx, ws, "email", []string{c.Email}); err != nil {
				return err
			}
			c.CreatedAt, c.UpdatedAt, c.Monitoring = now, now, true
			ids, err := db.allocIDs(ctx, tx, "contacts", 1)
			if err != nil {
				return err
			}
			if err := db.insertChunk(ctx, tx, put, a, db.sealChunk(ws, []*custos.Contact{c}, ids, defs, true), consents, purposes); err != nil {
				return err
			}
			out.ContactID, out.Created = ids[0], true
		case err != nil:
			return err
		default:
			// An existing contact: new events, nothing recorded overwritten.
			row, err := db.lockContact(ctx, tx, ws, existing)
			if err != nil {
				return err
			}
			if custos.ContactStatus(row.status) == custos.StatusRestricted {
				return custos.Restricted("email", "consents wait until the restriction is lifted")
			}
			k, err := db.contactKey(ctx, ws, existing)
			if err != nil {
				return err
			}
			if _, err := db.appendEvents(ctx, tx, put, false, a, []int64{existing}, []*vault.ContactKey{k}, consents, purposes); err != nil {
				return err
			}
			out.ContactID = existing
		}
		if len(f.ListIDs) > 0 {
			for _, l := range f.ListIDs {
				if _, err := db.findList(ctx, tx, ws, l); custos.ErrorCode(err) == custos.ENOTFOUND {
					continue // deleted since
				} else if err != nil {
					return err
				}
				// The person joins it, even if they left it before.
				if err := db.rejoin(ctx, tx, ws, l, []int64{out.ContactID}); err != nil {
					return err
				}
				if _, err := db.insertShared(ctx, tx, "list_members", memberCols, []any{ws, l, micros(now)}, [][]any{{out.ContactID}}, memberIgnore); err != nil {
					return err
				}
			}
		}
		return db.deleteSignups(ctx, tx, ws, []int64{r.id})
	})
	if err != nil {
		return nil, err
	}
	if err := db.shredSignups(ctx, ws, []int64{r.id}); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteSignups deletes sign-ups and the mail queued about them, in tx.
func (db *DB) deleteSignups(ctx context.Context, tx *sql.Tx, ws int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.forgetMail(ctx, tx, ws, mailSubjectSignup, ids); err != nil {
		return err
	}
	args := []any{ws}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM signups WHERE workspace_id = ? AND id IN (`+placeholders(len(ids))+`)`), args...)
	return err
}

// shredSignups deletes the keys of sign-ups whose rows are gone, and their
// copies in the outbox.
func (db *DB) shredSignups(ctx context.Context, ws int64, ids []int64) error {
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		args := []any{ws}
		for _, id := range batch {
			args = append(args, id)
		}
		if _, err := db.keys.ExecContext(ctx, db.q(`DELETE FROM signup_keys WHERE workspace_id = ? AND signup_id IN (`+placeholders(len(batch))+`)`), args...); err != nil {
			return fmt.Errorf("store: shred sign-up keys: %w", mapError(err))
		}
	}
	if db.outbox == nil || len(ids) == 0 {
		return nil
	}
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = "signup-" + strconv.FormatInt(id, 10)
	}
	// One pass over the outbox for them all, when the outbox can.
	if all, ok := db.outbox.(interface {
		PurgeAll(refs []string) (int, error)
	}); ok {
		if _, err := all.PurgeAll(refs); err != nil {
			return fmt.Errorf("store: purge the outbox: %w", err)
		}
		return nil
	}
	for _, ref := range refs {
		if _, err := db.outbox.Purge(ref); err != nil {
			return fmt.Errorf("store: purge the outbox: %w", err)
		}
	}
	return nil
}

// forgetSignups removes, in tx, the pending sign-ups with the address of
// blind index bidx and its rate-limit rows, and returns their ids, whose
// keys the caller shreds after the commit.
func (db *DB) forgetSignups(ctx context.Context, tx *sql.Tx, ws int64, bidx []byte) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, db.q(`SELECT id FROM signups WHERE workspace_id = ? AND email_bidx = ?`), ws, bidx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := db.deleteSignups(ctx, tx, ws, ids); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM signup_mails WHERE workspace_id = ? AND email_bidx = ?`), ws, bidx); err != nil {
		return nil, err
	}
	return ids, nil
}

// SweepSignups deletes expired sign-ups with their mail and keys, the
// rate-limit rows past every window, and keys a crash left without a
// sign-up.
func (db *DB) SweepSignups(ctx context.Context) (int64, error) {
	now := db.Now()
	type ref struct{ ws, id int64 }
	var expired []ref
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, db.q(`SELECT workspace_id, id FROM signups WHERE expires_at < ? LIMIT 10000`), micros(now))
		if err != nil {
			return err
		}
		for rows.Next() {
			var r ref
			if err := rows.Scan(&r.ws, &r.id); err != nil {
				rows.Close()
				return err
			}
			expired = append(expired, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		byWS := map[int64][]int64{}
		for _, r := range expired {
			byWS[r.ws] = append(byWS[r.ws], r.id)
		}
		for ws, ids := range byWS {
			for start := 0; start < len(ids); start += 500 {
				if err := db.deleteSignups(ctx, tx, ws, ids[start:min(start+500, len(ids))]); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, db.q(`DELETE FROM signup_mails WHERE sent_at < ?`), micros(now.Add(-db.signupLimits().AddressWindow)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: sweep sign-ups: %w", err)
	}
	byWS := map[int64][]int64{}
	for _, r := range expired {
		byWS[r.ws] = append(byWS[r.ws], r.id)
	}
	// Keys older than any sign-up can be whose rows are gone: left by a
	// crash between a commit and a shred.
	orphans, err := db.keysRead.QueryContext(ctx, db.q(`SELECT workspace_id, signup_id FROM signup_keys WHERE created_at < ?`), micros(now.Add(-db.signupTTL())))
	if err != nil {
		return 0, fmt.Errorf("store: sweep sign-up keys: %w", err)
	}
	var old []ref
	for orphans.Next() {
		var r ref
		if err := orphans.Scan(&r.ws, &r.id); err != nil {
			orphans.Close()
			return 0, err
		}
		old = append(old, r)
	}
	orphans.Close()
	for _, r := range old {
		var n int
		if err := db.read.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM signups WHERE workspace_id = ? AND id = ?`), r.ws, r.id).Scan(&n); err != nil {
			return 0, err
		}
		if n == 0 && !slices.Contains(byWS[r.ws], r.id) {
			byWS[r.ws] = append(byWS[r.ws], r.id)
		}
	}
	for ws, ids := range byWS {
		if err := db.shredSignups(ctx, ws, ids); err != nil {
			return 0, err
		}
	}
	return int64(len(expired)), nil
}

// SignupStatus is a pending sign-up as tests and the operator see it:
// no personal data.
type SignupStatus struct {
	ID, WorkspaceID, FormID int64
	FormVersion             int
	ExpiresAt               time.Time
}

// PendingSignups returns every pending sign-up, oldest first.
func (db *DB) PendingSignups(ctx context.Context) ([]SignupStatus, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, workspace_id, form_id, form_version, expires_at FROM signups ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: pending sign-ups: %w", err)
	}
	defer rows.Close()
	var out []SignupStatus
	for rows.Next() {
		var s SignupStatus
		var exp int64
		if err := rows.Scan(&s.ID, &s.WorkspaceID, &s.FormID, &s.FormVersion, &exp); err != nil {
			return nil, err
		}
		s.ExpiresAt = fromMicros(exp)
		out = append(out, s)
	}
	return out, rows.Err()
}
