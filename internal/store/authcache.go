package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/custos/custos/internal/custos"
)

// authCache holds the API keys verified, the workspaces' security
// settings and their field definitions, so that a request with a known
// key costs no look-up of any of them. Its entries hold only while the
// generation they were read at is still the current one: the first
// request after a change reads them anew. The generation is two counts:
// auth_generation in the database, which triggers change with every
// change of keys, roles, security settings and field definitions, in
// whichever process; and this process's own count of such changes, moved
// as each commits. A key revoked by this server is refused at once; one
// revoked by `custos apikey` beside it, at once too unless Config.
// AuthRecheck lets the server trust the database's count it read for a
// moment (see authGen).
type authCache struct {
	mu       sync.Mutex
	gen      generation // the generation the entries were read at
	keys     map[[sha256.Size]byte]custos.APIKey
	settings map[int64]*custos.SecuritySettings
	fields   map[int64][]custos.FieldDef

	// local counts this process's committed changes of what the
	// generation covers (changed).
	local atomic.Int64
	// recheck is Config.AuthRecheck; last, the database's generation as
	// last read, with when that read began.
	recheck time.Duration
	last    atomic.Pointer[probed]

	// The probe watches for commits on SQLite: a connection of its own,
	// whose PRAGMA data_version changes when any other connection
	// commits, so that the generation is read only after a commit (on
	// PostgreSQL, with every probe).
	probeMu sync.Mutex
	probeDB *sql.DB
	probe   *sql.Conn
	// Its statements, prepared once: data_version is read when run.
	probeVersion, probeGen *sql.Stmt
	version                int64 // data_version when gen was last read; 0: read it
	lastGen                int64
}

// generation is what the cache's entries are valid at: auth_generation
// as read from the database, and this process's count of its changes.
type generation struct{ db, local int64 }

// probed is a read of auth_generation and the moment it began.
type probed struct {
	at  time.Time
	gen int64
}

// changed counts a change of keys, roles, security settings or fields
// this process committed: every request that begins afterwards reads them
// anew. Called after the commit (or its failure): called before, a
// request could cache what the transaction is about to change under the
// new count.
func (c *authCache) changed() { c.local.Add(1) }

// authTx is tx for a change of what the auth generation covers.
func (db *DB) authTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	defer db.auth.changed()
	return db.tx(ctx, fn)
}

// maxCachedKeys bounds the cache; beyond it keys are looked up each time.
const maxCachedKeys = 10000

// authGen returns the current generation, as of a moment after the call
// began; with Config.AuthRecheck, its database part as of a moment no
// more than AuthRecheck before the call began, read once per interval
// for all requests (this process's changes count at once all the same).
func (db *DB) authGen(ctx context.Context) (generation, error) {
	c := &db.auth
	// The local count first: a change committed after it was loaded
	// moves it again, for the next request.
	local := c.local.Load()
	if c.recheck <= 0 {
		gen, err := db.probeAuthGen(ctx)
		return generation{gen, local}, err
	}
	start := time.Now()
	if p := c.last.Load(); p != nil && start.Sub(p.at) < c.recheck {
		return generation{p.gen, local}, nil
	}
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	// Another request may have read it while this one waited.
	if p := c.last.Load(); p != nil && !p.at.Before(start) {
		return generation{p.gen, local}, nil
	}
	at := time.Now()
	gen, err := db.probeLocked(ctx)
	if err != nil {
		return generation{}, err
	}
	c.last.Store(&probed{at: at, gen: gen})
	return generation{gen, local}, nil
}

// probeAuthGen reads auth_generation.
func (db *DB) probeAuthGen(ctx context.Context) (int64, error) {
	if db.pg {
		return db.probeLocked(ctx)
	}
	db.auth.probeMu.Lock()
	defer db.auth.probeMu.Unlock()
	return db.probeLocked(ctx)
}

// probeLocked reads auth_generation; on SQLite the caller holds probeMu.
func (db *DB) probeLocked(ctx context.Context) (int64, error) {
	// On PostgreSQL the row is made by the first change (0 before).
	const q = `SELECT COALESCE((SELECT gen FROM auth_generation WHERE id = 1), 0)`
	if db.pg {
		var gen int64
		if err := db.read.QueryRowContext(ctx, q).Scan(&gen); err != nil {
			return 0, fmt.Errorf("store: auth generation: %w", err)
		}
		return gen, nil
	}
	c := &db.auth
	gen, err := func() (int64, error) {
		if c.probe == nil {
			conn, err := c.probeDB.Conn(ctx)
			if err != nil {
				return 0, err
			}
			c.probe, c.version = conn, 0
			if c.probeVersion, err = conn.PrepareContext(ctx, `PRAGMA data_version`); err != nil {
				return 0, err
			}
			if c.probeGen, err = conn.PrepareContext(ctx, q); err != nil {
				return 0, err
			}
		}
		var v int64
		if err := c.probeVersion.QueryRowContext(ctx).Scan(&v); err != nil {
			return 0, err
		}
		if v == c.version {
			return c.lastGen, nil
		}
		// A commit may land between the two statements: then the next
		// probe sees a newer version and reads the generation again.
		var gen int64
		if err := c.probeGen.QueryRowContext(ctx).Scan(&gen); err != nil {
			return 0, err
		}
		c.version, c.lastGen = v, gen
		return gen, nil
	}()
	if err != nil {
		// Start over on a new connection: data_version counts per
		// connection.
		c.closeConn()
		return 0, fmt.Errorf("store: auth generation: %w", err)
	}
	return gen, nil
}

// at empties the cache when gen is not the generation of its entries.
// The caller holds mu.
func (c *authCache) at(gen generation) {
	if c.gen != gen || c.keys == nil {
		c.gen, c.keys, c.settings, c.fields = gen, map[[sha256.Size]byte]custos.APIKey{}, map[int64]*custos.SecuritySettings{}, map[int64][]custos.FieldDef{}
	}
}

// key returns the cached key of hash at generation gen.
func (c *authCache) key(gen generation, hash [sha256.Size]byte) (custos.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	k, ok := c.keys[hash]
	return k, ok
}

// putKey caches a live key read at generation gen or later: when the
// generation moved on meanwhile, the next look-up empties the cache.
func (c *authCache) putKey(gen generation, hash [sha256.Size]byte, k custos.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys != nil && c.gen != gen {
		return
	}
	c.at(gen)
	if len(c.keys) < maxCachedKeys {
		c.keys[hash] = k
	}
}

// touched records a key's last use in the cache, if it is still there.
func (c *authCache) touched(hash [sha256.Size]byte, k custos.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[hash]; ok {
		c.keys[hash] = k
	}
}

// cachedSettings returns the workspace's security settings, from the
// cache while the auth generation has not moved.
func (db *DB) cachedSettings(ctx context.Context, ws int64) (*custos.SecuritySettings, error) {
	return cached(ctx, db, ws, func(c *authCache) map[int64]*custos.SecuritySettings { return c.settings },
		func() (*custos.SecuritySettings, error) { return db.securitySettings(ctx, db.read, ws) })
}

// cachedFields returns the workspace's field definitions, built-ins
// first, from the cache while the generation has not moved: copies the
// caller may change.
func (db *DB) cachedFields(ctx context.Context, ws int64) ([]*custos.FieldDef, error) {
	fs, err := cached(ctx, db, ws, func(c *authCache) map[int64][]custos.FieldDef { return c.fields },
		func() ([]custos.FieldDef, error) {
			defs, err := db.fields(ctx, db.read, ws)
			if err != nil {
				return nil, err
			}
			fs := make([]custos.FieldDef, len(defs))
			for i, f := range defs {
				fs[i] = *f
			}
			return fs, nil
		})
	if err != nil {
		return nil, err
	}
	out := make([]*custos.FieldDef, len(fs))
	for i := range fs {
		f := fs[i]
		f.Choices, f.PurposeIDs = slices.Clone(f.Choices), slices.Clone(f.PurposeIDs)
		out[i] = &f
	}
	return out, nil
}

// cached returns the workspace's entry in one of the cache's tables
// while the auth generation has not moved; else what load reads, kept
// unless the generation moved meanwhile or the table is full.
func cached[V any](ctx context.Context, db *DB, ws int64, table func(*authCache) map[int64]V, load func() (V, error)) (V, error) {
	var zero V
	gen, err := db.authGen(ctx)
	if err != nil {
		return zero, err
	}
	c := &db.auth
	c.mu.Lock()
	c.at(gen)
	v, ok := table(c)[ws]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	if v, err = load(); err != nil {
		return zero, err
	}
	c.mu.Lock()
	if t := table(c); c.gen == gen && len(t) < maxCachedKeys {
		t[ws] = v
	}
	c.mu.Unlock()
	return v, nil
}

// closeProbe closes the probe's connection.
func (c *authCache) closeProbe() error {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	err := c.closeConn()
	if c.probeDB != nil {
		if cerr := c.probeDB.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// closeConn closes the probe's connection and statements. The caller
// holds probeMu.
func (c *authCache) closeConn() error {
	for _, st := range []*sql.Stmt{c.probeVersion, c.probeGen} {
		if st != nil {
			st.Close()
		}
	}
	c.probeVersion, c.probeGen = nil, nil
	if c.probe == nil {
		return nil
	}
	err := c.probe.Close()
	c.probe = nil
	return err
}
