package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"sync"

	"github.com/custos/custos/internal/custos"
)

// authCache holds the API keys verified and the workspaces' security
// settings read, so that a request with a known key costs no look-up of
// either. Its entries hold only while the auth generation they were read
// at (auth_generation, which triggers change with every change of keys,
// roles and security settings, in whichever process) is still the
// current one: the first request after a change reads them anew. A key
// revoked, by this server or by `custos apikey` beside it, is refused at
// once.
type authCache struct {
	mu       sync.Mutex
	gen      int64 // the generation the entries were read at
	keys     map[[sha256.Size]byte]custos.APIKey
	settings map[int64]*custos.SecuritySettings

	// The probe watches for commits on SQLite: a connection of its own,
	// whose PRAGMA data_version changes when any other connection
	// commits, so that the generation is read only after a commit (on
	// PostgreSQL, with every request).
	probeMu sync.Mutex
	probeDB *sql.DB
	probe   *sql.Conn
	// Its statements, prepared once: data_version is read when run.
	probeVersion, probeGen *sql.Stmt
	version                int64 // data_version when gen was last read; 0: read it
	lastGen                int64
}

// maxCachedKeys bounds the cache; beyond it keys are looked up each time.
const maxCachedKeys = 10000

// authGen returns the current auth generation, as of a moment after the
// call began.
func (db *DB) authGen(ctx context.Context) (int64, error) {
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
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
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
func (c *authCache) at(gen int64) {
	if c.gen != gen || c.keys == nil {
		c.gen, c.keys, c.settings = gen, map[[sha256.Size]byte]custos.APIKey{}, map[int64]*custos.SecuritySettings{}
	}
}

// key returns the cached key of hash at generation gen.
func (c *authCache) key(gen int64, hash [sha256.Size]byte) (custos.APIKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at(gen)
	k, ok := c.keys[hash]
	return k, ok
}

// putKey caches a live key read at generation gen or later: when the
// generation moved on meanwhile, the next look-up empties the cache.
func (c *authCache) putKey(gen int64, hash [sha256.Size]byte, k custos.APIKey) {
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
	gen, err := db.authGen(ctx)
	if err != nil {
		return nil, err
	}
	c := &db.auth
	c.mu.Lock()
	c.at(gen)
	s := c.settings[ws]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	if s, err = db.securitySettings(ctx, db.read, ws); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen && len(c.settings) < maxCachedKeys {
		c.settings[ws] = s
	}
	c.mu.Unlock()
	return s, nil
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
