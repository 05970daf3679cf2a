// Package storetest is the conformance suite for implementations of
// ticketing.Store. The Registry keeps its rules (one default, unique active
// names, no lost edit) and the audit trail keeps its promises (queries,
// pagination, the hash chain that Verify checks) only as well as the Store
// keeps the contract written on ticketing.SystemStore and
// ticketing.AuditStore; this suite checks that contract, so every Store, the
// embedded MemoryStore and third-party ones alike, is held to the same
// standard.
//
// # What it checks
//
// Systems:
//   - GetSystem of an unknown ID returns an error wrapping
//     ticketing.ErrNotFound; IDs match exactly (case-sensitive, no prefixes).
//   - UpdateSystems inserts and replaces by ID, shows fn every stored system
//     in first-insert order, keeps ListSystems in first-insert order
//     (replacing a system does not move it), and stores every field of a
//     TicketSystem unchanged (long and non-ASCII text, large Versions).
//   - Values handed out are copies: changing what ListSystems returned, the
//     slice fn was given, or the slice fn returned does not change the store.
//   - If fn returns an error, nothing is written and UpdateSystems returns an
//     error that matches fn's with errors.Is and errors.As.
//   - A changed set holding a system with an empty ID is refused with an
//     error, and none of that batch is written.
//   - UpdateSystems is an atomic read-modify-write under concurrency:
//     increments from many goroutines are never lost, an insert-if-absent
//     race has exactly one winner, and concurrent readers never see half a
//     batch or a value older than one they have already seen.
//
// Audit append and the chain:
//   - AppendAudit returns exactly ticketing.ChainRecord(last, rec), where
//     last is the record stored before (the zero record for the first): the
//     Seq, PrevHash and Hash passed in are ignored, sequence numbers run 1,
//     2, 3, ... with no gaps or repeats, each PrevHash is the Hash of the
//     record before (empty for the first), and Time is cut to the
//     microsecond.
//   - Under concurrent appends (20 goroutines x 60 records) every Seq is
//     assigned once, every goroutine's records come back as they were
//     returned, the returned records form one chain, and ticketing.Verify
//     passes on the result (a trail longer than one of Verify's pages).
//   - Records come back field for field as stored, including long escaped
//     text, non-ASCII text and a record with every field set (found by
//     reflection, so a field added to AuditRecord is covered at once);
//     Action, Outcome, LiveCheck and Comment may hold any text, not only
//     the values the package defines: a store keeps what it is given.
//   - ticketing.Verify on an empty store returns the zero AuditHead;
//     VerifySince with a head saved earlier passes after more appends, and
//     fails with ticketing.ErrChainBroken (a *ticketing.ChainError naming
//     the record) when the head's Hash is wrong or its Seq is beyond the
//     trail.
//
// Audit queries (QueryAudit and CountAudit):
//   - Each filter alone, and filters combined (AND), against hand-written
//     expectations: TicketNumber matches exactly (not prefixes, not other
//     cases, no trailing-space or LIKE-wildcard matching); TicketPrefix is a
//     plain, case-sensitive prefix ("_", "%" and "\" are ordinary
//     characters); TicketSystemID, SecretID, User, Action, Outcome and
//     DenialCode match exactly; Since <= Time < Until, with bounds that fall
//     on a record's microsecond, between microseconds, and in other time
//     zones.
//   - Results are in Seq order (append order, whatever the records' Time),
//     oldest first by default and newest first with NewestFirst.
//   - Pagination: no page holds more than Limit records (0 means
//     ticketing.DefaultAuditPageSize), every page but the last is full, Next
//     is "" exactly after the last page (also when the last page is full),
//     and the pages hold every selected record exactly once; Limit 1,
//     Limit ticketing.MaxAuditPageSize, filtered listings, an empty store,
//     and cursors made by AuditQuery.CursorAfter for any Seq, including
//     the last record and Seqs beyond the trail.
//   - Queries a store cannot run are refused with an error wrapping
//     ticketing.ErrInvalidQuery: a Limit below 0 or above MaxAuditPageSize,
//     a cursor that is not one, a cursor of the other order, Until not after
//     Since.
//   - CountAudit returns the number of records the query selects, ignoring
//     Limit and Cursor, and refuses Until not after Since.
//   - A property test: a few hundred random records (ticket numbers from a
//     small alphabet, so prefixes collide; times not in Seq order) and a few
//     hundred random queries, run in both orders with random page sizes and
//     random starting cursors, after a first batch of appends and again after
//     a second: every listing equals a brute-force filter
//     (AuditQuery.Matches over every record read back in Seq order), and
//     CountAudit equals its length. The seed is fixed and printed on
//     failure.
//   - Pagination under concurrent appends: listings made while goroutines
//     append return each record at most once, in order, with no Seq skipped
//     (oldest first from the start, newest first from the first page down to
//     1, and filtered by ticket), and each record as it is finally stored.
//
// Cancellation: every method called with a cancelled context returns an
// error wrapping context.Canceled and writes nothing.
//
// # Times
//
// ChainRecord cuts a record's Time to the microsecond and puts it in UTC
// before the store writes it, and the record's Hash covers that instant, so
// a store must keep the instant exactly to the microsecond (a store that
// rounds or drops microseconds breaks the chain). It need not keep the
// location, nor Go's monotonic clock reading: the suite compares times with
// time.Time.Equal. The suite appends times with a sub-microsecond part, a
// monotonic reading and non-UTC zones, and expects what ChainRecord makes
// of them.
//
// # Using it
//
// A third party runs the suite from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ticketing.Store {
//			db := openTestDatabase(t) // a fresh, empty database
//			t.Cleanup(func() { db.Close() })
//			return mystore.New(db)
//		})
//	}
//
// newStore is called once per sub-test and must return an empty store: no
// systems and no audit records, with the audit sequence starting at 1. The
// sub-tests run one after another (none calls t.Parallel), so newStore may
// reuse one database server as long as each store it returns starts empty.
// Use t.Cleanup inside newStore to release what it opened. The whole suite
// appends a few thousand audit records in all; the largest sub-tests append
// 1,200 (concurrently) and 400.
//
// The package uses only the standard library, so importing it adds no
// dependency to a store's module.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// Run runs the conformance suite against the Store implementation that
// newStore builds, one sub-test per property, each on a fresh store from
// newStore. newStore must return an empty store (see the package
// documentation); it may call t.Fatal if it cannot build one.
func Run(t *testing.T, newStore func(t *testing.T) ticketing.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s ticketing.Store)
	}{
		// systems
		{"GetSystemNotFound", testGetSystemNotFound},
		{"UpdateSystemsInsertAndReplace", testInsertAndReplace},
		{"UpdateSystemsFirstInsertOrder", testFirstInsertOrder},
		{"UpdateSystemsNothingChanged", testNothingChanged},
		{"SystemFieldsRoundTrip", testSystemFieldsRoundTrip},
		{"SystemsAreCopies", testSystemsAreCopies},
		{"UpdateSystemsFnError", testFnError},
		{"UpdateSystemsEmptyID", testEmptyID},
		{"UpdateSystemsConcurrentIncrements", testConcurrentIncrements},
		{"UpdateSystemsConcurrentInserts", testConcurrentInserts},
		{"ConcurrentReadersAndWriters", testReadersAndWriters},
		// audit append and the chain
		{"AppendAuditSeq", testAppendAuditSeq},
		{"AppendAuditConcurrent", testAppendAuditConcurrent},
		{"AuditFieldsRoundTrip", testAuditFieldsRoundTrip},
		{"VerifyEmpty", testVerifyEmpty},
		{"VerifySince", testVerifySince},
		// audit queries
		{"QueryByTicketExactMatch", testAuditByTicketExact},
		{"QueryByTicketOldestFirst", testAuditByTicketOrder},
		{"QueryByTicketUnknown", testAuditByTicketUnknown},
		{"QueryEmptyStore", testQueryEmptyStore},
		{"QueryEachFilter", testQueryEachFilter},
		{"QueryCombinedFilters", testQueryCombinedFilters},
		{"QueryTicketPrefix", testQueryTicketPrefix},
		{"QueryTimeBounds", testQueryTimeBounds},
		{"QueryOrder", testQueryOrder},
		{"QueryPagination", testQueryPagination},
		{"QueryDefaultAndMaxPageSize", testQueryPageSizes},
		{"QueryCursorEdges", testQueryCursorEdges},
		{"QueryInvalid", testQueryInvalid},
		{"CountAudit", testCountAudit},
		{"QueryProperty", testQueryProperty},
		{"QueryPaginationConcurrentAppends", testQueryConcurrentAppends},
		// cancellation
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			assertEmpty(t, s)
			tc.fn(t, s)
		})
	}
}

// ---------------------------------------------------------------------------
// helpers

// assertEmpty fails the test at once when newStore did not return an empty
// store, since every check below relies on it.
func assertEmpty(t *testing.T, s ticketing.Store) {
	t.Helper()
	all, err := s.ListSystems(context.Background())
	if err != nil {
		t.Fatalf("ListSystems on a new store: %v", err)
	}
	if len(all) != 0 {
		t.Fatalf("newStore must return an empty store; ListSystems returned %d systems", len(all))
	}
	n, err := s.CountAudit(context.Background(), ticketing.AuditQuery{})
	if err != nil {
		t.Fatalf("CountAudit on a new store: %v", err)
	}
	if n != 0 {
		t.Fatalf("newStore must return an empty store; CountAudit returned %d records", n)
	}
}

func appendAudit(t *testing.T, s ticketing.Store, rec ticketing.AuditRecord) ticketing.AuditRecord {
	t.Helper()
	got, err := s.AppendAudit(context.Background(), rec)
	if err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return got
}

// appendChained appends each record in turn, checks that the store returned
// ChainRecord(the record stored before, rec), and returns what it
// returned. prev is the last record already in the store (the zero record
// for an empty store).
func appendChained(t *testing.T, s ticketing.Store, prev ticketing.AuditRecord, recs ...ticketing.AuditRecord) []ticketing.AuditRecord {
	t.Helper()
	out := make([]ticketing.AuditRecord, 0, len(recs))
	for _, rec := range recs {
		got := appendAudit(t, s, rec)
		want := ticketing.ChainRecord(prev, rec)
		if !sameRecord(got, want) {
			t.Fatalf("AppendAudit after Seq %d did not return ChainRecord(last, rec):%s", prev.Seq, recordDiff(got, want))
		}
		out = append(out, got)
		prev = got
	}
	return out
}

// byTicket returns every record of one ticket number, through QueryAudit.
func byTicket(t *testing.T, s ticketing.Store, ticket string) []ticketing.AuditRecord {
	t.Helper()
	got, err := queryAll(context.Background(), s, ticketing.AuditQuery{TicketNumber: ticket})
	if err != nil {
		t.Fatalf("QueryAudit(TicketNumber %q): %v", ticket, err)
	}
	return got
}

// queryAll collects every page of q. Unlike ticketing.AuditRecords it
// gives up on a store whose listing does not end, so that a broken store
// fails the suite instead of hanging it.
func queryAll(ctx context.Context, s ticketing.AuditStore, q ticketing.AuditQuery) ([]ticketing.AuditRecord, error) {
	const maxPages = 100_000
	var out []ticketing.AuditRecord
	for range maxPages {
		page, err := s.QueryAudit(ctx, q)
		if err != nil {
			return out, err
		}
		out = append(out, page.Records...)
		if page.Next == "" {
			return out, nil
		}
		if page.Next == q.Cursor {
			return out, fmt.Errorf("storetest: QueryAudit%s returned its own cursor as Next: the listing does not move on", describe(q))
		}
		q.Cursor = page.Next
	}
	return out, fmt.Errorf("storetest: QueryAudit%s still has a Next after %d pages", describe(q), maxPages)
}

// readAll returns the whole trail, oldest first, and checks that it holds
// Seqs 1..n.
func readAll(t *testing.T, s ticketing.Store) []ticketing.AuditRecord {
	t.Helper()
	all, err := queryAll(context.Background(), s, ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize})
	if err != nil {
		t.Fatalf("QueryAudit of the whole trail: %v", err)
	}
	for i, r := range all {
		if r.Seq != int64(i+1) {
			t.Fatalf("the whole trail read oldest first has Seq %d at position %d, want %d", r.Seq, i, i+1)
		}
	}
	return all
}

// sameRecord reports whether two audit records are equal field for field,
// Time compared with time.Time.Equal (the location and the monotonic
// reading need not survive).
func sameRecord(got, want ticketing.AuditRecord) bool {
	gt, wt := got.Time, want.Time
	got.Time, want.Time = time.Time{}, time.Time{}
	return got == want && gt.Equal(wt)
}

// recordDiff lists the fields in which got differs from want, one a line.
func recordDiff(got, want ticketing.AuditRecord) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if gt, ok := g.(time.Time); ok {
			if gt.Equal(w.(time.Time)) {
				continue
			}
		} else if g == w {
			continue
		}
		fmt.Fprintf(&b, "\n\t%s: got %s, want %s", gv.Type().Field(i).Name, show(g), show(w))
	}
	return b.String()
}

// show renders a field's value for a failure message, long text cut short.
func show(v any) string {
	var s string
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case fmt.Stringer:
		s = v.String()
	default:
		if reflect.ValueOf(v).Kind() != reflect.String {
			return fmt.Sprint(v)
		}
		s = reflect.ValueOf(v).String()
	}
	const max = 60
	n := 0
	for i := range s {
		if n == max {
			return fmt.Sprintf("%q… (%d bytes)", s[:i], len(s))
		}
		n++
	}
	return fmt.Sprintf("%q", s)
}

func checkRecord(t *testing.T, what string, got, want ticketing.AuditRecord) {
	t.Helper()
	if !sameRecord(got, want) {
		t.Errorf("%s (Seq %d): fields differ:%s", what, want.Seq, recordDiff(got, want))
	}
}

func checkRecords(t *testing.T, what string, got, want []ticketing.AuditRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d records (seqs %v), want %d (seqs %v)", what, len(got), seqList(seqs(got)), len(want), seqList(seqs(want)))
		return
	}
	for i := range want {
		checkRecord(t, fmt.Sprintf("%s: record %d", what, i), got[i], want[i])
	}
}

func seqs(recs []ticketing.AuditRecord) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// seqList renders Seqs for a failure message, long lists cut short.
func seqList(s []int64) string {
	const max = 40
	if len(s) > max {
		return fmt.Sprintf("%v … %v (%d in all)", s[:max/2], s[len(s)-max/2:], len(s))
	}
	return fmt.Sprint(s)
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// record returns a granted-looking audit record with the usual fields set.
// Its Time is time.Now: it carries a monotonic reading and nanoseconds,
// which ChainRecord drops.
func record(ticket string, i int) ticketing.AuditRecord {
	return ticketing.AuditRecord{
		Seq:              0,
		Time:             time.Now(),
		Action:           ticketing.ActionRequestAccess,
		SecretID:         fmt.Sprintf("secret-%d", i),
		SecretName:       fmt.Sprintf("Secret %d", i),
		User:             fmt.Sprintf("user%d@example.com", i),
		TicketSystemID:   "sn",
		TicketSystemName: "ServiceNow",
		TicketNumber:     ticket,
		Reason:           fmt.Sprintf("reason %d", i),
		URL:              "https://tickets.example.com/view?id=" + ticket,
		Outcome:          ticketing.OutcomeGranted,
	}
}

func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }

// describe renders a query for a failure message: only the fields set.
func describe(q ticketing.AuditQuery) string {
	var parts []string
	add := func(name string, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("TicketNumber", q.TicketNumber)
	add("TicketPrefix", q.TicketPrefix)
	add("TicketSystemID", q.TicketSystemID)
	add("SecretID", q.SecretID)
	add("User", q.User)
	add("Action", string(q.Action))
	add("Outcome", string(q.Outcome))
	add("DenialCode", q.DenialCode)
	if !q.Since.IsZero() {
		parts = append(parts, "Since:"+q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		parts = append(parts, "Until:"+q.Until.Format(time.RFC3339Nano))
	}
	if q.NewestFirst {
		parts = append(parts, "NewestFirst")
	}
	if q.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit:%d", q.Limit))
	}
	add("Cursor", q.Cursor)
	return "{" + strings.Join(parts, " ") + "}"
}
