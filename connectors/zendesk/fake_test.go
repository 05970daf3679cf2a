package zendesk_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// reply is one canned answer of the fake.
type reply struct {
	status int
	header map[string]string
	body   string
}

// seen is one request the fake received: method, the request URI exactly
// as sent (escaped path and raw query), and the body.
type seen struct {
	Method string
	URI    string
	Body   string
}

// fake is a Zendesk stand-in: it answers "METHOD URI" routes with canned
// replies, checks the Authorization header of every request, and records
// what it received. Unknown routes fail the test.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	auth   string
	mu     sync.Mutex
	routes map[string]reply
	reqs   []seen
}

func newFake(t *testing.T, auth string, routes map[string]reply) *fake {
	t.Helper()
	f := &fake{t: t, auth: auth, routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	assert.NoError(f.t, err)
	assert.Equal(f.t, f.auth, r.Header.Get("Authorization"), "Authorization header")
	assert.Equal(f.t, "application/json", r.Header.Get("Accept"))
	if len(b) > 0 {
		assert.Equal(f.t, "application/json", r.Header.Get("Content-Type"))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{Method: r.Method, URI: r.RequestURI, Body: string(b)})
	rep, ok := f.routes[r.Method+" "+r.RequestURI]
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("fake: unexpected request %s %q", r.Method, r.RequestURI)
		w.WriteHeader(http.StatusTeapot)
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// checkerError asserts that err is a *ticketing.CheckerError of kind and
// returns it.
func checkerError(t *testing.T, err error, kind error) *ticketing.CheckerError {
	t.Helper()
	require.Error(t, err)
	var ce *ticketing.CheckerError
	require.True(t, errors.As(err, &ce), "want a *CheckerError, got %T: %v", err, err)
	require.ErrorIs(t, err, kind)
	require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	return ce
}

// httpDate is an HTTP-date d from now.
func httpDate(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
