package store

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite's page cache takes each page it holds, 4,096 bytes and a header
// of a few hundred, from the driver's C allocator, which hands out
// blocks of a power of two: every page took 8 KiB, and the data writer's
// 64 MiB of cache about 128 MiB of memory, a good part of a 1M-row
// import's peak RSS. The page pool is one block of slots of exactly a
// page and its header, given to SQLite before its first connection
// (SQLITE_CONFIG_PAGECACHE): the caches of every connection of the
// process take their pages from it first, and SQLite's allocator only
// once it runs short, when SQLite also prefers reusing a cached page to
// taking a new one. SQLite links the free slots at the start, so the
// whole pool is resident from the first connection on.
const pagePoolPages = 18432 // the data writer's 64 MiB, and 8 MiB for the others

var pagePool struct {
	once sync.Once
	err  error
}

// openSQLiteDB opens an SQLite database with the driver, the page pool
// set up first.
func openSQLiteDB(dsn string) (*sql.DB, error) {
	pagePool.once.Do(func() { pagePool.err = setupPagePool(pagePoolPages) })
	return sql.Open("sqlite", dsn)
}

// setupPagePool gives SQLite a pool of n page slots. It fails, leaving
// SQLite as it was, when SQLite has started already (a connection was
// opened before in this process).
func setupPagePool(n int32) error {
	tls := libc.NewTLS()
	defer tls.Close()
	// The header SQLite keeps beside each page of the cache. SQLite
	// writes results into C memory: a Go pointer passed as an integer
	// would trip the race detector's pointer checks in the driver.
	out := libc.Xcalloc(tls, 1, 8)
	defer libc.Xfree(tls, out)
	va := libc.NewVaList(out)
	rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE_HDRSZ, va)
	libc.Xfree(tls, va)
	if rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("store: page pool: header size: SQLite error %d", rc)
	}
	size := 4096 + int32(binary.NativeEndian.Uint32(libc.GoBytes(out, 4)))
	buf := libc.Xmalloc(tls, libc.Tsize_t(int64(size)*int64(n)))
	if buf == 0 {
		return fmt.Errorf("store: page pool: out of memory")
	}
	va = libc.NewVaList(buf, size, n)
	rc = sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PAGECACHE, va)
	libc.Xfree(tls, va)
	if rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, buf)
		return fmt.Errorf("store: page pool: SQLite error %d", rc)
	}
	return nil
}

// pagePoolInUse returns how many slots of the page pool hold a page now.
func pagePoolInUse() int64 {
	tls := libc.NewTLS()
	defer tls.Close()
	out := libc.Xcalloc(tls, 2, 8) // the current count, the highest
	defer libc.Xfree(tls, out)
	sqlite3.Xsqlite3_status64(tls, sqlite3.SQLITE_STATUS_PAGECACHE_USED, out, out+8, 0)
	return int64(binary.NativeEndian.Uint64(libc.GoBytes(out, 8)))
}
