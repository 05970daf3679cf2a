package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
)

// The SQL store's benchmarks (issue 5): audit append throughput on both
// databases, and a query by ticket number over 1,000,000 records next to
// a full scan of the same trail, in one run.
//
//	cd sqlstore && go test -run '^$' -bench . -count 3
//
// The PostgreSQL cases need TICKETING_PG_DSN (see store_test.go); the
// 1,000,000-record cases are skipped under -short.

// BenchmarkAppend measures AppendAudit: one writer, then GOMAXPROCS and
// four times GOMAXPROCS goroutines appending at once (every append takes
// the store's writer lock, reads the last record and writes the next, so
// they take turns: more writers add waiting, not throughput). records/s is
// the throughput; afterwards the whole trail must verify.
func BenchmarkAppend(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchAppend(b, migrated(b, openSQLite(b), sqlstore.SQLite))
	})
	b.Run("postgres", func(b *testing.B) {
		skipWithoutPostgres(b)
		benchAppend(b, migrated(b, openPostgres(b), sqlstore.PostgreSQL))
	})
}

func benchAppend(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	recs := make([]ticketing.AuditRecord, 1024)
	for i := range recs {
		t := 100_000 + i*37
		recs[i] = syntheticRecord(t, i)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rec := recs[i%len(recs)]
			rec.Time = time.Now()
			if _, err := s.AppendAudit(ctx, rec); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	// Writers in parallel: GOMAXPROCS goroutines, then four times as many.
	for _, p := range []int{1, 4} {
		name := "parallel"
		if p > 1 {
			name += strconv.Itoa(p) + "x"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(p)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					rec := recs[i%len(recs)]
					rec.Time = time.Now()
					if _, err := s.AppendAudit(ctx, rec); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(p*runtime.GOMAXPROCS(0)), "writers")
		})
	}
	// Every record appended above, by one writer or many, forms one chain.
	head, err := ticketing.Verify(ctx, s)
	if err != nil {
		b.Fatalf("Verify after the append benchmarks: %v", err)
	}
	b.Logf("trail verified: %d records", head.Seq)
}

// benchTrailRecords is the size of the trail the query benchmark runs on.
const benchTrailRecords = 1_000_000

// BenchmarkQueryByTicket runs QueryAudit{TicketNumber: X} (the ticket
// index) over 1,000,000 records, next to two full scans of the same trail
// that return the same kind of page: fullScanSQL looks the same records up
// by their reason, a column no index covers, with the columns, order and
// limit QueryAudit uses; fullScanQuery is QueryAudit itself with a filter
// the schema does not index (a denial code no record has). The trail is
// filled once per database and shared by its sub-benchmarks; the ratio of
// the ticket query to the SQL scan is logged.
func BenchmarkQueryByTicket(b *testing.B) {
	if testing.Short() {
		b.Skip("fills a database with 1,000,000 audit records")
	}
	b.Run("sqlite", func(b *testing.B) {
		benchQueryByTicket(b, openSQLite(b), sqlstore.SQLite)
	})
	b.Run("postgres", func(b *testing.B) {
		skipWithoutPostgres(b)
		benchQueryByTicket(b, openPostgres(b), sqlstore.PostgreSQL)
	})
}

func benchQueryByTicket(b *testing.B, db *sql.DB, d sqlstore.Dialect) {
	ctx := context.Background()
	s := migrated(b, db, d)
	start := time.Now()
	if err := fillSyntheticTrail(ctx, db, d, benchTrailRecords); err != nil {
		b.Fatal(err)
	}
	filled := time.Since(start)
	if err := analyze(ctx, db, d); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d records filled in %v, analyzed in %v", d, benchTrailRecords, filled.Round(time.Millisecond),
		(time.Since(start) - filled).Round(time.Millisecond))

	// The tickets queried: spread over the whole trail, each with
	// recordsPerTicket records.
	const nTickets = 1024
	tickets := make([]string, nTickets)
	for i := range tickets {
		tickets[i] = syntheticTicket(i * (benchTrailRecords / recordsPerTicket / nTickets))
	}
	scanSQL := "SELECT " + syntheticAuditColumns + " FROM ticketing_audit WHERE reason = ? ORDER BY seq LIMIT 101"
	if d == sqlstore.PostgreSQL {
		scanSQL = strings.Replace(scanSQL, "?", "$1", 1)
	}
	byTicket := func(b testing.TB, ticket string) int {
		page, err := s.QueryAudit(ctx, ticketing.AuditQuery{TicketNumber: ticket})
		if err != nil {
			b.Fatal(err)
		}
		return len(page.Records)
	}
	scan := func(b testing.TB, ticket string) int {
		rows, err := db.QueryContext(ctx, scanSQL, syntheticReason(ticket))
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		dest := make([]any, strings.Count(syntheticAuditColumns, ",")+1)
		for i := range dest {
			dest[i] = new(sql.RawBytes)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return n
	}
	if got, scanned := byTicket(b, tickets[nTickets/2]), scan(b, tickets[nTickets/2]); got != recordsPerTicket || scanned != got {
		b.Fatalf("ticket %s: the query found %d records, the scan %d; want %d", tickets[nTickets/2], got, scanned, recordsPerTicket)
	}

	// The plan of the ticket query on this trail, as plan_test.go checks
	// it on a small one.
	checkPlan(b, db, d, planCase{
		name: "ticket",
		run: func(ctx context.Context, s *sqlstore.Store) error {
			_, err := s.QueryAudit(ctx, ticketing.AuditQuery{TicketNumber: tickets[0]})
			return err
		},
		index:   "ticketing_audit_ticket",
		ordered: true,
	})

	var ticketTime, scanTime time.Duration // per query, of the last run of each
	b.Run("ticket", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			byTicket(b, tickets[i%nTickets])
			i++
		}
		ticketTime = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(recordsPerTicket, "records/query")
	})
	b.Run("fullScanSQL", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			scan(b, tickets[i%nTickets])
			i++
		}
		scanTime = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(recordsPerTicket, "records/query")
	})
	b.Run("fullScanQuery", func(b *testing.B) {
		b.ReportAllocs()
		q := ticketing.AuditQuery{DenialCode: "no_such_code"}
		for b.Loop() {
			if _, err := s.QueryAudit(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A prefix that selects a third of the trail (INC0000000..INC0099999):
	// the first page must not cost a sort of every match.
	b.Run("widePrefixFirstPage", func(b *testing.B) {
		b.ReportAllocs()
		q := ticketing.AuditQuery{TicketPrefix: "INC0"}
		for b.Loop() {
			if _, err := s.QueryAudit(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	if ticketTime > 0 && scanTime > 0 {
		b.Logf("%s: ticket query %v, full scan %v: %.0fx faster through the index", d, ticketTime, scanTime,
			float64(scanTime)/float64(ticketTime))
	}
}

func skipWithoutPostgres(b *testing.B) {
	b.Helper()
	if os.Getenv(pgDSNEnv) == "" {
		b.Skipf("%s not set: PostgreSQL benchmarks skipped", pgDSNEnv)
	}
}

// analyze refreshes the planner's statistics after a bulk fill.
func analyze(ctx context.Context, db *sql.DB, d sqlstore.Dialect) error {
	stmt := "ANALYZE"
	if d == sqlstore.PostgreSQL {
		stmt = "ANALYZE ticketing_audit"
	}
	_, err := db.ExecContext(ctx, stmt)
	return err
}

// A synthetic trail, written straight into ticketing_audit by one
// INSERT ... SELECT (a recursive CTE in SQLite, generate_series in
// PostgreSQL), so that a million records take seconds rather than a
// million chained appends. Record i (from 1) has seq i and a time 30 s
// after the one before. Its ticket is t = (i*7919 mod n) / 5, a
// permutation, so that each of n/5 tickets (200,000 for a million) has
// exactly five records spread over the trail; 70% are ServiceNow
// incidents (INC and seven digits), the rest Jira keys (OPS-t). There are
// 600 secrets and 400 users (one per ticket, as an engineer works on it);
// every fourth record is a request for access and every tenth is denied.
// The reason names the ticket, so a reason lookup finds the same records
// as the ticket query.
//
// The hash columns hold placeholder text, not a chain: this trail is for
// the query plans and benchmarks, and Verify would rightly reject it.
const recordsPerTicket = 5

// syntheticAuditColumns is the column list QueryAudit selects.
const syntheticAuditColumns = `seq, time_us, action, secret_id, secret_name, user_name, system_id, system_name,
	ticket_number, reason, url, outcome, denial_code, denial_message, live_check, from_cache,
	ticket_status, comment, comment_detail, correlation_id, prev_hash, hash`

const syntheticTrailBaseMicros = 1735689600_000000 // 2025-01-01T00:00:00Z

// fillSyntheticTrail adds n synthetic records (n a multiple of 5) to an
// empty ticketing_audit. The table's secondary indexes are dropped for
// the fill and created again after it from their own definitions, read
// from the catalog (a bulk index build is several times faster than a
// million inserts into random places of each index), so the schema ends
// exactly as the migrations made it.
func fillSyntheticTrail(ctx context.Context, db *sql.DB, d sqlstore.Dialect, n int) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var listIndexes string
	if d == sqlstore.SQLite {
		// Unique column constraints have automatic indexes, without sql.
		listIndexes = `SELECT name, sql FROM sqlite_master
			WHERE type = 'index' AND tbl_name = 'ticketing_audit' AND sql IS NOT NULL`
		if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -262144"); err != nil { // 256 MiB
			return err
		}
	} else {
		// Indexes that back a constraint (primary key, unique) stay.
		listIndexes = `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.schemaname = current_schema() AND i.tablename = 'ticketing_audit'
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
		if _, err := conn.ExecContext(ctx, "SET maintenance_work_mem = '256MB'"); err != nil {
			return err
		}
	}
	indexes := map[string]string{}
	rows, err := conn.QueryContext(ctx, listIndexes)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		indexes[name] = def
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for name := range indexes {
		if _, err := conn.ExecContext(ctx, "DROP INDEX "+name); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, syntheticTrailInsert(d, n)); err != nil {
		return err
	}
	for _, def := range indexes {
		if _, err := conn.ExecContext(ctx, def); err != nil {
			return err
		}
	}
	return nil
}

// syntheticTrailInsert is the INSERT ... SELECT of fillSyntheticTrail.
func syntheticTrailInsert(d sqlstore.Dialect, n int) string {
	// The append keys are zero-padded, so they go into their unique index
	// in order.
	var series, pad, padKey string
	if d == sqlstore.SQLite {
		series = fmt.Sprintf("(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) SELECT i FROM n)", n)
		pad, padKey = "printf('%07d', t)", "printf('%012d', i)"
	} else {
		series = fmt.Sprintf("(SELECT i FROM generate_series(1::bigint, %d::bigint) AS g(i))", n)
		pad, padKey = "lpad(t::text, 7, '0')", "lpad(i::text, 12, '0')"
	}
	// tn: the ticket number; sn: whether it is a ServiceNow one; ok:
	// whether access was granted.
	return fmt.Sprintf(`INSERT INTO ticketing_audit (`+syntheticAuditColumns+`, append_key)
SELECT i, %[1]d + i * 30000000,
	CASE WHEN i %% 4 = 0 THEN 'request_access' ELSE 'view' END,
	'secret/' || ((t * 13 + i * 7) %% 600), 'Secret ' || ((t * 13 + i * 7) %% 600),
	'user' || ((t * 7) %% 400) || '@example.com',
	CASE WHEN sn THEN 'servicenow' ELSE 'jira' END, CASE WHEN sn THEN 'ServiceNow' ELSE 'Jira' END,
	tn, 'Change for ' || tn,
	CASE WHEN NOT ok THEN '' WHEN sn THEN 'https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=' || tn
		ELSE 'https://example.atlassian.net/browse/' || tn END,
	CASE WHEN ok THEN 'granted' ELSE 'denied' END,
	CASE WHEN ok THEN '' ELSE 'ticket_closed' END,
	CASE WHEN ok THEN '' ELSE 'The ticket is closed' END,
	CASE WHEN ok THEN 'verified' ELSE '' END,
	(i %% 3 = 0),
	CASE WHEN ok THEN 'In Progress' ELSE 'Closed' END,
	'', '', '',
	'placeholder', 'placeholder-' || i, 'synthetic-' || %[5]s
FROM (
	SELECT i, t, sn, ok, CASE WHEN sn THEN 'INC' || %[2]s ELSE 'OPS-' || t END AS tn
	FROM (SELECT i, t, (t %% 10 < 7) AS sn, (i %% 10 <> 3) AS ok
		FROM (SELECT i, (i * 7919 %% %[3]d) / 5 AS t FROM %[4]s AS s) AS a) AS b
) AS c`, syntheticTrailBaseMicros, pad, n, series, padKey)
}

// syntheticTicket is the ticket number of ticket t in the synthetic trail.
func syntheticTicket(t int) string {
	if t%10 < 7 {
		return fmt.Sprintf("INC%07d", t)
	}
	return fmt.Sprintf("OPS-%d", t)
}

// syntheticReason is the reason of every record of ticket tn.
func syntheticReason(tn string) string { return "Change for " + tn }

// syntheticRecord is a record like those of the synthetic trail, for
// appends.
func syntheticRecord(t, i int) ticketing.AuditRecord {
	tn := syntheticTicket(t)
	sys, sysName, url := "servicenow", "ServiceNow", "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number="
	if strings.HasPrefix(tn, "OPS-") {
		sys, sysName, url = "jira", "Jira", "https://example.atlassian.net/browse/"
	}
	return ticketing.AuditRecord{
		Time:             time.Unix(0, 0),
		Action:           ticketing.ActionView,
		SecretID:         fmt.Sprintf("secret/%d", (t*13+i*7)%600),
		SecretName:       fmt.Sprintf("Secret %d", (t*13+i*7)%600),
		User:             fmt.Sprintf("user%d@example.com", t*7%400),
		TicketSystemID:   sys,
		TicketSystemName: sysName,
		TicketNumber:     tn,
		Reason:           syntheticReason(tn),
		URL:              url + tn,
		Outcome:          ticketing.OutcomeGranted,
		LiveCheck:        ticketing.LiveCheckVerified,
		TicketStatus:     "In Progress",
	}
}
