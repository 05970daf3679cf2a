package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// ---------------------------------------------------------------------------
// audit queries: filters, order, pagination, invalid queries, counts

// spec describes a fixture record compactly.
type spec struct {
	ticket, system, secret, user string
	action                       ticketing.Action
	outcome                      ticketing.Outcome
	code                         string
	at                           time.Time
}

func (f spec) record(i int) ticketing.AuditRecord {
	return ticketing.AuditRecord{
		Time:             f.at,
		Action:           f.action,
		SecretID:         f.secret,
		SecretName:       "Secret " + f.secret,
		User:             f.user,
		TicketSystemID:   f.system,
		TicketSystemName: "System " + f.system,
		TicketNumber:     f.ticket,
		Reason:           fmt.Sprintf("fixture record %d", i),
		Outcome:          f.outcome,
		DenialCode:       f.code,
	}
}

// appendSpecs appends the fixture in order and returns what was stored.
func appendSpecs(t *testing.T, s ticketing.Store, specs []spec) []ticketing.AuditRecord {
	t.Helper()
	recs := make([]ticketing.AuditRecord, len(specs))
	for i, f := range specs {
		recs[i] = f.record(i)
	}
	return appendChained(t, s, ticketing.AuditRecord{}, recs...)
}

// expectQuery checks that q selects exactly the records with the Seqs want
// (oldest first): through QueryAudit oldest first and newest first, each in
// pages of 2 and in one page, and through CountAudit. It first checks that
// AuditQuery.Matches agrees with want, so that the hand-written table and
// the reference filter cannot drift apart.
func expectQuery(t *testing.T, s ticketing.Store, all []ticketing.AuditRecord, q ticketing.AuditQuery, want ...int64) {
	t.Helper()
	if want == nil {
		want = []int64{}
	}
	if ref := seqs(filterRecords(all, q, 0)); !equalSeqs(ref, want) {
		t.Errorf("storetest: the table says %s selects %v, but AuditQuery.Matches selects %v", describe(q), want, ref)
	}
	for _, newest := range []bool{false, true} {
		for _, limit := range []int{2, 0} {
			q := q
			q.NewestFirst, q.Limit = newest, limit
			w := slices.Clone(want)
			if newest {
				slices.Reverse(w)
			}
			got, err := pageThrough(s, q, len(all))
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			if !equalSeqs(seqs(got), w) {
				t.Errorf("QueryAudit%s returned Seqs %v, want %v", describe(q), seqs(got), w)
				continue
			}
			for _, r := range got {
				checkRecord(t, "QueryAudit"+describe(q), r, all[r.Seq-1])
			}
		}
	}
	if n, err := s.CountAudit(context.Background(), q); err != nil || n != int64(len(want)) {
		t.Errorf("CountAudit%s = %d, %v; want %d", describe(q), n, err, len(want))
	}
}

// filterRecords is the reference: the records of all (in Seq order) that q
// matches, in q's order, after the cursor Seq after (0: from the start).
func filterRecords(all []ticketing.AuditRecord, q ticketing.AuditQuery, after int64) []ticketing.AuditRecord {
	var out []ticketing.AuditRecord
	for _, r := range all {
		if q.Matches(r) && (after == 0 || (!q.NewestFirst && r.Seq > after) || (q.NewestFirst && r.Seq < after)) {
			out = append(out, r)
		}
	}
	if q.NewestFirst {
		slices.Reverse(out)
	}
	return out
}

// pageThrough lists q page by page, following Next, and checks the pages:
// none holds more than the page size, every one but the last is full, Next
// is "" on the last one and only there, and only a first page may be empty.
// total bounds the number of pages (the number of records in the store).
func pageThrough(s ticketing.AuditStore, q ticketing.AuditQuery, total int) ([]ticketing.AuditRecord, error) {
	size := q.PageSize()
	maxPages := total/size + 2
	var out []ticketing.AuditRecord
	for page := 1; ; page++ {
		if page > maxPages {
			return out, fmt.Errorf("QueryAudit%s: still a Next after %d pages of %d over %d records", describe(q), page-1, size, total)
		}
		p, err := s.QueryAudit(context.Background(), q)
		if err != nil {
			return out, fmt.Errorf("QueryAudit%s (page %d): %w", describe(q), page, err)
		}
		switch {
		case len(p.Records) > size:
			return out, fmt.Errorf("QueryAudit%s (page %d): %d records, more than the page size %d", describe(q), page, len(p.Records), size)
		case p.Next != "" && len(p.Records) < size:
			return out, fmt.Errorf("QueryAudit%s (page %d): %d records and a Next: every page but the last must hold %d", describe(q), page, len(p.Records), size)
		case page > 1 && len(p.Records) == 0:
			return out, fmt.Errorf("QueryAudit%s: page %d is empty: the page before it was the last, and its Next must have been \"\"", describe(q), page)
		}
		out = append(out, p.Records...)
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

func testQueryEmptyStore(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	for _, q := range []ticketing.AuditQuery{
		{},
		{NewestFirst: true},
		{Limit: 1},
		{Limit: 1, NewestFirst: true},
		{TicketNumber: "INC1"},
		{TicketPrefix: "INC"},
		{User: "alice", SecretID: "s1"},
		{Since: time.Unix(0, 0), Until: time.Now()},
		{Cursor: (ticketing.AuditQuery{}).CursorAfter(5)},
		{Cursor: (ticketing.AuditQuery{NewestFirst: true}).CursorAfter(5), NewestFirst: true},
	} {
		page, err := s.QueryAudit(ctx, q)
		if err != nil || len(page.Records) != 0 || page.Next != "" {
			t.Errorf("QueryAudit%s on an empty store = %d records, Next %q, err %v; want none, \"\" and nil", describe(q), len(page.Records), page.Next, err)
		}
		if n, err := s.CountAudit(ctx, q); err != nil || n != 0 {
			t.Errorf("CountAudit%s on an empty store = %d, %v; want 0 and nil", describe(q), n, err)
		}
	}
	for rec, err := range ticketing.AuditRecords(ctx, s, ticketing.AuditQuery{}) {
		t.Errorf("AuditRecords on an empty store yielded %+v, %v", rec, err)
	}
}

// filterFixture has records that differ from each other in one field at a
// time, upper and lower case among them, and times not in Seq order.
func filterFixture() []spec {
	base := time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)
	m := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	const (
		view, req      = ticketing.ActionView, ticketing.ActionRequestAccess
		granted, deny  = ticketing.OutcomeGranted, ticketing.OutcomeDenied
		closed, format = "ticket_closed", "ticket_format"
	)
	return []spec{
		/* 1 */ {"INC0001", "sn", "s1", "alice", view, granted, "", m(0)},
		/* 2 */ {"INC0002", "sn", "s2", "bob", req, granted, "", m(5)},
		/* 3 */ {"INC0001", "sn", "s2", "alice", view, deny, closed, m(1)},
		/* 4 */ {"INC00010", "sn", "s1", "carol", view, granted, "", m(10)},
		/* 5 */ {"", "", "s3", "bob", view, deny, "reason_required", m(2)},
		/* 6 */ {"CHG0001", "jira", "s1", "alice", req, granted, "", m(3)},
		/* 7 */ {"inc0001", "jira", "s3", "Alice", view, deny, format, m(4)},
		/* 8 */ {"INC0001 ", "sn", "s1", "bob", view, deny, format, m(6)},
		/* 9 */ {"INC0002", "SN", "s2", "carol", req, deny, closed, m(7)},
		/* 10 */ {"INC0001", "sn", "S1", "alice", view, granted, "", m(8)},
	}
}

func testQueryEachFilter(t *testing.T, s ticketing.Store) {
	all := appendSpecs(t, s, filterFixture())
	base := time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)
	m := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	for _, tc := range []struct {
		q    ticketing.AuditQuery
		want []int64
	}{
		{ticketing.AuditQuery{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{ticketing.AuditQuery{TicketNumber: "INC0001"}, []int64{1, 3, 10}},
		{ticketing.AuditQuery{TicketNumber: "INC0001 "}, []int64{8}},
		{ticketing.AuditQuery{TicketNumber: "inc0001"}, []int64{7}},
		{ticketing.AuditQuery{TicketNumber: "INC0002"}, []int64{2, 9}},
		{ticketing.AuditQuery{TicketNumber: "INC000"}, nil},
		{ticketing.AuditQuery{TicketPrefix: "INC0001"}, []int64{1, 3, 4, 8, 10}},
		{ticketing.AuditQuery{TicketPrefix: "INC"}, []int64{1, 2, 3, 4, 8, 9, 10}},
		{ticketing.AuditQuery{TicketPrefix: "inc"}, []int64{7}},
		{ticketing.AuditQuery{TicketPrefix: "C"}, []int64{6}},
		{ticketing.AuditQuery{TicketPrefix: "X"}, nil},
		{ticketing.AuditQuery{TicketSystemID: "sn"}, []int64{1, 2, 3, 4, 8, 10}},
		{ticketing.AuditQuery{TicketSystemID: "SN"}, []int64{9}},
		{ticketing.AuditQuery{TicketSystemID: "jira"}, []int64{6, 7}},
		{ticketing.AuditQuery{TicketSystemID: "s"}, nil},
		{ticketing.AuditQuery{SecretID: "s1"}, []int64{1, 4, 6, 8}},
		{ticketing.AuditQuery{SecretID: "S1"}, []int64{10}},
		{ticketing.AuditQuery{SecretID: "s2"}, []int64{2, 3, 9}},
		{ticketing.AuditQuery{SecretID: "s3"}, []int64{5, 7}},
		{ticketing.AuditQuery{SecretID: "s"}, nil},
		{ticketing.AuditQuery{User: "alice"}, []int64{1, 3, 6, 10}},
		{ticketing.AuditQuery{User: "Alice"}, []int64{7}},
		{ticketing.AuditQuery{User: "bob"}, []int64{2, 5, 8}},
		{ticketing.AuditQuery{User: "carol"}, []int64{4, 9}},
		{ticketing.AuditQuery{User: "alic"}, nil},
		{ticketing.AuditQuery{Action: ticketing.ActionView}, []int64{1, 3, 4, 5, 7, 8, 10}},
		{ticketing.AuditQuery{Action: ticketing.ActionRequestAccess}, []int64{2, 6, 9}},
		{ticketing.AuditQuery{Action: "VIEW"}, nil},
		{ticketing.AuditQuery{Outcome: ticketing.OutcomeGranted}, []int64{1, 2, 4, 6, 10}},
		{ticketing.AuditQuery{Outcome: ticketing.OutcomeDenied}, []int64{3, 5, 7, 8, 9}},
		{ticketing.AuditQuery{DenialCode: "ticket_closed"}, []int64{3, 9}},
		{ticketing.AuditQuery{DenialCode: "ticket_format"}, []int64{7, 8}},
		{ticketing.AuditQuery{DenialCode: "reason_required"}, []int64{5}},
		{ticketing.AuditQuery{DenialCode: "ticket"}, nil},
		{ticketing.AuditQuery{Since: m(5)}, []int64{2, 4, 8, 9, 10}},
		{ticketing.AuditQuery{Until: m(5)}, []int64{1, 3, 5, 6, 7}},
		{ticketing.AuditQuery{Since: m(2), Until: m(4)}, []int64{5, 6}},
	} {
		expectQuery(t, s, all, tc.q, tc.want...)
	}
}

func testQueryCombinedFilters(t *testing.T, s ticketing.Store) {
	all := appendSpecs(t, s, filterFixture())
	base := time.Date(2025, time.March, 1, 9, 0, 0, 0, time.UTC)
	m := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	for _, tc := range []struct {
		q    ticketing.AuditQuery
		want []int64
	}{
		{ticketing.AuditQuery{TicketNumber: "INC0001", Outcome: ticketing.OutcomeGranted}, []int64{1, 10}},
		{ticketing.AuditQuery{TicketNumber: "INC0001", User: "alice", SecretID: "s2"}, []int64{3}},
		{ticketing.AuditQuery{TicketPrefix: "INC", Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_closed"}, []int64{3, 9}},
		{ticketing.AuditQuery{TicketSystemID: "sn", Action: ticketing.ActionView, Since: m(1), Until: m(8)}, []int64{3, 8}},
		{ticketing.AuditQuery{TicketNumber: "INC0001", TicketPrefix: "INC00010"}, nil},
		{ticketing.AuditQuery{TicketNumber: "INC00010", TicketPrefix: "INC0001"}, []int64{4}},
		{ticketing.AuditQuery{User: "bob", Outcome: ticketing.OutcomeGranted}, []int64{2}},
		{ticketing.AuditQuery{SecretID: "s1", User: "alice", TicketSystemID: "jira"}, []int64{6}},
		{ticketing.AuditQuery{SecretID: "s1", User: "carol"}, []int64{4}},
		{ticketing.AuditQuery{SecretID: "s2", User: "dave"}, nil},
		{ticketing.AuditQuery{Outcome: ticketing.OutcomeGranted, DenialCode: "ticket_format"}, nil},
		{ticketing.AuditQuery{TicketPrefix: "INC0001", Since: m(6)}, []int64{4, 8, 10}},
		{ticketing.AuditQuery{User: "alice", Until: m(3)}, []int64{1, 3}},
		{ticketing.AuditQuery{Action: ticketing.ActionRequestAccess, Outcome: ticketing.OutcomeDenied}, []int64{9}},
		// Every filter at once, selecting one record.
		{ticketing.AuditQuery{
			TicketNumber: "INC0002", TicketPrefix: "INC", TicketSystemID: "SN", SecretID: "s2", User: "carol",
			Action: ticketing.ActionRequestAccess, Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_closed",
			Since: m(7), Until: m(7).Add(time.Microsecond),
		}, []int64{9}},
	} {
		expectQuery(t, s, all, tc.q, tc.want...)
	}
}

func testQueryTicketPrefix(t *testing.T, s ticketing.Store) {
	tickets := []string{"A_1", "AB1", "A%1", "AX%", `A\1`, "a_1", "ÄBC", "ÄB", "Ä", "A", "", "B_A", "A_1"}
	specs := make([]spec, len(tickets))
	at := time.Date(2025, time.April, 1, 0, 0, 0, 0, time.UTC)
	for i, tk := range tickets {
		specs[i] = spec{ticket: tk, system: "sn", secret: "s", user: "u", action: ticketing.ActionView, outcome: ticketing.OutcomeGranted, at: at}
	}
	all := appendSpecs(t, s, specs)
	for _, tc := range []struct {
		prefix string
		want   []int64
	}{
		{"", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}},
		{"A_", []int64{1, 13}}, // "_" is no wildcard
		{"A%", []int64{3}},     // nor is "%"
		{`A\`, []int64{5}},     // and "\" escapes nothing
		{"A", []int64{1, 2, 3, 4, 5, 10, 13}},
		{"a", []int64{6}},
		{"Ä", []int64{7, 8, 9}},
		{"ÄB", []int64{7, 8}},
		{"A_1", []int64{1, 13}}, // the whole ticket number
		{"A_1x", nil},
		{"B", []int64{12}},
		{"%", nil},
		{"_", nil},
		{"AX%", []int64{4}},
	} {
		expectQuery(t, s, all, ticketing.AuditQuery{TicketPrefix: tc.prefix}, tc.want...)
	}
	// Prefix queries see tickets appended after an earlier prefix query.
	prev := all[len(all)-1]
	more := appendChained(t, s, prev,
		spec{ticket: "A_0", at: at}.record(20), spec{ticket: "AA", at: at}.record(21), spec{ticket: "ÄBA", at: at}.record(22))
	all = append(all, more...)
	expectQuery(t, s, all, ticketing.AuditQuery{TicketPrefix: "A_"}, 1, 13, 14)
	expectQuery(t, s, all, ticketing.AuditQuery{TicketPrefix: "A"}, 1, 2, 3, 4, 5, 10, 13, 14, 15)
	expectQuery(t, s, all, ticketing.AuditQuery{TicketPrefix: "ÄB"}, 7, 8, 16)
}

func testQueryTimeBounds(t *testing.T, s ticketing.Store) {
	t0 := time.Date(2025, time.June, 1, 12, 0, 0, 5000, time.UTC) // on a microsecond
	us, ns := time.Microsecond, time.Nanosecond
	ist := time.FixedZone("+05:30", 5*3600+30*60)
	pdt := time.FixedZone("-07:00", -7*3600)
	specs := []spec{
		/* 1 */ {ticket: "T-1", at: t0},
		/* 2 */ {ticket: "T-1", at: t0.Add(us)},
		/* 3 */ {ticket: "T-2", at: t0.Add(2 * us)},
		/* 4 */ {ticket: "T-1", at: t0.Add(-us)}, // earlier than the records before it
		/* 5 */ {ticket: "T-1", at: t0.Add(us + 999*ns).In(ist)}, // stored as t0+1µs
		/* 6 */ {ticket: "T-1", at: t0.Add(time.Hour)},
	}
	all := appendSpecs(t, s, specs)
	for _, tc := range []struct {
		name         string
		since, until time.Time
		want         []int64
	}{
		{"Since on a record", t0, time.Time{}, []int64{1, 2, 3, 5, 6}},
		{"Since 1ns after a record", t0.Add(ns), time.Time{}, []int64{2, 3, 5, 6}},
		{"Since 1ns before a record", t0.Add(-ns), time.Time{}, []int64{1, 2, 3, 5, 6}},
		{"Since on the next microsecond", t0.Add(us), time.Time{}, []int64{2, 3, 5, 6}},
		{"Since 1ns after the next microsecond", t0.Add(us + ns), time.Time{}, []int64{3, 6}},
		{"Since in another zone", t0.Add(us).In(pdt), time.Time{}, []int64{2, 3, 5, 6}},
		{"Until on a record", time.Time{}, t0, []int64{4}},
		{"Until 1ns after a record", time.Time{}, t0.Add(ns), []int64{1, 4}},
		{"Until on the next microsecond", time.Time{}, t0.Add(us), []int64{1, 4}},
		{"Until 1ns after the next microsecond", time.Time{}, t0.Add(us + ns), []int64{1, 2, 4, 5}},
		{"Until in another zone", time.Time{}, t0.Add(us).In(ist), []int64{1, 4}},
		{"Since and Until one microsecond apart", t0, t0.Add(us), []int64{1}},
		{"Since and Until 1ns apart on a record", t0, t0.Add(ns), []int64{1}},
		{"Since and Until 1ns apart between records", t0.Add(ns), t0.Add(2 * ns), nil},
		{"Since and Until around two records", t0.Add(us), t0.Add(2 * us), []int64{2, 5}},
		{"Until on the last record", t0.Add(-us), t0.Add(time.Hour), []int64{1, 2, 3, 4, 5}},
		{"Until just after the last record", time.Time{}, t0.Add(time.Hour + ns), []int64{1, 2, 3, 4, 5, 6}},
		{"Since long before", t0.AddDate(-30, 0, 0), time.Time{}, []int64{1, 2, 3, 4, 5, 6}},
		{"Since after every record", t0.Add(time.Hour + ns), time.Time{}, nil},
		{"Since before 1970", time.Date(1960, time.January, 1, 0, 0, 0, 1, time.UTC), t0.Add(us), []int64{1, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectQuery(t, s, all, ticketing.AuditQuery{Since: tc.since, Until: tc.until}, tc.want...)
		})
	}
	// With a ticket number, so that a store that picks an index by ticket
	// still applies the time bounds.
	expectQuery(t, s, all, ticketing.AuditQuery{TicketNumber: "T-1", Since: t0.Add(ns)}, 2, 5, 6)
	expectQuery(t, s, all, ticketing.AuditQuery{TicketNumber: "T-1", Until: t0.Add(us)}, 1, 4)
	expectQuery(t, s, all, ticketing.AuditQuery{TicketPrefix: "T-", Since: t0.Add(us), Until: t0.Add(time.Hour)}, 2, 3, 5)
}

func testQueryOrder(t *testing.T, s ticketing.Store) {
	// Later records have earlier times: the order is Seq, never Time.
	base := time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC)
	var specs []spec
	for i := range 9 {
		specs = append(specs, spec{
			ticket: fmt.Sprintf("O-%d", i%2), secret: fmt.Sprintf("s%d", i%3), user: "u",
			action: ticketing.ActionView, outcome: ticketing.OutcomeGranted,
			at: base.Add(-time.Duration(i) * time.Second),
		})
	}
	all := appendSpecs(t, s, specs)
	for _, tc := range []struct {
		q    ticketing.AuditQuery
		want []int64
	}{
		{ticketing.AuditQuery{}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{ticketing.AuditQuery{TicketNumber: "O-0"}, []int64{1, 3, 5, 7, 9}},
		{ticketing.AuditQuery{TicketPrefix: "O-"}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{ticketing.AuditQuery{SecretID: "s1"}, []int64{2, 5, 8}},
		{ticketing.AuditQuery{User: "u"}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{ticketing.AuditQuery{Since: base.Add(-5 * time.Second)}, []int64{1, 2, 3, 4, 5, 6}},
		{ticketing.AuditQuery{Until: base.Add(-2 * time.Second)}, []int64{4, 5, 6, 7, 8, 9}},
		{ticketing.AuditQuery{Outcome: ticketing.OutcomeGranted}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		expectQuery(t, s, all, tc.q, tc.want...) // both orders
	}
}

// pagingFixture appends 24 records: P-2 at odd Seqs up to 21, P-1 at even
// Seqs up to 20, P-3 at 22..24, so that a listing of P-1 ends before the
// trail does.
func pagingFixture(t *testing.T, s ticketing.Store) []ticketing.AuditRecord {
	t.Helper()
	base := time.Date(2025, time.August, 1, 0, 0, 0, 0, time.UTC)
	var specs []spec
	for seq := 1; seq <= 24; seq++ {
		ticket := "P-2"
		switch {
		case seq > 21:
			ticket = "P-3"
		case seq%2 == 0:
			ticket = "P-1"
		}
		specs = append(specs, spec{ticket: ticket, user: "u", secret: "s", at: base.Add(time.Duration(seq%5) * time.Second)})
	}
	return appendSpecs(t, s, specs)
}

func testQueryPagination(t *testing.T, s ticketing.Store) {
	all := pagingFixture(t, s)
	for _, tc := range []struct {
		q     ticketing.AuditQuery
		pages []int // the page sizes expected
	}{
		{ticketing.AuditQuery{Limit: 1}, repeat(1, 24)},
		{ticketing.AuditQuery{Limit: 5}, []int{5, 5, 5, 5, 4}},
		{ticketing.AuditQuery{Limit: 7}, []int{7, 7, 7, 3}},
		{ticketing.AuditQuery{Limit: 8}, []int{8, 8, 8}},                   // the last page ends the trail exactly
		{ticketing.AuditQuery{Limit: 12}, []int{12, 12}},                   // likewise
		{ticketing.AuditQuery{Limit: 23}, []int{23, 1}},                    // one left over
		{ticketing.AuditQuery{Limit: 24}, []int{24}},                       // one full page
		{ticketing.AuditQuery{Limit: 25}, []int{24}},                       // one page, not full
		{ticketing.AuditQuery{}, []int{24}},                                // DefaultAuditPageSize
		{ticketing.AuditQuery{TicketNumber: "P-1", Limit: 5}, []int{5, 5}}, // ends exactly, records follow
		{ticketing.AuditQuery{TicketNumber: "P-1", Limit: 3}, []int{3, 3, 3, 1}},
		{ticketing.AuditQuery{TicketNumber: "P-1", Limit: 10}, []int{10}},
		{ticketing.AuditQuery{TicketNumber: "P-3", Limit: 1}, []int{1, 1, 1}},
		{ticketing.AuditQuery{TicketPrefix: "P-", Limit: 6}, []int{6, 6, 6, 6}},
		{ticketing.AuditQuery{User: "u", Limit: 24}, []int{24}},
		{ticketing.AuditQuery{TicketNumber: "P-2", Since: time.Date(2025, time.August, 1, 0, 0, 3, 0, time.UTC), Limit: 2}, []int{2, 2}},
	} {
		for _, newest := range []bool{false, true} {
			q := tc.q
			q.NewestFirst = newest
			want := filterRecords(all, q, 0)
			// The pages, one by one, with their exact sizes and cursors.
			var got []ticketing.AuditRecord
			var sizes []int
			for page := 0; page <= len(tc.pages); page++ {
				p, err := s.QueryAudit(context.Background(), q)
				if err != nil {
					t.Fatalf("QueryAudit%s: %v", describe(q), err)
				}
				sizes = append(sizes, len(p.Records))
				got = append(got, p.Records...)
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			q.Cursor = ""
			if !slices.Equal(sizes, tc.pages) {
				t.Errorf("QueryAudit%s: page sizes %v, want %v (Next must be \"\" after the last page, also when it is full)", describe(q), sizes, tc.pages)
			}
			checkRecords(t, "pages of QueryAudit"+describe(q), got, want)
			// The same through pageThrough's general checks, and through
			// AuditRecords (only once the pages are known to end).
			if _, err := pageThrough(s, q, len(all)); err != nil {
				t.Error(err)
				continue
			}
			var viaIter []ticketing.AuditRecord
			for rec, err := range ticketing.AuditRecords(context.Background(), s, q) {
				if err != nil {
					t.Fatalf("AuditRecords%s: %v", describe(q), err)
				}
				if viaIter = append(viaIter, rec); len(viaIter) > len(all) {
					break
				}
			}
			checkRecords(t, "AuditRecords"+describe(q), viaIter, want)
		}
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func testQueryPageSizes(t *testing.T, s ticketing.Store) {
	const n = ticketing.DefaultAuditPageSize + 1
	recs := make([]ticketing.AuditRecord, n)
	for i := range recs {
		recs[i] = record("D-1", i)
	}
	all := appendChained(t, s, ticketing.AuditRecord{}, recs...)
	for _, tc := range []struct {
		q     ticketing.AuditQuery
		pages []int
	}{
		{ticketing.AuditQuery{}, []int{ticketing.DefaultAuditPageSize, 1}},
		{ticketing.AuditQuery{NewestFirst: true}, []int{ticketing.DefaultAuditPageSize, 1}},
		{ticketing.AuditQuery{TicketNumber: "D-1"}, []int{ticketing.DefaultAuditPageSize, 1}},
		{ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize}, []int{n}},
		{ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize, TicketNumber: "D-1", NewestFirst: true}, []int{n}},
	} {
		q := tc.q
		var sizes []int
		var got []ticketing.AuditRecord
		for range 3 {
			p, err := s.QueryAudit(context.Background(), q)
			if err != nil {
				t.Fatalf("QueryAudit%s: %v", describe(q), err)
			}
			sizes = append(sizes, len(p.Records))
			got = append(got, p.Records...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if !slices.Equal(sizes, tc.pages) {
			t.Errorf("QueryAudit%s over %d records: page sizes %v, want %v", describe(tc.q), n, sizes, tc.pages)
		}
		checkRecords(t, "QueryAudit"+describe(tc.q), got, filterRecords(all, tc.q, 0))
	}
}

func testQueryCursorEdges(t *testing.T, s ticketing.Store) {
	// C-1 at Seqs 1, 2, 3, 5; C-2 at 4 and 6.
	base := time.Date(2025, time.September, 1, 0, 0, 0, 0, time.UTC)
	var specs []spec
	for seq := 1; seq <= 6; seq++ {
		ticket := "C-1"
		if seq == 4 || seq == 6 {
			ticket = "C-2"
		}
		specs = append(specs, spec{ticket: ticket, secret: "s", user: "u", at: base.Add(time.Duration(seq) * time.Second)})
	}
	all := appendSpecs(t, s, specs)
	// A cursor names a Seq; a store continues after it whether or not that
	// record is in the store or matches the query.
	for _, q := range []ticketing.AuditQuery{
		{},
		{TicketNumber: "C-1"},
		{TicketNumber: "C-2"},
		{TicketPrefix: "C-"},
		{SecretID: "s", User: "u"},
		{Since: base},
		{TicketNumber: "C-404"},
	} {
		for _, newest := range []bool{false, true} {
			q.NewestFirst = newest
			var wrong []string
			for _, after := range []int64{1, 2, 3, 4, 5, 6, 7, 100, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1 << 32, 1<<32 + 2, 1 << 62} {
				q := q
				q.Cursor = q.CursorAfter(after)
				want := filterRecords(all, q, after)
				got, err := pageThrough(s, q, len(all))
				if err != nil {
					t.Error(err)
					continue
				}
				if !equalSeqs(seqs(got), seqs(want)) {
					wrong = append(wrong, fmt.Sprintf("after Seq %d: got %v, want %v", after, seqs(got), seqs(want)))
				}
			}
			if len(wrong) > 0 {
				t.Errorf("QueryAudit%s with a cursor made by CursorAfter:\n\t%s", describe(q), strings.Join(wrong, "\n\t"))
			}
		}
	}
	// Spelled out for the whole trail.
	for _, tc := range []struct {
		newest bool
		after  int64
		want   []int64
	}{
		{false, 6, nil}, // after the last record
		{false, 5, []int64{6}},
		{false, 1 << 40, nil},
		{true, 1, nil}, // after the first record, newest first
		{true, 2, []int64{1}},
		{true, 7, []int64{6, 5, 4, 3, 2, 1}},
		{true, 1 << 40, []int64{6, 5, 4, 3, 2, 1}},
	} {
		q := ticketing.AuditQuery{NewestFirst: tc.newest}
		q.Cursor = q.CursorAfter(tc.after)
		p, err := s.QueryAudit(context.Background(), q)
		if err != nil || p.Next != "" || !equalSeqs(seqs(p.Records), append([]int64{}, tc.want...)) {
			t.Errorf("QueryAudit%s (after Seq %d) = Seqs %v, Next %q, err %v; want %v, \"\" and nil", describe(q), tc.after, seqs(p.Records), p.Next, err, tc.want)
		}
	}
}

func testQueryInvalid(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	for i := range 3 {
		appendAudit(t, s, record("I-1", i))
	}
	now := time.Now()
	asc, desc := ticketing.AuditQuery{}, ticketing.AuditQuery{NewestFirst: true}
	first, err := s.QueryAudit(ctx, ticketing.AuditQuery{Limit: 1})
	if err != nil || first.Next == "" {
		t.Fatalf("QueryAudit(Limit 1) over 3 records = Next %q, %v; want a cursor", first.Next, err)
	}
	for _, tc := range []struct {
		name string
		q    ticketing.AuditQuery
		// paging: only a paging field is wrong, which CountAudit ignores.
		paging bool
	}{
		{"Limit -1", ticketing.AuditQuery{Limit: -1}, true},
		{"Limit MaxAuditPageSize+1", ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize + 1}, true},
		{"Limit very negative", ticketing.AuditQuery{Limit: -1 << 31}, true},
		{"garbage cursor", ticketing.AuditQuery{Cursor: "garbage"}, true},
		{"cursor with a stray character", ticketing.AuditQuery{Cursor: "!" + asc.CursorAfter(1)}, true},
		{"cursor of a whole other kind", ticketing.AuditQuery{Cursor: "eyJzZXEiOjF9"}, true},
		{"oldest-first cursor newest first", ticketing.AuditQuery{Cursor: asc.CursorAfter(2), NewestFirst: true}, true},
		{"newest-first cursor oldest first", ticketing.AuditQuery{Cursor: desc.CursorAfter(2)}, true},
		{"a page's Next newest first", ticketing.AuditQuery{Cursor: first.Next, NewestFirst: true, Limit: 1}, true},
		{"Until equal to Since", ticketing.AuditQuery{Since: now, Until: now}, false},
		{"Until equal to Since in another zone", ticketing.AuditQuery{Since: now, Until: now.In(time.FixedZone("x", 3600))}, false},
		{"Until 1ns before Since", ticketing.AuditQuery{Since: now, Until: now.Add(-time.Nanosecond)}, false},
		{"Until a day before Since", ticketing.AuditQuery{Since: now, Until: now.AddDate(0, 0, -1), TicketNumber: "I-1"}, false},
	} {
		page, err := s.QueryAudit(ctx, tc.q)
		if !errors.Is(err, ticketing.ErrInvalidQuery) {
			t.Errorf("QueryAudit with %s: err = %v, want one wrapping ErrInvalidQuery", tc.name, err)
		}
		if len(page.Records) != 0 || page.Next != "" {
			t.Errorf("QueryAudit with %s returned %d records and Next %q with its error", tc.name, len(page.Records), page.Next)
		}
		for _, err := range ticketing.AuditRecords(ctx, s, tc.q) {
			if !errors.Is(err, ticketing.ErrInvalidQuery) {
				t.Errorf("AuditRecords with %s: err = %v, want one wrapping ErrInvalidQuery", tc.name, err)
			}
		}
		n, err := s.CountAudit(ctx, tc.q)
		switch {
		case tc.paging && (err != nil || n != 3):
			t.Errorf("CountAudit with %s = %d, %v; want 3 and nil (paging fields are ignored)", tc.name, n, err)
		case !tc.paging && !errors.Is(err, ticketing.ErrInvalidQuery):
			t.Errorf("CountAudit with %s: err = %v, want one wrapping ErrInvalidQuery", tc.name, err)
		}
	}
	// The edges that are valid.
	for _, tc := range []struct {
		name string
		q    ticketing.AuditQuery
		want int
	}{
		{"Limit MaxAuditPageSize", ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize}, 3},
		{"Limit 0", ticketing.AuditQuery{}, 3},
		{"Until 1ns after Since", ticketing.AuditQuery{Since: now, Until: now.Add(time.Nanosecond)}, 0},
		{"Since alone in the future", ticketing.AuditQuery{Since: now.Add(time.Hour)}, 0},
		{"Until alone in the past", ticketing.AuditQuery{Until: now.Add(-time.Hour)}, 0},
		{"a page's Next", ticketing.AuditQuery{Cursor: first.Next, Limit: 1}, 1},
	} {
		page, err := s.QueryAudit(ctx, tc.q)
		if err != nil || len(page.Records) != tc.want {
			t.Errorf("QueryAudit with %s = %d records, %v; want %d and nil", tc.name, len(page.Records), err, tc.want)
		}
	}
}

func testCountAudit(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	all := pagingFixture(t, s)
	page, err := s.QueryAudit(ctx, ticketing.AuditQuery{TicketNumber: "P-1", Limit: 3})
	if err != nil || page.Next == "" {
		t.Fatalf("QueryAudit(P-1, Limit 3) = Next %q, %v; want a cursor", page.Next, err)
	}
	descPage, err := s.QueryAudit(ctx, ticketing.AuditQuery{Limit: 2, NewestFirst: true})
	if err != nil || descPage.Next == "" {
		t.Fatalf("QueryAudit(Limit 2, newest first) = Next %q, %v; want a cursor", descPage.Next, err)
	}
	for _, tc := range []struct {
		q    ticketing.AuditQuery
		want int64
	}{
		{ticketing.AuditQuery{}, 24},
		{ticketing.AuditQuery{TicketNumber: "P-1"}, 10},
		{ticketing.AuditQuery{TicketNumber: "P-1", Limit: 3}, 10},
		{ticketing.AuditQuery{TicketNumber: "P-1", Limit: 3, Cursor: page.Next}, 10},
		{ticketing.AuditQuery{TicketNumber: "P-1", Cursor: page.Next, NewestFirst: true}, 10}, // a cursor of the other order: ignored
		{ticketing.AuditQuery{Cursor: descPage.Next, Limit: 2, NewestFirst: true}, 24},
		{ticketing.AuditQuery{TicketPrefix: "P-", Limit: 1}, 24},
		{ticketing.AuditQuery{TicketNumber: "P-3", NewestFirst: true}, 3},
		{ticketing.AuditQuery{TicketNumber: "P-404"}, 0},
	} {
		if n, err := s.CountAudit(ctx, tc.q); err != nil || n != tc.want {
			t.Errorf("CountAudit%s = %d, %v; want %d and nil", describe(tc.q), n, err, tc.want)
		}
		if brute := len(filterRecords(all, tc.q, 0)); int64(brute) != tc.want {
			t.Errorf("storetest: the table says %s counts %d, AuditQuery.Matches %d", describe(tc.q), tc.want, brute)
		}
	}
}
