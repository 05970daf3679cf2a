package ticketing

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"
)

// Backoff between retries of a temporary failure without Retry-After:
// retryBase doubled per attempt, at most retryMaxWait, with jitter.
const (
	retryBase    = 100 * time.Millisecond
	retryMaxWait = 2 * time.Second
)

// lookupTimeout and lookupRetries read the outage policy of the system.
func (v *Validator) lookupTimeout() time.Duration {
	if v.sys.LookupTimeout > 0 {
		return v.sys.LookupTimeout
	}
	return DefaultLookupTimeout
}

func (v *Validator) lookupRetries() int {
	switch {
	case v.sys.LookupRetries < 0:
		return 0
	case v.sys.LookupRetries == 0:
		return DefaultLookupRetries
	}
	return v.sys.LookupRetries
}

// withOutagePolicy runs call under the outage policy of v's system: one deadline
// (LookupTimeout) for all attempts, and retries of temporary failures (429,
// 502, 503, 504, connection errors) after the server's Retry-After (capped
// at MaxRetryAfter) or an exponential backoff with jitter, as long as the
// wait fits before the deadline. Errors that are not a *CheckerError (and
// not ErrTicketNotFound) are wrapped as unavailable.
func withOutagePolicy[T any](ctx context.Context, v *Validator, op string, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, v.lookupTimeout())
	defer cancel()
	retries := v.lookupRetries()
	for attempt := 0; ; attempt++ {
		res, err := callBounded(ctx, op, call)
		if err == nil || errors.Is(err, ErrTicketNotFound) {
			return res, err
		}
		var zero T
		var ce *CheckerError
		if !errors.As(err, &ce) {
			return zero, &CheckerError{Err: ErrCheckerUnavailable, Op: op, Detail: "connector failed", Cause: err}
		}
		if !ce.Temporary || attempt >= retries {
			return zero, err
		}
		wait := backoff(attempt, ce.RetryAfter)
		if wait < 0 {
			return zero, err // the server asked for a longer pause than we honour
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return zero, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return zero, err
		}
	}
}

// callBounded runs one connector call so that the connector cannot hold
// the caller past ctx's deadline (a Checker that ignores its context) or
// crash the host (a panic): both become ErrCheckerUnavailable. A call that
// overruns is left to finish in the background; its answer is dropped.
func callBounded[T any](ctx context.Context, op string, call func(context.Context) (T, error)) (T, error) {
	type answer struct {
		res T
		err error
	}
	done := make(chan answer, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- answer{err: &CheckerError{Err: ErrCheckerUnavailable, Op: op, Detail: "connector panicked"}}
			}
		}()
		res, err := call(ctx)
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		if a.err != nil && ctx.Err() != nil && !errors.Is(a.err, ErrTicketNotFound) {
			// The deadline is the policy's, not the caller's: report an
			// outage that does not match context.DeadlineExceeded.
			var zero T
			return zero, &CheckerError{Err: ErrCheckerUnavailable, Op: op, Detail: "no answer in time"}
		}
		return a.res, a.err
	case <-ctx.Done():
		var zero T
		return zero, &CheckerError{Err: ErrCheckerUnavailable, Op: op, Detail: "no answer in time"}
	}
}

// backoff returns the wait before retry number attempt+1: the server's
// Retry-After when it gave one (-1 when it exceeds MaxRetryAfter), else
// retryBase·2^attempt, capped, with the upper half jittered.
func backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		if retryAfter > MaxRetryAfter {
			return -1
		}
		return retryAfter
	}
	d := retryBase << min(attempt, 10)
	if d > retryMaxWait {
		d = retryMaxWait
	}
	return d/2 + rand.N(d/2+1)
}

// lookup asks the checker about number, through the cache unless fresh is
// set. shared reports an answer that was not fetched for this call.
func (v *Validator) lookup(ctx context.Context, number string, fresh bool) (t Ticket, shared bool, err error) {
	key := cacheKey{scope: v.cacheScope, number: number}
	if !fresh {
		if t, err, ok := v.cache.cached(key); ok {
			return t, true, err
		}
	}
	fetch := func(ctx context.Context) (Ticket, error) {
		return withOutagePolicy(ctx, v, "lookup", func(ctx context.Context) (Ticket, error) {
			return v.checker.LookupTicket(ctx, number)
		})
	}
	if fresh {
		t, err = fetch(ctx)
		return t, false, err
	}
	return v.cache.lookup(ctx, key, fetch)
}

// checkLive runs the live lookup for the ticket number in res and applies
// the status rules and the outage policy. test is the admin's Test: a
// fresh lookup (no cache) that reports an outage instead of failing open.
// On ErrTicketNotFound and ErrTicketClosed the returned Result keeps the
// lookup's details (Ticket, FromCache) for the audit record.
func (v *Validator) checkLive(ctx context.Context, res Result, test bool) (Result, error) {
	t, shared, err := v.lookup(ctx, res.TicketNumber, test)
	res.FromCache = shared
	switch {
	case err == nil:
		res.Ticket = &t
		if !v.statusAllowed(t) {
			return res, &ValidationError{Field: FieldTicketNumber, Err: ErrTicketClosed,
				Message: v.label + " is not open in " + v.systemName() + " (status: " + escapeInput(t.displayStatus(), 64) + ")"}
		}
		res.LiveCheck = LiveCheckVerified
		return res, nil
	case errors.Is(err, ErrTicketNotFound):
		return res, &ValidationError{Field: FieldTicketNumber, Err: err,
			Message: v.label + " was not found in " + v.systemName()}
	case ctx.Err() != nil:
		return Result{}, ctx.Err() // the caller gave up; that is not an outage
	case errors.Is(err, ErrCheckerAuth):
		return Result{}, &ValidationError{Field: FieldTicketNumber, Err: err,
			Message: v.label + " could not be checked: " + v.systemName() + " refused our credentials; contact your administrator"}
	}
	if v.sys.FailOpen && !test {
		res.LiveCheck = LiveCheckFailedOpen
		return res, nil
	}
	if !errors.Is(err, ErrCheckerUnavailable) {
		err = &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", Detail: "connector failed", Cause: err}
	}
	return Result{}, &ValidationError{Field: FieldTicketNumber, Err: err,
		Message: v.label + " could not be checked: " + v.systemName() + " is not answering; try again later"}
}

// statusAllowed applies AllowedStatuses (case-insensitive, against the
// status label or code), or the connector's Open judgement when the list is
// empty. A Rejected ticket is never allowed.
func (v *Validator) statusAllowed(t Ticket) bool {
	if t.Rejected {
		return false
	}
	if len(v.sys.AllowedStatuses) == 0 {
		return t.Open
	}
	for _, s := range v.sys.AllowedStatuses {
		if strings.EqualFold(s, t.Status) && t.Status != "" || strings.EqualFold(s, t.StatusCode) && t.StatusCode != "" {
			return true
		}
	}
	return false
}

func (t Ticket) displayStatus() string {
	switch {
	case t.Status != "":
		return t.Status
	case t.StatusCode != "":
		return t.StatusCode
	case !t.Open:
		return "closed"
	}
	return "unknown" // open by the connector's judgement, but not in AllowedStatuses
}

// systemName names the ticket system in messages.
func (v *Validator) systemName() string {
	if n := trimSpace(v.sys.Name); n != "" {
		return n
	}
	return "The ticket system"
}
