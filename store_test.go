package ticketing_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) ticketing.Store { return ticketing.NewMemoryStore() })
}

// MemoryStore returns fn's error itself, not a wrapper: stricter than the
// Store contract's errors.Is.
func TestMemoryStoreReturnsFnErrorUnchanged(t *testing.T) {
	s := ticketing.NewMemoryStore()
	sentinel := errors.New("refused")
	err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return []ticketing.TicketSystem{{ID: "a", Name: "A"}}, sentinel
	})
	assert.Same(t, sentinel, err)
	all, err := s.ListSystems(context.Background())
	require.NoError(t, err)
	assert.Empty(t, all)
}

// The empty-ID refusal is a configuration error the Registry can classify.
func TestMemoryStoreEmptyIDIsInvalidSystem(t *testing.T) {
	s := ticketing.NewMemoryStore()
	err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return []ticketing.TicketSystem{{ID: "a", Name: "A"}, {Name: "no ID"}}, nil
	})
	require.ErrorIs(t, err, ticketing.ErrInvalidSystem)
	all, err := s.ListSystems(context.Background())
	require.NoError(t, err)
	assert.Empty(t, all, "nothing of the batch may be written")
}

// Two systems with one ID in one batch: the later one wins and the ID is
// listed once, at the place of its first insert.
func TestMemoryStoreDuplicateIDInOneBatch(t *testing.T) {
	s := ticketing.NewMemoryStore()
	ctx := context.Background()
	require.NoError(t, s.UpdateSystems(ctx, func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return []ticketing.TicketSystem{{ID: "x", Name: "first"}, {ID: "y", Name: "Y"}, {ID: "x", Name: "second"}}, nil
	}))
	all, err := s.ListSystems(ctx)
	require.NoError(t, err)
	want := []ticketing.TicketSystem{{ID: "x", Name: "second"}, {ID: "y", Name: "Y"}}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("ListSystems (-want +got):\n%s", diff)
	}
	got, err := s.GetSystem(ctx, "x")
	require.NoError(t, err)
	assert.Equal(t, "second", got.Name)
}

// MemoryStore keeps a record's Time to the microsecond, in UTC, as the
// chain encodes it (ChainRecord).
func TestMemoryStoreKeepsTimeToTheMicrosecond(t *testing.T) {
	s := ticketing.NewMemoryStore()
	ctx := context.Background()
	when := time.Date(2025, time.March, 1, 10, 11, 12, 123456789, time.FixedZone("CET", 3600))
	stored, err := s.AppendAudit(ctx, ticketing.AuditRecord{Time: when, TicketNumber: "INC1"})
	require.NoError(t, err)
	got, err := auditByTicket(ctx, s, "INC1")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, stored, got[0])
	assert.Equal(t, 123456000, got[0].Time.Nanosecond())
	assert.True(t, when.Truncate(time.Microsecond).Equal(got[0].Time))
	assert.Equal(t, time.UTC, got[0].Time.Location())
}

// A cancelled UpdateSystems does not even call fn.
func TestMemoryStoreCancelledUpdateSkipsFn(t *testing.T) {
	s := ticketing.NewMemoryStore()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := s.UpdateSystems(ctx, func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		called = true
		return nil, nil
	})
	require.ErrorIs(t, err, context.Canceled)
	assert.False(t, called)
}

// brokenStore is a MemoryStore with one fault, to show that the
// conformance suite notices it.
type brokenStore struct {
	*ticketing.MemoryStore
	fault string
}

func (b *brokenStore) AppendAudit(ctx context.Context, rec ticketing.AuditRecord) (ticketing.AuditRecord, error) {
	if b.fault == "rounds-time-to-ms" {
		rec.Time = rec.Time.Round(time.Millisecond)
	}
	return b.MemoryStore.AppendAudit(ctx, rec)
}

func (b *brokenStore) QueryAudit(ctx context.Context, q ticketing.AuditQuery) (ticketing.AuditPage, error) {
	switch b.fault {
	case "until-inclusive":
		if !q.Until.IsZero() {
			q.Until = q.Until.Add(time.Microsecond)
		}
	case "clamps-limit":
		q.Limit = min(max(q.Limit, 0), ticketing.MaxAuditPageSize)
	}
	page, err := b.MemoryStore.QueryAudit(ctx, q)
	if err != nil || len(page.Records) == 0 {
		return page, err
	}
	switch b.fault {
	case "next-after-last-page":
		if page.Next == "" && len(page.Records) == q.PageSize() {
			page.Next = q.CursorAfter(page.Records[len(page.Records)-1].Seq)
		}
	case "skips-after-cursor":
		if q.Cursor != "" {
			page.Records = page.Records[1:]
		}
	}
	return page, nil
}

func (b *brokenStore) CountAudit(ctx context.Context, q ticketing.AuditQuery) (int64, error) {
	if b.fault == "count-ignores-filters" {
		q = ticketing.AuditQuery{}
	}
	return b.MemoryStore.CountAudit(ctx, q)
}

// TestConformanceOfBrokenStore runs the suite against a brokenStore; it is
// run, in a child process, by TestConformanceSuiteCatchesBrokenStores.
func TestConformanceOfBrokenStore(t *testing.T) {
	fault := os.Getenv("TICKETING_BROKEN_STORE")
	if fault == "" {
		t.Skip("runs only in the child process of TestConformanceSuiteCatchesBrokenStores")
	}
	storetest.Run(t, func(*testing.T) ticketing.Store {
		return &brokenStore{MemoryStore: ticketing.NewMemoryStore(), fault: fault}
	})
}

// The conformance suite must fail a store that breaks the contract: each
// fault is run through the whole suite in a child process (a failing
// sub-test cannot be contained in this one), which must fail, naming the
// sub-tests that catch it.
func TestConformanceSuiteCatchesBrokenStores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the conformance suite in child processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, tc := range []struct {
		fault    string
		caughtBy []string
	}{
		{"rounds-time-to-ms", []string{"AppendAuditSeq", "AuditFieldsRoundTrip"}},
		{"until-inclusive", []string{"QueryEachFilter", "QueryTimeBounds", "QueryProperty"}},
		{"clamps-limit", []string{"QueryInvalid"}},
		{"next-after-last-page", []string{"QueryPagination", "QueryProperty"}},
		{"skips-after-cursor", []string{"QueryPagination", "QueryCursorEdges", "QueryProperty", "QueryPaginationConcurrentAppends"}},
		{"count-ignores-filters", []string{"CountAudit", "QueryEachFilter", "QueryProperty"}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(exe, "-test.run=^TestConformanceOfBrokenStore$", "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), "TICKETING_BROKEN_STORE="+tc.fault)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the conformance suite passed a store that %s:\n%s", tc.fault, out)
			for _, name := range tc.caughtBy {
				assert.Contains(t, string(out), "--- FAIL: TestConformanceOfBrokenStore/"+name+" ",
					"sub-test %s did not catch a store that %s", name, tc.fault)
			}
		})
	}
}
