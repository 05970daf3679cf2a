package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
	"github.com/ticketgate/ticketing/storetest"
)

// pgDSNEnv names the environment variable with the DSN of a PostgreSQL
// server the tests may create databases on. .ci/run starts one and sets it.
const pgDSNEnv = "TICKETING_PG_DSN"

// openSQLite opens a fresh SQLite file in t's temporary directory (never
// ":memory:", which would be one database per pooled connection).
func openSQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ticketing.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var pgDatabases atomic.Int64

// openPostgres creates a fresh database on the server of TICKETING_PG_DSN
// and opens it. Without the variable the test is skipped, except under
// CI=true, where PostgreSQL tests must run.
func openPostgres(t testing.TB) *sql.DB {
	t.Helper()
	dsn := os.Getenv(pgDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set, and under CI=true the PostgreSQL tests must run", pgDSNEnv)
		}
		t.Skipf("%s not set: PostgreSQL tests skipped", pgDSNEnv)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("ticketing_test_%d_%d", os.Getpid(), pgDatabases.Add(1))
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", withDatabase(t, dsn, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin, err := sql.Open("pgx", dsn)
		if err == nil {
			_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close()
		}
	})
	return db
}

// withDatabase returns dsn (a postgres:// URL) pointing at database name.
func withDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	base, query, _ := strings.Cut(dsn, "?")
	i := strings.LastIndex(base, "/")
	if i < len("postgres://") {
		t.Fatalf("%s must be a postgres:// URL with a database path", pgDSNEnv)
	}
	out := base[:i+1] + name
	if query != "" {
		out += "?" + query
	}
	return out
}

func migrated(t testing.TB, db *sql.DB, d sqlstore.Dialect) *sqlstore.Store {
	t.Helper()
	s := sqlstore.New(db, d)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestConformanceSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ticketing.Store { return migrated(t, openSQLite(t), sqlstore.SQLite) })
}

func TestConformancePostgreSQL(t *testing.T) {
	openPostgres(t) // skips early when there is no server
	storetest.Run(t, func(t *testing.T) ticketing.Store { return migrated(t, openPostgres(t), sqlstore.PostgreSQL) })
}
