package ticketing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the tests move by hand. Safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingFetch returns a fetch function for ticketCache.lookup that
// answers err (or openTicket(number) when err is nil) and counts calls.
func countingFetch(number string, err error) (func(context.Context) (Ticket, error), *atomic.Int64) {
	var n atomic.Int64
	return func(context.Context) (Ticket, error) {
		n.Add(1)
		if err != nil {
			return Ticket{}, err
		}
		return openTicket(number), nil
	}, &n
}

func TestTicketCacheTTL(t *testing.T) {
	split := CacheConfig{PositiveTTL: time.Minute, NegativeTTL: time.Second}
	cases := []struct {
		name   string
		cfg    CacheConfig
		answer error         // nil: a ticket
		ttl    time.Duration // how long the answer is served; 0: never cached
	}{
		{"positive, default TTL", CacheConfig{}, nil, DefaultPositiveTTL},
		{"negative, default TTL", CacheConfig{}, ErrTicketNotFound, DefaultNegativeTTL},
		{"positive, own TTL", split, nil, time.Minute},
		{"negative, own TTL", split, ErrTicketNotFound, time.Second},
		{"negative, wrapped not found", split, fmt.Errorf("jira: issue does not exist: %w", ErrTicketNotFound), time.Second},
		{"positive off", CacheConfig{PositiveTTL: -1}, nil, 0},
		{"negative off", CacheConfig{NegativeTTL: -1}, ErrTicketNotFound, 0},
		{"negative off keeps positive", CacheConfig{NegativeTTL: -1}, nil, DefaultPositiveTTL},
		{"positive off keeps negative", CacheConfig{PositiveTTL: -1}, ErrTicketNotFound, DefaultNegativeTTL},
		{"unavailable never cached", CacheConfig{}, permanentErr(503, "down"), 0},
		{"temporary never cached", CacheConfig{}, temporaryErr(429, time.Second), 0},
		{"auth never cached", CacheConfig{}, authErr(401), 0},
		{"plain error never cached", CacheConfig{}, errors.New("boom"), 0},
		{"timeout never cached", CacheConfig{}, context.DeadlineExceeded, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			c := newTicketCache(tc.cfg, clock.Now)
			fetch, calls := countingFetch(liveTicket, tc.answer)
			key := cacheKey{scope: "snow\x001", number: liveTicket}
			look := func() (Ticket, bool, error) {
				return c.lookup(context.Background(), key, fetch)
			}
			check := func(tk Ticket, err error) {
				t.Helper()
				if tc.answer == nil {
					require.NoError(t, err)
					assert.Equal(t, liveTicket, tk.Number)
				} else {
					require.ErrorIs(t, err, tc.answer)
					assert.Zero(t, tk)
				}
			}

			tk, shared, err := look()
			check(tk, err)
			assert.False(t, shared, "the first lookup is fetched")
			assert.EqualValues(t, 1, calls.Load())
			if tc.ttl == 0 {
				assert.Zero(t, c.len(), "nothing cached")
				tk, shared, err = look()
				check(tk, err)
				assert.False(t, shared)
				assert.EqualValues(t, 2, calls.Load(), "an uncached answer is fetched again")
				return
			}
			assert.Equal(t, 1, c.len())

			clock.Advance(tc.ttl - time.Nanosecond)
			tk, shared, err = look()
			check(tk, err)
			assert.True(t, shared, "served from the cache until the TTL ends")
			assert.EqualValues(t, 1, calls.Load())

			clock.Advance(time.Nanosecond)
			tk, shared, err = look()
			check(tk, err)
			assert.False(t, shared, "expired at the TTL")
			assert.EqualValues(t, 2, calls.Load())
			assert.Equal(t, 1, c.len(), "the expired entry was replaced, not kept twice")
		})
	}
}

func TestTicketCacheDefaults(t *testing.T) {
	for _, cfg := range []CacheConfig{{}, {MaxEntries: -5}} {
		got := cfg.withDefaults()
		assert.Equal(t, DefaultPositiveTTL, got.PositiveTTL)
		assert.Equal(t, DefaultNegativeTTL, got.NegativeTTL)
		assert.Equal(t, DefaultCacheMaxEntries, got.MaxEntries)
	}
	got := CacheConfig{PositiveTTL: -1, NegativeTTL: -2, MaxEntries: 7}.withDefaults()
	assert.Equal(t, CacheConfig{PositiveTTL: -1, NegativeTTL: -2, MaxEntries: 7}, got, "negative TTLs stay off")
}

func TestTicketCacheLRU(t *testing.T) {
	clock := newFakeClock()
	c := newTicketCache(CacheConfig{MaxEntries: 3}, clock.Now)
	var mu sync.Mutex
	fetched := map[string]int{}
	look := func(number string) bool {
		t.Helper()
		_, shared, err := c.lookup(context.Background(), cacheKey{scope: "s", number: number}, func(context.Context) (Ticket, error) {
			mu.Lock()
			fetched[number]++
			mu.Unlock()
			if number == "nf" {
				return Ticket{}, ErrTicketNotFound
			}
			return openTicket(number), nil
		})
		if number != "nf" {
			require.NoError(t, err)
		}
		return shared
	}
	fetches := func(number string) int {
		mu.Lock()
		defer mu.Unlock()
		return fetched[number]
	}

	for _, n := range []string{"a", "b", "c"} {
		assert.False(t, look(n))
	}
	assert.Equal(t, 3, c.len())
	assert.True(t, look("a"), "hit: a becomes the most recently used")
	assert.False(t, look("d"), "d evicts b, the least recently used")
	assert.Equal(t, 3, c.len(), "bounded by MaxEntries")
	for _, n := range []string{"a", "c", "d"} {
		assert.True(t, look(n), "%s stays cached", n)
	}
	assert.False(t, look("b"), "b was evicted")
	assert.Equal(t, 2, fetches("b"))
	// Order now (most recent first): b, d, c, a. A negative answer counts
	// as an entry too.
	assert.False(t, look("nf"))
	assert.Equal(t, 3, c.len())
	assert.True(t, look("nf"))
	assert.False(t, look("a"), "a was the least recently used")
	for _, n := range []string{"a", "c", "d"} {
		assert.Equal(t, 1+cacheBtoi(n == "a"), fetches(n), "fetches of %s", n)
	}

	t.Run("many keys", func(t *testing.T) {
		c := newTicketCache(CacheConfig{MaxEntries: 100}, clock.Now)
		for i := range 1000 {
			number := "INC" + strconv.Itoa(i)
			fetch, _ := countingFetch(number, nil)
			_, _, err := c.lookup(context.Background(), cacheKey{number: number}, fetch)
			require.NoError(t, err)
			require.LessOrEqual(t, c.len(), 100)
		}
		assert.Equal(t, 100, c.len())
		// The newest 100 are the ones kept.
		fetch, calls := countingFetch("INC999", nil)
		_, shared, _ := c.lookup(context.Background(), cacheKey{number: "INC999"}, fetch)
		assert.True(t, shared)
		assert.Zero(t, calls.Load())
		fetch, calls = countingFetch("INC899", nil)
		_, shared, _ = c.lookup(context.Background(), cacheKey{number: "INC899"}, fetch)
		assert.False(t, shared)
		assert.EqualValues(t, 1, calls.Load())
	})

	t.Run("default bound", func(t *testing.T) {
		c := newTicketCache(CacheConfig{}, clock.Now)
		for i := range DefaultCacheMaxEntries + 10 {
			number := strconv.Itoa(i)
			fetch, _ := countingFetch(number, nil)
			_, _, err := c.lookup(context.Background(), cacheKey{number: number}, fetch)
			require.NoError(t, err)
		}
		assert.Equal(t, DefaultCacheMaxEntries, c.len())
	})
}

func cacheBtoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTicketCacheKeys(t *testing.T) {
	// Scope and number both make the key: the same number under two
	// scopes (two systems, or two revisions of one) is two lookups.
	c := newTicketCache(CacheConfig{}, newFakeClock().Now)
	fetch, calls := countingFetch(liveTicket, nil)
	for _, k := range []cacheKey{
		{"snow\x001", liveTicket}, {"snow\x002", liveTicket}, {"jira\x001", liveTicket},
		{"snow\x001", "INC0012346"}, {"snow\x001", liveTicket}, {"snow\x002", liveTicket},
	} {
		_, _, err := c.lookup(context.Background(), k, fetch)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 4, calls.Load())
}

// doneSignalCtx is a context that reports the first call of its Done
// method. ticketCache.lookup calls Done only after it has joined (or
// started) the flight for its key, so the signal tells a test that the
// caller is now waiting on that flight.
type doneSignalCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func newDoneSignalCtx(parent context.Context) *doneSignalCtx {
	return &doneSignalCtx{Context: parent, waiting: make(chan struct{})}
}

func (c *doneSignalCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

func TestTicketCacheSharedFlight(t *testing.T) {
	// With the positive cache off, callers can only share an answer by
	// joining the flight that is in progress: each joiner gets it marked
	// shared, and the ticket system is asked once.
	const joiners = 50
	c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{})}
	v := liveValidator(t, liveSystem(), c, WithCacheConfig(CacheConfig{PositiveTTL: -1, NegativeTTL: -1}))

	type out struct {
		res Result
		err error
	}
	first := make(chan out, 1)
	go func() {
		res, err := validateLive(v, liveTicket)
		first <- out{res, err}
	}()
	<-c.entered // the flight has started and is held at the gate

	results := make(chan out, joiners)
	for range joiners {
		ctx := newDoneSignalCtx(context.Background())
		go func() {
			res, err := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
			results <- out{res, err}
		}()
		<-ctx.waiting
	}
	close(c.gate)

	o := <-first
	require.NoError(t, o.err)
	assert.False(t, o.res.FromCache, "the caller that started the flight fetched the answer")
	assert.Equal(t, LiveCheckVerified, o.res.LiveCheck)
	for range joiners {
		o := <-results
		require.NoError(t, o.err)
		assert.True(t, o.res.FromCache, "a joiner's answer was not fetched for it")
		assert.Equal(t, LiveCheckVerified, o.res.LiveCheck)
		require.NotNil(t, o.res.Ticket)
		assert.Equal(t, liveTicket, o.res.Ticket.Number)
	}
	assert.Equal(t, 1, c.calls(), "one upstream request for all of them")

	// With the positive cache off, the next lookup goes upstream again.
	res, err := validateLive(v, liveTicket)
	require.NoError(t, err)
	assert.False(t, res.FromCache)
	assert.Equal(t, 2, c.calls())
}

func TestTicketCacheSharedFailure(t *testing.T) {
	// Joiners share a failure too (it is not cached afterwards), and each
	// applies its own outage policy: here fail open.
	sys := liveSystem()
	sys.FailOpen = true
	sys.LookupRetries = -1
	c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{}),
		script: []lookupAnswer{{err: permanentErr(503, "down")}, {}}}
	v := liveValidator(t, sys, c)
	done := make(chan Result, 2)
	go func() { res, _ := validateLive(v, liveTicket); done <- res }()
	<-c.entered
	ctx := newDoneSignalCtx(context.Background())
	go func() {
		res, _ := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
		done <- res
	}()
	<-ctx.waiting
	close(c.gate)
	for range 2 {
		res := <-done
		assert.Equal(t, LiveCheckFailedOpen, res.LiveCheck)
	}
	assert.Equal(t, 1, c.calls())
	res, err := validateLive(v, liveTicket)
	require.NoError(t, err)
	assert.Equal(t, LiveCheckVerified, res.LiveCheck, "the failure was not cached")
	assert.False(t, res.FromCache)
	assert.Equal(t, 2, c.calls())
}

func TestTicketCacheWaiterCancelled(t *testing.T) {
	type ctxKey struct{}
	t.Run("waiter gives up, the flight completes for the others", func(t *testing.T) {
		c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{})}
		v := liveValidator(t, liveSystem(), c)
		type out struct {
			res Result
			err error
		}
		starter := make(chan out, 1)
		go func() {
			res, err := validateLive(v, liveTicket)
			starter <- out{res, err}
		}()
		<-c.entered

		ctx, cancel := context.WithCancel(context.Background())
		sig := newDoneSignalCtx(ctx)
		quitter := make(chan out, 1)
		go func() {
			res, err := v.Validate(sig, Submission{TicketNumber: liveTicket, Reason: liveReason})
			quitter <- out{res, err}
		}()
		<-sig.waiting // joined the flight
		cancel()
		q := <-quitter
		require.ErrorIs(t, q.err, context.Canceled)
		assert.Zero(t, q.res)

		close(c.gate)
		s := <-starter
		require.NoError(t, s.err)
		assert.Equal(t, LiveCheckVerified, s.res.LiveCheck)
		assert.Equal(t, 1, c.calls())
	})

	t.Run("starter gives up, the flight still completes", func(t *testing.T) {
		var seen atomic.Value
		gate := make(chan struct{})
		entered := make(chan struct{}, 1)
		var calls atomic.Int64
		checker := checkerFunc(func(ctx context.Context, number string) (Ticket, error) {
			calls.Add(1)
			select {
			case entered <- struct{}{}:
			default:
			}
			<-gate
			seen.Store(fmt.Sprint(ctx.Err(), "/", ctx.Value(ctxKey{})))
			return openTicket(number), nil
		})
		v := liveValidator(t, liveSystem(), checker)
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "trace-7"))
		quitter := make(chan error, 1)
		go func() {
			_, err := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
			quitter <- err
		}()
		<-entered
		cancel()
		require.ErrorIs(t, <-quitter, context.Canceled)

		// A later caller joins the flight (or, once it is done, the cache).
		other := make(chan Result, 1)
		go func() {
			res, err := validateLive(v, liveTicket)
			assert.NoError(t, err)
			other <- res
		}()
		close(gate)
		res := <-other
		assert.Equal(t, LiveCheckVerified, res.LiveCheck)
		assert.True(t, res.FromCache, "the answer was fetched by the flight the first caller started")
		assert.EqualValues(t, 1, calls.Load())
		assert.Equal(t, "<nil>/trace-7", seen.Load(), "the fetch is not cancelled with its starter, and keeps its values")
	})

	t.Run("already cancelled", func(t *testing.T) {
		c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{})}
		v := liveValidator(t, liveSystem(), c)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, res)
		// Its flight runs on and fills the cache.
		<-c.entered
		close(c.gate)
		res, err = validateLive(v, liveTicket)
		require.NoError(t, err)
		assert.True(t, res.FromCache)
		assert.Equal(t, 1, c.calls())
	})
}

func TestRegistryCacheTTL(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		number string
		ttl    time.Duration
	}{
		{"positive", liveTicket, 2 * time.Minute},
		{"negative", "INC0099999", 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			c := &scriptedChecker{script: []lookupAnswer{{}}}
			if tc.number != liveTicket {
				c.script = []lookupAnswer{{err: ErrTicketNotFound}}
			}
			reg, _, _ := liveRegistry(t, c, liveSystem(), WithClock(clock.Now),
				WithValidatorOptions(WithCacheConfig(CacheConfig{PositiveTTL: 2 * time.Minute, NegativeTTL: 5 * time.Second})))
			access := func() AuditRecord {
				t.Helper()
				rec, err := reg.CheckAccess(ctx, liveRequest(tc.number))
				if tc.number == liveTicket {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, ErrTicketNotFound)
				}
				return rec
			}
			assert.False(t, access().FromCache)
			clock.Advance(tc.ttl - time.Nanosecond)
			assert.True(t, access().FromCache)
			assert.Equal(t, 1, c.calls())
			clock.Advance(time.Nanosecond)
			assert.False(t, access().FromCache, "expired by the Registry's clock")
			assert.Equal(t, 2, c.calls())
		})
	}
}

func TestRegistryCacheFailuresNotCached(t *testing.T) {
	ctx := context.Background()
	for _, failure := range []error{permanentErr(503, "down"), authErr(401), errors.New("plain")} {
		t.Run(DenialCode(failure)+"/"+failure.Error(), func(t *testing.T) {
			sys := liveSystem()
			sys.LookupRetries = -1
			c := &scriptedChecker{script: []lookupAnswer{{err: failure}, {}}}
			reg, _, _ := liveRegistry(t, c, sys)
			_, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
			require.Error(t, err)
			rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
			require.NoError(t, err)
			assert.False(t, rec.FromCache)
			assert.Equal(t, LiveCheckVerified, rec.LiveCheck)
			assert.Equal(t, 2, c.calls())
		})
	}
}

func TestRegistryCacheKeyedByRevision(t *testing.T) {
	ctx := context.Background()
	closed := Ticket{Number: liveTicket, Status: "Closed", StatusCode: "7"}
	c := &scriptedChecker{script: []lookupAnswer{{}, {ticket: &closed}}}
	reg, _, sys := liveRegistry(t, c, liveSystem())

	rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
	require.NoError(t, err)
	assert.False(t, rec.FromCache)
	rec, err = reg.CheckAccess(ctx, liveRequest(liveTicket))
	require.NoError(t, err)
	assert.True(t, rec.FromCache)
	assert.Equal(t, 1, c.calls())

	sys.Description = "edited"
	_, err = reg.Update(ctx, sys)
	require.NoError(t, err)
	rec, err = reg.CheckAccess(ctx, liveRequest(liveTicket))
	require.ErrorIs(t, err, ErrTicketClosed, "the old revision's answer must not be served")
	assert.False(t, rec.FromCache)
	assert.Equal(t, "Closed", rec.TicketStatus)
	assert.Equal(t, 2, c.calls())

	t.Run("two systems on one connector", func(t *testing.T) {
		c := &scriptedChecker{}
		reg, _, _ := liveRegistry(t, c, liveSystem())
		other := liveSystem()
		other.ID, other.Name = "snow-changes", "ServiceNow changes"
		_, err := reg.Add(ctx, other)
		require.NoError(t, err)
		for _, id := range []string{"snow", "snow-changes", "snow", "snow-changes"} {
			req := liveRequest(liveTicket)
			req.TicketSystemID = id
			_, err := reg.CheckAccess(ctx, req)
			require.NoError(t, err)
		}
		assert.Equal(t, 2, c.calls(), "one lookup per system, each cached")
	})
}

func TestLiveCacheOneUpstreamRequest(t *testing.T) {
	// THE test of the issue: 1,000 goroutines validate the same ticket at
	// once and the ticket system sees exactly one request.
	const goroutines = 1000
	hold := make(chan struct{})
	srv := newTicketServer(t, hold)
	sys := liveSystem()
	sys.LookupTimeout = time.Minute // the server holds the answer; the test bounds itself
	reg, store, _ := liveRegistry(t, newHTTPChecker(srv), sys)

	// The server holds its answer until every goroutine has been let go,
	// so most of them meet the lookup in flight rather than in the cache.
	start := make(chan struct{})
	var launched atomic.Int64
	recs := make([]AuditRecord, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			<-start
			if launched.Add(1) == goroutines {
				close(hold)
			}
			recs[i], errs[i] = reg.CheckAccess(context.Background(), liveRequest(liveTicket))
		})
	}
	close(start)
	wg.Wait()

	fetched := 0
	for i := range goroutines {
		require.NoError(t, errs[i], "goroutine %d", i)
		assert.Equal(t, LiveCheckVerified, recs[i].LiveCheck)
		assert.Equal(t, "In Progress", recs[i].TicketStatus)
		if !recs[i].FromCache {
			fetched++
		}
	}
	assert.Equal(t, 1, srv.requests(), "the ticket system must see exactly one request")
	assert.Equal(t, map[string]int{liveTicket: 1}, srv.requestsFor())
	assert.Equal(t, 1, fetched, "exactly one record says the answer was fetched for it")
	all, err := auditByTicket(context.Background(), store, liveTicket)
	require.NoError(t, err)
	assert.Len(t, all, goroutines, "every access is recorded")
}

func TestLiveCacheOneUpstreamRequestPerTicket(t *testing.T) {
	// A fresh ticket number per group of goroutines: exactly one request
	// per distinct number, found and not found alike.
	const groups, perGroup = 20, 50
	hold := make(chan struct{})
	srv := newTicketServer(t, hold)
	sys := liveSystem()
	sys.LookupTimeout = time.Minute
	c := newHTTPChecker(srv)
	v := liveValidator(t, sys, c)

	number := func(g int) string {
		if g%4 == 3 {
			return fmt.Sprintf("INC9%06d", g) // does not exist
		}
		return fmt.Sprintf("INC%07d", g)
	}
	start := make(chan struct{})
	var launched atomic.Int64
	type out struct {
		res Result
		err error
	}
	results := make([][]out, groups)
	var wg sync.WaitGroup
	for g := range groups {
		results[g] = make([]out, perGroup)
		for i := range perGroup {
			wg.Go(func() {
				<-start
				if launched.Add(1) == groups*perGroup {
					close(hold)
				}
				res, err := validateLive(v, number(g))
				results[g][i] = out{res, err}
			})
		}
	}
	close(start)
	wg.Wait()

	want := map[string]int{}
	for g := range groups {
		want[number(g)] = 1
		fetched := 0
		for _, o := range results[g] {
			if g%4 == 3 {
				require.ErrorIs(t, o.err, ErrTicketNotFound)
			} else {
				require.NoError(t, o.err)
				require.NotNil(t, o.res.Ticket)
				assert.Equal(t, number(g), o.res.Ticket.Number, "each caller gets its own ticket")
			}
			if !o.res.FromCache {
				fetched++
			}
		}
		assert.Equal(t, 1, fetched, "group %d: one fetched answer", g)
	}
	assert.Equal(t, want, srv.requestsFor(), "one request per distinct number")
	assert.Equal(t, groups, srv.requests())
}
