package ticketing

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemoryStore is a Store held in memory: for tests, single-process hosts
// and examples. Nothing survives the process. It is safe for concurrent use.
// The zero value is not usable; call NewMemoryStore.
//
// The audit trail is indexed by ticket number (exact and prefix), secret,
// user and time, so a query reads the records it returns, not the trail.
// Repeated text (system names, users, secrets, outcomes) is stored once.
type MemoryStore struct {
	mu      sync.RWMutex
	systems []TicketSystem // in insertion order
	byID    map[string]int // index into systems

	audit    []AuditRecord // audit[i].Seq == i+1
	byTicket map[string][]int32
	bySecret map[string][]int32
	byUser   map[string][]int32
	byTime   []timePos // sorted by time, then position
	strings  map[string]string

	// Distinct ticket numbers, sorted for prefix queries. New ones wait in
	// pending until a prefix query merges them in; keysMu guards both, as
	// queries only hold mu for reading.
	keysMu      sync.Mutex
	ticketKeys  []string
	pendingKeys []string
}

// timePos indexes one record by its time.
type timePos struct {
	micros int64
	pos    int32
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		byID:     make(map[string]int),
		byTicket: make(map[string][]int32),
		bySecret: make(map[string][]int32),
		byUser:   make(map[string][]int32),
		strings:  make(map[string]string),
	}
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
	var last AuditRecord
	if n := len(m.audit); n > 0 {
		last = m.audit[n-1]
	}
	rec = ChainRecord(last, rec)
	m.internRecord(&rec)
	pos := int32(len(m.audit))
	m.audit = append(m.audit, rec)

	if rec.TicketNumber != "" {
		if _, seen := m.byTicket[rec.TicketNumber]; !seen {
			m.keysMu.Lock()
			m.pendingKeys = append(m.pendingKeys, rec.TicketNumber)
			m.keysMu.Unlock()
		}
		m.byTicket[rec.TicketNumber] = append(m.byTicket[rec.TicketNumber], pos)
	}
	m.bySecret[rec.SecretID] = append(m.bySecret[rec.SecretID], pos)
	m.byUser[rec.User] = append(m.byUser[rec.User], pos)
	tp := timePos{micros: rec.Time.UnixMicro(), pos: pos}
	if n := len(m.byTime); n == 0 || m.byTime[n-1].micros <= tp.micros {
		m.byTime = append(m.byTime, tp) // the usual case: times arrive in order
	} else {
		i := sort.Search(n, func(i int) bool { return m.byTime[i].micros > tp.micros })
		m.byTime = slices.Insert(m.byTime, i, tp)
	}
	return rec, nil
}

// internRecord makes rec's repeated text share one copy per distinct value.
func (m *MemoryStore) internRecord(r *AuditRecord) {
	// Fields with few distinct values; free text (reasons, details) is
	// not worth a map entry.
	for _, p := range [...]*string{&r.SecretID, &r.SecretName, &r.User, &r.TicketSystemID,
		&r.TicketSystemName, &r.DenialMessage, &r.TicketStatus} {
		*p = m.intern(*p)
	}
	r.Action = Action(m.intern(string(r.Action)))
	r.Outcome = Outcome(m.intern(string(r.Outcome)))
	r.DenialCode = m.intern(r.DenialCode)
	r.LiveCheck = LiveCheck(m.intern(string(r.LiveCheck)))
	r.Comment = CommentOutcome(m.intern(string(r.Comment)))
}

func (m *MemoryStore) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := m.strings[s]; ok {
		return v
	}
	s = strings.Clone(s)
	m.strings[s] = s
	return s
}

// QueryAudit implements AuditStore.
func (m *MemoryStore) QueryAudit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return AuditPage{}, err
	}
	if err := q.Check(); err != nil {
		return AuditPage{}, err
	}
	after, _ := q.CursorSeq()
	limit := q.PageSize()
	m.mu.RLock()
	defer m.mu.RUnlock()
	cand := m.candidates(q)

	var page AuditPage
	more := false
	visit := func(pos int32) bool {
		rec := &m.audit[pos]
		if !q.Matches(*rec) {
			return true
		}
		if len(page.Records) == limit {
			more = true
			return false
		}
		page.Records = append(page.Records, *rec)
		return true
	}
	cand.walk(after, q.NewestFirst, visit)
	if more {
		page.Next = q.CursorAfter(page.Records[len(page.Records)-1].Seq)
	}
	return page, nil
}

// CountAudit implements AuditStore.
func (m *MemoryStore) CountAudit(ctx context.Context, q AuditQuery) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q.Cursor, q.Limit = "", 0
	if err := q.Check(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	cand := m.candidates(q)
	var n int64
	cand.walk(0, false, func(pos int32) bool {
		if q.Matches(m.audit[pos]) {
			n++
		}
		return true
	})
	return n, nil
}

// candidates picks the smallest index that q can use: an exact ticket,
// secret or user list, else the ticket numbers with q's prefix, else q's
// time range, else every record. What it returns may hold records q does
// not match; the caller filters with q.Matches. m.mu must be held.
func (m *MemoryStore) candidates(q AuditQuery) candidateSet {
	var best []int32
	found := false
	for _, f := range [...]struct {
		set   bool
		index map[string][]int32
		key   string
	}{
		{q.TicketNumber != "", m.byTicket, q.TicketNumber},
		{q.SecretID != "", m.bySecret, q.SecretID},
		{q.User != "", m.byUser, q.User},
	} {
		if !f.set {
			continue
		}
		list := f.index[f.key]
		if !found || len(list) < len(best) {
			best, found = list, true
		}
	}
	all := candidateSet{all: len(m.audit)}
	switch {
	case found:
		return candidateSet{list: best}
	case q.TicketPrefix != "":
		if list, ok := m.prefixPositions(q.TicketPrefix, wideQuery(len(m.audit))); ok {
			return candidateSet{list: list}
		}
	case !q.Since.IsZero() || !q.Until.IsZero():
		// Even a wide range: a scan would have to read up to the range first,
		// and the trail's Seq order only roughly follows time.
		list, _ := m.timePositions(q, len(m.audit))
		return candidateSet{list: list}
	}
	// Walking every record in order stops as soon as a page is full, which
	// beats building and sorting a list of most of the trail (a wide
	// prefix).
	return all
}

// wideQuery is how many candidates make an index not worth using: an
// eighth of the trail.
func wideQuery(n int) int { return max(n/8, 1024) }

// prefixPositions merges the lists of every ticket number with prefix;
// ok is false when there would be more than limit of them.
func (m *MemoryStore) prefixPositions(prefix string, limit int) (out []int32, ok bool) {
	m.keysMu.Lock()
	if len(m.pendingKeys) > 0 {
		slices.Sort(m.pendingKeys)
		merged := make([]string, 0, len(m.ticketKeys)+len(m.pendingKeys))
		m.ticketKeys = mergeSorted(merged, m.ticketKeys, m.pendingKeys)
		m.pendingKeys = m.pendingKeys[:0]
	}
	keys := m.ticketKeys
	m.keysMu.Unlock()

	for i := sort.SearchStrings(keys, prefix); i < len(keys) && strings.HasPrefix(keys[i], prefix); i++ {
		out = append(out, m.byTicket[keys[i]]...)
		if len(out) > limit {
			return nil, false
		}
	}
	slices.Sort(out)
	return out, true
}

func mergeSorted(dst, a, b []string) []string {
	for len(a) > 0 && len(b) > 0 {
		if a[0] <= b[0] {
			dst, a = append(dst, a[0]), a[1:]
		} else {
			dst, b = append(dst, b[0]), b[1:]
		}
	}
	return append(append(dst, a...), b...)
}

// timePositions returns the positions of the records in q's time range;
// ok is false when there are more than limit of them.
func (m *MemoryStore) timePositions(q AuditQuery, limit int) (out []int32, ok bool) {
	lo, hi := 0, len(m.byTime)
	if !q.Since.IsZero() {
		since := q.Since.UnixMicro()
		if q.Since.Truncate(time.Microsecond).Before(q.Since) {
			since++ // a record at since's microsecond is before Since
		}
		lo = sort.Search(hi, func(i int) bool { return m.byTime[i].micros >= since })
	}
	if !q.Until.IsZero() {
		until := q.Until.UnixMicro()
		if q.Until.Truncate(time.Microsecond).Before(q.Until) {
			until++ // a record at until's microsecond is before Until
		}
		hi = lo + sort.Search(hi-lo, func(i int) bool { return m.byTime[lo+i].micros >= until })
	}
	if hi-lo > limit {
		return nil, false
	}
	out = make([]int32, 0, hi-lo)
	for _, tp := range m.byTime[lo:hi] {
		out = append(out, tp.pos)
	}
	slices.Sort(out)
	return out, true
}

// candidateSet is a set of record positions in ascending order: list, or
// every position below all when list is nil.
type candidateSet struct {
	list []int32
	all  int
}

// walk calls visit for each position whose Seq comes after the cursor seq
// (0: from the start) in the order asked, until visit returns false.
func (c candidateSet) walk(after int64, newestFirst bool, visit func(int32) bool) {
	if c.list == nil {
		if newestFirst {
			start := int64(c.all) - 1
			if after > 0 {
				start = min(start, after-2) // Seq after-1 is at position after-2
			}
			for pos := start; pos >= 0; pos-- {
				if !visit(int32(pos)) {
					return
				}
			}
			return
		}
		for pos := after; pos < int64(c.all); pos++ { // Seq after+1 is at position after
			if !visit(int32(pos)) {
				return
			}
		}
		return
	}
	// A position p holds Seq p+1. Compare in int64: a cursor may name any
	// Seq, beyond what a position can hold.
	firstAtLeast := func(v int64) int {
		return sort.Search(len(c.list), func(k int) bool { return int64(c.list[k]) >= v })
	}
	i := firstAtLeast(after) // first p with p+1 > after
	if newestFirst {
		j := len(c.list) - 1
		if after > 0 {
			j = firstAtLeast(after-1) - 1 // last p with p+1 < after
		}
		for ; j >= 0; j-- {
			if !visit(c.list[j]) {
				return
			}
		}
		return
	}
	for ; i < len(c.list); i++ {
		if !visit(c.list[i]) {
			return
		}
	}
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
