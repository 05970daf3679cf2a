package ticketing

import (
	"context"
)

// SystemStore keeps ticket systems. It stores what it is given: the rules
// live in the Registry, which changes systems only through UpdateSystems.
// Implementations must be safe for concurrent use, UpdateSystems must be
// atomic across every process that shares the store, and every read must
// see the latest completed write (no stale replicas).
type SystemStore interface {
	// GetSystem returns the system with that ID, or an error wrapping
	// ErrNotFound.
	GetSystem(ctx context.Context, id string) (TicketSystem, error)
	// ListSystems returns every system, in the order they were first
	// stored.
	ListSystems(ctx context.Context) ([]TicketSystem, error)
	// UpdateSystems is the atomic read-modify-write. It calls fn with a copy
	// of every stored system (in ListSystems order) and writes the systems fn
	// returns, each one inserted or replaced by ID, as one unit: no other
	// UpdateSystems runs in between, and either all of them are written or
	// none. When the same ID appears twice in the batch, the later one wins.
	// A system with an empty ID is refused with an error wrapping
	// ErrInvalidSystem, and then nothing is written. If fn returns an error,
	// nothing is written and UpdateSystems returns an error that errors.Is
	// and errors.As match to fn's. fn may be called more than once (a SQL
	// store retries on serialization failures), so it must not have effects
	// beyond its return values, and it must not call the store.
	UpdateSystems(ctx context.Context, fn func(current []TicketSystem) (changed []TicketSystem, err error)) error
}

// AuditStore keeps the audit trail: records are appended, never changed
// or removed, and chained by hash (see ChainRecord and Verify).
// Implementations must be safe for concurrent use, across every process
// that shares the store.
type AuditStore interface {
	// AppendAudit stores rec as the next record and returns it as stored:
	// ChainRecord(last, rec), where last is the record stored before it (the
	// zero AuditRecord when there is none), read and written in one atomic
	// step, so that sequence numbers run 1, 2, 3 ... with no gaps or
	// repeats and the chain stays whole with many writers. The Seq,
	// PrevHash and Hash passed in are ignored.
	AppendAudit(ctx context.Context, rec AuditRecord) (AuditRecord, error)
	// QueryAudit returns one page of the records q selects (q.Matches), in
	// q's order by Seq, starting after q's cursor (keyset pagination: a
	// record is never returned twice or skipped, whatever is appended
	// meanwhile). Next continues the listing and is "" after the last page.
	// A query that fails q.Check is refused with ErrInvalidQuery.
	QueryAudit(ctx context.Context, q AuditQuery) (AuditPage, error)
	// CountAudit returns how many records q selects; paging fields are
	// ignored.
	CountAudit(ctx context.Context, q AuditQuery) (int64, error)
}

// Store is everything a Registry needs. MemoryStore is the embedded
// default; the storetest package checks any implementation.
type Store interface {
	SystemStore
	AuditStore
}
