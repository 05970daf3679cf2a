package httpapi

// Tests of the shared connector HTTP client against httptest servers.
//
//	go test -race ./connectors/internal/httpapi
//	go test -run '^$' -fuzz '^FuzzRetryAfter$' -fuzztime 10s ./connectors/internal/httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// secretQuery is put in request URLs; it must never show up in an error.
const secretQuery = "secret-key-123"

// prompt bounds how long a call that must not wait may take. The waits it
// guards against (a blocking server, an endless body, DefaultTimeout) are
// far longer, so the bound catches hangs without being flaky.
const prompt = 3 * time.Second

// seen is what a test server saw of one request.
type seen struct {
	Method     string
	Path       string
	RawPath    string
	RequestURI string
	RawQuery   string
	Header     http.Header
	Body       string
}

// recorder returns a server that records each request on the returned
// channel (so the test reads it with a happens-before edge) and answers
// 200 with body "{}".
func recorder(t *testing.T) (*httptest.Server, <-chan seen) {
	t.Helper()
	ch := make(chan seen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- seen{
			Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RequestURI: r.RequestURI,
			RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b),
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func mustNew(t *testing.T, base string, hc *http.Client, authorize func(*http.Request) error) *Client {
	t.Helper()
	c, err := New(base, hc, authorize)
	require.NoError(t, err)
	require.NotNil(t, c)
	return c
}

func receive(t *testing.T, ch <-chan seen) seen {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(prompt):
		t.Fatal("the server saw no request")
		return seen{}
	}
}

// checkerError asserts that err is a *ticketing.CheckerError and returns it.
func checkerError(t *testing.T, err error) *ticketing.CheckerError {
	t.Helper()
	require.Error(t, err)
	var ce *ticketing.CheckerError
	require.ErrorAs(t, err, &ce)
	return ce
}

// errorChain returns err and every error reachable through Unwrap.
func errorChain(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		out = append(out, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// assertNoLeak asserts that no error in err's chain mentions any of the
// secrets.
func assertNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, e := range errorChain(err) {
		for _, s := range secrets {
			assert.NotContains(t, e.Error(), s, "error %T in the chain leaks %q", e, s)
		}
	}
}

func funcPointer(f any) uintptr { return reflect.ValueOf(f).Pointer() }

// ---------------------------------------------------------------- New

func TestNewRejects(t *testing.T) {
	const password = "s3cr3t-pw"
	for _, base := range []string{
		"",
		"   ",
		"ftp://example.com/api",
		"file:///etc/passwd",
		"mailto:ops@example.com",
		"javascript:alert(1)",
		"example.com/api",      // relative: no scheme
		"/api/now",             // relative
		"//example.com/api",    // scheme-relative
		"http://",              // no host
		"http:///api",          // no host
		"https://:443/api",     // a port but no host name
		"http:example.com/api", // opaque
		"http://exa mple.com/", // does not parse
		"https://[::1/api",     // does not parse
		"https://user:" + password + "@example.com/api",
		"https://:" + password + "@example.com/api",
		"https://user@example.com/api",
		"https://@example.com/api",
		"https://user:" + password + "@[::1/api", // does not parse, holds a password
		"https://user:" + password + "@exa mple.com/",
	} {
		t.Run(base, func(t *testing.T) {
			c, err := New(base, nil, nil)
			require.Error(t, err)
			assert.Nil(t, c)
			assertNoLeak(t, err, password)
		})
	}
}

func TestNewBase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://example.com", "https://example.com"},
		{"https://example.com/", "https://example.com"},
		{"https://example.com/api/?key=" + secretQuery + "#frag", "https://example.com/api"},
		{"https://example.com/api?", "https://example.com/api"},
		{"https://example.com/api#", "https://example.com/api"},
		{"  http://example.com:8080/a/b//  ", "http://example.com:8080/a/b"},
		{"HTTPS://example.com/x/", "https://example.com/x"},
		{"http://[::1]:8080/rest/", "http://[::1]:8080/rest"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c := mustNew(t, tc.in, nil, nil)
			got := c.Base()
			assert.Equal(t, tc.want, got.String())
			assert.Empty(t, got.RawQuery)
			assert.Empty(t, got.Fragment)
			assert.Nil(t, got.User)
		})
	}
}

func TestBaseReturnsACopy(t *testing.T) {
	c := mustNew(t, "https://example.com/api", nil, nil)
	u := c.Base()
	u.Host, u.Path, u.RawQuery = "evil.example", "/other", "x=1"
	assert.Equal(t, "https://example.com/api", c.Base().String())
}

func TestNewDefaultClient(t *testing.T) {
	c := mustNew(t, "https://example.com", nil, nil)
	assert.Equal(t, DefaultTimeout, c.http.Timeout)
	assert.NotNil(t, c.http.CheckRedirect, "the redirect guard must be installed")
}

func TestNewDoesNotModifyCallersClient(t *testing.T) {
	t.Run("own CheckRedirect", func(t *testing.T) {
		own := func(*http.Request, []*http.Request) error { return nil }
		tr := &http.Transport{}
		jar := &cookieJarStub{}
		hc := &http.Client{Timeout: 7 * time.Second, Transport: tr, CheckRedirect: own, Jar: jar}
		before := funcPointer(hc.CheckRedirect)

		c := mustNew(t, "https://example.com", hc, nil)

		require.NotNil(t, hc.CheckRedirect)
		assert.Equal(t, before, funcPointer(hc.CheckRedirect), "the caller's CheckRedirect was replaced")
		assert.Equal(t, 7*time.Second, hc.Timeout)
		assert.Same(t, tr, hc.Transport)
		assert.NotSame(t, hc, c.http, "the client must be a copy")
		// The copy keeps the caller's settings.
		assert.Equal(t, 7*time.Second, c.http.Timeout)
		assert.Same(t, tr, c.http.Transport)
		assert.Equal(t, http.CookieJar(jar), c.http.Jar)
		assert.NotEqual(t, before, funcPointer(c.http.CheckRedirect), "the copy must guard redirects")
	})
	t.Run("no CheckRedirect", func(t *testing.T) {
		hc := &http.Client{}
		c := mustNew(t, "https://example.com", hc, nil)
		assert.Nil(t, hc.CheckRedirect, "New set CheckRedirect on the caller's client")
		assert.Zero(t, hc.Timeout)
		assert.Zero(t, c.http.Timeout, "a given client's timeout is kept, even when zero")
		assert.NotNil(t, c.http.CheckRedirect)
	})
}

type cookieJarStub struct{}

func (*cookieJarStub) SetCookies(*url.URL, []*http.Cookie) {}
func (*cookieJarStub) Cookies(*url.URL) []*http.Cookie     { return nil }

// ---------------------------------------------------------------- Do

func TestDoPathAndQuery(t *testing.T) {
	srv, ch := recorder(t)
	odd := "a/b?c#d%"
	for _, tc := range []struct {
		name           string
		base           string // appended to srv.URL
		req            Request
		wantPath       string // r.URL.Path
		wantRequestURI string
		wantRawQuery   string
	}{
		{
			name: "base path plus request path", base: "/api/now",
			req:      Request{Path: "/table/incident"},
			wantPath: "/api/now/table/incident", wantRequestURI: "/api/now/table/incident",
		},
		{
			name: "trailing slash and stale query of the base dropped", base: "/api/?stale=1#frag",
			req:      Request{Path: "/x"},
			wantPath: "/api/x", wantRequestURI: "/api/x",
		},
		{
			name: "empty query of the base dropped", base: "/api?",
			req:      Request{Path: "/x"},
			wantPath: "/api/x", wantRequestURI: "/api/x",
		},
		{
			name: "no base path", base: "",
			req:      Request{Path: "/x"},
			wantPath: "/x", wantRequestURI: "/x",
		},
		{
			name: "no request path", base: "/api/",
			req:      Request{},
			wantPath: "/api", wantRequestURI: "/api",
		},
		{
			name: "escaped segment stays escaped", base: "/api",
			req:            Request{Path: "/tickets/" + url.PathEscape(odd) + "/notes"},
			wantPath:       "/api/tickets/" + odd + "/notes",
			wantRequestURI: "/api/tickets/a%2Fb%3Fc%23d%25/notes",
		},
		{
			name: "escaped segment in the base path stays escaped", base: "/projects/group%2Fproject/",
			req:            Request{Path: "/issues"},
			wantPath:       "/projects/group/project/issues",
			wantRequestURI: "/projects/group%2Fproject/issues",
		},
		{
			name: "space in the base path", base: "/my%20api",
			req:      Request{Path: "/x"},
			wantPath: "/my api/x", wantRequestURI: "/my%20api/x",
		},
		{
			name: "raw query sent as it is", base: "/api",
			req:            Request{Path: "/search", RawQuery: "z=1&a=%20x+y"},
			wantPath:       "/api/search",
			wantRequestURI: "/api/search?z=1&a=%20x+y",
			wantRawQuery:   "z=1&a=%20x+y",
		},
		{
			name: "Query wins over RawQuery", base: "/api",
			req:            Request{Path: "/search", Query: url.Values{"b": {"2"}}, RawQuery: "a=1"},
			wantPath:       "/api/search",
			wantRequestURI: "/api/search?b=2",
			wantRawQuery:   "b=2",
		},
		{
			name: "query encoded", base: "/api",
			req: Request{Path: "/search", Query: url.Values{
				"q":   {"a b&c=d#e"},
				"n":   {"1", "2"},
				"key": {secretQuery},
				"odd": {odd},
			}},
			wantPath: "/api/search", wantRequestURI: "/api/search?key=secret-key-123&n=1&n=2&odd=a%2Fb%3Fc%23d%25&q=a+b%26c%3Dd%23e",
			wantRawQuery: "key=secret-key-123&n=1&n=2&odd=a%2Fb%3Fc%23d%25&q=a+b%26c%3Dd%23e",
		},
		{
			name: "empty query adds no question mark", base: "/api",
			req:      Request{Path: "/x", Query: url.Values{}},
			wantPath: "/api/x", wantRequestURI: "/api/x",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, srv.URL+tc.base, nil, nil)
			resp, err := c.Do(t.Context(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "{}", string(resp.Body))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			s := receive(t, ch)
			assert.Equal(t, tc.wantPath, s.Path)
			assert.Equal(t, tc.wantRequestURI, s.RequestURI)
			assert.Equal(t, tc.wantRawQuery, s.RawQuery)
			if wantRaw, _, _ := strings.Cut(tc.wantRequestURI, "?"); strings.Contains(wantRaw, "%2F") {
				assert.Equal(t, wantRaw, s.RawPath)
			}
			if tc.req.Query != nil {
				got, err := url.ParseQuery(s.RawQuery)
				require.NoError(t, err)
				if len(tc.req.Query) == 0 {
					assert.Empty(t, got)
				} else {
					assert.Empty(t, cmp.Diff(tc.req.Query, got))
				}
			}
		})
	}
}

func TestDoMethodBodyAndHeaders(t *testing.T) {
	srv, ch := recorder(t)
	type payload struct {
		Number string `json:"number"`
		Note   string `json:"note"`
	}
	for _, tc := range []struct {
		name        string
		req         Request
		wantMethod  string
		wantBody    string
		wantHeaders map[string][]string // nil value: header must be absent
	}{
		{
			name: "default method is GET, no body", req: Request{Path: "/x"},
			wantMethod: http.MethodGet, wantBody: "",
			wantHeaders: map[string][]string{
				"Accept": {"application/json"}, "User-Agent": {"ticketgate-ticketing"}, "Content-Type": nil,
			},
		},
		{
			name: "JSON body", req: Request{Method: http.MethodPost, Path: "/x", JSON: payload{Number: "INC1", Note: "a<b>&\"c\""}},
			wantMethod: http.MethodPost, wantBody: `{"number":"INC1","note":"a\u003cb\u003e\u0026\"c\""}`,
			wantHeaders: map[string][]string{
				"Content-Type": {"application/json"}, "Accept": {"application/json"}, "User-Agent": {"ticketgate-ticketing"},
			},
		},
		{
			name: "JSON wins over Form", req: Request{Method: http.MethodPut, Path: "/x", JSON: map[string]int{"a": 1}, Form: url.Values{"b": {"2"}}},
			wantMethod: http.MethodPut, wantBody: `{"a":1}`,
			wantHeaders: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name: "form body", req: Request{Method: http.MethodPost, Path: "/x", Form: url.Values{"b": {"x y&z"}, "a": {"1"}}},
			wantMethod: http.MethodPost, wantBody: "a=1&b=x+y%26z",
			wantHeaders: map[string][]string{
				"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"},
			},
		},
		{
			name: "PATCH", req: Request{Method: http.MethodPatch, Path: "/x", JSON: []string{"a"}},
			wantMethod: http.MethodPatch, wantBody: `["a"]`,
			wantHeaders: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name: "DELETE", req: Request{Method: http.MethodDelete, Path: "/x"},
			wantMethod: http.MethodDelete, wantBody: "",
			wantHeaders: map[string][]string{"Content-Type": nil},
		},
		{
			name: "custom headers override the defaults",
			req: Request{Method: http.MethodPost, Path: "/x", JSON: map[string]int{"a": 1}, Header: http.Header{
				"Accept":       {"text/plain"},
				"User-Agent":   {"custom-agent/1"},
				"Content-Type": {"application/vnd.api+json"},
				"X-Extra":      {"1", "2"},
			}},
			wantMethod: http.MethodPost, wantBody: `{"a":1}`,
			wantHeaders: map[string][]string{
				"Accept": {"text/plain"}, "User-Agent": {"custom-agent/1"},
				"Content-Type": {"application/vnd.api+json"}, "X-Extra": {"1", "2"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t, srv.URL, nil, nil)
			resp, err := c.Do(t.Context(), tc.req)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			s := receive(t, ch)
			assert.Equal(t, tc.wantMethod, s.Method)
			assert.Equal(t, tc.wantBody, s.Body)
			for k, want := range tc.wantHeaders {
				if want == nil {
					assert.NotContains(t, s.Header, k)
					continue
				}
				assert.Equal(t, want, s.Header.Values(k), "header %s", k)
			}
		})
	}
}

func TestDoDoesNotAliasRequestHeader(t *testing.T) {
	srv, ch := recorder(t)
	c := mustNew(t, srv.URL, nil, func(r *http.Request) error {
		r.Header["X-Extra"][0] = "overwritten"
		r.Header.Add("X-Extra", "from-authorize")
		return nil
	})
	h := http.Header{"X-Extra": {"1", "2"}}
	_, err := c.Do(t.Context(), Request{Header: h})
	require.NoError(t, err)
	assert.Equal(t, []string{"overwritten", "2", "from-authorize"}, receive(t, ch).Header.Values("X-Extra"))
	assert.Equal(t, http.Header{"X-Extra": {"1", "2"}}, h, "Do changed the caller's Request.Header")
}

func TestDoAuthorize(t *testing.T) {
	srv, ch := recorder(t)
	var calls atomic.Int32
	c := mustNew(t, srv.URL+"/api", nil, func(r *http.Request) error {
		n := calls.Add(1)
		// The authorize func sees the finished request.
		if r.URL.Path != "/api/x" || r.Header.Get("Accept") != "application/json" {
			return fmt.Errorf("unexpected request %s %v", r.URL, r.Header)
		}
		r.Header.Set("Authorization", "Bearer token-"+strconv.Itoa(int(n)))
		return nil
	})
	for i := 1; i <= 3; i++ {
		_, err := c.Do(t.Context(), Request{Path: "/x"})
		require.NoError(t, err)
		assert.Equal(t, "Bearer token-"+strconv.Itoa(i), receive(t, ch).Header.Get("Authorization"))
	}
	assert.EqualValues(t, 3, calls.Load(), "authorize must run once per request")
}

func TestDoAuthorizeErrorReturnedAsIs(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	sentinel := errors.New("token refresh failed")
	c := mustNew(t, srv.URL, nil, func(*http.Request) error { return sentinel })
	resp, err := c.Do(t.Context(), Request{Op: "lookup", Path: "/x"})
	assert.Nil(t, resp)
	require.Error(t, err)
	assert.True(t, err == sentinel, "want the authorize error itself, got %T %v", err, err) //nolint:errorlint // identity is the point
	assert.Zero(t, hits.Load(), "the request was sent although authorize failed")
}

func TestAuthorizeHelpers(t *testing.T) {
	srv, ch := recorder(t)
	t.Run("Basic", func(t *testing.T) {
		c := mustNew(t, srv.URL, nil, Basic("svc-user", "pa:ss wörd"))
		_, err := c.Do(t.Context(), Request{})
		require.NoError(t, err)
		r := &http.Request{Header: receive(t, ch).Header}
		user, pass, ok := r.BasicAuth()
		require.True(t, ok)
		assert.Equal(t, "svc-user", user)
		assert.Equal(t, "pa:ss wörd", pass)
	})
	t.Run("Header", func(t *testing.T) {
		c := mustNew(t, srv.URL, nil, Header("Authorization", "Bearer abc"))
		_, err := c.Do(t.Context(), Request{Header: http.Header{"Authorization": {"Bearer overridden"}}})
		require.NoError(t, err)
		assert.Equal(t, []string{"Bearer abc"}, receive(t, ch).Header.Values("Authorization"))
	})
}

func TestDoRequestBuildErrors(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := mustNew(t, srv.URL, nil, nil)
	for _, tc := range []struct {
		name       string
		req        Request
		wantDetail string
	}{
		{"bad escape in the path", Request{Op: "lookup", Path: "/x%zz"}, "bad request path"},
		{"JSON that cannot be encoded", Request{Op: "comment", Method: http.MethodPost, JSON: map[string]any{"c": make(chan int)}}, "cannot encode the request"},
		{"invalid method", Request{Op: "lookup", Method: "BAD METHOD"}, "cannot build the request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Do(t.Context(), tc.req)
			assert.Nil(t, resp)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Equal(t, tc.req.Op, ce.Op)
			assert.Equal(t, tc.wantDetail, ce.Detail)
			assert.False(t, ce.Temporary)
			assert.Zero(t, ce.StatusCode)
		})
	}
	assert.Zero(t, hits.Load(), "a request that could not be built was sent")
}

func TestDoReturnsEveryStatus(t *testing.T) {
	for _, code := range []int{200, 201, 204, 304, 400, 401, 403, 404, 429, 500, 503} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(code)
				_, _ = io.WriteString(w, "body")
			}))
			defer srv.Close()
			resp, err := mustNew(t, srv.URL, nil, nil).Do(t.Context(), Request{})
			require.NoError(t, err)
			assert.Equal(t, code, resp.StatusCode)
			assert.Equal(t, "3", resp.Header.Get("Retry-After"))
			if code != 204 && code != 304 {
				assert.Equal(t, "body", string(resp.Body))
			}
		})
	}
}

func TestDoConcurrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Query().Get("i"))
	}))
	defer srv.Close()
	var calls atomic.Int32
	c := mustNew(t, srv.URL, nil, func(*http.Request) error { calls.Add(1); return nil })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			resp, err := c.Do(t.Context(), Request{Query: url.Values{"i": {strconv.Itoa(i)}}})
			if assert.NoError(t, err) {
				assert.Equal(t, strconv.Itoa(i), string(resp.Body))
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 20, calls.Load())
}

// ---------------------------------------------------------------- body cap

func TestDoBodyCap(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		ok   bool
	}{
		{"empty", 0, true},
		{"exactly MaxBodyBytes", MaxBodyBytes, true},
		{"MaxBodyBytes+1", MaxBodyBytes + 1, false},
		{"far larger", 4 * MaxBodyBytes, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("x"), tc.size)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusCreated)
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			resp, err := mustNew(t, srv.URL, nil, nil).Do(t.Context(), Request{Op: "lookup"})
			if tc.ok {
				require.NoError(t, err)
				assert.Len(t, resp.Body, tc.size)
				return
			}
			assert.Nil(t, resp)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerAuth)
			assert.Equal(t, "lookup", ce.Op)
			assert.Equal(t, http.StatusCreated, ce.StatusCode)
			assert.False(t, ce.Temporary)
			assert.Contains(t, ce.Detail, strconv.Itoa(MaxBodyBytes))
			assert.NotContains(t, err.Error(), "xxxx", "the body must stay out of the error")
		})
	}
}

// countingTransport counts the response body bytes the client reads.
type countingTransport struct {
	next http.RoundTripper
	read atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if resp != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestDoEndlessBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("y"), 32<<10)
		// Endless for the client; the server gives up at 256 MiB so a
		// client that never stops reading fails the test instead of hanging.
		for range 8192 {
			if r.Context().Err() != nil {
				return
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ct := &countingTransport{next: srv.Client().Transport}
	c := mustNew(t, srv.URL, &http.Client{Transport: ct}, nil)

	start := time.Now()
	resp, err := c.Do(t.Context(), Request{Op: "lookup"})
	elapsed := time.Since(start)

	assert.Nil(t, resp)
	ce := checkerError(t, err)
	assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, ce.Detail, strconv.Itoa(MaxBodyBytes))
	assert.Less(t, elapsed, prompt)
	assert.LessOrEqual(t, ct.read.Load(), int64(MaxBodyBytes+1), "the client read more than the cap")
}

// ---------------------------------------------------------------- redirects

func TestRedirectSameHostFollowed(t *testing.T) {
	var mux http.ServeMux
	mux.HandleFunc("/api/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/api/new?"+r.URL.RawQuery, http.StatusMovedPermanently)
	})
	mux.HandleFunc("/api/new", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "moved:"+r.URL.RawQuery)
	})
	same := httptest.NewServer(&mux)
	defer same.Close()

	var consulted atomic.Int32
	hc := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		consulted.Add(1)
		if req.URL.Path != "/api/new" || len(via) != 1 {
			return fmt.Errorf("unexpected redirect to %s after %d", req.URL.Path, len(via))
		}
		return nil
	}}
	c := mustNew(t, same.URL+"/api", hc, nil)
	resp, err := c.Do(t.Context(), Request{Path: "/old", Query: url.Values{"n": {"1"}}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "moved:n=1", string(resp.Body))
	assert.EqualValues(t, 1, consulted.Load(), "the caller's CheckRedirect was not consulted")
}

func TestRedirectCallersCheckRedirectCanStop(t *testing.T) {
	var finalHits atomic.Int32
	var mux http.ServeMux
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new", http.StatusFound)
	})
	mux.HandleFunc("/new", func(http.ResponseWriter, *http.Request) { finalHits.Add(1) })
	srv := httptest.NewServer(&mux)
	defer srv.Close()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := mustNew(t, srv.URL, hc, nil).Do(t.Context(), Request{Path: "/old"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "/new", resp.Header.Get("Location"))
	assert.Zero(t, finalHits.Load())
}

func TestRedirectOffHostRefused(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		otherHits.Add(1)
		_, _ = io.WriteString(w, "stolen")
	}))
	defer other.Close()
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { otherHits.Add(1) }))
	defer otherTLS.Close()

	for _, target := range []struct{ name, url string }{
		{"other port", other.URL + "/x?key=" + secretQuery},
		{"other host name", strings.Replace(other.URL, "127.0.0.1", "localhost", 1) + "/x?key=" + secretQuery},
		{"other host over https", otherTLS.URL + "/x?key=" + secretQuery},
	} {
		t.Run(target.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.url, http.StatusTemporaryRedirect)
			}))
			defer srv.Close()
			var consulted atomic.Int32
			hc := &http.Client{
				Transport:     otherTLS.Client().Transport, // trusts the TLS server: only the guard may stop the redirect
				CheckRedirect: func(*http.Request, []*http.Request) error { consulted.Add(1); return nil },
			}
			c := mustNew(t, srv.URL, hc, nil)
			resp, err := c.Do(t.Context(), Request{Op: "lookup", Method: http.MethodPost, JSON: map[string]string{"a": "b"},
				Query: url.Values{"key": {secretQuery}}})
			assert.Nil(t, resp)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.ErrorIs(t, err, errRedirectOffHost)
			assert.Equal(t, "lookup", ce.Op)
			assert.False(t, ce.Temporary)
			assert.Contains(t, ce.Detail, "another host")
			assert.Zero(t, consulted.Load(), "the caller's CheckRedirect must not override the guard")
			assertNoLeak(t, err, secretQuery, "127.0.0.1", "localhost")
		})
	}
	assert.Zero(t, otherHits.Load(), "the other host was contacted")
}

func TestRedirectSchemeChangeRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "https://"+r.Host+"/secure", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := mustNew(t, srv.URL, nil, nil).Do(t.Context(), Request{Op: "lookup"})
	assert.Nil(t, resp)
	checkerError(t, err)
	assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.ErrorIs(t, err, errRedirectOffHost)
	assert.EqualValues(t, 1, hits.Load(), "the https redirect was followed")
}

func TestRedirectLimit(t *testing.T) {
	// /hop/N redirects to /hop/N-1; /hop/0 answers. N is the number of
	// redirects. "More than 5 redirects" are refused.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n == 0 {
			_, _ = io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusFound)
	}))
	defer srv.Close()
	c := mustNew(t, srv.URL, nil, nil)
	for _, tc := range []struct {
		redirects int
		ok        bool
	}{
		{0, true}, {1, true}, {4, true}, {5, true}, {6, false}, {20, false},
	} {
		t.Run(strconv.Itoa(tc.redirects), func(t *testing.T) {
			hits.Store(0)
			resp, err := c.Do(t.Context(), Request{Op: "lookup", Path: "/hop/" + strconv.Itoa(tc.redirects)})
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, "done", string(resp.Body))
				assert.EqualValues(t, tc.redirects+1, hits.Load())
				return
			}
			assert.Nil(t, resp)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.ErrorIs(t, err, errTooManyRedirects)
			assert.Equal(t, "too many redirects", ce.Detail)
			assert.False(t, ce.Temporary)
			assert.LessOrEqual(t, hits.Load(), int32(6), "the client went on past the limit")
		})
	}
}

// ---------------------------------------------------------------- transport errors

func TestTransportConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/api"
	srv.Close()
	c := mustNew(t, base, nil, nil)
	start := time.Now()
	resp, err := c.Do(t.Context(), Request{Op: "lookup", Path: "/x", Query: url.Values{"key": {secretQuery}}})
	assert.Less(t, time.Since(start), prompt)
	assert.Nil(t, resp)
	ce := checkerError(t, err)
	assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.True(t, ce.Temporary)
	assert.Equal(t, "connection failed", ce.Detail)
	assert.Equal(t, "lookup", ce.Op)
	assert.Zero(t, ce.StatusCode)
	assert.NotNil(t, ce.Cause)
	var ue *url.Error
	assert.False(t, errors.As(err, &ue), "a *url.Error (whose text holds the URL) is kept in the chain")
	assertNoLeak(t, err, secretQuery)
}

func TestTransportNoAnswerInTime(t *testing.T) {
	// blocking answers nothing until the request is abandoned.
	blocking := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	// stalling sends the status line and part of the body, then stalls.
	stalling := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		// call runs Do with a context that ends, or a client with a timeout.
		client  *http.Client
		ctx     func(t *testing.T) context.Context
		wantCtx error // errors.Is target; nil when the context is not the cause
	}{
		{
			name: "context deadline before the headers", handler: blocking,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantCtx: context.DeadlineExceeded,
		},
		{
			name: "context deadline while reading the body", handler: stalling,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantCtx: context.DeadlineExceeded,
		},
		{
			name: "context cancelled before the headers", handler: blocking,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(100*time.Millisecond, cancel)
				t.Cleanup(cancel)
				return ctx
			},
			wantCtx: context.Canceled,
		},
		{
			name: "context cancelled while reading the body", handler: stalling,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(100*time.Millisecond, cancel)
				t.Cleanup(cancel)
				return ctx
			},
			wantCtx: context.Canceled,
		},
		{
			name: "client timeout before the headers", handler: blocking,
			client: &http.Client{Timeout: 100 * time.Millisecond},
		},
		{
			name: "client timeout while reading the body", handler: stalling,
			client: &http.Client{Timeout: 100 * time.Millisecond},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			c := mustNew(t, srv.URL+"/api", tc.client, nil)
			start := time.Now()
			resp, err := c.Do(ctx, Request{Op: "lookup", Path: "/x", Query: url.Values{"key": {secretQuery}}})
			elapsed := time.Since(start)
			assert.Less(t, elapsed, prompt)
			assert.Nil(t, resp)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.False(t, ce.Temporary)
			assert.Equal(t, "no answer in time", ce.Detail)
			assert.Equal(t, "lookup", ce.Op)
			if tc.wantCtx != nil {
				assert.ErrorIs(t, err, tc.wantCtx)
			}
			assertNoLeak(t, err, secretQuery)
		})
	}
}

func TestTransportTruncatedBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "only part")
		// Returning short of Content-Length makes the server drop the connection.
	}))
	defer srv.Close()
	resp, err := mustNew(t, srv.URL, nil, nil).Do(t.Context(), Request{Op: "lookup", Query: url.Values{"key": {secretQuery}}})
	assert.Nil(t, resp)
	ce := checkerError(t, err)
	assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.True(t, ce.Temporary)
	assert.Equal(t, "connection failed", ce.Detail)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assertNoLeak(t, err, secretQuery)
}

// ---------------------------------------------------------------- StatusError

func TestStatusError(t *testing.T) {
	for _, tc := range []struct {
		code       int
		retryAfter string
		wantNil    bool
		wantKind   error
		wantTemp   bool
		wantRetry  time.Duration
		wantDetail string
	}{
		{code: 200, wantNil: true},
		{code: 201, wantNil: true},
		{code: 204, wantNil: true},
		{code: 299, wantNil: true},
		{code: 401, retryAfter: "7", wantKind: ticketing.ErrCheckerAuth, wantDetail: "Unauthorized"},
		{code: 403, wantKind: ticketing.ErrCheckerAuth, wantDetail: "Forbidden"},
		{code: 429, retryAfter: "7", wantKind: ticketing.ErrCheckerUnavailable, wantTemp: true, wantRetry: 7 * time.Second, wantDetail: "Too Many Requests"},
		{code: 502, retryAfter: "1", wantKind: ticketing.ErrCheckerUnavailable, wantTemp: true, wantRetry: time.Second, wantDetail: "Bad Gateway"},
		{code: 503, retryAfter: "120", wantKind: ticketing.ErrCheckerUnavailable, wantTemp: true, wantRetry: 2 * time.Minute, wantDetail: "Service Unavailable"},
		{code: 503, wantKind: ticketing.ErrCheckerUnavailable, wantTemp: true, wantDetail: "Service Unavailable"},
		{code: 504, retryAfter: "bogus", wantKind: ticketing.ErrCheckerUnavailable, wantTemp: true, wantDetail: "Gateway Timeout"},
		{code: 500, retryAfter: "7", wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "Internal Server Error"},
		{code: 400, wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "Bad Request"},
		{code: 404, wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "Not Found"},
		{code: 302, wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "Found"},
		{code: 100, wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "Continue"},
		{code: 599, wantKind: ticketing.ErrCheckerUnavailable, wantDetail: "unexpected status"},
	} {
		t.Run(strconv.Itoa(tc.code)+"/"+tc.retryAfter, func(t *testing.T) {
			h := http.Header{}
			if tc.retryAfter != "" {
				h.Set("Retry-After", tc.retryAfter)
			}
			resp := &Response{StatusCode: tc.code, Header: h, Body: []byte(`{"error":"body-secret"}`)}
			err := StatusError("comment", resp)
			if tc.wantNil {
				assert.NoError(t, err)
				return
			}
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, tc.wantKind)
			for _, other := range []error{ticketing.ErrCheckerAuth, ticketing.ErrCheckerUnavailable} {
				if other != tc.wantKind {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.Equal(t, tc.code, ce.StatusCode)
			assert.Equal(t, "comment", ce.Op)
			assert.Equal(t, tc.wantTemp, ce.Temporary)
			assert.Equal(t, tc.wantRetry, ce.RetryAfter)
			assert.Equal(t, tc.wantDetail, ce.Detail)
			assert.Contains(t, err.Error(), "HTTP "+strconv.Itoa(tc.code))
			assert.NotContains(t, err.Error(), "body-secret")
		})
	}
}

func TestStatusErrorRetryAfterDate(t *testing.T) {
	h := http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}
	ce := checkerError(t, StatusError("lookup", &Response{StatusCode: 503, Header: h}))
	assert.Greater(t, ce.RetryAfter, 58*time.Minute)
	assert.LessOrEqual(t, ce.RetryAfter, time.Hour)
}

// ---------------------------------------------------------------- RetryAfter

// retryNow is the fixed clock of the RetryAfter tests.
var retryNow = time.Date(2025, 3, 14, 16, 9, 26, 0, time.UTC)

func TestRetryAfter(t *testing.T) {
	date := func(d time.Duration, layout string) string { return retryNow.Add(d).Format(layout) }
	const rfc850GMT = "Monday, 02-Jan-06 15:04:05 GMT"
	for _, tc := range []struct {
		name string
		in   string
		want time.Duration
	}{
		{"empty", "", 0},
		{"blank", " \t ", 0},
		{"seconds", "120", 2 * time.Minute},
		{"seconds with spaces", "  30 ", 30 * time.Second},
		{"one second", "1", time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"negative zero", "-0", 0},
		{"exactly 24 h", "86400", 24 * time.Hour},
		{"just over 24 h", "86401", 24 * time.Hour},
		{"huge", "31536000000", 24 * time.Hour},
		{"max int64", "9223372036854775807", 24 * time.Hour},
		{"beyond int64", "99999999999999999999999999", 24 * time.Hour},
		{"fraction", "1.5", 0},
		{"unit", "5s", 0},
		{"hex", "0x10", 0},
		{"garbage", "soon", 0},
		{"date in the future (IMF-fixdate)", date(90*time.Second, http.TimeFormat), 90 * time.Second},
		{"date in the future (RFC 850)", date(time.Hour, rfc850GMT), time.Hour},
		{"date in the future (asctime)", date(10*time.Minute, time.ANSIC), 10 * time.Minute},
		{"date now", date(0, http.TimeFormat), 0},
		{"date in the past", date(-time.Hour, http.TimeFormat), 0},
		{"date long ago", "Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"date 25 h ahead", date(25*time.Hour, http.TimeFormat), 24 * time.Hour},
		{"date far in the future", "Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour},
		{"date with a zone other than GMT", retryNow.Add(time.Hour).Format("Mon, 02 Jan 2006 15:04:05 MST"), 0}, // "UTC"
		{"date garbage", "Fri, 32 Foo 2025 99:99:99 GMT", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, RetryAfter(tc.in, retryNow), "RetryAfter(%q)", tc.in)
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{
		"", " ", "0", "1", "120", "-1", "-0", "+5", "86400", "86401",
		"9223372036854775807", "-9223372036854775808", "99999999999999999999",
		"1.5", "soon", "0x10", " 7 ",
		retryNow.Add(time.Hour).Format(http.TimeFormat),
		retryNow.Add(-time.Hour).Format(http.TimeFormat),
		retryNow.Add(time.Minute).Format(time.ANSIC),
		retryNow.Add(time.Minute).Format(time.RFC850),
		"Fri, 31 Dec 9999 23:59:59 GMT",
		"Thu, 01 Jan 1970 00:00:00 GMT",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := RetryAfter(v, retryNow)
		if d < 0 || d > 24*time.Hour {
			t.Fatalf("RetryAfter(%q) = %v, want within [0, 24h]", v, d)
		}
		// Plain delay-seconds within the cap are taken exactly.
		if s := strings.TrimSpace(v); s != "" && strings.Trim(s, "0123456789") == "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n <= 86400 && d != time.Duration(n)*time.Second {
				t.Fatalf("RetryAfter(%q) = %v, want %ds", v, d, n)
			}
		}
	})
}

// ---------------------------------------------------------------- DecodeJSON, Malformed, NotFound

func TestDecodeJSON(t *testing.T) {
	type rec struct {
		Number string `json:"number"`
		Count  int    `json:"count"`
	}
	t.Run("valid", func(t *testing.T) {
		var got rec
		require.NoError(t, DecodeJSON("lookup", &Response{StatusCode: 200, Body: []byte(`{"number":"INC1","count":2,"extra":true}`)}, &got))
		assert.Equal(t, rec{Number: "INC1", Count: 2}, got)
	})
	for _, body := range []string{"", "{", "<html>body-secret</html>", `{"count":"body-secret"}`, `[1,2]`} {
		t.Run("malformed "+body, func(t *testing.T) {
			var got rec
			err := DecodeJSON("lookup", &Response{StatusCode: 203, Body: []byte(body)}, &got)
			ce := checkerError(t, err)
			assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Equal(t, "lookup", ce.Op)
			assert.Equal(t, 203, ce.StatusCode)
			assert.Equal(t, "malformed JSON response", ce.Detail)
			assert.False(t, ce.Temporary)
			assertNoLeak(t, err, "body-secret")
		})
	}
}

func TestMalformed(t *testing.T) {
	err := Malformed("comment", 200, "no result field")
	ce := checkerError(t, err)
	assert.Equal(t, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: 200, Detail: "no result field"}, ce)
	assert.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.Equal(t, "ticketing: ticket system unavailable: comment: HTTP 200: no result field", err.Error())
}

func TestNotFound(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"INC0001234", `ticketing: ticket not found: "INC0001234"`},
		{"", `ticketing: ticket not found: ""`},
		{"a\nb\r\x00\x1b[31m", `ticketing: ticket not found: "a\nb\r\x00\x1b[31m"`},
		{`quote" back\`, `ticketing: ticket not found: "quote\" back\\"`},
		{"é\u202e", `ticketing: ticket not found: "\u00e9\u202e"`},
		{"bad\xffutf8", `ticketing: ticket not found: "bad\xffutf8"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := NotFound(tc.in)
			assert.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			var ce *ticketing.CheckerError
			assert.False(t, errors.As(err, &ce), "NotFound must not be a CheckerError")
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
