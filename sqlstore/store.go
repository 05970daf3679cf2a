// Package sqlstore is a ticketing.Store on database/sql, for SQLite and
// PostgreSQL, so that several instances of a host share ticket systems and
// one audit trail. It imports no database driver: the host opens the
// *sql.DB with the driver it chooses (tested with modernc.org/sqlite and
// github.com/jackc/pgx/v5/stdlib) and names the dialect.
//
//	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//	store := sqlstore.New(db, sqlstore.PostgreSQL)
//	if err := store.Migrate(ctx); err != nil { ... }
//	reg := ticketing.NewRegistry(store)
//
// Migrate creates or upgrades the schema (embedded SQL files, a version
// table) and is safe to call at every start, from many processes at once;
// a database whose schema is newer than this code is refused
// (ErrSchemaTooNew).
//
// The registry's read-modify-write and every audit append run in one
// transaction each that first takes a writer lock (SQLite: BEGIN
// IMMEDIATE; PostgreSQL: SELECT ... FOR UPDATE on a lock row), so the rules
// of the Registry and the audit chain hold across processes; partial
// unique indexes (one default, active names) back the rules in the
// database itself. Busy databases, serialization failures, deadlocks and
// connections lost before a commit are retried; an append whose commit
// went unanswered is looked up by a per-append key before anything is
// retried, so a record is never lost silently or written twice.
//
// A Store is safe for concurrent use; its zero value is not usable.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
)

// Dialect names the SQL dialect of the database.
type Dialect int

// The supported dialects. The zero value is not a dialect.
const (
	SQLite Dialect = iota + 1
	PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ErrSchemaTooNew: the database's schema version is newer than the
// migrations this code knows; an older binary must not write to it.
var ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this code")

// Store is a ticketing.Store on a *sql.DB.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// writers serialises this process's SQLite writers before they ask the
	// file for its lock: SQLite's busy handler waits by sleeping, so
	// writers of one process queueing there lose most of their throughput.
	// Other processes are still kept out by BEGIN IMMEDIATE. A one-slot
	// channel rather than a mutex, so that a waiting writer can give up.
	writers chan struct{}
}

var _ ticketing.Store = (*Store)(nil)

// New returns a Store on db, which must be open with a driver for dialect.
// It does not touch the database; call Migrate before use. It panics on an
// unknown dialect, a programming error.
func New(db *sql.DB, dialect Dialect) *Store {
	if dialect != SQLite && dialect != PostgreSQL {
		panic("sqlstore: unknown dialect " + dialect.String())
	}
	return &Store{db: db, dialect: dialect, writers: make(chan struct{}, 1)}
}

//go:embed migrations
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.dialect.String())
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		n, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %q", e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// SchemaVersion is the schema version this code migrates to.
func (s *Store) SchemaVersion() int {
	m, err := s.migrations()
	if err != nil || len(m) == 0 {
		return 0
	}
	return m[len(m)-1].version
}

// Migrate brings the schema to SchemaVersion: it creates the version table
// if needed and applies, in one transaction, every migration the database
// has not had. It is idempotent and safe to run from several processes at
// once. A database with a newer version is refused with ErrSchemaTooNew
// and left alone.
func (s *Store) Migrate(ctx context.Context) error {
	all, err := s.migrations()
	if err != nil {
		return fmt.Errorf("sqlstore: reading migrations: %w", err)
	}
	err = s.inTx(ctx, lockMigrate, func(ctx context.Context, q querier) error {
		if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS ticketing_schema_version (
			version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM ticketing_schema_version").Scan(&current); err != nil {
			return err
		}
		if latest := all[len(all)-1].version; current > latest {
			return fmt.Errorf("%w: the database is at version %d, this code knows up to %d", ErrSchemaTooNew, current, latest)
		}
		for _, m := range all {
			if m.version <= current {
				continue
			}
			for _, stmt := range splitStatements(m.sql) {
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("sqlstore: migration %d: %w", m.version, err)
				}
			}
			if _, err := q.ExecContext(ctx, s.rebind("INSERT INTO ticketing_schema_version (version, applied_at) VALUES (?, ?)"),
				m.version, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || s.dialect != SQLite {
		return err
	}
	// WAL lets readers run while one process writes; it is a property of
	// the file and stays set. Only a schema this code accepted is touched.
	if err := s.read(ctx, func() error { return s.sqliteExec(ctx, "PRAGMA journal_mode=WAL") }); err != nil {
		return fmt.Errorf("sqlstore: enabling WAL: %w", err)
	}
	return nil
}

// splitStatements splits a migration file at the semicolons that end a
// line (the files are written that way) and drops comment-only parts.
func splitStatements(script string) []string {
	var out []string
	for _, part := range strings.Split(script, ";\n") {
		var lines []string
		for _, l := range strings.Split(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if stmt := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

// querier is what a transaction body uses: a *sql.Tx or a *sql.Conn.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// The writer locks. Migrations take an advisory lock in PostgreSQL (the
// lock rows may not exist yet); SQLite's BEGIN IMMEDIATE serialises every
// writer anyway.
const (
	lockSystems = "systems"
	lockAudit   = "audit"
	lockMigrate = "migrate"
)

// errCommitUncertain marks a transaction whose COMMIT failed: it may have
// been applied or not.
var errCommitUncertain = errors.New("sqlstore: commit outcome unknown")

// maxAttempts bounds the retries of a transaction.
const maxAttempts = 8

// inTx runs body in a transaction holding the writer lock, retrying on
// busy databases, serialization failures, deadlocks and connections lost
// before the commit. body may run more than once. A failed COMMIT is not
// retried: it is returned wrapping errCommitUncertain.
func (s *Store) inTx(ctx context.Context, lock string, body func(context.Context, querier) error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			wait := time.Duration(1<<min(attempt, 6)) * 5 * time.Millisecond
			wait = wait/2 + rand.N(wait/2+1)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(ctx.Err(), err)
			case <-t.C:
			}
		}
		if s.dialect == SQLite {
			err = s.sqliteTx(ctx, body)
		} else {
			err = s.postgresTx(ctx, lock, body)
		}
		if err == nil || errors.Is(err, errCommitUncertain) || !s.retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// sqliteExec runs one statement on a connection that waits for a busy
// file, whatever the DSN says.
func (s *Store) sqliteExec(ctx context.Context, stmt string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 5000"); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, stmt)
	return err
}

// sqliteTx runs body between BEGIN IMMEDIATE and COMMIT on one connection:
// the write lock is taken at BEGIN, so two processes never interleave a
// read-modify-write.
func (s *Store) sqliteTx(ctx context.Context, body func(context.Context, querier) error) (err error) {
	select {
	case s.writers <- struct{}{}:
		defer func() { <-s.writers }()
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Wait for the write lock in short busy-timeout slices, so that ctx
	// ends the wait promptly (SQLite's busy handler sleeps through
	// sqlite3_interrupt).
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 50"); err != nil {
		return err
	}
	for give := time.Now().Add(5 * time.Second); ; {
		_, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(give) {
			return err
		}
	}
	// Holding the write lock, wait patiently again (a commit in rollback-
	// journal mode may wait for readers).
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = 5000"); err != nil {
		rollback(conn)
		return err
	}
	if err := body(ctx, conn); err != nil {
		rollback(conn)
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollback(conn)
		return fmt.Errorf("%w: %w", errCommitUncertain, err)
	}
	return nil
}

// rollback ends a failed SQLite transaction even when ctx is done; a
// connection that cannot roll back is thrown away, never reused mid-
// transaction.
func rollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil && !strings.Contains(err.Error(), "no transaction") {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// postgresTx runs body in a READ COMMITTED transaction that first locks
// the lock row (or, for migrations, a transaction advisory lock).
func (s *Store) postgresTx(ctx context.Context, lock string, body func(context.Context, querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if lock == lockMigrate {
		_, err = tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7261436171696201)") // "ticketing" in a number
	} else {
		_, err = tx.ExecContext(ctx, "SELECT name FROM ticketing_locks WHERE name = $1 FOR UPDATE", lock)
	}
	if err == nil {
		err = body(ctx, tx)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		if errors.Is(err, sql.ErrTxDone) || (ctx.Err() != nil && err == ctx.Err()) {
			// database/sql did not send the COMMIT (ctx had ended, and it
			// rolls the transaction back): nothing was committed.
			return errors.Join(ctx.Err(), err)
		}
		return fmt.Errorf("%w: %w", errCommitUncertain, err)
	}
	return nil
}

// retryable reports the failures after which a transaction can simply be
// run again: nothing was committed.
func (s *Store) retryable(err error) bool {
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		switch st.SQLState() {
		case "40001", "40P01", // serialization failure, deadlock
			"57P01", "57P02", "57P03", // admin shutdown / crash shutdown / cannot connect now
			"08000", "08003", "08006": // connection exceptions
			return true
		}
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	msg := err.Error()
	for _, m := range []string{"SQLITE_BUSY", "database is locked", "conn closed", "connection reset", "broken pipe", "unexpected EOF"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, ...
func (s *Store) rebind(query string) string {
	if s.dialect != PostgreSQL {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
