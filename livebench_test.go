package ticketing

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file holds a minimal net/http Checker and the fake ticket server
// it talks to (used by the HTTP-level tests too), and the benchmark of a
// live lookup that goes upstream against one served from the cache.

// httpChecker is the smallest useful connector: GET
// {base}/api/tickets/{number} answers a Ticket as JSON, 404 means not
// found, 401/403 refused credentials, 429/502/503/504 a temporary failure
// (with Retry-After in seconds), anything else unavailable.
type httpChecker struct {
	base   string
	client *http.Client
}

var _ Checker = (*httpChecker)(nil)

func newHTTPChecker(srv *ticketServer) *httpChecker {
	return &httpChecker{base: srv.URL, client: srv.Client()}
}

func (c *httpChecker) LookupTicket(ctx context.Context, number string) (Ticket, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/tickets/"+url.PathEscape(number), nil)
	if err != nil {
		return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", Detail: "bad request", Cause: err}
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", Temporary: true, Detail: "no connection", Cause: err}
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 1<<20)
	defer io.Copy(io.Discard, body) // keep the connection reusable
	switch code := resp.StatusCode; code {
	case http.StatusOK:
		var t Ticket
		if err := json.NewDecoder(body).Decode(&t); err != nil {
			return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: code, Detail: "malformed answer", Cause: err}
		}
		if t.Number != number {
			return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: code, Detail: "answer for another ticket"}
		}
		return t, nil
	case http.StatusNotFound:
		return Ticket{}, ErrTicketNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return Ticket{}, &CheckerError{Err: ErrCheckerAuth, Op: "lookup", StatusCode: code}
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		var ra time.Duration
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
		return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: code, RetryAfter: ra, Temporary: true}
	default:
		return Ticket{}, &CheckerError{Err: ErrCheckerUnavailable, Op: "lookup", StatusCode: code}
	}
}

// ticketServer is a fake ticket system. Numbers that start with "INC9"
// do not exist; every other number is an open incident. It counts the
// requests per number.
type ticketServer struct {
	*httptest.Server
	// hold, when set, is closed to let answers go out (requests wait for
	// it or for their own context).
	hold chan struct{}
	// statuses, when set, scripts the HTTP status of request i (the last
	// repeats); 200 and 404 get the normal answer.
	statuses []int

	mu   sync.Mutex
	hits map[string]int
	all  int
}

func newTicketServer(tb testing.TB, hold chan struct{}, statuses ...int) *ticketServer {
	tb.Helper()
	s := &ticketServer{hold: hold, statuses: statuses, hits: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/tickets/{number}", s.serve)
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

func (s *ticketServer) serve(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	s.mu.Lock()
	call := s.all
	s.all++
	s.hits[number]++
	s.mu.Unlock()
	if s.hold != nil {
		select {
		case <-s.hold:
		case <-r.Context().Done():
			return
		}
	}
	if len(s.statuses) > 0 {
		if code := s.statuses[min(call, len(s.statuses)-1)]; code != http.StatusOK {
			if code == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
	}
	if strings.HasPrefix(number, "INC9") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(openTicket(number))
}

// requests returns how many requests the server received in all.
func (s *ticketServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

// requestsFor returns the requests per ticket number.
func (s *ticketServer) requestsFor() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.hits))
	for k, v := range s.hits {
		m[k] = v
	}
	return m
}

func TestHTTPCheckerOutagePolicy(t *testing.T) {
	// The outage policy end to end, over HTTP.
	cases := []struct {
		name     string
		statuses []int
		requests int
		want     error
	}{
		{"found", []int{200}, 1, nil},
		{"503, 502, then found", []int{503, 502, 200}, 3, nil},
		{"504 three times", []int{504}, 3, ErrCheckerUnavailable},
		{"500 not retried", []int{500, 200}, 1, ErrCheckerUnavailable},
		{"401 not retried", []int{401, 200}, 1, ErrCheckerAuth},
		{"403 not retried", []int{403, 200}, 1, ErrCheckerAuth},
		{"404", []int{404}, 1, ErrTicketNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTicketServer(t, nil, tc.statuses...)
			v := liveValidator(t, liveSystem(), newHTTPChecker(srv))
			number := liveTicket
			if tc.want == ErrTicketNotFound {
				number = "INC9000001"
			}
			res, err := validateLive(v, number)
			assert.Equal(t, tc.requests, srv.requests(), "requests the server saw")
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, LiveCheckVerified, res.LiveCheck)
				require.NotNil(t, res.Ticket)
				assert.Empty(t, cmp.Diff(openTicket(number), *res.Ticket))
				return
			}
			requireLiveError(t, err, tc.want)
		})
	}
}

// BenchmarkLiveLookup compares a Validate whose live lookup goes to a
// local httptest server every time (the cache is off) with one whose
// answer comes from the cache, side by side in one run.
func BenchmarkLiveLookup(b *testing.B) {
	srv := newTicketServer(b, nil)
	sub := Submission{TicketNumber: liveTicket, Reason: liveReason}
	for _, bc := range []struct {
		name  string
		cache CacheConfig
	}{
		{"upstream", CacheConfig{PositiveTTL: -1, NegativeTTL: -1}},
		{"cached", CacheConfig{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := liveValidator(b, liveSystem(), newHTTPChecker(srv), WithCacheConfig(bc.cache))
			ctx := context.Background()
			if _, err := v.Validate(ctx, sub); err != nil { // warm the cache and the connection
				b.Fatal(err)
			}
			before := srv.requests()
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				res, err := v.Validate(ctx, sub)
				if err != nil || res.LiveCheck != LiveCheckVerified {
					b.Fatalf("Validate: %+v, %v", res, err)
				}
				n++
			}
			got := srv.requests() - before
			switch {
			case bc.name == "upstream" && got != n:
				b.Fatalf("upstream: %d requests for %d lookups", got, n)
			case bc.name == "cached" && got != 0:
				b.Fatalf("cached: %d requests for %d lookups", got, n)
			}
		})
	}
}

// BenchmarkLiveLookupStep measures the lookup step alone (Validator.lookup:
// the cache, or the outage policy and the HTTP round trip), without the
// hygiene, Pattern and status rules that BenchmarkLiveLookup includes.
func BenchmarkLiveLookupStep(b *testing.B) {
	srv := newTicketServer(b, nil)
	for _, bc := range []struct {
		name  string
		cache CacheConfig
	}{
		{"upstream", CacheConfig{PositiveTTL: -1, NegativeTTL: -1}},
		{"cached", CacheConfig{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := liveValidator(b, liveSystem(), newHTTPChecker(srv), WithCacheConfig(bc.cache))
			ctx := context.Background()
			if _, _, err := v.lookup(ctx, liveTicket, false); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				t, _, err := v.lookup(ctx, liveTicket, false)
				if err != nil || t.Number != liveTicket {
					b.Fatalf("lookup: %+v, %v", t, err)
				}
			}
		})
	}
}
