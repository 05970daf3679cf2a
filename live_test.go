package ticketing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests exercise the live ticket check of the core (checker.go,
// live.go) with a scripted Checker written here: it counts calls, answers
// per call from a script, and can block until released or until the
// lookup's context ends. They are internal tests because backoff and the
// cache constructor are unexported.

// lookupAnswer is one scripted answer of a scriptedChecker.
type lookupAnswer struct {
	ticket *Ticket // returned when err is nil; nil means openTicket(number)
	err    error
	// hang makes the call wait until its context is done; it then returns
	// err, or ctx.Err() when err is nil.
	hang bool
}

// scriptedChecker is a Checker whose call i gets script[i] (the last entry
// repeats; an empty script answers openTicket). It records every call and
// is safe for concurrent use.
type scriptedChecker struct {
	script []lookupAnswer
	// entered, when set, receives the number at the start of a call when
	// it has room (make it buffered: 1 is enough to wait for the first
	// call); a call never blocks on it.
	entered chan string
	// gate, when set, holds every call until it is closed or the call's
	// context ends (then the call returns ctx.Err()).
	gate chan struct{}

	mu      sync.Mutex
	numbers []string
	times   []time.Time
	ctxErrs []error // the context's error when each call returned
}

var _ Checker = (*scriptedChecker)(nil)

// openTicket is the default answer: an open incident.
func openTicket(number string) Ticket {
	return Ticket{Number: number, ID: "sys-" + number, Status: "In Progress", StatusCode: "2", Open: true,
		Assignee: "bob", Summary: "Payment service down", URL: "https://snow.example.com/" + number}
}

func (c *scriptedChecker) LookupTicket(ctx context.Context, number string) (t Ticket, err error) {
	c.mu.Lock()
	call := len(c.numbers)
	c.numbers = append(c.numbers, number)
	c.times = append(c.times, time.Now())
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.ctxErrs = append(c.ctxErrs, ctx.Err())
		c.mu.Unlock()
	}()
	if c.entered != nil {
		select { // never block: a test waits for the first call only
		case c.entered <- number:
		default:
		}
	}
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return Ticket{}, ctx.Err()
		}
	}
	a := lookupAnswer{}
	if len(c.script) > 0 {
		a = c.script[min(call, len(c.script)-1)]
	}
	if a.hang {
		<-ctx.Done()
		if a.err != nil {
			return Ticket{}, a.err
		}
		return Ticket{}, ctx.Err()
	}
	if a.err != nil {
		return Ticket{}, a.err
	}
	if a.ticket == nil {
		return openTicket(number), nil
	}
	return *a.ticket, nil
}

// calls returns how many lookups were made.
func (c *scriptedChecker) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.numbers)
}

// callTimes returns when each lookup started.
func (c *scriptedChecker) callTimes() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.times...)
}

// callNumbers returns the numbers looked up, in order.
func (c *scriptedChecker) callNumbers() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.numbers...)
}

// commentCall is one AddComment call a commentingChecker received.
type commentCall struct {
	Ticket  Ticket
	Comment Comment
}

// commentingChecker is a scriptedChecker that is also a Commenter: call i
// of AddComment returns results[i] (the last repeats; none means success).
type commentingChecker struct {
	*scriptedChecker
	results []error

	cmu      sync.Mutex
	comments []commentCall
}

var _ Commenter = (*commentingChecker)(nil)

func (c *commentingChecker) AddComment(ctx context.Context, t Ticket, cm Comment) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	call := len(c.comments)
	c.comments = append(c.comments, commentCall{Ticket: t, Comment: cm})
	if len(c.results) == 0 {
		return nil
	}
	return c.results[min(call, len(c.results)-1)]
}

func (c *commentingChecker) commentCalls() []commentCall {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return append([]commentCall(nil), c.comments...)
}

// Scripted failures as connectors report them.
func temporaryErr(status int, retryAfter time.Duration) *CheckerError {
	return &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: status, RetryAfter: retryAfter,
		Temporary: true, Detail: "try later"}
}

func permanentErr(status int, detail string) *CheckerError {
	return &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: status, Detail: detail}
}

func authErr(status int) *CheckerError {
	return &CheckerError{Err: ErrCheckerAuth, Op: "lookup", StatusCode: status, Detail: "credentials refused"}
}

// liveSystem is the ServiceNow-like system the tests start from.
func liveSystem() TicketSystem {
	return TicketSystem{
		ID:          "snow",
		Name:        "ServiceNow",
		Active:      true,
		Label:       "Incident",
		Mode:        TicketAndReasonRequired,
		Pattern:     `^INC\d{7}$`,
		URLTemplate: "https://snow.example.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
		Connector:   "snow",
	}
}

const (
	liveTicket = "INC0012345"
	liveReason = "restart payment service"
)

// liveValidator compiles sys with checker c.
func liveValidator(t testing.TB, sys TicketSystem, c Checker, opts ...Option) *Validator {
	t.Helper()
	v, err := NewValidator(sys, append([]Option{WithChecker(c)}, opts...)...)
	require.NoError(t, err)
	return v
}

// validateTicket runs Validate for the ticket with a valid reason.
func validateLive(v *Validator, ticket string) (Result, error) {
	return v.Validate(context.Background(), Submission{TicketNumber: ticket, Reason: liveReason})
}

// requireLiveError checks that err is a *ValidationError for the ticket
// number that matches want, and returns it.
func requireLiveError(t testing.TB, err error, want error) *ValidationError {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, FieldTicketNumber, ve.Field)
	assert.NotEmpty(t, ve.Message)
	return ve
}

func TestLiveCheckOrder(t *testing.T) {
	// A number that fails hygiene, the requirement or the Pattern is never
	// sent to the Checker.
	cases := []struct {
		name string
		sub  Submission
		want error
	}{
		{"control character", Submission{TicketNumber: "INC00\x0012345", Reason: liveReason}, ErrMalformed},
		{"bidi override", Submission{TicketNumber: "INC0012345\u202e", Reason: liveReason}, ErrMalformed},
		{"invalid UTF-8", Submission{TicketNumber: "INC\xff0012345", Reason: liveReason}, ErrMalformed},
		{"too long", Submission{TicketNumber: strings.Repeat("1", 129), Reason: liveReason}, ErrMalformed},
		{"reason malformed", Submission{TicketNumber: liveTicket, Reason: "why\x1b[2J"}, ErrMalformed},
		{"reason missing", Submission{TicketNumber: liveTicket}, ErrReasonRequired},
		{"ticket missing", Submission{Reason: liveReason}, ErrTicketRequired},
		{"pattern mismatch", Submission{TicketNumber: "INC12345", Reason: liveReason}, ErrTicketFormat},
		{"query injection", Submission{TicketNumber: "INC0012345^ORactive=true", Reason: liveReason}, ErrTicketFormat},
		{"JQL injection", Submission{TicketNumber: `INC0012345" OR project = X`, Reason: liveReason}, ErrTicketFormat},
		{"path traversal", Submission{TicketNumber: "../INC0012345", Reason: liveReason}, ErrTicketFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &scriptedChecker{}
			v := liveValidator(t, liveSystem(), c)
			res, err := v.Validate(context.Background(), tc.sub)
			require.ErrorIs(t, err, tc.want)
			assert.Zero(t, res)
			assert.Zero(t, c.calls(), "a rejected number must never reach the Checker")

			// The admin's Test applies hygiene and Pattern too.
			if tc.sub.TicketNumber != "" && tc.want != ErrReasonRequired && tc.sub.Reason == liveReason {
				_, err = v.CheckTicketNumber(context.Background(), tc.sub.TicketNumber)
				require.ErrorIs(t, err, tc.want)
				assert.Zero(t, c.calls(), "CheckTicketNumber must not send a rejected number")
			}
		})
	}

	t.Run("passing number is sent trimmed", func(t *testing.T) {
		c := &scriptedChecker{}
		v := liveValidator(t, liveSystem(), c)
		res, err := v.Validate(context.Background(), Submission{TicketNumber: "\u00a0 " + liveTicket + "\t", Reason: liveReason})
		require.NoError(t, err)
		assert.Equal(t, []string{liveTicket}, c.callNumbers())
		assert.Equal(t, liveTicket, res.TicketNumber)
	})

	t.Run("reason only: no lookup", func(t *testing.T) {
		c := &scriptedChecker{}
		sys := liveSystem()
		sys.Mode = TicketOrReasonRequired
		v := liveValidator(t, sys, c)
		res, err := v.Validate(context.Background(), Submission{Reason: liveReason})
		require.NoError(t, err)
		assert.Equal(t, LiveCheckNone, res.LiveCheck)
		assert.Nil(t, res.Ticket)
		assert.Zero(t, c.calls())
	})
}

func TestLiveStatusRules(t *testing.T) {
	cases := []struct {
		name    string
		allowed []string
		ticket  Ticket
		ok      bool
		status  string // the status the closed message must name
	}{
		{"empty list, open", nil, Ticket{Status: "New", Open: true}, true, ""},
		{"empty list, closed", nil, Ticket{Status: "Resolved", StatusCode: "6"}, false, "Resolved"},
		{"empty list, closed, code only", nil, Ticket{StatusCode: "7"}, false, "7"},
		{"empty list, closed, no status", nil, Ticket{Summary: "x"}, false, "closed"},
		{"label, same case", []string{"In Progress"}, Ticket{Status: "In Progress", StatusCode: "2"}, true, ""},
		{"label, other case", []string{"in progress"}, Ticket{Status: "IN PROGRESS", StatusCode: "2"}, true, ""},
		{"label, Unicode case", []string{"ÉTÉ"}, Ticket{Status: "été"}, true, ""},
		{"code", []string{"2"}, Ticket{Status: "In Progress", StatusCode: "2"}, true, ""},
		{"code, letters", []string{"wip"}, Ticket{Status: "Work in progress", StatusCode: "WIP"}, true, ""},
		{"list overrides the open judgement (closed allowed)", []string{"Resolved"}, Ticket{Status: "Resolved", StatusCode: "6"}, true, ""},
		{"list overrides the open judgement (open refused)", []string{"Resolved"}, Ticket{Status: "New", StatusCode: "1", Open: true}, false, "New"},
		{"no partial match", []string{"Progress"}, Ticket{Status: "In Progress", Open: true}, false, "In Progress"},
		{"open without a status, not in the list", []string{"New"}, Ticket{Open: true}, false, "unknown"},
		{"one of several", []string{"New", "2", "On Hold"}, Ticket{Status: "Awaiting", StatusCode: "2"}, true, ""},
		{"rejected, though open", nil, Ticket{Status: "New", Open: true, Rejected: true}, false, "New"},
		{"rejected, though its status is allowed", []string{"New", "1"}, Ticket{Status: "New", StatusCode: "1", Open: true, Rejected: true}, false, "New"},
		{"hostile status is escaped", nil, Ticket{Status: "Closed\n\u202e<b>x</b>"}, false, `Closed\n\u{202E}<b>x</b>`},
		{"long status is cut", nil, Ticket{Status: strings.Repeat("s", 100)}, false, strings.Repeat("s", 64) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.AllowedStatuses = tc.allowed
			tk := tc.ticket
			tk.Number = liveTicket
			c := &scriptedChecker{script: []lookupAnswer{{ticket: &tk}}}
			v := liveValidator(t, sys, c)
			res, err := validateLive(v, liveTicket)
			require.Equal(t, 1, c.calls())
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, LiveCheckVerified, res.LiveCheck)
				require.NotNil(t, res.Ticket)
				assert.Empty(t, cmp.Diff(tk, *res.Ticket))
				assert.Equal(t, liveTicket, res.TicketNumber)
				assert.Equal(t, liveReason, res.Reason)
				assert.NotEmpty(t, res.URL)
				return
			}
			ve := requireLiveError(t, err, ErrTicketClosed)
			assert.Equal(t, "Incident is not open in ServiceNow (status: "+tc.status+")", ve.Message)
			assert.NotContains(t, ve.Message, "\n")
			assert.NotContains(t, ve.Message, "\u202e")
			assert.NotContains(t, ve.Message, liveTicket, "the message must not echo the typed number")
			// The Result keeps the lookup, for the audit record.
			require.NotNil(t, res.Ticket)
			assert.Equal(t, tk.Status, res.Ticket.Status)
			assert.Equal(t, LiveCheckNone, res.LiveCheck)
		})
	}
}

func TestLiveNotFound(t *testing.T) {
	for _, nf := range []struct {
		name string
		err  error
	}{
		{"sentinel", ErrTicketNotFound},
		{"wrapped", errors.Join(errors.New("servicenow: no record"), ErrTicketNotFound)},
	} {
		t.Run(nf.name, func(t *testing.T) {
			c := &scriptedChecker{script: []lookupAnswer{{err: nf.err}}}
			sys := liveSystem()
			sys.FailOpen = true // not found is an answer, not an outage
			v := liveValidator(t, sys, c)
			res, err := validateLive(v, "INC0099999")
			ve := requireLiveError(t, err, ErrTicketNotFound)
			assert.Equal(t, "Incident was not found in ServiceNow", ve.Message)
			assert.NotContains(t, ve.Message, "INC0099999")
			assert.NotContains(t, err.Error(), "INC0099999")
			assert.Nil(t, res.Ticket)
			assert.Equal(t, LiveCheckNone, res.LiveCheck)
			assert.Equal(t, "INC0099999", res.TicketNumber, "the Result keeps the number for the audit record")
			assert.Equal(t, 1, c.calls(), "not found is not retried")
		})
	}

	t.Run("unnamed system", func(t *testing.T) {
		sys := liveSystem()
		sys.Name, sys.Label = "", ""
		v := liveValidator(t, sys, &scriptedChecker{script: []lookupAnswer{{err: ErrTicketNotFound}}})
		_, err := validateLive(v, liveTicket)
		ve := requireLiveError(t, err, ErrTicketNotFound)
		assert.Equal(t, "Ticket Number was not found in The ticket system", ve.Message)
	})
}

func TestLiveRetries(t *testing.T) {
	fast := temporaryErr(503, time.Millisecond) // a short Retry-After keeps the test fast
	cases := []struct {
		name    string
		retries int
		script  []lookupAnswer
		calls   int
		want    error // nil: verified
	}{
		{"429 retried then found", 0, []lookupAnswer{{err: temporaryErr(429, time.Millisecond)}, {}}, 2, nil},
		{"502 retried then found", 0, []lookupAnswer{{err: temporaryErr(502, time.Millisecond)}, {}}, 2, nil},
		{"503 retried then found", 0, []lookupAnswer{{err: fast}, {}}, 2, nil},
		{"504 retried then found", 0, []lookupAnswer{{err: temporaryErr(504, time.Millisecond)}, {}}, 2, nil},
		{"connection failure retried then found", 0, []lookupAnswer{{err: &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup",
			Temporary: true, RetryAfter: time.Millisecond, Detail: "connection refused", Cause: errors.New("dial tcp: refused")}}, {}}, 2, nil},
		{"retried then not found", 0, []lookupAnswer{{err: fast}, {err: ErrTicketNotFound}}, 2, ErrTicketNotFound},
		{"default: 2 retries, 3 attempts", 0, []lookupAnswer{{err: fast}}, 3, ErrCheckerUnavailable},
		{"default: third attempt succeeds", 0, []lookupAnswer{{err: fast}, {err: fast}, {}}, 3, nil},
		{"negative: no retry", -1, []lookupAnswer{{err: fast}}, 1, ErrCheckerUnavailable},
		{"one retry", 1, []lookupAnswer{{err: fast}}, 2, ErrCheckerUnavailable},
		{"five retries", 5, []lookupAnswer{{err: fast}}, 6, ErrCheckerUnavailable},
		{"500 not retried", 0, []lookupAnswer{{err: permanentErr(500, "internal error")}, {}}, 1, ErrCheckerUnavailable},
		{"401 not retried", 0, []lookupAnswer{{err: authErr(401)}, {}}, 1, ErrCheckerAuth},
		{"403 not retried", 0, []lookupAnswer{{err: authErr(403)}, {}}, 1, ErrCheckerAuth},
		{"malformed answer not retried", 0, []lookupAnswer{{err: permanentErr(200, "malformed JSON")}, {}}, 1, ErrCheckerUnavailable},
		{"oversized answer not retried", 0, []lookupAnswer{{err: permanentErr(200, "answer over 1 MiB")}, {}}, 1, ErrCheckerUnavailable},
		{"plain error not retried", 0, []lookupAnswer{{err: errors.New("boom")}, {}}, 1, ErrCheckerUnavailable},
		{"temporary then permanent stops", 3, []lookupAnswer{{err: fast}, {err: permanentErr(500, "x")}, {}}, 2, ErrCheckerUnavailable},
		{"temporary then auth stops", 3, []lookupAnswer{{err: fast}, {err: authErr(401)}, {}}, 2, ErrCheckerAuth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.LookupRetries = tc.retries
			c := &scriptedChecker{script: tc.script}
			v := liveValidator(t, sys, c)
			res, err := validateLive(v, liveTicket)
			assert.Equal(t, tc.calls, c.calls(), "attempts")
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, LiveCheckVerified, res.LiveCheck)
				return
			}
			requireLiveError(t, err, tc.want)
			if tc.want != ErrTicketNotFound {
				assert.Zero(t, res, "a failed lookup leaves the Result zero")
			}
		})
	}
}

func TestLiveBackoffWithoutRetryAfter(t *testing.T) {
	// Two retries with the default backoff: at least 50 ms, then at least
	// 100 ms (the lower half of 100 ms and 200 ms).
	c := &scriptedChecker{script: []lookupAnswer{{err: temporaryErr(503, 0)}}}
	v := liveValidator(t, liveSystem(), c)
	_, err := validateLive(v, liveTicket)
	requireLiveError(t, err, ErrCheckerUnavailable)
	times := c.callTimes()
	require.Len(t, times, 3)
	assert.GreaterOrEqual(t, times[1].Sub(times[0]), retryBase/2, "first backoff")
	assert.GreaterOrEqual(t, times[2].Sub(times[1]), retryBase, "second backoff")
}

func TestLiveRetryAfter(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		const wait = 200 * time.Millisecond
		c := &scriptedChecker{script: []lookupAnswer{{err: temporaryErr(429, wait)}, {}}}
		v := liveValidator(t, liveSystem(), c)
		res, err := validateLive(v, liveTicket)
		require.NoError(t, err)
		assert.Equal(t, LiveCheckVerified, res.LiveCheck)
		times := c.callTimes()
		require.Len(t, times, 2)
		gap := times[1].Sub(times[0])
		assert.GreaterOrEqual(t, gap, wait, "the second attempt must wait for Retry-After")
		assert.Less(t, gap, DefaultLookupTimeout, "the wait must not run to the lookup deadline")
	})

	cases := []struct {
		name       string
		timeout    time.Duration
		retryAfter time.Duration
	}{
		{"above MaxRetryAfter", 0, MaxRetryAfter + time.Second},
		{"beyond the LookupTimeout deadline", 3 * time.Second, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.LookupTimeout = tc.timeout
			c := &scriptedChecker{script: []lookupAnswer{{err: temporaryErr(429, tc.retryAfter)}, {}}}
			v := liveValidator(t, sys, c)
			start := time.Now()
			res, err := validateLive(v, liveTicket)
			elapsed := time.Since(start)
			requireLiveError(t, err, ErrCheckerUnavailable)
			assert.Zero(t, res)
			assert.Equal(t, 1, c.calls(), "no second attempt")
			// At once: far less than the lookup timeout (3 s or 5 s) it
			// would otherwise have waited out.
			assert.Less(t, elapsed, 2*time.Second, "the lookup must end at once")
		})
	}
}

func TestLiveLookupTimeoutBoundsRetries(t *testing.T) {
	// Every attempt hangs until the lookup's context is done and then
	// reports a temporary failure: the one deadline must cover all
	// attempts, so Validate returns after about one LookupTimeout, not three.
	const timeout = 400 * time.Millisecond
	for _, tc := range []struct {
		name string
		a    lookupAnswer
	}{
		{"context error", lookupAnswer{hang: true}},
		{"temporary CheckerError", lookupAnswer{hang: true, err: temporaryErr(0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.LookupTimeout = timeout
			c := &scriptedChecker{script: []lookupAnswer{tc.a}}
			v := liveValidator(t, sys, c)
			start := time.Now()
			res, err := validateLiveWithin(t, 20*timeout, v, liveTicket)
			elapsed := time.Since(start)
			ve := requireLiveError(t, err, ErrCheckerUnavailable)
			assert.Equal(t, "Incident could not be checked: ServiceNow is not answering; try again later", ve.Message)
			assert.Equal(t, "checker_unavailable", DenialCode(err), "an upstream timeout is an outage, not the caller's deadline")
			assert.Zero(t, res)
			assert.GreaterOrEqual(t, elapsed, timeout)
			assert.Less(t, elapsed, 3*timeout, "LookupTimeout must bound the whole lookup")
			assert.Equal(t, 1, c.calls(), "no retry once the deadline has passed")
		})
	}

}

func TestLiveDeadlineOfLookup(t *testing.T) {
	// The context a Checker sees has the LookupTimeout deadline, also when
	// the caller's context has none.
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"default", 0, DefaultLookupTimeout},
		{"configured", 1500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.LookupTimeout = tc.timeout
			got := make(chan time.Duration, 1)
			c := checkerFunc(func(ctx context.Context, number string) (Ticket, error) {
				dl, ok := ctx.Deadline()
				if !ok {
					got <- -1
				} else {
					got <- time.Until(dl)
				}
				return openTicket(number), nil
			})
			v := liveValidator(t, sys, c)
			_, err := validateLive(v, liveTicket)
			require.NoError(t, err)
			left := <-got
			assert.Greater(t, left, time.Duration(0), "the lookup must have a deadline")
			assert.LessOrEqual(t, left, tc.want)
			assert.Greater(t, left, tc.want-time.Second, "deadline far earlier than LookupTimeout")
		})
	}
}

// A Checker that ignores its context, or panics, cannot hold the host past
// LookupTimeout or crash it: both are an outage. The outage error must not
// look like the caller's own deadline.
func TestLiveMisbehavingChecker(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, tc := range []struct {
		name string
		c    Checker
	}{
		{"ignores its context", checkerFunc(func(ctx context.Context, number string) (Ticket, error) {
			<-release
			return openTicket(number), nil
		})},
		{"panics", checkerFunc(func(ctx context.Context, number string) (Ticket, error) {
			panic("connector bug")
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.LookupTimeout = 100 * time.Millisecond
			v := liveValidator(t, sys, tc.c)
			_, err := validateLiveWithin(t, 5*time.Second, v, liveTicket)
			requireLiveError(t, err, ErrCheckerUnavailable)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
			// The ticket is not blocked for later lookups.
			_, err = validateLiveWithin(t, 5*time.Second, v, liveTicket)
			requireLiveError(t, err, ErrCheckerUnavailable)
		})
	}
}

// NewValidator refuses AllowedStatuses entries that could never match.
func TestNewValidatorAllowedStatuses(t *testing.T) {
	for _, bad := range [][]string{{""}, {"New", "  "}, {"In\nProgress"}} {
		sys := liveSystem()
		sys.AllowedStatuses = bad
		_, err := NewValidator(sys)
		assert.ErrorIs(t, err, ErrInvalidSystem, "%q", bad)
	}
	sys := liveSystem()
	sys.AllowedStatuses = []string{" New ", "2"}
	v, err := NewValidator(sys)
	require.NoError(t, err)
	assert.Equal(t, []string{"New", "2"}, v.System().AllowedStatuses)
}

// validateLiveWithin runs validateLive but fails the test, instead of hanging,
// when it has not returned after limit (a generous bound: it catches a
// lookup that is not bounded at all).
func validateLiveWithin(t *testing.T, limit time.Duration, v *Validator, ticket string) (Result, error) {
	t.Helper()
	type out struct {
		res Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := validateLive(v, ticket)
		done <- out{res, err}
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case o := <-done:
		return o.res, o.err
	case <-timer.C:
		t.Fatalf("Validate did not return within %v", limit)
		return Result{}, nil
	}
}

// checkerFunc adapts a function to Checker.
type checkerFunc func(ctx context.Context, number string) (Ticket, error)

func (f checkerFunc) LookupTicket(ctx context.Context, number string) (Ticket, error) {
	return f(ctx, number)
}

func TestLiveCallerCancellation(t *testing.T) {
	// The caller's own cancelled context yields the context error: it is
	// not an outage, so it neither fails open nor reads as unavailable.
	for _, failOpen := range []bool{false, true} {
		t.Run(map[bool]string{false: "fail closed", true: "fail open"}[failOpen], func(t *testing.T) {
			sys := liveSystem()
			sys.FailOpen = failOpen
			c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{})}
			defer close(c.gate)
			v := liveValidator(t, sys, c)
			ctx, cancel := context.WithCancel(context.Background())
			type out struct {
				res Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
				done <- out{res, err}
			}()
			<-c.entered
			cancel()
			o := <-done
			require.ErrorIs(t, o.err, context.Canceled)
			assert.NotErrorIs(t, o.err, ErrCheckerUnavailable)
			assert.Zero(t, o.res, "no Result, and in particular no failed-open grant")
		})
	}

	t.Run("caller deadline", func(t *testing.T) {
		sys := liveSystem()
		sys.FailOpen = true
		c := &scriptedChecker{script: []lookupAnswer{{hang: true}}}
		v := liveValidator(t, sys, c)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		res, err := v.Validate(ctx, Submission{TicketNumber: liveTicket, Reason: liveReason})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, res)
	})

	t.Run("Test with a cancelled context", func(t *testing.T) {
		c := &scriptedChecker{script: []lookupAnswer{{hang: true}}}
		v := liveValidator(t, liveSystem(), c)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := v.CheckTicketNumber(ctx, liveTicket)
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, res)
	})
}

func TestLivePlainErrorIsUnavailable(t *testing.T) {
	boom := errors.New("connector exploded: token=s3cr3t")
	c := &scriptedChecker{script: []lookupAnswer{{err: boom}}}
	v := liveValidator(t, liveSystem(), c)
	res, err := validateLive(v, liveTicket)
	requireLiveError(t, err, ErrCheckerUnavailable)
	assert.NotErrorIs(t, err, ErrCheckerAuth)
	var ce *CheckerError
	require.ErrorAs(t, err, &ce)
	assert.ErrorIs(t, ce, boom, "the cause stays reachable for logs")
	assert.NotContains(t, err.Error(), "s3cr3t", "the cause's text is not in the error text")
	assert.Zero(t, res)
	assert.Equal(t, 1, c.calls())
}

func TestLiveFailClosedAndOpen(t *testing.T) {
	cases := []struct {
		name     string
		failOpen bool
		err      error
		wantErr  error // nil: granted, failed open
	}{
		{"unavailable, fail closed", false, permanentErr(500, "x"), ErrCheckerUnavailable},
		{"timeout, fail closed", false, temporaryErr(504, time.Millisecond), ErrCheckerUnavailable},
		{"plain error, fail closed", false, errors.New("x"), ErrCheckerUnavailable},
		{"auth, fail closed", false, authErr(401), ErrCheckerAuth},
		{"unavailable, fail open", true, permanentErr(500, "x"), nil},
		{"temporary, fail open", true, temporaryErr(503, time.Millisecond), nil},
		{"plain error, fail open", true, errors.New("x"), nil},
		{"auth never fails open (401)", true, authErr(401), ErrCheckerAuth},
		{"auth never fails open (403)", true, authErr(403), ErrCheckerAuth},
		{"not found never fails open", true, ErrTicketNotFound, ErrTicketNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.FailOpen = tc.failOpen
			v := liveValidator(t, sys, &scriptedChecker{script: []lookupAnswer{{err: tc.err}}})
			res, err := validateLive(v, liveTicket)
			if tc.wantErr == nil {
				require.NoError(t, err)
				want := Result{TicketNumber: liveTicket, Reason: liveReason, URL: res.URL, LiveCheck: LiveCheckFailedOpen}
				assert.Empty(t, cmp.Diff(want, res))
				assert.NotEmpty(t, res.URL)
				assert.Nil(t, res.Ticket, "an unverified ticket has no Ticket")
				return
			}
			ve := requireLiveError(t, err, tc.wantErr)
			if tc.wantErr == ErrCheckerAuth {
				assert.NotErrorIs(t, err, ErrCheckerUnavailable)
				assert.Equal(t, "Incident could not be checked: ServiceNow refused our credentials; contact your administrator", ve.Message)
			}
			if tc.wantErr != ErrTicketNotFound {
				assert.Zero(t, res, "a failed-closed lookup leaves the Result zero")
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	t.Run("jitter bounds", func(t *testing.T) {
		for attempt := 0; attempt < 40; attempt++ {
			d := min(retryBase<<min(attempt, 10), retryMaxWait)
			lo, hi := time.Duration(1<<62), time.Duration(0)
			for range 200 {
				w := backoff(attempt, 0)
				require.GreaterOrEqual(t, w, d/2, "attempt %d", attempt)
				require.LessOrEqual(t, w, d, "attempt %d", attempt)
				require.LessOrEqual(t, w, retryMaxWait, "attempt %d: capped at 2 s", attempt)
				lo, hi = min(lo, w), max(hi, w)
			}
			assert.Less(t, lo, hi, "attempt %d: the wait must be jittered", attempt)
		}
	})
	t.Run("grows then caps", func(t *testing.T) {
		assert.Equal(t, 2*time.Second, retryMaxWait)
		for attempt, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
			800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second} {
			w := backoff(attempt, 0)
			assert.True(t, w >= d/2 && w <= d, "attempt %d: %v not in [%v, %v]", attempt, w, d/2, d)
		}
		for _, attempt := range []int{11, 63, 64, 1000, 1 << 30} {
			w := backoff(attempt, 0)
			assert.True(t, w >= time.Second && w <= 2*time.Second, "attempt %d: %v", attempt, w)
		}
	})
	t.Run("Retry-After", func(t *testing.T) {
		for _, ra := range []time.Duration{time.Nanosecond, time.Millisecond, 3 * time.Second, MaxRetryAfter} {
			assert.Equal(t, ra, backoff(0, ra))
			assert.Equal(t, ra, backoff(5, ra), "Retry-After is not scaled by the attempt")
		}
		assert.Equal(t, time.Duration(-1), backoff(0, MaxRetryAfter+1), "over the cap: give up")
		assert.Equal(t, time.Duration(-1), backoff(0, time.Hour))
	})
}

func TestCheckerErrorText(t *testing.T) {
	cases := []struct {
		err  *CheckerError
		want string
	}{
		{&CheckerError{}, "ticketing: ticket system unavailable"},
		{&CheckerError{Err: ErrCheckerAuth, Op: "lookup", StatusCode: 401, Detail: "bad token"},
			"ticketing: ticket system refused the credentials: lookup: HTTP 401: bad token"},
		{&CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 503, Cause: errors.New("secret body")},
			"ticketing: ticket system unavailable: comment: HTTP 503"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.err.Error())
	}
	assert.ErrorIs(t, &CheckerError{}, ErrCheckerUnavailable, "Err unset means unavailable")
	assert.NotErrorIs(t, &CheckerError{}, ErrCheckerAuth)
	cause := errors.New("dial")
	ce := &CheckerError{Err: ErrCheckerAuth, Cause: cause}
	assert.ErrorIs(t, ce, ErrCheckerAuth)
	assert.ErrorIs(t, ce, cause)
	assert.NotErrorIs(t, ce, ErrCheckerUnavailable)
	assert.Equal(t, "checker_auth", DenialCode(ce))
	assert.Equal(t, "checker_unavailable", DenialCode(&CheckerError{}))
}

// liveRegistry returns a Registry over a MemoryStore with c registered as
// connector "snow", and sys added to it.
func liveRegistry(t testing.TB, c Checker, sys TicketSystem, opts ...RegistryOption) (*Registry, *MemoryStore, TicketSystem) {
	t.Helper()
	store := NewMemoryStore()
	reg := NewRegistry(store, append([]RegistryOption{WithConnector("snow", c)}, opts...)...)
	added, err := reg.Add(context.Background(), sys)
	require.NoError(t, err)
	return reg, store, added
}

// liveRequest is a request to view a secret that requires a comment.
func liveRequest(ticket string) AccessRequest {
	return AccessRequest{
		User:           "alice",
		Secret:         Secret{ID: "secret-42", Name: "prod-db root", RequireComment: true},
		Action:         ActionView,
		TicketSystemID: "snow",
		Submission:     Submission{TicketNumber: ticket, Reason: liveReason},
	}
}

// liveFields is the part of an AuditRecord that the live check decides.
type liveFields struct {
	Outcome      Outcome
	DenialCode   string
	LiveCheck    LiveCheck
	FromCache    bool
	TicketStatus string
	TicketNumber string
}

func liveFieldsOf(rec AuditRecord) liveFields {
	return liveFields{rec.Outcome, rec.DenialCode, rec.LiveCheck, rec.FromCache, rec.TicketStatus, rec.TicketNumber}
}

func TestCheckAccessLiveAudit(t *testing.T) {
	closed := Ticket{Number: liveTicket, Status: "Closed", StatusCode: "7"}
	hostile := Ticket{Number: liveTicket, Status: "Closed\r\n\u202eFAKE: granted"}
	cases := []struct {
		name     string
		failOpen bool
		answer   lookupAnswer
		want     liveFields
	}{
		{"verified", false, lookupAnswer{},
			liveFields{OutcomeGranted, "", LiveCheckVerified, false, "In Progress", liveTicket}},
		{"not found", false, lookupAnswer{err: ErrTicketNotFound},
			liveFields{OutcomeDenied, "ticket_not_found", LiveCheckNone, false, "", liveTicket}},
		{"closed", false, lookupAnswer{ticket: &closed},
			liveFields{OutcomeDenied, "ticket_closed", LiveCheckNone, false, "Closed", liveTicket}},
		{"closed, hostile status escaped", false, lookupAnswer{ticket: &hostile},
			liveFields{OutcomeDenied, "ticket_closed", LiveCheckNone, false, `Closed\r\n\u{202E}FAKE: granted`, liveTicket}},
		{"unavailable, fail closed", false, lookupAnswer{err: permanentErr(500, "x")},
			liveFields{OutcomeDenied, "checker_unavailable", LiveCheckNone, false, "", liveTicket}},
		{"plain error, fail closed", false, lookupAnswer{err: errors.New("x")},
			liveFields{OutcomeDenied, "checker_unavailable", LiveCheckNone, false, "", liveTicket}},
		{"unavailable, fail open", true, lookupAnswer{err: permanentErr(503, "x")},
			liveFields{OutcomeGranted, "", LiveCheckFailedOpen, false, "", liveTicket}},
		{"auth, fail closed", false, lookupAnswer{err: authErr(401)},
			liveFields{OutcomeDenied, "checker_auth", LiveCheckNone, false, "", liveTicket}},
		{"auth never fails open", true, lookupAnswer{err: authErr(403)},
			liveFields{OutcomeDenied, "checker_auth", LiveCheckNone, false, "", liveTicket}},
		{"not found never fails open", true, lookupAnswer{err: ErrTicketNotFound},
			liveFields{OutcomeDenied, "ticket_not_found", LiveCheckNone, false, "", liveTicket}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := liveSystem()
			sys.FailOpen = tc.failOpen
			sys.LookupRetries = -1
			c := &scriptedChecker{script: []lookupAnswer{tc.answer}}
			reg, store, _ := liveRegistry(t, c, sys)
			rec, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
			assert.Empty(t, cmp.Diff(tc.want, liveFieldsOf(rec)), "(-want +got)")
			assert.Equal(t, 1, c.calls())
			if tc.want.Outcome == OutcomeGranted {
				require.NoError(t, err)
				assert.Equal(t, liveReason, rec.Reason)
				assert.NotEmpty(t, rec.URL)
			} else {
				require.Error(t, err)
				assert.Equal(t, tc.want.DenialCode, DenialCode(err))
				var ve *ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, ve.Message, rec.DenialMessage)
				assert.NotContains(t, rec.DenialMessage, liveTicket)
			}
			stored, qerr := auditByTicket(context.Background(), store, liveTicket)
			require.NoError(t, qerr)
			require.Len(t, stored, 1)
			assert.Empty(t, cmp.Diff(rec, stored[0]), "returned record differs from the stored one")
		})
	}
}

func TestCheckAccessLiveFromCache(t *testing.T) {
	c := &scriptedChecker{}
	reg, _, _ := liveRegistry(t, c, liveSystem())
	first, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
	require.NoError(t, err)
	second, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
	require.NoError(t, err)
	assert.False(t, first.FromCache)
	assert.True(t, second.FromCache)
	assert.Equal(t, LiveCheckVerified, second.LiveCheck, "a cached answer still counts as verified")
	assert.Equal(t, "In Progress", second.TicketStatus)
	assert.Equal(t, 1, c.calls())

	// A cached "not found" is recorded as coming from the cache too.
	nf := &scriptedChecker{script: []lookupAnswer{{err: ErrTicketNotFound}}}
	reg, _, _ = liveRegistry(t, nf, liveSystem())
	for i, fromCache := range []bool{false, true, true} {
		rec, err := reg.CheckAccess(context.Background(), liveRequest("INC0099999"))
		require.ErrorIs(t, err, ErrTicketNotFound)
		assert.Equal(t, "ticket_not_found", rec.DenialCode)
		assert.Equal(t, fromCache, rec.FromCache, "call %d", i)
	}
	assert.Equal(t, 1, nf.calls())
}

func TestCheckAccessLiveCancelled(t *testing.T) {
	sys := liveSystem()
	sys.FailOpen = true
	c := &scriptedChecker{entered: make(chan string, 1), gate: make(chan struct{})}
	defer close(c.gate)
	reg, _, _ := liveRegistry(t, c, sys)
	ctx, cancel := context.WithCancel(context.Background())
	type out struct {
		rec AuditRecord
		err error
	}
	done := make(chan out, 1)
	go func() {
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		done <- out{rec, err}
	}()
	<-c.entered
	cancel()
	o := <-done
	require.ErrorIs(t, o.err, context.Canceled)
	assert.Equal(t, OutcomeDenied, o.rec.Outcome, "a cancelled check is denied, not failed open")
	assert.Equal(t, "canceled", o.rec.DenialCode)
	assert.Equal(t, LiveCheckNone, o.rec.LiveCheck)
	assert.NotZero(t, o.rec.Seq, "the denial is recorded")
}

func TestRegistryTestLive(t *testing.T) {
	ctx := context.Background()

	t.Run("runs the lookup, bypasses the cache, stores nothing", func(t *testing.T) {
		c := &scriptedChecker{}
		reg, store, _ := liveRegistry(t, c, liveSystem())
		for i := 1; i <= 2; i++ {
			res, err := reg.Test(ctx, "snow", liveTicket)
			require.NoError(t, err)
			assert.Equal(t, i, c.calls(), "every Test asks the ticket system")
			want := openTicket(liveTicket)
			require.NotNil(t, res.Ticket, "Test reports what the ticket system said")
			assert.Empty(t, cmp.Diff(want, *res.Ticket))
			assert.Equal(t, LiveCheckVerified, res.LiveCheck)
			assert.False(t, res.FromCache)
			assert.Equal(t, liveTicket, res.TicketNumber)
			assert.NotEmpty(t, res.URL)
		}
		// A cached answer does not serve Test, and Test does not fill the cache.
		_, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, 3, c.calls(), "Test must not have filled the cache")
		_, err = reg.Test(ctx, "", liveTicket) // "" = the default
		require.NoError(t, err)
		assert.Equal(t, 4, c.calls(), "Test must not read the cache")
		recs, err := auditByTicket(ctx, store, liveTicket)
		require.NoError(t, err)
		assert.Len(t, recs, 1, "only the access check is recorded")
	})

	t.Run("never fails open", func(t *testing.T) {
		sys := liveSystem()
		sys.FailOpen = true
		sys.LookupRetries = -1
		c := &scriptedChecker{script: []lookupAnswer{{err: permanentErr(503, "down")}}}
		reg, _, _ := liveRegistry(t, c, sys)
		res, err := reg.Test(ctx, "snow", liveTicket)
		requireLiveError(t, err, ErrCheckerUnavailable)
		assert.Zero(t, res)
		// The same outage fails open for an access check.
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, LiveCheckFailedOpen, rec.LiveCheck)
	})

	t.Run("plain error reported as unavailable", func(t *testing.T) {
		sys := liveSystem()
		sys.FailOpen = true
		reg, _, _ := liveRegistry(t, &scriptedChecker{script: []lookupAnswer{{err: errors.New("x")}}}, sys)
		_, err := reg.Test(ctx, "snow", liveTicket)
		requireLiveError(t, err, ErrCheckerUnavailable)
	})

	t.Run("reports the status of a closed ticket", func(t *testing.T) {
		closed := Ticket{Number: liveTicket, Status: "Resolved", StatusCode: "6"}
		reg, _, _ := liveRegistry(t, &scriptedChecker{script: []lookupAnswer{{ticket: &closed}}}, liveSystem())
		res, err := reg.Test(ctx, "snow", liveTicket)
		ve := requireLiveError(t, err, ErrTicketClosed)
		assert.Contains(t, ve.Message, "Resolved")
		require.NotNil(t, res.Ticket)
		assert.Equal(t, "Resolved", res.Ticket.Status)
	})

	t.Run("not found and auth", func(t *testing.T) {
		sys := liveSystem()
		sys.FailOpen = true
		c := &scriptedChecker{script: []lookupAnswer{{err: ErrTicketNotFound}, {err: authErr(401)}}}
		reg, _, _ := liveRegistry(t, c, sys)
		_, err := reg.Test(ctx, "snow", liveTicket)
		requireLiveError(t, err, ErrTicketNotFound)
		_, err = reg.Test(ctx, "snow", liveTicket)
		requireLiveError(t, err, ErrCheckerAuth)
	})

	t.Run("retired system", func(t *testing.T) {
		c := &scriptedChecker{}
		reg, _, _ := liveRegistry(t, c, liveSystem())
		old := liveSystem()
		old.ID, old.Name = "old-snow", "Old ServiceNow"
		_, err := reg.Add(ctx, old)
		require.NoError(t, err)
		_, err = reg.Retire(ctx, "old-snow")
		require.NoError(t, err)
		res, err := reg.Test(ctx, "old-snow", liveTicket)
		require.NoError(t, err)
		require.NotNil(t, res.Ticket)
		assert.Equal(t, LiveCheckVerified, res.LiveCheck)
		assert.Equal(t, 1, c.calls())
	})

	t.Run("pattern first", func(t *testing.T) {
		c := &scriptedChecker{}
		reg, _, _ := liveRegistry(t, c, liveSystem())
		_, err := reg.Test(ctx, "snow", "INC1")
		requireLiveError(t, err, ErrTicketFormat)
		_, err = reg.Test(ctx, "snow", "INC0012345\u200b")
		requireLiveError(t, err, ErrMalformed)
		assert.Zero(t, c.calls())
	})
}

func TestRegistryLiveConfig(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		change func(*TicketSystem)
		want   error // nil: accepted
		stored []string
	}{
		{"unregistered connector", func(s *TicketSystem) { s.Connector = "jira" }, ErrInvalidSystem, nil},
		{"comments without connector", func(s *TicketSystem) { s.Connector, s.AddCommentsToTicket = "", true }, ErrInvalidSystem, nil},
		{"fail open without connector", func(s *TicketSystem) { s.Connector, s.FailOpen = "", true }, ErrInvalidSystem, nil},
		{"negative timeout", func(s *TicketSystem) { s.LookupTimeout = -time.Second }, ErrInvalidSystem, nil},
		{"statuses trimmed", func(s *TicketSystem) { s.AllowedStatuses = []string{"  In Progress ", "\u00a02\t"} }, nil, []string{"In Progress", "2"}},
		{"empty list stored as nil", func(s *TicketSystem) { s.AllowedStatuses = []string{} }, nil, nil},
		{"empty status", func(s *TicketSystem) { s.AllowedStatuses = []string{"New", ""} }, ErrInvalidSystem, nil},
		{"blank status", func(s *TicketSystem) { s.AllowedStatuses = []string{" \t "} }, ErrInvalidSystem, nil},
		{"control character", func(s *TicketSystem) { s.AllowedStatuses = []string{"New\nClosed"} }, ErrInvalidSystem, nil},
		{"format character", func(s *TicketSystem) { s.AllowedStatuses = []string{"New\u200b"} }, ErrInvalidSystem, nil},
		{"invalid UTF-8", func(s *TicketSystem) { s.AllowedStatuses = []string{"New\xff"} }, ErrInvalidSystem, nil},
		{"statuses without connector", func(s *TicketSystem) { s.Connector, s.AllowedStatuses = "", []string{"New"} }, nil, []string{"New"}},
		{"full live config", func(s *TicketSystem) {
			s.AddCommentsToTicket, s.StrictComments, s.FailOpen = true, true, true
			s.LookupTimeout, s.LookupRetries = time.Second, -1
		}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryStore()
			reg := NewRegistry(store, WithConnector("snow", &scriptedChecker{}))
			sys := liveSystem()
			tc.change(&sys)
			added, err := reg.Add(ctx, sys)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				all, lerr := reg.List(ctx, true)
				require.NoError(t, lerr)
				assert.Empty(t, all, "nothing stored")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.stored, added.AllowedStatuses)
			got, err := reg.Get(ctx, added.ID)
			require.NoError(t, err)
			assert.Equal(t, tc.stored, got.AllowedStatuses)

			// Update applies the same checks.
			bad := got
			bad.Connector = "unknown"
			_, err = reg.Update(ctx, bad)
			require.ErrorIs(t, err, ErrInvalidSystem)
			bad = got
			bad.AllowedStatuses = []string{"ok", "\x00"}
			_, err = reg.Update(ctx, bad)
			require.ErrorIs(t, err, ErrInvalidSystem)
		})
	}

	t.Run("trimmed statuses are matched", func(t *testing.T) {
		sys := liveSystem()
		sys.AllowedStatuses = []string{"  resolved  "}
		closed := Ticket{Number: liveTicket, Status: "Resolved"}
		reg, _, _ := liveRegistry(t, &scriptedChecker{script: []lookupAnswer{{ticket: &closed}}}, sys)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, LiveCheckVerified, rec.LiveCheck)
	})

	t.Run("WithChecker through WithValidatorOptions does not reach a system without Connector", func(t *testing.T) {
		stray := &scriptedChecker{}
		registered := &scriptedChecker{}
		reg := NewRegistry(NewMemoryStore(), WithValidatorOptions(WithChecker(stray)), WithConnector("snow", registered))
		plain := liveSystem()
		plain.Connector = ""
		_, err := reg.Add(ctx, plain)
		require.NoError(t, err)
		live := liveSystem()
		live.ID, live.Name = "snow-live", "ServiceNow live"
		_, err = reg.Add(ctx, live)
		require.NoError(t, err)

		v, err := reg.Validator(ctx, "snow")
		require.NoError(t, err)
		res, err := validateLive(v, liveTicket)
		require.NoError(t, err)
		assert.Equal(t, LiveCheckNone, res.LiveCheck)
		assert.Nil(t, res.Ticket)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, LiveCheckNone, rec.LiveCheck)
		res, err = reg.Test(ctx, "snow", liveTicket)
		require.NoError(t, err)
		assert.Nil(t, res.Ticket)
		assert.Zero(t, stray.calls(), "a checker given as a validator option must not apply")

		// A system with a Connector uses the registered connector.
		req := liveRequest(liveTicket)
		req.TicketSystemID = "snow-live"
		rec, err = reg.CheckAccess(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, LiveCheckVerified, rec.LiveCheck)
		assert.Equal(t, 1, registered.calls())
		assert.Zero(t, stray.calls())
	})

	t.Run("nil connector is not registered", func(t *testing.T) {
		reg := NewRegistry(NewMemoryStore(), WithConnector("snow", nil))
		_, err := reg.Add(ctx, liveSystem())
		require.ErrorIs(t, err, ErrInvalidSystem)
	})
}
