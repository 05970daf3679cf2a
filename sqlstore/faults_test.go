package sqlstore_test

// Faults: contexts cancelled in the middle of a transaction or expiring
// while waiting for the writer lock, commits whose answer is lost,
// PostgreSQL connections killed under load, and schema versions and
// migrations. Whatever happens, nothing is half-written, no audit record
// is lost silently or written twice, and the chain verifies.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
)

// ---------------------------------------------------------------------------
// a database/sql driver that lets a test step into a transaction

// commitFault is what happens to one COMMIT.
type commitFault int

const (
	commitNormally   commitFault = iota
	commitAnswerLost             // the commit is applied, but its answer never arrives
	commitNeverSent              // the connection dies before the commit: rolled back
)

// errFaultConnLost is the error a faulted COMMIT returns.
var errFaultConnLost = errors.New("fault injected: connection lost during COMMIT")

// faultHooks steer every connection of one faultDB.
type faultHooks struct {
	mu      sync.Mutex
	after   func(ctx context.Context, query string) // after each successful statement but COMMIT
	commitd func()                                  // after each successful, unfaulted COMMIT
	commits []commitFault                           // what the next commits do, in order
	faulted int                                     // commits faulted so far
}

func (h *faultHooks) setAfter(f func(ctx context.Context, query string)) {
	h.mu.Lock()
	h.after = f
	h.mu.Unlock()
}

func (h *faultHooks) queueCommits(f ...commitFault) {
	h.mu.Lock()
	h.commits = append(h.commits, f...)
	h.mu.Unlock()
}

func (h *faultHooks) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.commits)
}

func (h *faultHooks) ran(ctx context.Context, query string) {
	h.mu.Lock()
	f := h.after
	h.mu.Unlock()
	if f != nil {
		f(ctx, query)
	}
}

// commit runs one COMMIT (do) as the next queued fault says; undo rolls
// the transaction back. A faulted commit returns errFaultConnLost and the
// connection is bad from then on.
func (h *faultHooks) commit(c *faultConn, do, undo func() error) error {
	h.mu.Lock()
	f := commitNormally
	if len(h.commits) > 0 {
		f, h.commits = h.commits[0], h.commits[1:]
		h.faulted++
	}
	h.mu.Unlock()
	switch f {
	case commitAnswerLost:
		err := do()
		c.bad.Store(true)
		if err != nil {
			return err
		}
		return errFaultConnLost
	case commitNeverSent:
		_ = undo()
		c.bad.Store(true)
		return errFaultConnLost
	}
	if err := do(); err != nil {
		return err
	}
	h.mu.Lock()
	done := h.commitd
	h.mu.Unlock()
	if done != nil {
		done()
	}
	return nil
}

type faultConnector struct {
	drv   driver.Driver
	dsn   string
	hooks *faultHooks
}

func (c *faultConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: conn, hooks: c.hooks}, nil
}

func (c *faultConnector) Driver() driver.Driver { return c.drv }

// faultConn wraps a driver connection: it passes everything through, runs
// the hooks after each statement, and fault-injects COMMITs (SQLite's
// COMMIT statement and PostgreSQL's Tx.Commit alike).
type faultConn struct {
	driver.Conn
	hooks *faultHooks
	bad   atomic.Bool
}

func isCommit(query string) bool { return strings.EqualFold(strings.TrimSpace(query), "COMMIT") }

func (c *faultConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.bad.Load() {
		return nil, driver.ErrBadConn
	}
	ex := c.Conn.(driver.ExecerContext)
	if isCommit(query) {
		var res driver.Result
		err := c.hooks.commit(c,
			func() (err error) { res, err = ex.ExecContext(ctx, query, args); return err },
			func() error { _, err := ex.ExecContext(context.Background(), "ROLLBACK", nil); return err })
		return res, err
	}
	res, err := ex.ExecContext(ctx, query, args)
	if err == nil {
		c.hooks.ran(ctx, query)
	}
	return res, err
}

func (c *faultConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.bad.Load() {
		return nil, driver.ErrBadConn
	}
	rows, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err == nil {
		c.hooks.ran(ctx, query)
	}
	return rows, err
}

func (c *faultConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.bad.Load() {
		return nil, driver.ErrBadConn
	}
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *faultConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.bad.Load() {
		return nil, driver.ErrBadConn
	}
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &faultTx{Tx: tx, conn: c}, nil
}

func (c *faultConn) CheckNamedValue(v *driver.NamedValue) error {
	if nvc, ok := c.Conn.(driver.NamedValueChecker); ok {
		return nvc.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *faultConn) ResetSession(ctx context.Context) error {
	if c.bad.Load() {
		return driver.ErrBadConn
	}
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *faultConn) IsValid() bool {
	if c.bad.Load() {
		return false
	}
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *faultConn) Ping(ctx context.Context) error {
	if c.bad.Load() {
		return driver.ErrBadConn
	}
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

type faultTx struct {
	driver.Tx
	conn *faultConn
}

func (tx *faultTx) Commit() error {
	return tx.conn.hooks.commit(tx.conn, tx.Tx.Commit, tx.Tx.Rollback)
}

// openFault opens d through the fault-injecting driver.
func openFault(t testing.TB, d testDB) (*sql.DB, *faultHooks) {
	t.Helper()
	plain, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	drv := plain.Driver()
	plain.Close()
	probe, err := drv.Open(d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	for name, ok := range map[string]bool{
		"ExecerContext":      implements[driver.ExecerContext](probe),
		"QueryerContext":     implements[driver.QueryerContext](probe),
		"ConnPrepareContext": implements[driver.ConnPrepareContext](probe),
		"ConnBeginTx":        implements[driver.ConnBeginTx](probe),
	} {
		if !ok {
			t.Fatalf("the %s driver's connection does not implement driver.%s, which the fault driver relies on", d.driver, name)
		}
	}
	probe.Close()
	hooks := &faultHooks{}
	db := sql.OpenDB(&faultConnector{drv: drv, dsn: d.dsn, hooks: hooks})
	t.Cleanup(func() { db.Close() })
	return db, hooks
}

func implements[I any](v any) bool { _, ok := v.(I); return ok }

// ---------------------------------------------------------------------------
// helpers

func newStore(t testing.TB, db *sql.DB, d testDB) *sqlstore.Store {
	t.Helper()
	s := sqlstore.New(db, d.dialect)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// faultSystems returns n valid stored systems: active, distinct names, the
// first the default.
func faultSystems(n int) []ticketing.TicketSystem {
	out := make([]ticketing.TicketSystem, n)
	for i := range out {
		out[i] = ticketing.TicketSystem{ID: fmt.Sprintf("sys-%d", i+1), Name: fmt.Sprintf("System %d", i+1),
			Active: true, Default: i == 0, Version: 1, Description: "original"}
	}
	return out
}

// changeSystems returns every system of cur with Description set to tag
// and Version+1, plus a new system named after tag: one batch of updates
// and an insert.
func changeSystems(cur []ticketing.TicketSystem, tag string) []ticketing.TicketSystem {
	var out []ticketing.TicketSystem
	for _, s := range cur {
		s.Description = tag
		s.Version++
		out = append(out, s)
	}
	return append(out, ticketing.TicketSystem{ID: "new-" + tag, Name: "New " + tag, Active: true, Version: 1, Description: tag})
}

func putSystems(t testing.TB, s ticketing.SystemStore, systems []ticketing.TicketSystem) {
	t.Helper()
	err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return systems, nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
}

func listSystems(t testing.TB, s ticketing.SystemStore) []ticketing.TicketSystem {
	t.Helper()
	all, err := s.ListSystems(context.Background())
	if err != nil {
		t.Fatalf("ListSystems: %v", err)
	}
	return all
}

// batchState says how much of the batch tagged tag (changeSystems of
// before) is in systems: "none" (systems equal before), "all", or a
// description of the mix.
func batchState(systems, before []ticketing.TicketSystem, tag string) string {
	n := len(before) + 1
	k := 0
	for _, s := range systems {
		if s.Description == tag {
			k++
		}
	}
	switch {
	case k == 0 && reflect.DeepEqual(systems, before):
		return "none"
	case k == n && len(systems) == n:
		return "all"
	}
	return fmt.Sprintf("not whole: %d systems carry its tag, %d should, and %d systems are stored (%d before)", k, n, len(systems), len(before))
}

func auditRecord(reason string) ticketing.AuditRecord {
	return ticketing.AuditRecord{Time: time.Now(), Action: ticketing.ActionView, SecretID: "secret-1", User: "alice",
		TicketSystemID: "sys-1", TicketNumber: "INC0000001", Reason: reason, Outcome: ticketing.OutcomeGranted}
}

func mustAppend(t testing.TB, s ticketing.AuditStore, reason string) ticketing.AuditRecord {
	t.Helper()
	rec, err := s.AppendAudit(context.Background(), auditRecord(reason))
	if err != nil {
		t.Fatalf("AppendAudit(%q): %v", reason, err)
	}
	return rec
}

// withReason returns the records of the trail with that Reason.
func withReason(recs []ticketing.AuditRecord, reason string) []ticketing.AuditRecord {
	var out []ticketing.AuditRecord
	for _, r := range recs {
		if r.Reason == reason {
			out = append(out, r)
		}
	}
	return out
}

// checkTrail checks that the trail verifies and holds exactly the records
// want (by Reason, in order), with the Seq and Hash each append returned.
func checkTrail(t testing.TB, s ticketing.AuditStore, want []ticketing.AuditRecord) {
	t.Helper()
	recs := allRecords(t, s)
	var got, exp []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%d %s %s", r.Seq, r.Reason, r.Hash[:12]))
	}
	for _, r := range want {
		exp = append(exp, fmt.Sprintf("%d %s %s", r.Seq, r.Reason, r.Hash[:12]))
	}
	if !slices.Equal(got, exp) {
		t.Errorf("trail:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(exp, "\n  "))
	}
	head, err := ticketing.Verify(context.Background(), s)
	if err != nil {
		t.Errorf("Verify: %v", err)
	} else if head.Seq != int64(len(recs)) {
		t.Errorf("Verify head at %d, trail has %d records", head.Seq, len(recs))
	}
}

// ---------------------------------------------------------------------------
// (a) cancellation in the middle of a transaction

// TestFaultCancelInsideUpdateSystems: fn cancels the context and then
// returns a batch of changes (five updates and an insert). UpdateSystems
// fails with context.Canceled and writes none of them; the store works
// on afterwards.
func TestFaultCancelInsideUpdateSystems(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		s := newStore(t, d.open(t), d)
		putSystems(t, s, faultSystems(5))
		before := listSystems(t, s)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		err := s.UpdateSystems(ctx, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
			calls++
			cancel()
			return changeSystems(cur, "cancelled"), nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("UpdateSystems whose fn cancelled the context: err = %v, want one wrapping context.Canceled", err)
		}
		if calls != 1 {
			t.Errorf("fn called %d times, want 1 (a cancelled context is not retried)", calls)
		}
		if st := batchState(listSystems(t, s), before, "cancelled"); st != "none" {
			t.Errorf("after the cancelled UpdateSystems the batch is %s, want none of it", st)
		}

		// The store is not left locked or broken.
		ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel2()
		if err := s.UpdateSystems(ctx2, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
			return changeSystems(cur, "next"), nil
		}); err != nil {
			t.Fatalf("UpdateSystems after the cancelled one: %v", err)
		}
		if st := batchState(listSystems(t, s), before, "next"); st != "all" {
			t.Errorf("the next UpdateSystems wrote %s of its batch, want all", st)
		}
	})
}

// TestFaultCancelMidTransaction cancels the context at each step inside
// the transaction, deterministically (a driver hook cancels right after
// the k-th statement of the batch): after the k-th of six upserts, and
// for appends after reading the last record and after the INSERT. Every
// time the call fails with context.Canceled, nothing of it is stored, and
// the next append continues the sequence without a gap. Cancelling right
// after the COMMIT leaves a completed call.
func TestFaultCancelMidTransaction(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		db, hooks := openFault(t, d)
		s := newStore(t, db, d)
		putSystems(t, s, faultSystems(5))

		// Systems: cancel after the k-th write of the batch (k = 6: after
		// the last, just before COMMIT).
		for k := 1; k <= 6; k++ {
			before := listSystems(t, s)
			tag := fmt.Sprintf("k%d", k)
			ctx, cancel := context.WithCancel(context.Background())
			writes := 0
			hooks.setAfter(func(_ context.Context, q string) {
				if strings.HasPrefix(strings.TrimSpace(q), "INSERT INTO ticketing_systems") {
					if writes++; writes == k {
						cancel()
						// Let database/sql see the cancellation (it rolls a
						// *sql.Tx back on its own) before the store goes on,
						// so that every run takes the same path.
						time.Sleep(20 * time.Millisecond)
					}
				}
			})
			err := s.UpdateSystems(ctx, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				return changeSystems(cur, tag), nil
			})
			hooks.setAfter(nil)
			cancel()
			if writes < k {
				t.Fatalf("k=%d: the batch made only %d writes: the hook never cancelled", k, writes)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled after write %d of 6: err = %v, want one wrapping context.Canceled (the caller cancelled, and nothing was committed)", k, err)
			}
			if st := batchState(listSystems(t, s), before, tag); st != "none" {
				t.Errorf("cancelled after write %d of 6: the batch is %s, want none of it", k, st)
			}
		}

		// Cancelled the moment the COMMIT has returned, before the store
		// does: the call completed, and says so.
		before := listSystems(t, s)
		ctx, cancel := context.WithCancel(context.Background())
		hooks.mu.Lock()
		hooks.commitd = cancel
		hooks.mu.Unlock()
		err := s.UpdateSystems(ctx, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
			return changeSystems(cur, "committed"), nil
		})
		hooks.mu.Lock()
		hooks.commitd = nil
		hooks.mu.Unlock()
		if ctx.Err() == nil {
			t.Fatalf("the hook never cancelled after the COMMIT")
		}
		if err != nil {
			t.Errorf("UpdateSystems cancelled after its COMMIT: %v, want success", err)
		}
		if st := batchState(listSystems(t, s), before, "committed"); st != "all" {
			t.Errorf("after a committed UpdateSystems the batch is %s, want all of it", st)
		}

		// Audit: cancel after reading the last record, and after the INSERT.
		want := []ticketing.AuditRecord{mustAppend(t, s, "first"), mustAppend(t, s, "second")}
		for _, step := range []string{"SELECT seq, hash FROM ticketing_audit", "INSERT INTO ticketing_audit"} {
			ctx, cancel := context.WithCancel(context.Background())
			hit := false
			hooks.setAfter(func(_ context.Context, q string) {
				if strings.HasPrefix(strings.TrimSpace(q), step) && !hit {
					hit = true
					cancel()
				}
			})
			rec, err := s.AppendAudit(ctx, auditRecord("cancelled after "+step))
			hooks.setAfter(nil)
			cancel()
			if !hit {
				t.Fatalf("the append never ran %q", step)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("append cancelled after %q: err = %v (record %+v), want one wrapping context.Canceled", step, err, rec)
			}
		}
		want = append(want, mustAppend(t, s, "third"))
		if want[2].Seq != 3 {
			t.Errorf("the append after two cancelled ones got Seq %d, want 3", want[2].Seq)
		}
		checkTrail(t, s, want)
	})
}

// TestFaultDeadlineWaitingForLock: while one transaction holds the writer
// lock (an UpdateSystems whose fn waits; an append paused after its
// INSERT), another caller with a short deadline waits for it: a second
// store on its own pool, as another process would be, and another
// goroutine on the same store. The deadline ends the wait promptly with
// context.DeadlineExceeded, the waiting call writes nothing (its fn never
// runs), the holder then commits all of its changes, and the audit
// sequence continues without a gap.
func TestFaultDeadlineWaitingForLock(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		db, hooks := openFault(t, d)
		holder := newStore(t, db, d)
		putSystems(t, holder, faultSystems(3))
		trail := []ticketing.AuditRecord{mustAppend(t, holder, "first")}
		for _, w := range []struct {
			name   string
			waiter *sqlstore.Store
		}{
			{"another store", sqlstore.New(d.open(t), d.dialect)},
			{"the same store", holder},
		} {
			// Systems.
			before := listSystems(t, holder)
			tag := "holder " + w.name
			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			holderErr := make(chan error, 1)
			go func() {
				holderErr <- holder.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
					once.Do(func() { close(held) })
					<-release
					return changeSystems(cur, tag), nil
				})
			}()
			<-held
			var waiterCalls atomic.Int32
			waited, err := waitForLock(t, release, func(ctx context.Context) error {
				return w.waiter.UpdateSystems(ctx, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
					waiterCalls.Add(1)
					return changeSystems(cur, "waiter"), nil
				})
			})
			checkLockWait(t, "UpdateSystems on "+w.name, err, waited)
			if n := waiterCalls.Load(); n != 0 {
				t.Errorf("UpdateSystems on %s ran its fn %d times without the lock", w.name, n)
			}
			if err := <-holderErr; err != nil {
				t.Fatalf("the holder's UpdateSystems: %v", err)
			}
			if st := batchState(listSystems(t, holder), before, tag); st != "all" {
				t.Errorf("the holder's batch is %s, want all of it", st)
			}

			// Audit.
			held, release = make(chan struct{}), make(chan struct{})
			once = sync.Once{}
			hooks.setAfter(func(_ context.Context, q string) {
				if strings.HasPrefix(strings.TrimSpace(q), "INSERT INTO ticketing_audit") {
					once.Do(func() { close(held); <-release })
				}
			})
			type appended struct {
				rec ticketing.AuditRecord
				err error
			}
			holderRec := make(chan appended, 1)
			go func() {
				rec, err := holder.AppendAudit(context.Background(), auditRecord(tag))
				holderRec <- appended{rec, err}
			}()
			<-held
			waited, err = waitForLock(t, release, func(ctx context.Context) error {
				_, err := w.waiter.AppendAudit(ctx, auditRecord("waiter "+w.name))
				return err
			})
			hooks.setAfter(nil)
			checkLockWait(t, "AppendAudit on "+w.name, err, waited)
			h := <-holderRec
			if h.err != nil {
				t.Fatalf("the holder's AppendAudit: %v", h.err)
			}
			trail = append(trail, h.rec, mustAppend(t, w.waiter, "next "+w.name))
			if got, want := trail[len(trail)-1].Seq, int64(len(trail)); got != want {
				t.Errorf("the append after the waiter gave up got Seq %d, want %d", got, want)
			}
		}
		checkTrail(t, holder, trail)
	})
}

// Deadlines for TestFaultDeadlineWaitingForLock.
const (
	lockDeadline = 300 * time.Millisecond
	lockPromptly = 3 * time.Second // well under SQLite's busy timeout of 5 s
)

// waitForLock runs call with a context that expires after lockDeadline,
// while the lock is held, and returns its error and how long it took.
// It releases the holder (closes release) once call returned, or after
// lockPromptly at the latest, so that a call that ignores its deadline
// cannot hang the test.
func waitForLock(t *testing.T, release chan struct{}, call func(context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lockDeadline)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- call(ctx) }()
	var err error
	select {
	case err = <-done:
		close(release)
	case <-time.After(lockPromptly):
		close(release)
		err = <-done
	}
	return time.Since(start), err
}

func checkLockWait(t *testing.T, what string, err error, waited time.Duration) {
	t.Helper()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s waiting for the lock past its deadline: err = %v, want one wrapping context.DeadlineExceeded", what, err)
	}
	if waited > lockPromptly {
		t.Errorf("%s with a %v deadline waited %v for the lock (it returned only once the holder let go)", what, lockDeadline, waited.Round(time.Millisecond))
	}
	t.Logf("%s gave up after %v: %v", what, waited.Round(time.Millisecond), err)
}

// ---------------------------------------------------------------------------
// commits whose outcome the client does not learn

// TestFaultCommitOutcomeUnknown injects faults at COMMIT: the commit is
// applied but its answer is lost, or the connection dies before the commit
// arrives. AppendAudit must find out which (by its append key) and report
// the record exactly once: as stored when it was, retried when it was
// not. When every attempt is lost before the commit it fails with an error
// that says the outcome is unknown, and stores nothing. UpdateSystems,
// which does not retry a commit, says the outcome is unknown, and the
// batch is all there or not at all.
func TestFaultCommitOutcomeUnknown(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		db, hooks := openFault(t, d)
		s := newStore(t, db, d)
		want := []ticketing.AuditRecord{mustAppend(t, s, "before")}

		for _, c := range []struct {
			name   string
			faults []commitFault
		}{
			{"answer lost", []commitFault{commitAnswerLost}},
			{"never sent", []commitFault{commitNeverSent}},
			{"never sent, then answer lost", []commitFault{commitNeverSent, commitAnswerLost}},
		} {
			hooks.queueCommits(c.faults...)
			rec, err := s.AppendAudit(context.Background(), auditRecord(c.name))
			if n := hooks.pending(); n != 0 {
				t.Fatalf("%s: %d injected faults left unused", c.name, n)
			}
			if err != nil {
				t.Errorf("%s: AppendAudit: %v (the store can tell whether the record was written: it must say)", c.name, err)
				continue
			}
			got := withReason(allRecords(t, s), c.name)
			if len(got) != 1 {
				t.Errorf("%s: the record is in the trail %d times, want once", c.name, len(got))
			} else if got[0].Seq != rec.Seq || got[0].Hash != rec.Hash {
				t.Errorf("%s: AppendAudit returned Seq %d Hash %s, the trail has Seq %d Hash %s", c.name, rec.Seq, rec.Hash, got[0].Seq, got[0].Hash)
			}
			want = append(want, rec)
		}

		// Every attempt dies before its commit: AppendAudit gives up, says
		// the outcome is unknown, and nothing is stored.
		hooks.queueCommits(slices.Repeat([]commitFault{commitNeverSent}, 10)...)
		_, err := s.AppendAudit(context.Background(), auditRecord("always lost"))
		left := hooks.pending()
		hooks.mu.Lock()
		hooks.commits = nil // drop the faults it did not use
		hooks.mu.Unlock()
		if err == nil {
			t.Errorf("AppendAudit whose every commit was lost returned no error")
		} else if !strings.Contains(err.Error(), "unknown") {
			t.Errorf("AppendAudit whose every commit was lost: err = %v, want it to say the outcome is unknown", err)
		}
		if left == 10 {
			t.Errorf("AppendAudit never committed")
		}
		if got := withReason(allRecords(t, s), "always lost"); len(got) != 0 {
			t.Errorf("the append that failed is in the trail %d times; it was never committed", len(got))
		}
		want = append(want, mustAppend(t, s, "after"))
		if last := want[len(want)-1]; last.Seq != int64(len(want)) {
			t.Errorf("the append after the failures got Seq %d, want %d", last.Seq, len(want))
		}
		checkTrail(t, s, want)

		// Systems.
		putSystems(t, s, faultSystems(3))
		for _, c := range []struct {
			fault commitFault
			state string
		}{{commitAnswerLost, "all"}, {commitNeverSent, "none"}} {
			before := listSystems(t, s)
			tag := fmt.Sprintf("fault%d", c.fault)
			hooks.queueCommits(c.fault)
			err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				return changeSystems(cur, tag), nil
			})
			if err == nil || !strings.Contains(err.Error(), "unknown") {
				t.Errorf("UpdateSystems whose commit answer was lost: err = %v, want one that says the outcome is unknown", err)
			}
			if st := batchState(listSystems(t, s), before, tag); st != c.state {
				t.Errorf("UpdateSystems with commit fault %d: the batch is %s, want %s", c.fault, st, c.state)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// (b) PostgreSQL connections killed during appends

// TestFaultPostgresTerminateBackend: several goroutines append while an
// admin connection keeps killing every other backend of the database with
// pg_terminate_backend. Every append that succeeded is in the trail
// exactly once with the Seq and Hash it returned; every one that failed
// returned an error, and is in the trail at most once, and if it is there
// the error said the outcome was unknown; no Seq is used twice, and Verify
// passes.
func TestFaultPostgresTerminateBackend(t *testing.T) {
	d := newPostgresDB(t)
	db := d.open(t)
	db.SetMaxOpenConns(8)
	s := newStore(t, db, d)
	admin := d.open(t)
	admin.SetMaxOpenConns(1)

	const appenders, each = 6, 60
	type result struct {
		reason string
		rec    ticketing.AuditRecord
		err    error
	}
	results := make(chan result, appenders*each)
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for i := range each {
				reason := fmt.Sprintf("g%d-i%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				rec, err := s.AppendAudit(ctx, auditRecord(reason))
				cancel()
				results <- result{reason, rec, err}
			}
		})
	}
	stop := make(chan struct{})
	killerDone := make(chan struct{})
	var killed, rounds int
	var killerErr error
	go func() {
		defer close(killerDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2+rng.IntN(10)) * time.Millisecond):
			}
			var n int
			err := admin.QueryRow(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid()) AS k`).Scan(&n)
			if err != nil {
				killerErr = err
				return
			}
			killed += n
			rounds++
		}
	}()
	start := time.Now()
	wg.Wait()
	close(stop)
	<-killerDone
	close(results)
	elapsed := time.Since(start)
	if killerErr != nil {
		t.Fatalf("the killer: %v", killerErr)
	}

	// Read back through a fresh pool.
	check := sqlstore.New(d.open(t), d.dialect)
	recs := allRecords(t, check)
	byReason := map[string][]ticketing.AuditRecord{}
	for _, r := range recs {
		byReason[r.Reason] = append(byReason[r.Reason], r)
	}
	var ok, failed, failedPresent int
	errKinds := map[string]int{}
	examples := map[string]string{}
	seqs := map[int64]string{}
	for r := range results {
		got := byReason[r.reason]
		if len(got) > 1 {
			t.Errorf("%s: in the trail %d times (Seqs %d and %d)", r.reason, len(got), got[0].Seq, got[1].Seq)
		}
		if r.err == nil {
			ok++
			if prev, dup := seqs[r.rec.Seq]; dup {
				t.Errorf("Seq %d returned to %s and to %s", r.rec.Seq, prev, r.reason)
			}
			seqs[r.rec.Seq] = r.reason
			switch {
			case len(got) == 0:
				t.Errorf("%s: AppendAudit succeeded (Seq %d) but the record is not in the trail", r.reason, r.rec.Seq)
			case got[0].Seq != r.rec.Seq || got[0].Hash != r.rec.Hash:
				t.Errorf("%s: AppendAudit returned Seq %d Hash %s, the trail has Seq %d Hash %s", r.reason, r.rec.Seq, r.rec.Hash, got[0].Seq, got[0].Hash)
			}
			continue
		}
		failed++
		kind, ok := connectionLoss(r.err)
		errKinds[kind]++
		if !ok {
			t.Errorf("%s: AppendAudit failed with %q, which is not the killed connection: appends must fail only for what the fault explains", r.reason, r.err)
		} else if _, seen := examples[kind]; !seen {
			examples[kind] = r.err.Error()
		}
		if len(got) > 0 {
			failedPresent++
			if !strings.Contains(r.err.Error(), "unknown") {
				t.Errorf("%s: AppendAudit failed with %q, yet the record is in the trail (Seq %d): a failure must say when the outcome is unknown", r.reason, r.err, got[0].Seq)
			}
		}
	}
	if want := ok + failedPresent; len(recs) != want {
		t.Errorf("the trail has %d records, want %d (%d appends succeeded, %d failed ones are present)", len(recs), want, ok, failedPresent)
	}
	if _, err := ticketing.Verify(context.Background(), check); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if killed == 0 {
		t.Errorf("the killer terminated no backend in %d rounds: the test proved nothing", rounds)
	}
	if ok < appenders*each/2 {
		t.Errorf("only %d of %d appends succeeded: retries should carry most appends through killed connections", ok, appenders*each)
	}
	t.Logf("%d appends in %v: %d succeeded, %d failed (%d of those present); %d backends killed in %d rounds; errors: %v",
		appenders*each, elapsed.Round(time.Millisecond), ok, failed, failedPresent, killed, rounds, errKinds)
	for k, e := range examples {
		t.Logf("a failure of kind %q: %s", k, e)
	}
}

// connectionLoss names the kind of a failed append's error, and reports
// whether it is one a killed connection explains: the server's 57P01, a
// connection closed under the driver, or a commit (or its lookup) whose
// outcome the store could not learn.
func connectionLoss(err error) (string, bool) {
	msg := err.Error()
	for _, k := range []string{"outcome unknown", "57P01", "conn closed", "unexpected EOF", "connection reset", "broken pipe", "bad connection"} {
		if strings.Contains(msg, k) {
			return k, true
		}
	}
	return msg, false
}

// ---------------------------------------------------------------------------
// (c) schema versions and migrations

// schemaSnapshot describes the schema, the version rows and the data, to
// see that a refused Migrate changed nothing.
func schemaSnapshot(t testing.TB, db *sql.DB, d testDB) []string {
	t.Helper()
	var queries []string
	if d.dialect == sqlstore.SQLite {
		queries = []string{
			"SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name",
			"PRAGMA journal_mode",
		}
	} else {
		queries = []string{
			`SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns
				WHERE table_schema = current_schema() ORDER BY 1`,
			"SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
		}
	}
	var out []string
	for _, q := range queries {
		out = append(out, queryStrings(t, db, q)...)
	}
	tables := map[string]string{
		"ticketing_schema_version": "SELECT CAST(version AS TEXT) || ' ' || applied_at FROM ticketing_schema_version ORDER BY version",
		"ticketing_systems":        "SELECT id || ' ' || data FROM ticketing_systems ORDER BY id",
		"ticketing_audit":          "SELECT CAST(seq AS TEXT) || ' ' || hash FROM ticketing_audit ORDER BY seq",
		"ticketing_locks":          "SELECT name FROM ticketing_locks ORDER BY name",
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range tables {
			if !yield(k) {
				return
			}
		}
	}) {
		if !tableExists(t, db, d, name) {
			continue
		}
		for _, row := range queryStrings(t, db, tables[name]) {
			out = append(out, name+": "+row)
		}
	}
	return out
}

func tableExists(t testing.TB, db *sql.DB, d testDB, name string) bool {
	t.Helper()
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	if d.dialect == sqlstore.PostgreSQL {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	}
	var n int
	if err := db.QueryRow(q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func queryStrings(t testing.TB, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func versions(t testing.TB, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM ticketing_schema_version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// allVersions is 1 .. s.SchemaVersion(): one version row per migration.
func allVersions(s *sqlstore.Store) []int {
	var out []int
	for v := 1; v <= s.SchemaVersion(); v++ {
		out = append(out, v)
	}
	return out
}

func checkSnapshot(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s changed the database:\n  before: %q\n  after:  %q", what, want, got)
	}
}

// TestMigrateSchemaTooNew: a database at a version newer than the code
// (the newest migration plus one) is refused by Migrate with
// ErrSchemaTooNew and a message naming both versions, and nothing in it
// changes: neither in a database this code migrated before a newer one
// did, nor in one that only a newer code ever touched.
func TestMigrateSchemaTooNew(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		ctx := context.Background()
		db := d.open(t)
		s := newStore(t, db, d)
		if s.SchemaVersion() < 1 {
			t.Fatalf("SchemaVersion = %d, want at least 1", s.SchemaVersion())
		}
		putSystems(t, s, faultSystems(2))
		mustAppend(t, s, "kept")
		newer := s.SchemaVersion() + 1
		if _, err := db.Exec(fmt.Sprintf("INSERT INTO ticketing_schema_version (version, applied_at) VALUES (%d, '2099-01-01T00:00:00Z')", newer)); err != nil {
			t.Fatal(err)
		}
		before := schemaSnapshot(t, db, d)
		err := s.Migrate(ctx)
		checkTooNew(t, err, newer, s.SchemaVersion())
		checkSnapshot(t, "a refused Migrate", schemaSnapshot(t, db, d), before)
		// A second store, as a restarted process, is refused the same way.
		err = sqlstore.New(d.open(t), d.dialect).Migrate(ctx)
		checkTooNew(t, err, newer, s.SchemaVersion())
		checkSnapshot(t, "a second refused Migrate", schemaSnapshot(t, db, d), before)
	})
	t.Run("only the version table", func(t *testing.T) {
		eachDialect(t, func(t *testing.T, d testDB) {
			db := d.open(t)
			if _, err := db.Exec(`CREATE TABLE ticketing_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO ticketing_schema_version (version, applied_at) VALUES (99, '2099-01-01T00:00:00Z')`); err != nil {
				t.Fatal(err)
			}
			before := schemaSnapshot(t, db, d)
			s := sqlstore.New(db, d.dialect)
			checkTooNew(t, s.Migrate(context.Background()), 99, s.SchemaVersion())
			checkSnapshot(t, "a refused Migrate", schemaSnapshot(t, db, d), before)
		})
	})
}

func checkTooNew(t testing.TB, err error, dbVersion, codeVersion int) {
	t.Helper()
	if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
		t.Fatalf("Migrate on a database at version %d (code knows %d): err = %v, want ErrSchemaTooNew", dbVersion, codeVersion, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(dbVersion)) || !strings.Contains(msg, fmt.Sprint(codeVersion)) || !strings.Contains(msg, "newer") {
		t.Errorf("ErrSchemaTooNew message %q should say the schema is newer and name both versions (%d in the database, %d in the code)", msg, dbVersion, codeVersion)
	}
}

// TestMigrateIdempotent: Migrate twice (and from a second store) leaves
// one version row per migration and changes nothing the second time.
func TestMigrateIdempotent(t *testing.T) {
	eachDialect(t, func(t *testing.T, d testDB) {
		db := d.open(t)
		s := newStore(t, db, d)
		putSystems(t, s, faultSystems(2))
		mustAppend(t, s, "kept")
		before := schemaSnapshot(t, db, d)
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if err := sqlstore.New(d.open(t), d.dialect).Migrate(context.Background()); err != nil {
			t.Fatalf("Migrate from a second store: %v", err)
		}
		checkSnapshot(t, "Migrate of a migrated database", schemaSnapshot(t, db, d), before)
		if got, want := versions(t, db), allVersions(s); !slices.Equal(got, want) {
			t.Errorf("version rows %v, want %v", got, want)
		}
	})
}

// TestMigrateConcurrent: several stores, each on its own *sql.DB as
// separate processes would be, migrate one empty database at the same
// moment. Every Migrate succeeds, the migrations are applied once (one
// version row each), and the store works. For SQLite also when the DSN
// sets no busy timeout: the store must not rely on the host's DSN.
func TestMigrateConcurrent(t *testing.T) {
	const stores = 4
	run := func(t *testing.T, d testDB) {
		dbs := make([]*sql.DB, stores)
		for i := range dbs {
			dbs[i] = d.open(t)
		}
		errs := make([]error, stores)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() {
				<-gate
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				errs[i] = sqlstore.New(dbs[i], d.dialect).Migrate(ctx)
			})
		}
		close(gate)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Migrate %d of %d at once: %v", i+1, stores, err)
			}
		}
		if t.Failed() {
			return
		}
		s := sqlstore.New(dbs[0], d.dialect)
		if got, want := versions(t, dbs[0]), allVersions(s); !slices.Equal(got, want) {
			t.Errorf("version rows after %d concurrent Migrates: %v, want %v", stores, got, want)
		}
		reg := ticketing.NewRegistry(s)
		if _, err := reg.Add(context.Background(), ticketing.TicketSystem{Name: "After migrate", Active: true}); err != nil {
			t.Errorf("Add after the concurrent Migrates: %v", err)
		}
		mustAppend(t, sqlstore.New(dbs[1], d.dialect), "after migrate")
		if _, err := ticketing.Verify(context.Background(), s); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
	t.Run("PostgreSQL", func(t *testing.T) {
		for round := range 2 {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) { run(t, newPostgresDB(t)) })
		}
	})
	t.Run("SQLite", func(t *testing.T) {
		for round := range 5 {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) { run(t, newSQLiteDB(t)) })
		}
	})
	t.Run("SQLite without busy_timeout in the DSN", func(t *testing.T) {
		for round := range 5 {
			t.Run(fmt.Sprint("round", round), func(t *testing.T) {
				d := newSQLiteDB(t)
				d.dsn, _, _ = strings.Cut(d.dsn, "?")
				run(t, d)
			})
		}
	})
}
