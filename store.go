package ticketing

import (
	"context"
	"slices"
	"sync"
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
// or removed. Implementations must be safe for concurrent use.
type AuditStore interface {
	// AppendAudit stores rec and returns it as stored, with Seq set to the
	// next sequence number (1, 2, 3, ... with no gaps and no repeats). The
	// rec.Seq passed in is ignored.
	AppendAudit(ctx context.Context, rec AuditRecord) (AuditRecord, error)
	// AuditByTicket returns the records whose TicketNumber equals
	// ticketNumber exactly (case-sensitive), in append (Seq) order, and an
	// empty result for an unknown ticket number. Records without a ticket
	// number are not listed: ticketNumber "" returns none.
	AuditByTicket(ctx context.Context, ticketNumber string) ([]AuditRecord, error)
}

// Store is everything a Registry needs. MemoryStore is the embedded
// default; the storetest package checks any implementation.
type Store interface {
	SystemStore
	AuditStore
}

// MemoryStore is a Store held in memory: for tests, single-process hosts
// and examples. Nothing survives the process. It is safe for concurrent use.
// The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu       sync.RWMutex
	systems  []TicketSystem // in insertion order
	byID     map[string]int // index into systems
	audit    []AuditRecord  // audit[i].Seq == i+1
	byTicket map[string][]int
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{byID: make(map[string]int), byTicket: make(map[string][]int)}
}

var _ Store = (*MemoryStore)(nil)

// GetSystem implements SystemStore.
func (m *MemoryStore) GetSystem(ctx context.Context, id string) (TicketSystem, error) {
	if err := ctx.Err(); err != nil {
		return TicketSystem{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.byID[id]
	if !ok {
		return TicketSystem{}, configErrorf(ErrNotFound, quote(id))
	}
	return m.systems[i].clone(), nil
}

// ListSystems implements SystemStore.
func (m *MemoryStore) ListSystems(ctx context.Context) ([]TicketSystem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return cloneSystems(m.systems), nil
}

// errEmptyID is returned when UpdateSystems is asked to write a system
// without an ID.
var errEmptyID = configErrorf(ErrInvalidSystem, "a stored system needs an ID")

// UpdateSystems implements SystemStore. It holds the store's lock while fn
// runs.
func (m *MemoryStore) UpdateSystems(ctx context.Context, fn func([]TicketSystem) ([]TicketSystem, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	changed, err := fn(cloneSystems(m.systems))
	if err != nil {
		return err
	}
	if slices.ContainsFunc(changed, func(s TicketSystem) bool { return s.ID == "" }) {
		return errEmptyID
	}
	for _, s := range changed {
		s = s.clone()
		if i, ok := m.byID[s.ID]; ok {
			m.systems[i] = s
		} else {
			m.byID[s.ID] = len(m.systems)
			m.systems = append(m.systems, s)
		}
	}
	return nil
}

// AppendAudit implements AuditStore.
func (m *MemoryStore) AppendAudit(ctx context.Context, rec AuditRecord) (AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return AuditRecord{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec.Seq = int64(len(m.audit)) + 1
	m.audit = append(m.audit, rec)
	if rec.TicketNumber != "" {
		m.byTicket[rec.TicketNumber] = append(m.byTicket[rec.TicketNumber], len(m.audit)-1)
	}
	return rec, nil
}

// AuditByTicket implements AuditStore.
func (m *MemoryStore) AuditByTicket(ctx context.Context, ticketNumber string) ([]AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	idx := m.byTicket[ticketNumber]
	out := make([]AuditRecord, len(idx))
	for i, j := range idx {
		out[i] = m.audit[j]
	}
	return out, nil
}

// cloneSystems copies systems deeply, so that no caller shares a slice with
// the store.
func cloneSystems(systems []TicketSystem) []TicketSystem {
	out := make([]TicketSystem, len(systems))
	for i, s := range systems {
		out[i] = s.clone()
	}
	return out
}
