package ticketing

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// Ticket cache defaults.
const (
	DefaultPositiveTTL     = 30 * time.Second
	DefaultNegativeTTL     = 10 * time.Second
	DefaultCacheMaxEntries = 10_000
)

// CacheConfig sizes the cache that sits in front of every Checker. It
// keeps lookups per (ticket system, ticket number): found tickets for
// PositiveTTL, "not found" answers for NegativeTTL, at most MaxEntries of
// them (least recently used go first). Failures (outages, refused
// credentials) are never cached. The status rules (AllowedStatuses) are
// applied after the cache, so changing them takes effect at once; a ticket
// closed upstream is seen as closed at most PositiveTTL later.
//
// The zero value means the defaults. A negative TTL turns that kind of
// caching off; concurrent lookups of the same ticket still share one
// upstream request.
type CacheConfig struct {
	PositiveTTL time.Duration
	NegativeTTL time.Duration
	MaxEntries  int
}

func (c CacheConfig) withDefaults() CacheConfig {
	if c.PositiveTTL == 0 {
		c.PositiveTTL = DefaultPositiveTTL
	}
	if c.NegativeTTL == 0 {
		c.NegativeTTL = DefaultNegativeTTL
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultCacheMaxEntries
	}
	return c
}

type cacheKey struct{ scope, number string }

type cacheEntry struct {
	key      cacheKey
	ticket   Ticket
	notFound error // the ErrTicketNotFound answer, or nil
	expires  time.Time
}

// flight is one upstream lookup that concurrent callers share.
type flight struct {
	done   chan struct{}
	ticket Ticket
	err    error
}

// ticketCache is a bounded LRU of lookup answers with one upstream request
// per key at a time. It is safe for concurrent use.
type ticketCache struct {
	cfg CacheConfig
	now func() time.Time

	mu       sync.Mutex
	entries  map[cacheKey]*list.Element // of *cacheEntry
	lru      list.List                  // front = most recently used
	inflight map[cacheKey]*flight
}

func newTicketCache(cfg CacheConfig, now func() time.Time) *ticketCache {
	if now == nil {
		now = time.Now
	}
	return &ticketCache{cfg: cfg.withDefaults(), now: now,
		entries: make(map[cacheKey]*list.Element), inflight: make(map[cacheKey]*flight)}
}

// cached returns the unexpired answer for key, if there is one.
func (c *ticketCache) cached(key cacheKey) (t Ticket, err error, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cachedLocked(key)
}

// cachedLocked is cached with c.mu held.
func (c *ticketCache) cachedLocked(key cacheKey) (t Ticket, err error, ok bool) {
	el, ok := c.entries[key]
	if !ok {
		return Ticket{}, nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return Ticket{}, nil, false
	}
	c.lru.MoveToFront(el)
	return e.ticket, e.notFound, true
}

// lookup returns the cached answer for key, or shares (or starts) the one
// upstream fetch for it. shared is true when the answer was not fetched
// for this caller: it came from the cache or from a concurrent caller's
// fetch. fetch runs in its own goroutine with a context that is not
// cancelled with ctx (it must bound itself), so a caller that gives up
// does not fail the others; the caller gets ctx's error.
func (c *ticketCache) lookup(ctx context.Context, key cacheKey, fetch func(context.Context) (Ticket, error)) (t Ticket, shared bool, err error) {
	c.mu.Lock()
	// Checked again under the lock that guards the flights: an answer
	// stored since the caller's own check must not start a second fetch.
	if t, err, ok := c.cachedLocked(key); ok {
		c.mu.Unlock()
		return t, true, err
	}
	f, running := c.inflight[key]
	if !running {
		f = &flight{done: make(chan struct{})}
		c.inflight[key] = f
		detached := context.WithoutCancel(ctx)
		go c.run(detached, key, f, fetch)
	}
	c.mu.Unlock()

	select {
	case <-f.done:
		return f.ticket, running, f.err
	case <-ctx.Done():
		return Ticket{}, false, ctx.Err()
	}
}

func (c *ticketCache) run(ctx context.Context, key cacheKey, f *flight, fetch func(context.Context) (Ticket, error)) {
	f.ticket, f.err = fetch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, key)
	switch {
	case f.err == nil && c.cfg.PositiveTTL > 0:
		c.store(&cacheEntry{key: key, ticket: f.ticket, expires: c.now().Add(c.cfg.PositiveTTL)})
	case errors.Is(f.err, ErrTicketNotFound) && c.cfg.NegativeTTL > 0:
		c.store(&cacheEntry{key: key, notFound: f.err, expires: c.now().Add(c.cfg.NegativeTTL)})
	}
	close(f.done)
}

// store inserts e, evicting the least recently used entries over the
// bound. c.mu must be held.
func (c *ticketCache) store(e *cacheEntry) {
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.cfg.MaxEntries {
		c.remove(c.lru.Back())
	}
}

func (c *ticketCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.lru.Remove(el)
}

// len reports the number of cached answers, for tests.
func (c *ticketCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
