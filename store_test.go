package ticketing_test

import (
	"context"
	"errors"
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

// MemoryStore keeps a record's Time exactly as given, nanoseconds and
// location included (the conformance suite only asks for microseconds).
func TestMemoryStoreKeepsTimeExactly(t *testing.T) {
	s := ticketing.NewMemoryStore()
	ctx := context.Background()
	when := time.Date(2025, time.March, 1, 10, 11, 12, 123456789, time.FixedZone("CET", 3600))
	_, err := s.AppendAudit(ctx, ticketing.AuditRecord{Time: when, TicketNumber: "INC1"})
	require.NoError(t, err)
	got, err := s.AuditByTicket(ctx, "INC1")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, when.Nanosecond(), got[0].Time.Nanosecond())
	assert.True(t, when.Equal(got[0].Time))
	assert.Equal(t, "CET", got[0].Time.Location().String())
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
