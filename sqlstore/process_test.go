package sqlstore_test

// The multi-process test of issue 5: two OS processes (this test binary,
// re-executed) share one database and hammer the Registry and the access
// check at the same time; afterwards the registry rules hold, every audit
// record a worker was told was stored is there exactly once, nothing else
// is, and the chain verifies.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
)

// testDB names one database that several *sql.DB (and processes) can open.
type testDB struct {
	dialect sqlstore.Dialect
	driver  string // database/sql driver name
	dsn     string
}

// newSQLiteDB names a fresh SQLite file in t's temporary directory.
func newSQLiteDB(t testing.TB) testDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ticketing.db")
	return testDB{dialect: sqlstore.SQLite, driver: "sqlite", dsn: "file:" + path + "?_pragma=busy_timeout(5000)"}
}

// newPostgresDB creates a fresh database on the server of TICKETING_PG_DSN
// and drops it when t ends. Without the variable the test is skipped, except
// under CI=true, where it fails.
func newPostgresDB(t testing.TB) testDB {
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
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", dsn)
		if err == nil {
			_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close()
		}
	})
	return testDB{dialect: sqlstore.PostgreSQL, driver: "pgx", dsn: withDatabase(t, dsn, name)}
}

// open opens d; the *sql.DB is closed when t ends (before the database is
// dropped: cleanups run last-registered first).
func (d testDB) open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eachDialect runs f as a subtest on a fresh PostgreSQL database and on a
// fresh SQLite file.
func eachDialect(t *testing.T, f func(t *testing.T, d testDB)) {
	t.Run("PostgreSQL", func(t *testing.T) { f(t, newPostgresDB(t)) })
	t.Run("SQLite", func(t *testing.T) { f(t, newSQLiteDB(t)) })
}

// allRecords reads the whole audit trail, oldest first.
func allRecords(t testing.TB, s ticketing.AuditStore) []ticketing.AuditRecord {
	t.Helper()
	var out []ticketing.AuditRecord
	for rec, err := range ticketing.AuditRecords(context.Background(), s, ticketing.AuditQuery{Limit: 1000}) {
		if err != nil {
			t.Fatalf("reading the audit trail: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

// registryViolations lists every way systems break the registry rules:
// exactly one default while any system is active (none otherwise), the
// default active, and active names unique (trimmed, case-insensitive).
func registryViolations(systems []ticketing.TicketSystem) []string {
	var out []string
	active, defaults := 0, 0
	names := map[string]string{}
	for _, s := range systems {
		if s.Default {
			defaults++
			if !s.Active {
				out = append(out, fmt.Sprintf("retired system %s is marked default", s.ID))
			}
		}
		if !s.Active {
			continue
		}
		active++
		key := strings.ToLower(strings.TrimSpace(s.Name))
		if other, ok := names[key]; ok {
			out = append(out, fmt.Sprintf("active systems %s and %s share the name %q", other, s.ID, key))
		}
		names[key] = s.ID
	}
	switch {
	case active > 0 && defaults != 1:
		out = append(out, fmt.Sprintf("%d active systems but %d defaults", active, defaults))
	case active == 0 && defaults != 0:
		out = append(out, fmt.Sprintf("no active system but %d defaults", defaults))
	}
	return out
}

// checkSystemColumns checks that the columns the unique indexes use agree
// with the stored system (its JSON), which the Registry reads.
func checkSystemColumns(t testing.TB, db *sql.DB, systems []ticketing.TicketSystem) {
	t.Helper()
	byID := map[string]ticketing.TicketSystem{}
	for _, s := range systems {
		byID[s.ID] = s
	}
	rows, err := db.Query("SELECT id, active, is_default, name_key FROM ticketing_systems")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, key string
		var active, def bool
		if err := rows.Scan(&id, &active, &def, &key); err != nil {
			t.Fatal(err)
		}
		n++
		s, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("row %s is not listed by ListSystems", id)
		case active != s.Active || def != (s.Active && s.Default) || key != strings.ToLower(strings.TrimSpace(s.Name)):
			t.Errorf("row %s: columns active=%v is_default=%v name_key=%q disagree with the stored system %+v", id, active, def, key, s)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(systems) {
		t.Errorf("%d rows in ticketing_systems, ListSystems returned %d", n, len(systems))
	}
}

// ---------------------------------------------------------------------------
// the worker process

// helperEnv carries a workerConfig (JSON) to a re-executed test binary.
const helperEnv = "TICKETING_SQLSTORE_HELPER"

// workerConfig is what one worker process does.
type workerConfig struct {
	Role       string `json:"role"` // "registry"
	Dialect    string `json:"dialect"`
	DSN        string `json:"dsn"`
	Worker     int    `json:"worker"`
	Goroutines int    `json:"goroutines"`
	Ops        int    `json:"ops"` // per goroutine
}

// The worker's output lines (anything else on stdout is ignored):
//
//	READY                          migrated, waiting for GO on stdin
//	STORED <seq> <hash> <reason>   CheckAccess returned a stored record
//	AUDITFAIL <reason> <error>     CheckAccess returned ErrAuditFailed
//	UNEXPECTED <op> <error>        an error the workload does not expect
//	COUNT <op> <outcome> <n>       how often each op ended each way
//	DONE <stored>                  finished; how many STORED lines
const (
	lineReady      = "READY"
	lineStored     = "STORED"
	lineAuditFail  = "AUDITFAIL"
	lineUnexpected = "UNEXPECTED"
	lineCount      = "COUNT"
	lineDone       = "DONE"
)

// TestHelperProcess is not a test: it is the worker that TestMultiProcess
// starts by re-executing the test binary. Run directly, it does nothing.
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		return
	}
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatalf("bad %s: %v", helperEnv, err)
	}
	switch cfg.Role {
	case "registry":
		registryWorker(t, cfg)
	default:
		t.Fatalf("unknown role %q", cfg.Role)
	}
}

// workerOut writes the worker's lines, one goroutine at a time.
type workerOut struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *workerOut) line(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(o.w, format+"\n", args...)
}

func (o *workerOut) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Flush()
}

// workerSystem is the ticket system every Add of the workload adds, under
// a name of the pool (which clash, trimmed and case-insensitively).
func workerSystem(name string) ticketing.TicketSystem {
	return ticketing.TicketSystem{
		Name:         name,
		Label:        "Incident",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Use INC and seven digits",
		URLTemplate:  "https://tickets.example/browse/$TICKETID",
	}
}

var workerNames = []string{"Alpha", " alpha ", "ALPHA", "Beta", "beta  ", "Gamma", "gAmma", "Delta"}

func registryWorker(t *testing.T, cfg workerConfig) {
	dialect := sqlstore.SQLite
	driverName := "sqlite"
	if cfg.Dialect == "postgres" {
		dialect, driverName = sqlstore.PostgreSQL, "pgx"
	}
	db, err := sql.Open(driverName, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := sqlstore.New(db, dialect)
	ctx := context.Background()
	// Both workers migrate the fresh database at the same time.
	if err := store.Migrate(ctx); err != nil {
		t.Fatalf("worker %d: Migrate: %v", cfg.Worker, err)
	}
	reg := ticketing.NewRegistry(store)
	out := &workerOut{w: bufio.NewWriter(os.Stdout)}
	out.line(lineReady)
	out.flush()
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		t.Fatalf("worker %d: waiting for GO: %v", cfg.Worker, err)
	}

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		stored int
	)
	count := func(op, outcome string) {
		mu.Lock()
		counts[op+" "+outcome]++
		if op == "access" && outcome != "audit_failed" {
			stored++
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := range cfg.Goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cfg.Worker), uint64(g)))
			for i := range cfg.Ops {
				op, outcome := workerOp(ctx, reg, rng, out, fmt.Sprintf("w%d-g%d-i%d", cfg.Worker, g, i))
				count(op, outcome)
			}
		})
	}
	wg.Wait()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range counts {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		out.line("%s %s %d", lineCount, k, counts[k])
	}
	out.line("%s %d", lineDone, stored)
	out.flush()
}

// workerOp runs one random operation and says what it was and how it
// ended; outcomes the workload does not expect are also written as
// UNEXPECTED lines.
func workerOp(ctx context.Context, reg *ticketing.Registry, rng *rand.Rand, out *workerOut, reason string) (op, outcome string) {
	all, err := reg.List(ctx, true)
	if err != nil {
		out.line("%s list %q", lineUnexpected, err.Error())
		return "list", "unexpected"
	}
	randomID := func() string {
		if len(all) == 0 || rng.IntN(20) == 0 {
			return "no-such-system"
		}
		return all[rng.IntN(len(all))].ID
	}
	classify := func(op string, err error, expected ...error) string {
		if err == nil {
			return "ok"
		}
		// The Registry checks its rules under the store's writer lock, so
		// the database's own unique indexes must never be what refuses a
		// change; if they do, two writers interleaved.
		if !strings.Contains(err.Error(), "refused by the database") {
			for _, e := range expected {
				if errors.Is(err, e) {
					return ticketing.DenialCode(e)
				}
			}
		}
		out.line("%s %s %q", lineUnexpected, op, err.Error())
		return "unexpected"
	}
	switch r := rng.IntN(100); {
	case r < 15:
		sys := workerSystem(workerNames[rng.IntN(len(workerNames))])
		sys.Active = rng.IntN(8) != 0
		sys.Default = rng.IntN(2) == 0
		_, err := reg.Add(ctx, sys)
		return "add", classify("add", err, ticketing.ErrDuplicateName, ticketing.ErrInactive)
	case r < 30:
		_, err := reg.SetDefault(ctx, randomID())
		return "set_default", classify("set_default", err, ticketing.ErrInactive, ticketing.ErrNotFound)
	case r < 45:
		_, err := reg.Retire(ctx, randomID())
		return "retire", classify("retire", err, ticketing.ErrDefaultSystem, ticketing.ErrNotFound)
	case r < 55:
		_, err := reg.Activate(ctx, randomID())
		return "activate", classify("activate", err, ticketing.ErrDuplicateName, ticketing.ErrNotFound)
	}

	req := ticketing.AccessRequest{
		User:   fmt.Sprintf("user%d", rng.IntN(5)),
		Secret: ticketing.Secret{ID: fmt.Sprintf("secret%d", rng.IntN(10)), RequireComment: true},
		Action: ticketing.ActionView,
		Submission: ticketing.Submission{
			TicketNumber: fmt.Sprintf("INC%07d", rng.IntN(10_000_000)),
			Reason:       reason, // unique: how the parent finds the record
		},
	}
	if rng.IntN(2) == 0 {
		req.Action = ticketing.ActionRequestAccess
	}
	if rng.IntN(2) == 0 {
		req.TicketSystemID = randomID() // may be retired or unknown: denied
	}
	if rng.IntN(4) == 0 {
		req.Submission.TicketNumber = "CHG-" + strconv.Itoa(rng.IntN(1000)) // wrong format: denied
	}
	rec, err := reg.CheckAccess(ctx, req)
	if errors.Is(err, ticketing.ErrAuditFailed) {
		out.line("%s %s %q", lineAuditFail, reason, err.Error())
		return "access", "audit_failed"
	}
	outcome = "granted"
	if err != nil {
		var ve *ticketing.ValidationError
		if errors.As(err, &ve) && (errors.Is(err, ticketing.ErrTicketFormat) || errors.Is(err, ticketing.ErrInactive) ||
			errors.Is(err, ticketing.ErrNotFound) || errors.Is(err, ticketing.ErrNoDefault)) {
			outcome = "denied_" + ticketing.DenialCode(err)
		} else {
			// Denied for another reason (a store read failed, say): stored
			// all the same, but the workload does not expect it.
			out.line("%s access %q", lineUnexpected, err.Error())
			outcome = "unexpected"
		}
	}
	if rec.Seq <= 0 || rec.Hash == "" || rec.Reason != reason {
		out.line("%s access %q", lineUnexpected, fmt.Sprintf("record without Seq/Hash or with another reason: %+v", rec))
		return "access", "unexpected"
	}
	out.line("%s %d %s %s", lineStored, rec.Seq, rec.Hash, reason)
	return "access", outcome
}

// ---------------------------------------------------------------------------
// the parent

// workerReport is what the parent read from one worker.
type workerReport struct {
	stored     map[string]ticketing.AuditRecord // by reason: Seq and Hash
	auditFail  map[string]string                // reason -> error
	unexpected []string
	counts     map[string]int
	done       int // the DONE count, -1 if missing
}

// TestMultiProcess: two OS processes, each with a few goroutines, add
// systems under clashing names, switch the default, retire and activate
// systems, and check access (granted and denied) against ONE database at
// the same time, while this process watches the registry. Afterwards, and
// at every moment it looked: exactly one default among the active systems
// (none when none is active), no two active systems share a name; every
// audit record a worker was handed is stored exactly once with the same
// Seq and Hash, no record is unexplained, and Verify passes.
func TestMultiProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside a worker")
	}
	const goroutines, ops = 4, 150
	eachDialect(t, func(t *testing.T, d testDB) {
		runMultiProcess(t, d, 2, goroutines, ops)
	})
}

func runMultiProcess(t *testing.T, d testDB, workers, goroutines, ops int) {
	start := time.Now()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	type proc struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		ready  chan struct{}
		report workerReport
		parsed chan struct{}
		stderr strings.Builder
	}
	procs := make([]*proc, workers)
	for w := range procs {
		cfg, _ := json.Marshal(workerConfig{Role: "registry", Dialect: d.dialect.String(), DSN: d.dsn,
			Worker: w + 1, Goroutines: goroutines, Ops: ops})
		p := &proc{ready: make(chan struct{}), parsed: make(chan struct{})}
		p.cmd = exec.CommandContext(ctx, exe, "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=2m")
		p.cmd.Env = append(os.Environ(), helperEnv+"="+string(cfg))
		p.cmd.Stderr = &p.stderr
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(p.parsed)
			p.report = parseWorker(stdout, p.ready)
		}()
		procs[w] = p
	}
	waitAll := func() {
		for w, p := range procs {
			p.stdin.Close()
			<-p.parsed
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("worker %d: %v\nstderr:\n%s", w+1, err, p.stderr.String())
			}
		}
	}
	for w, p := range procs {
		select {
		case <-p.ready:
		case <-p.parsed:
			waitAll()
			t.Fatalf("worker %d ended before it was ready", w+1)
		case <-ctx.Done():
			waitAll()
			t.Fatalf("worker %d not ready in time", w+1)
		}
	}
	readyAt := time.Now()

	// Watch the registry while the workers run: each ListSystems is one
	// committed state, and the rules must hold in every one of them.
	db := d.open(t)
	store := sqlstore.New(db, d.dialect)
	watchCtx, stopWatch := context.WithCancel(ctx)
	var watched []string
	var looks int
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for watchCtx.Err() == nil {
			systems, err := store.ListSystems(watchCtx)
			if err != nil {
				if watchCtx.Err() == nil {
					watched = append(watched, "ListSystems: "+err.Error())
				}
				return
			}
			looks++
			for _, v := range registryViolations(systems) {
				if len(watched) < 10 {
					watched = append(watched, fmt.Sprintf("look %d: %s", looks, v))
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	for _, p := range procs {
		if _, err := io.WriteString(p.stdin, "GO\n"); err != nil {
			t.Errorf("starting a worker: %v", err)
		}
	}
	waitAll()
	stopWatch()
	<-watchDone
	ranFor := time.Since(readyAt)
	if t.Failed() {
		t.FailNow()
	}

	// What the workers did.
	reported := map[string]ticketing.AuditRecord{}
	failed := map[string]string{}
	seqOwner := map[int64]string{}
	totals := map[string]int{}
	for w, p := range procs {
		r := p.report
		if r.done != len(r.stored) {
			t.Errorf("worker %d: DONE says %d stored records, it reported %d", w+1, r.done, len(r.stored))
		}
		for _, u := range r.unexpected {
			t.Errorf("worker %d: unexpected: %s", w+1, u)
		}
		for reason, rec := range r.stored {
			if prev, ok := seqOwner[rec.Seq]; ok {
				t.Errorf("Seq %d was handed out twice: to %s and to %s", rec.Seq, prev, reason)
			}
			seqOwner[rec.Seq] = reason
			reported[reason] = rec
		}
		for reason, e := range r.auditFail {
			failed[reason] = e
		}
		for k, n := range r.counts {
			totals[k] += n
		}
	}
	if len(failed) > 0 {
		// No faults are injected here: a busy database must be waited for
		// or retried, not turned into a denial.
		t.Errorf("%d access checks were denied because the record could not be stored, e.g. %v", len(failed), firstValue(failed))
	}
	for _, k := range []string{"add ok", "add duplicate_name", "set_default ok", "retire ok", "retire default_system",
		"activate ok", "access granted", "access denied_ticket_format"} {
		if totals[k] == 0 {
			t.Errorf("the workload never hit %q, so the test proves less than it should; counts: %v", k, totals)
		}
	}
	for _, v := range watched {
		t.Errorf("registry rule broken while the workers ran: %s", v)
	}

	// The registry afterwards.
	systems, err := store.ListSystems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range registryViolations(systems) {
		t.Errorf("registry rule broken afterwards: %s", v)
	}
	checkSystemColumns(t, db, systems)

	// The trail afterwards: every reported record once, as reported; a
	// record not reported only for an access check that said its record
	// could not be stored, and at most once.
	recs := allRecords(t, store)
	seen := map[string]int{}
	var unexplained []string
	for _, rec := range recs {
		seen[rec.Reason]++
		if n := seen[rec.Reason]; n > 1 {
			t.Errorf("record %q stored %d times (Seq %d)", rec.Reason, n, rec.Seq)
		}
		want, ok := reported[rec.Reason]
		switch {
		case ok && (want.Seq != rec.Seq || want.Hash != rec.Hash):
			t.Errorf("record %q: a worker was handed Seq %d Hash %s, the trail has Seq %d Hash %s", rec.Reason, want.Seq, want.Hash, rec.Seq, rec.Hash)
		case !ok && failed[rec.Reason] == "":
			unexplained = append(unexplained, fmt.Sprintf("Seq %d %q", rec.Seq, rec.Reason))
		}
	}
	if len(unexplained) > 0 {
		t.Errorf("%d records in the trail that no worker reported, e.g. %v", len(unexplained), unexplained[:min(5, len(unexplained))])
	}
	missing := 0
	for reason, rec := range reported {
		if seen[reason] == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("record %q (Seq %d) was reported stored but is not in the trail", reason, rec.Seq)
			}
		}
	}
	failedPresent := 0
	for reason := range failed {
		if seen[reason] > 0 {
			failedPresent++
		}
	}
	if want := len(reported) + failedPresent; len(recs) != want {
		t.Errorf("the trail has %d records, want %d (%d reported stored + %d whose append reported failure)", len(recs), want, len(reported), failedPresent)
	}
	head, err := ticketing.Verify(ctx, store)
	if err != nil {
		t.Errorf("Verify: %v", err)
	} else if head.Seq != int64(len(recs)) {
		t.Errorf("Verify head Seq %d, the trail has %d records", head.Seq, len(recs))
	}
	t.Logf("%s: %d workers x %d goroutines x %d ops in %v (setup %v); %d systems, %d audit records, %d looks at the registry; outcomes %v",
		d.dialect, workers, goroutines, ops, ranFor.Round(time.Millisecond), readyAt.Sub(start).Round(time.Millisecond),
		len(systems), len(recs), looks, totals)
}

func firstValue(m map[string]string) string {
	for k, v := range m {
		return k + ": " + v
	}
	return ""
}

// parseWorker reads a worker's stdout; it closes ready at READY.
func parseWorker(r io.Reader, ready chan struct{}) workerReport {
	rep := workerReport{stored: map[string]ticketing.AuditRecord{}, auditFail: map[string]string{}, counts: map[string]int{}, done: -1}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	readyClosed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		rest := strings.TrimSpace(strings.TrimPrefix(sc.Text(), f[0]))
		switch f[0] {
		case lineReady:
			if !readyClosed {
				close(ready)
				readyClosed = true
			}
		case lineStored:
			if len(f) != 4 {
				rep.unexpected = append(rep.unexpected, "bad line: "+sc.Text())
				continue
			}
			seq, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				rep.unexpected = append(rep.unexpected, "bad line: "+sc.Text())
				continue
			}
			if _, dup := rep.stored[f[3]]; dup {
				rep.unexpected = append(rep.unexpected, "reason reported twice: "+f[3])
			}
			rep.stored[f[3]] = ticketing.AuditRecord{Seq: seq, Hash: f[2], Reason: f[3]}
		case lineAuditFail:
			if len(f) < 2 {
				rep.unexpected = append(rep.unexpected, "bad line: "+sc.Text())
				continue
			}
			rep.auditFail[f[1]] = rest
		case lineUnexpected:
			rep.unexpected = append(rep.unexpected, rest)
		case lineCount:
			if len(f) == 4 {
				n, _ := strconv.Atoi(f[3])
				rep.counts[f[1]+" "+f[2]] += n
			}
		case lineDone:
			if len(f) == 2 {
				rep.done, _ = strconv.Atoi(f[1])
			}
		}
	}
	return rep
}
