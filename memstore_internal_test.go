package ticketing

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests tamper with MemoryStore's trail directly, as someone with
// access to the store's memory (or a database's rows) could, and check that
// Verify names the first record where the chain breaks.

// tamperStore returns a MemoryStore holding n chained records, and a copy of
// its trail to restore after each tampering.
func tamperStore(t *testing.T, n int) (*MemoryStore, []AuditRecord) {
	t.Helper()
	m := NewMemoryStore()
	base := time.Date(2025, time.October, 1, 8, 0, 0, 0, time.UTC)
	for i := range n {
		_, err := m.AppendAudit(context.Background(), AuditRecord{
			Time:         base.Add(time.Duration(i) * time.Second),
			Action:       ActionView,
			SecretID:     fmt.Sprintf("s%d", i%7),
			User:         fmt.Sprintf("u%d", i%5),
			TicketNumber: fmt.Sprintf("INC%07d", i%11),
			Reason:       fmt.Sprintf("reason %d", i),
			Outcome:      OutcomeGranted,
		})
		require.NoError(t, err)
	}
	return m, slices.Clone(m.audit)
}

// requireChainError checks that err is a *ChainError at seq wrapping
// ErrChainBroken.
func requireChainError(t *testing.T, err error, seq int64) {
	t.Helper()
	require.Error(t, err, "Verify passed, want the chain broken at record %d", seq)
	require.ErrorIs(t, err, ErrChainBroken)
	var ce *ChainError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, seq, ce.Seq, "ChainError at the wrong record: %v", err)
}

// changeField changes field i of rec (by reflection) so that it differs
// from before, or fails the test for a kind it does not know: a field added
// to AuditRecord must be handled here, not forgotten.
func changeField(t *testing.T, rec *AuditRecord, i int) {
	t.Helper()
	f := reflect.ValueOf(rec).Elem().Field(i)
	name := reflect.TypeFor[AuditRecord]().Field(i).Name
	switch {
	case f.Type() == reflect.TypeFor[time.Time]():
		f.Set(reflect.ValueOf(f.Interface().(time.Time).Add(time.Microsecond)))
	case f.Kind() == reflect.String:
		f.SetString(f.String() + "x")
	case f.Kind() == reflect.Bool:
		f.SetBool(!f.Bool())
	case f.Kind() == reflect.Int64:
		f.SetInt(f.Int() + 1000)
	default:
		t.Fatalf("AuditRecord.%s has kind %s: teach changeField (and recordHash) about it", name, f.Kind())
	}
}

func TestVerifyDetectsEditedField(t *testing.T) {
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	head, err := Verify(ctx, m)
	require.NoError(t, err)
	require.Equal(t, AuditHead{Seq: 8, Hash: orig[7].Hash}, head)

	typ := reflect.TypeFor[AuditRecord]()
	for i := range typ.NumField() {
		for _, seq := range []int64{1, 5, 8} {
			t.Run(fmt.Sprintf("%s/record%d", typ.Field(i).Name, seq), func(t *testing.T) {
				m.audit = slices.Clone(orig)
				changeField(t, &m.audit[seq-1], i)
				_, err := Verify(ctx, m)
				requireChainError(t, err, seq)
			})
		}
	}
	m.audit = slices.Clone(orig)
	_, err = Verify(ctx, m)
	require.NoError(t, err, "the store was not restored")
}

func TestVerifyDetectsEditedFieldWithRecomputedHash(t *testing.T) {
	// An editor who also recomputes the record's own Hash: the record is
	// consistent in itself, so the break shows at the record after it,
	// whose PrevHash no longer matches. At the end of the trail only a saved
	// head can tell.
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	saved := AuditHead{Seq: 8, Hash: orig[7].Hash}
	for _, seq := range []int64{1, 4} {
		m.audit = slices.Clone(orig)
		m.audit[seq-1].Reason = "nothing to see here"
		m.audit[seq-1].Hash = recordHash(m.audit[seq-1])
		_, err := Verify(ctx, m)
		requireChainError(t, err, seq+1)
	}
	m.audit = slices.Clone(orig)
	m.audit[7].User = "someone else"
	m.audit[7].Hash = recordHash(m.audit[7])
	_, err := Verify(ctx, m)
	require.NoError(t, err, "a re-sealed last record is a valid chain")
	_, err = VerifySince(ctx, m, saved)
	requireChainError(t, err, 8)
}

func TestVerifyDetectsPrevHashEdit(t *testing.T) {
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	for _, tc := range []struct {
		name     string
		seq      int64
		prevHash string
		reseal   bool // recompute the record's own Hash afterwards
	}{
		{"first record given a PrevHash", 1, orig[3].Hash, false},
		{"first record given a PrevHash, resealed", 1, orig[3].Hash, true},
		{"PrevHash of another record", 5, orig[2].Hash, false},
		{"PrevHash of another record, resealed", 5, orig[2].Hash, true},
		{"PrevHash emptied", 6, "", true},
		{"PrevHash in upper case", 7, strings.ToUpper(orig[5].Hash), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.audit = slices.Clone(orig)
			m.audit[tc.seq-1].PrevHash = tc.prevHash
			if tc.reseal {
				m.audit[tc.seq-1].Hash = recordHash(m.audit[tc.seq-1])
			}
			_, err := Verify(ctx, m)
			requireChainError(t, err, tc.seq)
		})
	}
}

func TestVerifyDetectsRemovedRecord(t *testing.T) {
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	saved := AuditHead{Seq: 8, Hash: orig[7].Hash}
	for _, tc := range []struct {
		name    string
		from    int // positions [from, to) are removed
		to      int
		wantSeq int64
	}{
		{"the first", 0, 1, 1},
		{"one in the middle", 3, 4, 4},
		{"two in the middle", 3, 5, 4},
		{"all but the last", 0, 7, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.audit = slices.Delete(slices.Clone(orig), tc.from, tc.to)
			_, err := Verify(ctx, m)
			requireChainError(t, err, tc.wantSeq)
		})
	}
	// A tail cut off leaves a shorter valid chain: Verify cannot tell,
	// VerifySince with a head saved earlier can.
	for _, keep := range []int{7, 5, 1, 0} {
		t.Run(fmt.Sprintf("tail cut to %d records", keep), func(t *testing.T) {
			m.audit = slices.Clone(orig[:keep])
			head, err := Verify(ctx, m)
			require.NoError(t, err)
			if keep > 0 {
				assert.Equal(t, AuditHead{Seq: int64(keep), Hash: orig[keep-1].Hash}, head)
			}
			_, err = VerifySince(ctx, m, saved)
			requireChainError(t, err, int64(keep+1))
		})
	}
}

// swapPayload swaps the contents of two records and leaves each its own
// Seq, PrevHash and Hash.
func swapPayload(a, b *AuditRecord) {
	aSeq, aPrev, aHash := a.Seq, a.PrevHash, a.Hash
	bSeq, bPrev, bHash := b.Seq, b.PrevHash, b.Hash
	*a, *b = *b, *a
	a.Seq, a.PrevHash, a.Hash = aSeq, aPrev, aHash
	b.Seq, b.PrevHash, b.Hash = bSeq, bPrev, bHash
}

func TestVerifyDetectsSwappedRecords(t *testing.T) {
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	for _, tc := range []struct {
		name    string
		i, j    int // positions
		payload bool
		wantSeq int64
	}{
		{"whole records, apart", 2, 5, false, 3},
		{"whole records, adjacent", 3, 4, false, 4},
		{"whole records, first and last", 0, 7, false, 1},
		{"contents only, apart", 2, 5, true, 3},
		{"contents only, adjacent", 3, 4, true, 4},
		{"contents only, the last two", 6, 7, true, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.audit = slices.Clone(orig)
			if tc.payload {
				swapPayload(&m.audit[tc.i], &m.audit[tc.j])
			} else {
				m.audit[tc.i], m.audit[tc.j] = m.audit[tc.j], m.audit[tc.i]
			}
			_, err := Verify(ctx, m)
			requireChainError(t, err, tc.wantSeq)
		})
	}
	// Whole records swapped, then their Seqs swapped back so that the
	// sequence looks whole: the PrevHash gives it away.
	m.audit = slices.Clone(orig)
	m.audit[2], m.audit[5] = m.audit[5], m.audit[2]
	m.audit[2].Seq, m.audit[5].Seq = 3, 6
	_, err := Verify(ctx, m)
	requireChainError(t, err, 3)
}

func TestVerifyDetectsSlippedInRecord(t *testing.T) {
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	forge := func(after int) AuditRecord { // a record claiming to follow orig[after-1]
		rec := orig[after]
		rec.Reason, rec.User = "slipped in", "mallory"
		if after == 0 {
			return ChainRecord(AuditRecord{}, rec)
		}
		return ChainRecord(orig[after-1], rec)
	}
	for _, tc := range []struct {
		name    string
		pos     int // inserted at this position
		rec     AuditRecord
		wantSeq int64
	}{
		// Plausible Seq, PrevHash and Hash: the forged record is sound in
		// itself; the original holder of its Seq then repeats it.
		{"sealed, in the middle", 3, forge(3), 4},
		{"sealed, first", 0, forge(0), 1},
		{"sealed, before the last", 7, forge(7), 8},
		// Plausible Seq and PrevHash, but the Hash of the record it copies.
		{"unsealed copy", 3, func() AuditRecord { r := forge(3); r.Hash = orig[3].Hash; return r }(), 4},
		// An exact duplicate of a record, next to it.
		{"duplicate", 4, orig[3], 4},
		// A record with the Seq of the one before.
		{"repeated Seq", 5, func() AuditRecord { r := orig[4]; r.Reason = "again"; return r }(), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.audit = slices.Insert(slices.Clone(orig), tc.pos, tc.rec)
			_, err := Verify(ctx, m)
			requireChainError(t, err, tc.wantSeq)
		})
	}
}

func TestVerifyRewrittenTailNeedsSavedHead(t *testing.T) {
	// Someone who rewrites the trail from a record on and recomputes every
	// hash after it leaves a valid chain: only a head saved where the
	// writers cannot reach it tells.
	ctx := context.Background()
	m, orig := tamperStore(t, 8)
	saved := AuditHead{Seq: 8, Hash: orig[7].Hash}
	m.audit = slices.Clone(orig[:3])
	for _, rec := range orig[3:] {
		rec.Reason = "rewritten"
		m.audit = append(m.audit, ChainRecord(m.audit[len(m.audit)-1], rec))
	}
	_, err := Verify(ctx, m)
	require.NoError(t, err)
	_, err = VerifySince(ctx, m, saved)
	requireChainError(t, err, 8)
	// A head saved before the rewritten part still matches.
	_, err = VerifySince(ctx, m, AuditHead{Seq: 3, Hash: orig[2].Hash})
	require.NoError(t, err)
}

// Tampering at Verify's page boundaries (it reads verifyPageSize records at
// a time).
func TestVerifyDetectsTamperingAcrossPages(t *testing.T) {
	if verifyPageSize != 1000 {
		t.Fatalf("this test assumes pages of 1000, not %d", verifyPageSize)
	}
	ctx := context.Background()
	m, orig := tamperStore(t, 2100)
	head, err := Verify(ctx, m)
	require.NoError(t, err)
	require.Equal(t, int64(2100), head.Seq)
	for _, tc := range []struct {
		name    string
		tamper  func(a []AuditRecord) []AuditRecord
		wantSeq int64
	}{
		{"edit last of page 1", func(a []AuditRecord) []AuditRecord { a[999].Reason += "x"; return a }, 1000},
		{"edit first of page 2", func(a []AuditRecord) []AuditRecord { a[1000].Reason += "x"; return a }, 1001},
		{"edit the last record", func(a []AuditRecord) []AuditRecord { a[2099].FromCache = true; return a }, 2100},
		{"remove last of page 1", func(a []AuditRecord) []AuditRecord { return slices.Delete(a, 999, 1000) }, 1000},
		{"remove first of page 2", func(a []AuditRecord) []AuditRecord { return slices.Delete(a, 1000, 1001) }, 1001},
		{"swap across the boundary", func(a []AuditRecord) []AuditRecord { a[999], a[1000] = a[1000], a[999]; return a }, 1000},
		{"swap contents across the boundary", func(a []AuditRecord) []AuditRecord { swapPayload(&a[999], &a[1000]); return a }, 1000},
		{"slip in at the boundary", func(a []AuditRecord) []AuditRecord {
			rec := a[1000]
			rec.Reason = "slipped in"
			return slices.Insert(a, 1000, ChainRecord(a[999], rec))
		}, 1001},
		{"edit in page 3", func(a []AuditRecord) []AuditRecord { a[2050].PrevHash = a[2048].Hash; return a }, 2051},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.audit = tc.tamper(slices.Clone(orig))
			_, err := Verify(ctx, m)
			requireChainError(t, err, tc.wantSeq)
		})
	}
}

func TestRecordHashCoversEveryField(t *testing.T) {
	base := ChainRecord(AuditRecord{Seq: 41, Hash: strings.Repeat("c", 64)}, AuditRecord{
		Time: time.Date(2025, time.January, 2, 3, 4, 5, 6000, time.UTC), Action: ActionView,
		SecretID: "s", User: "u", TicketNumber: "INC1", Outcome: OutcomeGranted,
	})
	h := recordHash(base)
	require.Equal(t, base.Hash, h)
	typ := reflect.TypeFor[AuditRecord]()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		t.Run(name, func(t *testing.T) {
			rec := base
			changeField(t, &rec, i)
			if name == "Hash" {
				assert.Equal(t, h, recordHash(rec), "Hash is the output, not an input")
				return
			}
			assert.NotEqual(t, h, recordHash(rec), "recordHash ignores AuditRecord.%s: an edit of it would go unnoticed", name)
		})
	}
	// Each field is framed by its length, so text cannot move between
	// neighbouring fields unnoticed.
	a, b := base, base
	a.SecretID, a.SecretName = "ab", "c"
	b.SecretID, b.SecretName = "a", "bc"
	assert.NotEqual(t, recordHash(a), recordHash(b))
	a, b = base, base
	a.Reason, a.URL = "", "x"
	b.Reason, b.URL = "x", ""
	assert.NotEqual(t, recordHash(a), recordHash(b))
	// Only the instant counts, to the microsecond: not the zone, not the
	// nanoseconds (what a store keeps).
	a = base
	a.Time = base.Time.In(time.FixedZone("+09:00", 9*3600)).Add(999)
	assert.Equal(t, h, recordHash(a))
}

// The canonical encoding is a stored format: every trail ever written
// depends on it. This pins version 1 against a value computed outside Go
// (Python's hashlib over uvarint-length-prefixed fields in chain.go's
// order). If it changes, old trails no longer verify: keep v1 readable and
// bump chainVersion instead.
func TestRecordHashGolden(t *testing.T) {
	rec := AuditRecord{
		Seq:              3,
		Time:             time.Date(2025, time.February, 3, 4, 5, 6, 789012000, time.UTC),
		Action:           ActionRequestAccess,
		SecretID:         "secret/42",
		SecretName:       "Zürich DB",
		User:             "jdoe",
		TicketSystemID:   "sn",
		TicketSystemName: "ServiceNow",
		TicketNumber:     "INC0012345",
		Reason:           "patch\nnight",
		URL:              "https://sn.example.com/?id=INC0012345",
		Outcome:          OutcomeDenied,
		DenialCode:       "ticket_closed",
		DenialMessage:    "closed",
		LiveCheck:        LiveCheckVerified,
		FromCache:        true,
		TicketStatus:     "Closed",
		Comment:          CommentSkipped,
		CommentDetail:    "ticket closed",
		CorrelationID:    "abc123",
		PrevHash:         strings.Repeat("ab", 32),
	}
	assert.Equal(t, goldenRecordHash, recordHash(rec))
}

// goldenRecordHash was computed with Python's hashlib for the record of
// TestRecordHashGolden (Time is Unix microsecond 1738555506789012).
const goldenRecordHash = "1def1d5641d2d8c8a052789b9712d4a8ba80ac446c6b871cc64177c20d9b21f0"

func TestCandidateSetWalk(t *testing.T) {
	// Positions p hold Seq p+1.
	list := candidateSet{list: []int32{0, 2, 5, 9}} // Seqs 1, 3, 6, 10
	all := candidateSet{all: 5}                     // Seqs 1..5
	walk := func(c candidateSet, after int64, newest bool) []int32 {
		out := []int32{}
		c.walk(after, newest, func(p int32) bool { out = append(out, p); return true })
		return out
	}
	for _, tc := range []struct {
		name   string
		c      candidateSet
		after  int64
		newest bool
		want   []int32
	}{
		{"list, from the start", list, 0, false, []int32{0, 2, 5, 9}},
		{"list, after the first", list, 1, false, []int32{2, 5, 9}},
		{"list, after a Seq not in it", list, 4, false, []int32{5, 9}},
		{"list, after the one before the last", list, 6, false, []int32{9}},
		{"list, after the last", list, 10, false, []int32{}},
		{"list, after the end", list, 11, false, []int32{}},
		{"list, after MaxInt32", list, math.MaxInt32, false, []int32{}},
		{"list, after MaxInt32+1", list, math.MaxInt32 + 1, false, []int32{}},
		{"list, after 2^32+3", list, 1<<32 + 3, false, []int32{}},
		{"list, newest from the start", list, 0, true, []int32{9, 5, 2, 0}},
		{"list, newest after the last", list, 10, true, []int32{5, 2, 0}},
		{"list, newest after a Seq not in it", list, 5, true, []int32{2, 0}},
		{"list, newest after the second", list, 3, true, []int32{0}},
		{"list, newest after Seq 2", list, 2, true, []int32{0}},
		{"list, newest after the first", list, 1, true, []int32{}},
		{"list, newest after the end", list, 11, true, []int32{9, 5, 2, 0}},
		{"list, newest after MaxInt32+1", list, math.MaxInt32 + 1, true, []int32{9, 5, 2, 0}},
		{"list, newest after 2^32+1", list, 1<<32 + 1, true, []int32{9, 5, 2, 0}},
		{"all, from the start", all, 0, false, []int32{0, 1, 2, 3, 4}},
		{"all, after the first", all, 1, false, []int32{1, 2, 3, 4}},
		{"all, after the one before the last", all, 4, false, []int32{4}},
		{"all, after the last", all, 5, false, []int32{}},
		{"all, after the end", all, 1 << 40, false, []int32{}},
		{"all, newest from the start", all, 0, true, []int32{4, 3, 2, 1, 0}},
		{"all, newest after the last", all, 5, true, []int32{3, 2, 1, 0}},
		{"all, newest after the second", all, 2, true, []int32{0}},
		{"all, newest after the first", all, 1, true, []int32{}},
		{"all, newest after the end", all, 1 << 40, true, []int32{4, 3, 2, 1, 0}},
		{"empty list", candidateSet{list: []int32{}}, 0, false, []int32{}},
		{"empty list, newest", candidateSet{list: []int32{}}, 0, true, []int32{}},
		{"empty list, after", candidateSet{list: []int32{}}, 3, true, []int32{}},
		{"empty store", candidateSet{}, 0, false, []int32{}},
		{"empty store, newest", candidateSet{}, 0, true, []int32{}},
		{"empty store, newest after", candidateSet{}, 7, true, []int32{}},
		{"one record, after it", candidateSet{list: []int32{0}}, 1, false, []int32{}},
		{"one record, newest after it", candidateSet{list: []int32{0}}, 1, true, []int32{}},
		{"one record, newest after the next", candidateSet{list: []int32{0}}, 2, true, []int32{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, walk(tc.c, tc.after, tc.newest))
		})
	}
	// visit returning false stops the walk at once, in every branch.
	for _, c := range []candidateSet{list, all} {
		for _, newest := range []bool{false, true} {
			calls := 0
			c.walk(0, newest, func(int32) bool { calls++; return calls < 2 })
			assert.Equal(t, 2, calls, "walk(%+v, newest %v) went on after visit returned false", c, newest)
		}
	}
}

func TestTimePositionsSubMicrosecondBounds(t *testing.T) {
	for _, base := range []time.Time{
		time.Date(2025, time.November, 5, 6, 7, 8, 9000, time.UTC),
		time.Date(1960, time.March, 4, 5, 6, 7, 8000, time.UTC), // before 1970: negative Unix times
	} {
		t.Run(base.Format("2006"), func(t *testing.T) {
			m := NewMemoryStore()
			us := time.Microsecond
			// Out of order, with a repeated instant, so that byTime is
			// built by insertion too.
			for i, off := range []time.Duration{0, us, 2 * us, -us, us, 3*us + 999, -2 * us} {
				_, err := m.AppendAudit(context.Background(), AuditRecord{Time: base.Add(off), TicketNumber: fmt.Sprint(i)})
				require.NoError(t, err)
			}
			require.True(t, slices.IsSortedFunc(m.byTime, func(a, b timePos) int {
				if a.micros != b.micros {
					return int(a.micros - b.micros)
				}
				return int(a.pos - b.pos)
			}), "byTime not sorted by time, then position: %v", m.byTime)
			var bounds []time.Time
			for d := -3 * us; d <= 5*us; d += 125 * time.Nanosecond {
				bounds = append(bounds, base.Add(d))
			}
			bounds = append(bounds, time.Time{})
			for _, since := range bounds {
				for _, until := range bounds {
					q := AuditQuery{Since: since, Until: until}
					if q.Check() != nil {
						continue
					}
					want := []int32{}
					for p, rec := range m.audit {
						if q.Matches(rec) {
							want = append(want, int32(p))
						}
					}
					got, ok := m.timePositions(q, 1<<30)
					if !ok {
						t.Fatal("timePositions refused a narrow range")
					}
					if !slices.Equal(got, want) {
						t.Errorf("timePositions(Since %s, Until %s) = %v, want %v",
							since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano), got, want)
					}
				}
			}
		})
	}
}

func TestTicketKeysMergedSortedOnce(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	add := func(tickets ...string) {
		for _, tk := range tickets {
			_, err := m.AppendAudit(ctx, AuditRecord{TicketNumber: tk, Time: time.Now()})
			require.NoError(t, err)
		}
	}
	count := func(prefix string) int64 {
		n, err := m.CountAudit(ctx, AuditQuery{TicketPrefix: prefix})
		require.NoError(t, err)
		return n
	}
	add("B2", "A1", "", "B1", "A1")
	assert.Equal(t, int64(2), count("A"))
	add("A0", "C1", "B1", "A1", "AA")
	assert.Equal(t, int64(5), count("A"))
	assert.Equal(t, int64(3), count("B"))
	assert.Equal(t, int64(10), count(""))
	assert.Equal(t, []string{"A0", "A1", "AA", "B1", "B2", "C1"}, m.ticketKeys)
	assert.Empty(t, m.pendingKeys)
}
