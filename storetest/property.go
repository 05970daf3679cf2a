package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// ---------------------------------------------------------------------------
// the property test: random records, random queries, a brute-force reference

// propertySeed fixes the random records and queries, so that a failure can
// be reproduced; it is printed when the test fails.
const propertySeed uint64 = 0x5eed_a0d1_7_2026

// Small domains, so that values and ticket prefixes collide; "_", "%" and
// "\" catch a store that passes TicketPrefix to LIKE unescaped, and upper
// and lower case one that compares without case.
var (
	propTicketAlphabet = []string{"A", "B", "1", "_", "%", `\`}
	propSystems        = []string{"", "sn", "SN", "jira"}
	propSecrets        = []string{"s1", "s2", "s3", "s4", "s5", "S1"}
	propUsers          = []string{"alice", "Alice", "bob", "carol", "dave"}
	propCodes          = []string{"ticket_format", "ticket_closed", "reason_required"}
	propZones          = []*time.Location{time.UTC, time.FixedZone("+05:30", 5*3600+30*60), time.FixedZone("-07:00", -7*3600)}
	propBase           = time.Date(2025, time.May, 4, 3, 2, 1, 0, time.UTC)
)

type propGen struct{ rng *rand.Rand }

func pick[T any](g propGen, from []T) T { return from[g.rng.IntN(len(from))] }

func (g propGen) ticket() string {
	if g.rng.IntN(12) == 0 {
		return ""
	}
	var b strings.Builder
	for range 1 + g.rng.IntN(3) {
		b.WriteString(pick(g, propTicketAlphabet))
	}
	return b.String()
}

// when returns a time within two minutes of propBase on a coarse grid (so
// that records share times), with a sub-microsecond part that ChainRecord
// cuts, in a random zone. Successive calls are not in order.
func (g propGen) when() time.Time {
	d := time.Duration(g.rng.IntN(120))*time.Second + time.Duration(g.rng.IntN(3))*time.Microsecond + time.Duration(g.rng.IntN(1000))
	return propBase.Add(d).In(pick(g, propZones))
}

func (g propGen) record(i int) ticketing.AuditRecord {
	rec := ticketing.AuditRecord{
		Time:           g.when(),
		Action:         ticketing.ActionView,
		SecretID:       pick(g, propSecrets),
		User:           pick(g, propUsers),
		TicketSystemID: pick(g, propSystems),
		TicketNumber:   g.ticket(),
		Reason:         fmt.Sprintf("property record %d", i),
		Outcome:        ticketing.OutcomeGranted,
	}
	switch n := g.rng.IntN(20); {
	case n == 0:
		rec.Action = ""
	case n < 8:
		rec.Action = ticketing.ActionRequestAccess
	}
	switch n := g.rng.IntN(20); {
	case n == 0:
		rec.Outcome = ""
	case n < 9:
		rec.Outcome = ticketing.OutcomeDenied
		if g.rng.IntN(10) > 0 {
			rec.DenialCode = pick(g, propCodes)
		}
	}
	return rec
}

// query returns a random query over all: each filter is set now and then,
// mostly to a value some record has. Paging fields are left zero.
func (g propGen) query(all []ticketing.AuditRecord) ticketing.AuditQuery {
	var q ticketing.AuditQuery
	some := func() ticketing.AuditRecord { return all[g.rng.IntN(len(all))] }
	if g.rng.IntN(5) == 0 {
		if g.rng.IntN(4) > 0 {
			q.TicketNumber = some().TicketNumber
		} else {
			q.TicketNumber = g.ticket()
		}
	}
	if g.rng.IntN(4) == 0 {
		if tk := some().TicketNumber; tk != "" && g.rng.IntN(4) > 0 {
			q.TicketPrefix = tk[:1+g.rng.IntN(len(tk))]
		} else {
			q.TicketPrefix = g.ticket()
		}
	}
	if g.rng.IntN(5) == 0 {
		q.TicketSystemID = pick(g, append(propSystems[1:], "nope"))
	}
	if g.rng.IntN(5) == 0 {
		q.SecretID = pick(g, append(propSecrets, "nope"))
	}
	if g.rng.IntN(5) == 0 {
		q.User = pick(g, append(propUsers, "nope"))
	}
	if g.rng.IntN(7) == 0 {
		q.Action = pick(g, []ticketing.Action{ticketing.ActionView, ticketing.ActionRequestAccess, "nope"})
	}
	if g.rng.IntN(5) == 0 {
		q.Outcome = pick(g, []ticketing.Outcome{ticketing.OutcomeGranted, ticketing.OutcomeDenied})
	}
	if g.rng.IntN(7) == 0 {
		q.DenialCode = pick(g, append(propCodes, "nope"))
	}
	jitter := []time.Duration{0, -time.Nanosecond, time.Nanosecond, -time.Microsecond, time.Microsecond, 999, time.Second}
	bound := func() time.Time {
		return some().Time.Add(pick(g, jitter)).In(pick(g, propZones))
	}
	if g.rng.IntN(4) == 0 {
		q.Since = bound()
	}
	if g.rng.IntN(4) == 0 {
		q.Until = bound()
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		q.Since, q.Until = q.Until, q.Since
		if q.Since.Equal(q.Until) {
			q.Until = q.Until.Add(time.Microsecond)
		}
	}
	return q
}

// limit returns a random page size for a listing of n records; Limit 1 only
// for short listings, to bound the number of calls.
func (g propGen) limit(n int) int {
	sizes := []int{2, 3, 4, 7, 10, 33, 0, ticketing.MaxAuditPageSize}
	if n <= 30 {
		sizes = append(sizes, 1, 1)
	}
	return pick(g, sizes)
}

func testQueryProperty(t *testing.T, s ticketing.Store) {
	const (
		queriesPerPhase = 150
		maxFailures     = 10
	)
	ctx := context.Background()
	g := propGen{rand.New(rand.NewPCG(propertySeed, 1))}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("QueryProperty: random records and queries from seed %#x (storetest.propertySeed)", propertySeed)
		}
	})
	failures := 0
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format, args...)
		if failures++; failures == maxFailures {
			t.Fatalf("QueryProperty: stopping after %d failures (seed %#x)", failures, propertySeed)
		}
	}

	var stored []ticketing.AuditRecord
	var prev ticketing.AuditRecord
	// Two phases: queries after a first batch, and again after a second,
	// so that a store whose indexes go stale after a query is caught.
	for phase, batch := range []int{250, 150} {
		recs := make([]ticketing.AuditRecord, batch)
		for i := range recs {
			recs[i] = g.record(len(stored) + i)
		}
		added := appendChained(t, s, prev, recs...)
		stored = append(stored, added...)
		prev = stored[len(stored)-1]
		all := readAll(t, s)
		checkRecords(t, fmt.Sprintf("phase %d: the whole trail read back", phase), all, stored)
		if t.Failed() {
			return
		}
		for qi := range queriesPerPhase {
			q := g.query(all)
			want := filterRecords(all, q, 0)
			cq := q
			cq.Limit = g.rng.IntN(5) // paging fields: CountAudit ignores them
			if g.rng.IntN(3) == 0 {
				cq.Cursor = cq.CursorAfter(1 + g.rng.Int64N(int64(len(all))))
			}
			if n, err := s.CountAudit(ctx, cq); err != nil || n != int64(len(want)) {
				fail("phase %d query %d: CountAudit%s = %d, %v; want %d", phase, qi, describe(cq), n, err, len(want))
			}
			for _, newest := range []bool{false, true} {
				q := q
				q.NewestFirst = newest
				var after int64
				if g.rng.IntN(4) == 0 {
					after = 1 + g.rng.Int64N(int64(len(all)+2))
					q.Cursor = q.CursorAfter(after)
				}
				want := filterRecords(all, q, after)
				q.Limit = g.limit(len(want))
				got, err := pageThrough(s, q, len(all))
				if err != nil {
					fail("phase %d query %d: %v", phase, qi, err)
					continue
				}
				if !equalSeqs(seqs(got), seqs(want)) {
					fail("phase %d query %d: QueryAudit%s (cursor after Seq %d) returned Seqs %s, want %s", phase, qi, describe(q), after, seqList(seqs(got)), seqList(seqs(want)))
					continue
				}
				for i := range got {
					if !sameRecord(got[i], want[i]) {
						fail("phase %d query %d: QueryAudit%s: record Seq %d differs from the one read back:%s", phase, qi, describe(q), want[i].Seq, recordDiff(got[i], want[i]))
						break
					}
				}
			}
		}
	}
	if _, err := ticketing.Verify(ctx, s); err != nil {
		t.Errorf("Verify after the property test: %v", err)
	}
}

// ---------------------------------------------------------------------------
// pagination under concurrent appends

// testQueryConcurrentAppends lists the trail page by page while goroutines
// append. After every page a reader hands a writer the turn to append one
// more record, so that appends land between pages whatever the speed of
// the store, and the number of pages read stays bounded.
func testQueryConcurrentAppends(t *testing.T, s ticketing.Store) {
	const (
		prefill           = 30
		writers, perWrite = 4, 100
		total             = prefill + writers*perWrite
	)
	ctx := context.Background()
	for i := range prefill {
		appendAudit(t, s, record("PRE-1", i))
	}

	type listing struct {
		recs      []ticketing.AuditRecord
		afterDone bool // started after every writer had finished
	}
	type reader struct {
		name     string
		q        ticketing.AuditQuery
		listings []listing
	}
	readers := []*reader{
		{name: "oldest first", q: ticketing.AuditQuery{Limit: 7}},
		{name: "newest first", q: ticketing.AuditQuery{Limit: 5, NewestFirst: true}},
		{name: "by ticket W-0", q: ticketing.AuditQuery{TicketNumber: "W-0", Limit: 3}},
		{name: "by prefix W-", q: ticketing.AuditQuery{TicketPrefix: "W-", Limit: 11}},
	}

	tick := make(chan struct{})
	writersDone, readersGone := make(chan struct{}), make(chan struct{})
	var writersWG, readersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			for i := range perWrite {
				if _, err := s.AppendAudit(ctx, record(fmt.Sprintf("W-%d", w), i)); err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
				select { // wait for a reader to read a page
				case <-tick:
				case <-readersGone:
				}
			}
		})
	}
	for _, r := range readers {
		readersWG.Go(func() {
			for {
				afterDone := false
				select {
				case <-writersDone:
					afterDone = true
				default:
				}
				var l listing
				l.afterDone = afterDone
				q := r.q
				for pages := 1; ; pages++ {
					if pages > total/q.PageSize()+3 {
						t.Errorf("reader %s: QueryAudit%s: the listing does not end after %d pages over at most %d records", r.name, describe(q), pages-1, total)
						return
					}
					page, err := s.QueryAudit(ctx, q)
					if err != nil {
						t.Errorf("reader %s: QueryAudit%s: %v", r.name, describe(q), err)
						return
					}
					l.recs = append(l.recs, page.Records...)
					select { // let a writer append one record
					case tick <- struct{}{}:
					case <-writersDone:
					}
					if page.Next == "" {
						break
					}
					q.Cursor = page.Next
				}
				r.listings = append(r.listings, l)
				if afterDone {
					return
				}
			}
		})
	}
	go func() {
		readersWG.Wait()
		close(readersGone)
	}()
	writersWG.Wait()
	close(writersDone)
	readersWG.Wait()
	if t.Failed() {
		return
	}

	final := readAll(t, s)
	if len(final) != total {
		t.Fatalf("after the appends the trail holds %d records, want %d", len(final), total)
	}
	for _, r := range readers {
		want := filterRecords(final, r.q, 0)
		during := 0
		for li, l := range r.listings {
			what := fmt.Sprintf("reader %s, listing %d", r.name, li)
			got := seqs(l.recs)
			switch {
			case l.afterDone:
				// Started after the last append: the complete listing.
				if !equalSeqs(got, seqs(want)) {
					t.Errorf("%s (after the appends): Seqs %s, want %s", what, seqList(got), seqList(seqs(want)))
				}
			case r.q.NewestFirst:
				// From the newest record at the first page down to 1, with
				// none skipped or repeated.
				during++
				if len(got) == 0 || got[0] < prefill || got[0] > total || !equalSeqs(got, countdown(got[0])) {
					t.Errorf("%s: Seqs %s, want a countdown from at least %d to 1", what, seqList(got), prefill)
				}
			default:
				// A prefix of the final listing: in order, nothing skipped
				// or repeated. Oldest first, it holds every record that was
				// there when it started.
				during++
				if len(got) > len(want) || !equalSeqs(got, seqs(want[:len(got)])) {
					t.Errorf("%s: Seqs %s, want a prefix of %s", what, seqList(got), seqList(seqs(want)))
				}
				if r.q.TicketNumber == "" && r.q.TicketPrefix == "" && len(got) < prefill {
					t.Errorf("%s: only %d records, want at least the %d appended before", what, len(got), prefill)
				}
			}
			for _, rec := range l.recs {
				if rec.Seq >= 1 && rec.Seq <= total && !sameRecord(rec, final[rec.Seq-1]) {
					t.Errorf("%s: record Seq %d differs from the one stored:%s", what, rec.Seq, recordDiff(rec, final[rec.Seq-1]))
					break
				}
				if r.q.TicketNumber != "" && rec.TicketNumber != r.q.TicketNumber {
					t.Errorf("%s: record Seq %d has ticket %q", what, rec.Seq, rec.TicketNumber)
				}
			}
		}
		if during == 0 {
			t.Logf("reader %s made no listing while the writers ran", r.name)
		}
	}
	if _, err := ticketing.Verify(ctx, s); err != nil {
		t.Errorf("Verify after concurrent appends and reads: %v", err)
	}
}

// countdown returns n, n-1, ..., 1.
func countdown(n int64) []int64 {
	out := make([]int64, 0, n)
	for i := n; i >= 1; i-- {
		out = append(out, i)
	}
	return out
}
