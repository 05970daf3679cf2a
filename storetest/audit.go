package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// ---------------------------------------------------------------------------
// audit append and the chain

func testAppendAuditSeq(t *testing.T, s ticketing.Store) {
	var prev ticketing.AuditRecord
	var stored []ticketing.AuditRecord
	for i, passed := range []int64{0, 42, -5, 1, 1} {
		rec := record("INC0000001", i)
		rec.Seq = passed
		if i%2 == 1 { // forged chain fields are ignored too
			rec.PrevHash, rec.Hash = "forged-prev-"+fmt.Sprint(i), "forged-hash-"+fmt.Sprint(i)
		}
		got := appendAudit(t, s, rec)
		want := ticketing.ChainRecord(prev, rec)
		checkRecord(t, fmt.Sprintf("append %d (Seq %d passed in) against ChainRecord(last, rec)", i, passed), got, want)
		// The same, spelled out, so a failure says which promise broke.
		if got.Seq != int64(i+1) {
			t.Errorf("append %d: Seq = %d, want %d", i, got.Seq, i+1)
		}
		if got.PrevHash != prev.Hash {
			t.Errorf("append %d: PrevHash = %q, want the Hash of the record before, %q", i, got.PrevHash, prev.Hash)
		}
		if got.Hash == "" || got.Hash == rec.Hash || got.Hash == prev.Hash {
			t.Errorf("append %d: Hash = %q: not computed by ChainRecord", i, got.Hash)
		}
		if !got.Time.Equal(rec.Time.Truncate(time.Microsecond)) {
			t.Errorf("append %d: Time = %s, want %s cut to the microsecond", i, got.Time.Format(time.RFC3339Nano), rec.Time.Format(time.RFC3339Nano))
		}
		prev = got
		stored = append(stored, got)
	}
	checkRecords(t, "QueryAudit by ticket after the appends", byTicket(t, s, "INC0000001"), stored)
	if got, want := seqs(readAll(t, s)), []int64{1, 2, 3, 4, 5}; !equalSeqs(got, want) {
		t.Errorf("stored Seqs = %v, want %v", got, want)
	}
}

func testAppendAuditConcurrent(t *testing.T, s ticketing.Store) {
	// 1,200 records: more than one page of Verify (1,000 records) and of
	// MaxAuditPageSize.
	const goroutines, perGoroutine = 20, 60
	returned := make([][]ticketing.AuditRecord, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			ticket := fmt.Sprintf("T-%02d", g)
			for i := range perGoroutine {
				rec := record(ticket, i)
				rec.Seq, rec.PrevHash, rec.Hash = 1, "x", "y" // ignored
				got, err := s.AppendAudit(context.Background(), rec)
				if err != nil {
					t.Errorf("goroutine %d append %d: %v", g, i, err)
					return
				}
				returned[g] = append(returned[g], got)
				// Which record came before is known only to the store; the
				// result must be ChainRecord of the one it names.
				want := ticketing.ChainRecord(ticketing.AuditRecord{Seq: got.Seq - 1, Hash: got.PrevHash}, rec)
				if !sameRecord(got, want) {
					t.Errorf("goroutine %d append %d did not return ChainRecord(last, rec):%s", g, i, recordDiff(got, want))
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	const n = goroutines * perGoroutine
	bySeq := make([]ticketing.AuditRecord, n+1)
	seen := make([]int, n+1)
	for _, recs := range returned {
		for _, r := range recs {
			if r.Seq < 1 || r.Seq > n {
				t.Errorf("Seq %d outside 1..%d", r.Seq, n)
				continue
			}
			seen[r.Seq]++
			bySeq[r.Seq] = r
		}
	}
	for seq := 1; seq <= n; seq++ {
		if seen[seq] != 1 {
			t.Errorf("Seq %d assigned %d times, want exactly once (1..%d with no gaps or repeats)", seq, seen[seq], n)
		}
	}
	if t.Failed() {
		return
	}
	// One chain: each record names the Hash of the record before it.
	for seq := 1; seq <= n; seq++ {
		if bySeq[seq].PrevHash != bySeq[seq-1].Hash {
			t.Fatalf("Seq %d has PrevHash %q, want the Hash of Seq %d, %q: concurrent appends forked the chain", seq, bySeq[seq].PrevHash, seq-1, bySeq[seq-1].Hash)
		}
	}
	// Each goroutine's records are found by its ticket, in its append
	// order, as they were returned.
	for g, recs := range returned {
		ticket := fmt.Sprintf("T-%02d", g)
		got := byTicket(t, s, ticket)
		checkRecords(t, "QueryAudit by ticket("+ticket+")", got, recs)
		for i := 1; i < len(got); i++ {
			if got[i].Seq <= got[i-1].Seq {
				t.Errorf("QueryAudit by ticket(%s) not oldest first: Seq %d after %d", ticket, got[i].Seq, got[i-1].Seq)
			}
		}
	}
	// The whole trail, in pages of MaxAuditPageSize: the first page is full.
	page, err := s.QueryAudit(context.Background(), ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize})
	if err != nil {
		t.Fatalf("QueryAudit(Limit: MaxAuditPageSize): %v", err)
	}
	if len(page.Records) != ticketing.MaxAuditPageSize || page.Next == "" {
		t.Errorf("QueryAudit(Limit: MaxAuditPageSize) over %d records returned %d records and Next %q, want %d and a cursor", n, len(page.Records), page.Next, ticketing.MaxAuditPageSize)
	}
	checkRecords(t, "the whole trail", readAll(t, s), bySeq[1:])
	if got, err := s.CountAudit(context.Background(), ticketing.AuditQuery{}); err != nil || got != n {
		t.Errorf("CountAudit of the whole trail = %d, %v; want %d", got, err, n)
	}

	head, err := ticketing.Verify(context.Background(), s)
	if err != nil {
		t.Fatalf("Verify after concurrent appends: %v", err)
	}
	if want := (ticketing.AuditHead{Seq: n, Hash: bySeq[n].Hash}); head != want {
		t.Errorf("Verify returned head %+v, want %+v", head, want)
	}
}

// fullRecord returns a record with every field set (by reflection, so that
// a field added to AuditRecord later is covered too): text fields hold
// their name and non-ASCII text, bools are true, and Time has a
// sub-microsecond part in a non-UTC zone.
func fullRecord(t *testing.T) ticketing.AuditRecord {
	t.Helper()
	var rec ticketing.AuditRecord
	v := reflect.ValueOf(&rec).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Date(2031, time.July, 4, 5, 6, 7, 890123999, time.FixedZone("-03:30", -(3*3600+30*60)))))
		case f.Kind() == reflect.String:
			f.SetString(name + " — ✓ 值")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Int64:
			f.SetInt(77) // Seq: ignored
		default:
			t.Fatalf("storetest: AuditRecord.%s has kind %s, which fullRecord cannot fill: extend it", name, f.Kind())
		}
	}
	return rec
}

func testAuditFieldsRoundTrip(t *testing.T, s ticketing.Store) {
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	granted := ticketing.AuditRecord{
		Time:             time.Date(2024, time.February, 29, 23, 59, 58, 123456000, zone),
		Action:           ticketing.ActionView,
		SecretID:         "secret/42",
		SecretName:       "Zürich DB — root 🔑",
		User:             "DOMAIN\\jdoe",
		TicketSystemID:   "svc.now:prod_1-A",
		TicketSystemName: "ServiceNow 票务",
		TicketNumber:     "INC0012345",
		Reason:           "Patch window\nline two\twith tab; \"quotes\" and 'apostrophes' and <b>markup</b>",
		URL:              "https://sn.example.com/nav_to.do?uri=incident.do%3Fsysparm_query%3Dnumber%3DINC0012345",
		Outcome:          ticketing.OutcomeGranted,
	}
	// A denied record as the access check writes it: escaped input can be
	// several times longer than the input limits.
	denied := ticketing.AuditRecord{
		Time:             time.Now(),
		Action:           ticketing.ActionRequestAccess,
		SecretID:         "s1",
		User:             "mallory",
		TicketSystemID:   "jira",
		TicketSystemName: "Jira",
		TicketNumber:     strings.Repeat(`\u{202E}`, 128) + "…",
		Reason:           strings.Repeat(`\x{FF}`, 4096) + "…",
		Outcome:          ticketing.OutcomeDenied,
		DenialCode:       "malformed",
		DenialMessage:    "Ticket Number contains characters that are not allowed",
	}
	long := granted
	long.Time = time.Date(1999, time.December, 31, 12, 0, 0, 1000, time.UTC) // one microsecond
	long.TicketNumber = "ÄÖÜ-" + strings.Repeat("界", 124)                    // 128 characters, 376 bytes
	long.Reason = strings.Repeat("é", 4096)
	long.SecretName, long.URL = "", ""
	empty := ticketing.AuditRecord{Time: time.Now(), TicketNumber: "EMPTY-1"} // other fields zero
	// A time just short of the next microsecond: it is cut, not rounded.
	cut := empty
	cut.TicketNumber = "CUT-1"
	cut.Time = time.Date(2025, time.March, 1, 10, 11, 12, 123456999, time.FixedZone("CET", 3600))
	full := fullRecord(t)
	full.TicketNumber = "FULL-1"

	var prev ticketing.AuditRecord
	for i, rec := range []ticketing.AuditRecord{granted, denied, long, empty, cut, full} {
		got := appendAudit(t, s, rec)
		want := ticketing.ChainRecord(prev, rec)
		checkRecord(t, fmt.Sprintf("AppendAudit result %d", i), got, want)
		stored := byTicket(t, s, rec.TicketNumber)
		checkRecords(t, fmt.Sprintf("QueryAudit by ticket of record %d", i), stored, []ticketing.AuditRecord{want})
		prev = want
	}
	// Spelled out, independent of ChainRecord: microseconds kept, the rest
	// cut.
	for _, tc := range []struct {
		ticket string
		want   time.Time
	}{
		{"CUT-1", time.Date(2025, time.March, 1, 9, 11, 12, 123456000, time.UTC)},
		{"FULL-1", time.Date(2031, time.July, 4, 8, 36, 7, 890123000, time.UTC)},
		{"INC0012345", time.Date(2024, time.February, 29, 18, 29, 58, 123456000, time.UTC)},
	} {
		if got := byTicket(t, s, tc.ticket); len(got) != 1 || !got[0].Time.Equal(tc.want) {
			t.Errorf("stored Time of %s: got %v, want %s", tc.ticket, seqsAndTimes(got), tc.want.Format(time.RFC3339Nano))
		}
	}
	if _, err := ticketing.Verify(context.Background(), s); err != nil {
		t.Errorf("Verify after the round trip: %v", err)
	}
}

func seqsAndTimes(recs []ticketing.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%d@%s", r.Seq, r.Time.Format(time.RFC3339Nano))
	}
	return out
}

func testVerifyEmpty(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	head, err := ticketing.Verify(ctx, s)
	if err != nil || head != (ticketing.AuditHead{}) {
		t.Errorf("Verify on an empty store = %+v, %v; want the zero AuditHead and nil", head, err)
	}
	head, err = ticketing.VerifySince(ctx, s, ticketing.AuditHead{})
	if err != nil || head != (ticketing.AuditHead{}) {
		t.Errorf("VerifySince(zero head) on an empty store = %+v, %v; want the zero AuditHead and nil", head, err)
	}
	// A head saved from a trail that is now empty: everything was cut.
	_, err = ticketing.VerifySince(ctx, s, ticketing.AuditHead{Seq: 1, Hash: strings.Repeat("ab", 32)})
	checkChainError(t, "VerifySince(head at 1) on an empty store", err, 1)
}

func testVerifySince(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	var recs []ticketing.AuditRecord
	for i := range 5 {
		recs = append(recs, record(fmt.Sprintf("V-%d", i%2), i))
	}
	first := appendChained(t, s, ticketing.AuditRecord{}, recs...)
	head1, err := ticketing.Verify(ctx, s)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := (ticketing.AuditHead{Seq: 5, Hash: first[4].Hash}); head1 != want {
		t.Fatalf("Verify = %+v, want %+v", head1, want)
	}
	recs = recs[:0]
	for i := range 7 {
		recs = append(recs, record(fmt.Sprintf("V-%d", i%3), 10+i))
	}
	more := appendChained(t, s, first[4], recs...)
	head2, err := ticketing.VerifySince(ctx, s, head1)
	if err != nil {
		t.Fatalf("VerifySince(head saved before 7 more appends): %v", err)
	}
	if want := (ticketing.AuditHead{Seq: 12, Hash: more[6].Hash}); head2 != want {
		t.Errorf("VerifySince = %+v, want the new head %+v", head2, want)
	}
	if got, err := ticketing.VerifySince(ctx, s, head2); err != nil || got != head2 {
		t.Errorf("VerifySince(current head) = %+v, %v; want %+v and nil", got, err, head2)
	}

	for _, tc := range []struct {
		name    string
		saved   ticketing.AuditHead
		wantSeq int64
	}{
		{"Hash of another record", ticketing.AuditHead{Seq: 5, Hash: first[3].Hash}, 5},
		{"Hash in upper case", ticketing.AuditHead{Seq: 5, Hash: strings.ToUpper(first[4].Hash)}, 5},
		{"Hash empty", ticketing.AuditHead{Seq: 1}, 1},
		{"Seq one beyond the trail", ticketing.AuditHead{Seq: 13, Hash: more[6].Hash}, 13},
		{"Seq far beyond the trail", ticketing.AuditHead{Seq: 1000, Hash: more[6].Hash}, 13},
	} {
		head, err := ticketing.VerifySince(ctx, s, tc.saved)
		checkChainError(t, "VerifySince("+tc.name+")", err, tc.wantSeq)
		if head != (ticketing.AuditHead{}) {
			t.Errorf("VerifySince(%s) returned head %+v with its error, want the zero head", tc.name, head)
		}
	}
	// The failures above changed nothing.
	if got, err := ticketing.Verify(ctx, s); err != nil || got != head2 {
		t.Errorf("Verify = %+v, %v; want %+v and nil", got, err, head2)
	}
}

// checkChainError checks that err is a *ticketing.ChainError at seq that
// wraps ticketing.ErrChainBroken.
func checkChainError(t *testing.T, what string, err error, seq int64) {
	t.Helper()
	var ce *ticketing.ChainError
	switch {
	case err == nil:
		t.Errorf("%s: no error, want ErrChainBroken at record %d", what, seq)
	case !errors.Is(err, ticketing.ErrChainBroken):
		t.Errorf("%s: err = %v, want one wrapping ErrChainBroken", what, err)
	case !errors.As(err, &ce):
		t.Errorf("%s: err = %v (%T), want a *ChainError", what, err, err)
	case ce.Seq != seq:
		t.Errorf("%s: ChainError at record %d (%v), want at record %d", what, ce.Seq, err, seq)
	}
}

// ---------------------------------------------------------------------------
// audit queries by ticket

func testAuditByTicketExact(t *testing.T, s ticketing.Store) {
	tickets := []string{
		"INC1", "INC10", "INC", "inc1", "Inc1", "xINC1", "INC1 ", " INC1",
		"INC_", "INCX", "INC%", "INCZZ", "İNC1", "ÄBC", "äbc",
	}
	want := make(map[string][]ticketing.AuditRecord)
	var prev ticketing.AuditRecord
	for i, ticket := range tickets {
		prev = appendChained(t, s, prev, record(ticket, i))[0]
		want[ticket] = append(want[ticket], prev)
	}
	// A second record for one of them, after the others.
	prev = appendChained(t, s, prev, record("INC1", 99))[0]
	want["INC1"] = append(want["INC1"], prev)
	for _, ticket := range tickets {
		checkRecords(t, fmt.Sprintf("QueryAudit by ticket(%q)", ticket), byTicket(t, s, ticket), want[ticket])
	}
	for _, ticket := range []string{"INC1%", "INC*", "%", "_", "INC.", "INC1\x00", "IN", "NC1"} {
		if got := byTicket(t, s, ticket); len(got) != 0 {
			t.Errorf("QueryAudit by ticket(%q) returned %d records (tickets %q), want none", ticket, len(got), ticketNumbers(got))
		}
	}
}

func ticketNumbers(recs []ticketing.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.TicketNumber
	}
	return out
}

func testAuditByTicketOrder(t *testing.T, s ticketing.Store) {
	// Interleave two tickets, and give later records earlier times: the
	// order is the append order, not the time order.
	base := time.Now()
	var wantA, wantB []ticketing.AuditRecord
	var prev ticketing.AuditRecord
	for i := range 10 {
		ticket := "A-1"
		if i%3 == 1 {
			ticket = "B-1"
		}
		rec := record(ticket, i)
		rec.Time = base.Add(-time.Duration(i) * time.Minute)
		prev = appendChained(t, s, prev, rec)[0]
		if ticket == "A-1" {
			wantA = append(wantA, prev)
		} else {
			wantB = append(wantB, prev)
		}
	}
	checkRecords(t, "QueryAudit by ticket(A-1), oldest first", byTicket(t, s, "A-1"), wantA)
	checkRecords(t, "QueryAudit by ticket(B-1), oldest first", byTicket(t, s, "B-1"), wantB)
	slices.Reverse(wantA)
	got, err := queryAll(context.Background(), s, ticketing.AuditQuery{TicketNumber: "A-1", NewestFirst: true})
	if err != nil {
		t.Fatalf("QueryAudit by ticket(A-1), newest first: %v", err)
	}
	checkRecords(t, "QueryAudit by ticket(A-1), newest first", got, wantA)
}

func testAuditByTicketUnknown(t *testing.T, s ticketing.Store) {
	got, err := queryAll(context.Background(), s, ticketing.AuditQuery{TicketNumber: "INC404"})
	if err != nil {
		t.Errorf("QueryAudit by ticket of an unknown ticket on an empty store: err = %v, want nil", err)
	}
	if len(got) != 0 {
		t.Errorf("QueryAudit by ticket of an unknown ticket on an empty store returned %d records", len(got))
	}
	appendAudit(t, s, record("INC1", 1))
	got, err = queryAll(context.Background(), s, ticketing.AuditQuery{TicketNumber: "INC404"})
	if err != nil || len(got) != 0 {
		t.Errorf("QueryAudit by ticket of an unknown ticket = %d records, err %v; want none and nil", len(got), err)
	}
	if n, err := s.CountAudit(context.Background(), ticketing.AuditQuery{TicketNumber: "INC404"}); err != nil || n != 0 {
		t.Errorf("CountAudit by ticket of an unknown ticket = %d, %v; want 0 and nil", n, err)
	}
}

// ---------------------------------------------------------------------------
// cancellation

func testCancelledContext(t *testing.T, s ticketing.Store) {
	a := system("a", "Alpha")
	put(t, s, a)
	first := appendChained(t, s, ticketing.AuditRecord{}, record("INC1", 1))[0]

	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := s.GetSystem(ctx, "a"); !isCanceled(err) {
		t.Errorf("GetSystem with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if _, err := s.ListSystems(ctx); !isCanceled(err) {
		t.Errorf("ListSystems with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	a2 := a
	a2.Name, a2.Version = "Alpha 2", 2
	err := s.UpdateSystems(ctx, func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return []ticketing.TicketSystem{a2, system("b", "Beta")}, nil
	})
	if !isCanceled(err) {
		t.Errorf("UpdateSystems with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if _, err := s.AppendAudit(ctx, record("INC1", 2)); !isCanceled(err) {
		t.Errorf("AppendAudit with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if _, err := s.QueryAudit(ctx, ticketing.AuditQuery{TicketNumber: "INC1"}); !isCanceled(err) {
		t.Errorf("QueryAudit with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if _, err := s.CountAudit(ctx, ticketing.AuditQuery{}); !isCanceled(err) {
		t.Errorf("CountAudit with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}
	if _, err := ticketing.Verify(ctx, s); !isCanceled(err) {
		t.Errorf("Verify with a cancelled context: err = %v, want one wrapping context.Canceled", err)
	}

	// Nothing was written: the systems are unchanged, the audit holds only
	// the first record, and the next append continues the sequence and the
	// chain.
	checkSystems(t, "systems after a cancelled UpdateSystems", list(t, s), []ticketing.TicketSystem{a})
	checkRecords(t, "audit after a cancelled AppendAudit", byTicket(t, s, "INC1"), []ticketing.AuditRecord{first})
	if next := appendChained(t, s, first, record("INC2", 3))[0]; next.Seq != 2 {
		t.Errorf("Seq after a cancelled append = %d, want 2 (the cancelled append must not use a number)", next.Seq)
	}
	if _, err := ticketing.Verify(context.Background(), s); err != nil {
		t.Errorf("Verify after a cancelled append: %v", err)
	}
}
