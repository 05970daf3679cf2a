package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
)

// The query plans of the audit queries: on a trail large enough for the
// planner to care (20,000 records, statistics fresh), a query by ticket
// number, ticket prefix, secret or user must be answered through its
// index, found by the planner on its own (no enable_seqscan = off). The
// SQL is the exact text the Store sends, caught on its way to the driver
// (captureSQL), so the test cannot drift from QueryAudit and CountAudit.

const planTrailRecords = 20_000

// planCase is one query and the index its plan must use.
type planCase struct {
	name  string
	run   func(ctx context.Context, s *sqlstore.Store) error
	index string
	// ordered: the index also gives the ORDER BY seq, so SQLite must not
	// sort (equality on the first column of an index on (col, seq)).
	ordered bool
}

func auditPlanCases() []planCase {
	ticket := syntheticTicket(1234) // INC0001234: five records
	page := func(q ticketing.AuditQuery) func(context.Context, *sqlstore.Store) error {
		return func(ctx context.Context, s *sqlstore.Store) error { _, err := s.QueryAudit(ctx, q); return err }
	}
	count := func(q ticketing.AuditQuery) func(context.Context, *sqlstore.Store) error {
		return func(ctx context.Context, s *sqlstore.Store) error { _, err := s.CountAudit(ctx, q); return err }
	}
	second := ticketing.AuditQuery{TicketNumber: ticket, Limit: 2}
	second.Cursor = second.CursorAfter(1000)
	newestSecond := ticketing.AuditQuery{TicketNumber: ticket, Limit: 2, NewestFirst: true}
	newestSecond.Cursor = newestSecond.CursorAfter(19000)
	return []planCase{
		{name: "ticket", run: page(ticketing.AuditQuery{TicketNumber: ticket}), index: "ticketing_audit_ticket", ordered: true},
		{name: "ticket newest first", run: page(ticketing.AuditQuery{TicketNumber: ticket, NewestFirst: true}), index: "ticketing_audit_ticket", ordered: true},
		{name: "ticket next page", run: page(second), index: "ticketing_audit_ticket", ordered: true},
		{name: "ticket next page newest first", run: page(newestSecond), index: "ticketing_audit_ticket", ordered: true},
		{name: "ticket and outcome", run: page(ticketing.AuditQuery{TicketNumber: ticket, Outcome: ticketing.OutcomeDenied}), index: "ticketing_audit_ticket", ordered: true},
		{name: "ticket count", run: count(ticketing.AuditQuery{TicketNumber: ticket}), index: "ticketing_audit_ticket"},
		// INC0001230..INC0001236: 7 tickets, 35 records.
		{name: "ticket prefix", run: page(ticketing.AuditQuery{TicketPrefix: "INC000123"}), index: "ticketing_audit_ticket"},
		{name: "ticket prefix count", run: count(ticketing.AuditQuery{TicketPrefix: "INC000123"}), index: "ticketing_audit_ticket"},
		{name: "secret", run: page(ticketing.AuditQuery{SecretID: "secret/17"}), index: "ticketing_audit_secret", ordered: true},
		{name: "secret newest first", run: page(ticketing.AuditQuery{SecretID: "secret/17", NewestFirst: true}), index: "ticketing_audit_secret", ordered: true},
		{name: "user", run: page(ticketing.AuditQuery{User: "user42@example.com"}), index: "ticketing_audit_user", ordered: true},
		{name: "user newest first", run: page(ticketing.AuditQuery{User: "user42@example.com", NewestFirst: true}), index: "ticketing_audit_user", ordered: true},
	}
}

func TestAuditQueryPlanSQLite(t *testing.T) {
	testAuditQueryPlans(t, openSQLite(t), sqlstore.SQLite)
}

func TestAuditQueryPlanPostgreSQL(t *testing.T) {
	testAuditQueryPlans(t, openPostgres(t), sqlstore.PostgreSQL)
}

func testAuditQueryPlans(t *testing.T, db *sql.DB, d sqlstore.Dialect) {
	ctx := context.Background()
	s := migrated(t, db, d)
	if err := fillSyntheticTrail(ctx, db, d, planTrailRecords); err != nil {
		t.Fatalf("filling the trail: %v", err)
	}
	if err := analyze(ctx, db, d); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
	// The trail is what the cases assume.
	for q, want := range map[ticketing.AuditQuery]int64{
		{TicketNumber: syntheticTicket(1234)}: recordsPerTicket,
		{TicketPrefix: "INC000123"}:           7 * recordsPerTicket,
	} {
		if n, err := s.CountAudit(ctx, q); err != nil || n != want {
			t.Fatalf("CountAudit(%+v) = %d, %v; want %d", q, n, err, want)
		}
	}
	for _, q := range []ticketing.AuditQuery{{SecretID: "secret/17"}, {User: "user42@example.com"}} {
		if n, err := s.CountAudit(ctx, q); err != nil || n == 0 || n > 100 {
			t.Fatalf("CountAudit(%+v) = %d, %v; want a few dozen", q, n, err)
		}
	}
	for _, c := range auditPlanCases() {
		t.Run(c.name, func(t *testing.T) {
			checkPlan(t, db, d, c)
		})
	}
}

// checkPlan checks the plan of c's query against db.
func checkPlan(t testing.TB, db *sql.DB, d sqlstore.Dialect, c planCase) {
	t.Helper()
	query, args := captureSQL(t, d, c.run)
	if d == sqlstore.SQLite {
		checkSQLitePlan(t, db, c, query, args)
	} else {
		checkPostgresPlan(t, db, c, query, args)
	}
}

func checkSQLitePlan(t testing.TB, db *sql.DB, c planCase, query string, args []any) {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notUsed int
		var detail string
		if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "USING INDEX "+c.index+" ") && !strings.Contains(text, "USING COVERING INDEX "+c.index+" ") {
		t.Errorf("the plan does not use %s:\n%s\nquery: %s %v", c.index, text, query, args)
	}
	if c.ordered && strings.Contains(text, "TEMP B-TREE") {
		t.Errorf("the plan sorts, though %s gives the order:\n%s\nquery: %s %v", c.index, text, query, args)
	}
	t.Logf("%s\n%s", query, text)
}

func checkPostgresPlan(t testing.TB, db *sql.DB, c planCase, query string, args []any) {
	t.Helper()
	var out string
	if err := db.QueryRowContext(context.Background(), "EXPLAIN (FORMAT JSON) "+query, args...).Scan(&out); err != nil {
		t.Fatalf("EXPLAIN %s: %v", query, err)
	}
	var plans []struct{ Plan pgPlanNode }
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN output not understood (%v): %s", err, out)
	}
	usesIndex, seqScan := false, false
	var nodes []string
	var walk func(n pgPlanNode)
	walk = func(n pgPlanNode) {
		nodes = append(nodes, n.NodeType+" "+n.IndexName+" "+n.RelationName)
		switch n.NodeType {
		case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
			usesIndex = usesIndex || n.IndexName == c.index
		case "Seq Scan":
			seqScan = true
		}
		for _, child := range n.Plans {
			walk(child)
		}
	}
	walk(plans[0].Plan)
	if !usesIndex || seqScan {
		t.Errorf("the plan does not use %s alone (index used: %t, sequential scan: %t):\n%s\nquery: %s %v",
			c.index, usesIndex, seqScan, strings.Join(nodes, "\n"), query, args)
	}
	t.Logf("%s\n%s", query, strings.Join(nodes, "\n"))
}

// pgPlanNode is the part of a node of EXPLAIN (FORMAT JSON) the test reads.
type pgPlanNode struct {
	NodeType     string       `json:"Node Type"`
	IndexName    string       `json:"Index Name"`
	RelationName string       `json:"Relation Name"`
	Plans        []pgPlanNode `json:"Plans"`
}

// captureSQL runs fn on a Store of dialect d whose *sql.DB reaches no
// database: its driver records the first query it is sent and fails it.
// It returns that query's text and arguments, exactly as the Store built
// them (placeholders already in the dialect's form).
func captureSQL(t testing.TB, d sqlstore.Dialect, fn func(context.Context, *sqlstore.Store) error) (string, []any) {
	t.Helper()
	c := &captureConnector{}
	db := sql.OpenDB(c)
	defer db.Close()
	err := fn(context.Background(), sqlstore.New(db, d))
	if !errors.Is(err, errCaptured) {
		t.Fatalf("the Store sent no query (err = %v)", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.query, c.args
}

var errCaptured = errors.New("query captured, not run")

// captureConnector is a driver.Connector (and driver.Driver) whose
// connections take a query, keep it and fail it with errCaptured.
type captureConnector struct {
	mu    sync.Mutex
	query string
	args  []any
}

func (c *captureConnector) Connect(context.Context) (driver.Conn, error) { return captureConn{c}, nil }
func (c *captureConnector) Driver() driver.Driver                        { return c }
func (c *captureConnector) Open(string) (driver.Conn, error)             { return captureConn{c}, nil }

type captureConn struct{ c *captureConnector }

var errCaptureOnly = errors.New("the capturing driver takes queries only")

func (captureConn) Prepare(string) (driver.Stmt, error) { return nil, errCaptureOnly }
func (captureConn) Close() error                        { return nil }
func (captureConn) Begin() (driver.Tx, error)           { return nil, errCaptureOnly }

func (cc captureConn) QueryContext(_ context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cc.c.mu.Lock()
	defer cc.c.mu.Unlock()
	if cc.c.query == "" {
		cc.c.query = query
		for _, a := range args {
			cc.c.args = append(cc.c.args, a.Value)
		}
	}
	return nil, errCaptured
}
