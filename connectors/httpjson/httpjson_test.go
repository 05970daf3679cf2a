package httpjson_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/httpjson"
)

// want is what the fake expects of a request.
type want struct {
	requestURI string // the exact request target, escaped as sent
	path       string // r.URL.Path, decoded
	query      url.Values
	auth       string // the Authorization header; "" = none
}

// reply is what the fake answers.
type reply struct {
	status int
	header map[string]string
	body   string
}

// fake starts an httptest server that asserts each request against w and
// answers rp. It counts the requests it saw.
func fake(t *testing.T, w want, rp reply) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		assert.Equal(t, http.MethodGet, r.Method)
		assert.Equal(t, w.requestURI, r.RequestURI, "request target")
		if w.path != "" {
			assert.Equal(t, w.path, r.URL.Path, "decoded path")
		}
		q := w.query
		if q == nil {
			q = url.Values{}
		}
		assert.Equal(t, q, r.URL.Query(), "decoded query")
		assert.Equal(t, w.auth, r.Header.Get("Authorization"))
		assert.Equal(t, "application/json", r.Header.Get("Accept"))
		for k, v := range rp.header {
			rw.Header().Set(k, v)
		}
		status := rp.status
		if status == 0 {
			status = http.StatusOK
		}
		rw.WriteHeader(status)
		_, _ = rw.Write([]byte(rp.body))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func newClient(t *testing.T, cfg httpjson.Config) *httpjson.Client {
	t.Helper()
	c, err := httpjson.New(cfg)
	require.NoError(t, err)
	return c
}

// A Jira-like issue, as the generic connector would read it.
const issueBody = `{
  "id": "10002",
  "key": "PROJ-7",
  "fields": {
    "summary": "Rotate the database password",
    "status": {"name": "In Progress", "id": "3", "statusCategory": {"key": "indeterminate"}},
    "assignee": {"displayName": "Beth Anglin", "accountId": 42},
    "reporter": {"emailAddress": "abel@example.com"},
    "labels": ["db", "prod"]
  }
}`

func TestLookupFound(t *testing.T) {
	srv, hits := fake(t, want{
		requestURI: "/rest/api/2/issue/PROJ-7?fields=summary,status,assignee,reporter",
		path:       "/rest/api/2/issue/PROJ-7",
		query:      url.Values{"fields": {"summary,status,assignee,reporter"}},
		auth:       "Bearer tok-s3cret",
	}, reply{body: issueBody})
	c := newClient(t, httpjson.Config{
		URLTemplate:      srv.URL + "/rest/api/2/issue/{ticket}?fields=summary,status,assignee,reporter",
		StatusPointer:    "/fields/status/name",
		ClosedStatuses:   []string{"Done", "Closed"},
		SummaryPointer:   "/fields/summary",
		AssigneePointer:  "/fields/assignee/displayName",
		RequesterPointer: "/fields/reporter/emailAddress",
		BearerToken:      "tok-s3cret",
	})
	got, err := c.LookupTicket(context.Background(), "PROJ-7")
	require.NoError(t, err)
	wantTicket := ticketing.Ticket{
		Number:    "PROJ-7",
		Status:    "In Progress",
		Open:      true,
		Assignee:  "Beth Anglin",
		Requester: "abel@example.com",
		Summary:   "Rotate the database password",
		Raw:       json.RawMessage(issueBody),
	}
	if d := cmp.Diff(wantTicket, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
	assert.EqualValues(t, 1, hits.Load())
	_, isCommenter := any(c).(ticketing.Commenter)
	assert.False(t, isCommenter, "httpjson writes no comments")
}

func TestOpenJudgement(t *testing.T) {
	tests := []struct {
		name           string
		open, closed   []string
		body           string
		wantOpen       bool
		wantStatus     string
		wantStatusCode string
	}{
		{"no lists: every status open", nil, nil, `{"s":"Closed"}`, true, "Closed", ""},
		{"closed list, closed status", nil, []string{"solved", "closed"}, `{"s":"Closed"}`, false, "Closed", ""},
		{"closed list, other status", nil, []string{"solved", "closed"}, `{"s":"pending"}`, true, "pending", ""},
		{"closed list, surrounding space", nil, []string{"closed"}, `{"s":" CLOSED "}`, false, " CLOSED ", ""},
		{"open list, open status", []string{"New", "Open"}, nil, `{"s":"open"}`, true, "open", ""},
		{"open list, other status", []string{"New", "Open"}, nil, `{"s":"Pending"}`, false, "Pending", ""},
		{"both lists, in neither", []string{"open"}, []string{"closed"}, `{"s":"weird"}`, false, "weird", ""},
		{"numeric status", []string{"1", "2"}, nil, `{"s":2}`, true, "", "2"},
		{"numeric status closed", []string{"1", "2"}, nil, `{"s":7}`, false, "", "7"},
		{"numeric status keeps its text", nil, nil, `{"s":1.50}`, true, "", "1.50"},
		{"string that looks like a number", nil, []string{"3"}, `{"s":"3"}`, false, "3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fake(t, want{requestURI: "/t/9"}, reply{body: tt.body})
			c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s", OpenStatuses: tt.open, ClosedStatuses: tt.closed})
			got, err := c.LookupTicket(context.Background(), "9")
			require.NoError(t, err)
			assert.Equal(t, tt.wantOpen, got.Open)
			assert.Equal(t, tt.wantStatus, got.Status)
			assert.Equal(t, tt.wantStatusCode, got.StatusCode)
		})
	}
}

func TestOptionalFieldsNeverFail(t *testing.T) {
	srv, _ := fake(t, want{requestURI: "/t/1"}, reply{body: `{"s":"open","sum":{"x":1},"who":null,"req":12}`})
	c := newClient(t, httpjson.Config{
		URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s",
		SummaryPointer: "/sum", AssigneePointer: "/who", RequesterPointer: "/req",
	})
	got, err := c.LookupTicket(context.Background(), "1")
	require.NoError(t, err)
	assert.Empty(t, got.Summary, "an object is not a summary")
	assert.Empty(t, got.Assignee)
	assert.Equal(t, "12", got.Requester)

	c = newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s", SummaryPointer: "/missing/deep"})
	got, err = c.LookupTicket(context.Background(), "1")
	require.NoError(t, err)
	assert.Empty(t, got.Summary)
}

func TestLookupFailures(t *testing.T) {
	httpDate := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	huge := `{"s":"open","pad":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name       string
		notFound   []int
		rp         reply
		notFoundE  bool // ErrTicketNotFound
		auth       bool // ErrCheckerAuth
		temporary  bool
		retryAfter time.Duration // exact; -1 = about 30 s
		detail     string
	}{
		{name: "404", rp: reply{status: 404, body: `{"error":"not found"}`}, notFoundE: true},
		{name: "404 with an empty body", rp: reply{status: 404}, notFoundE: true},
		{name: "410 configured", notFound: []int{404, 410}, rp: reply{status: 410}, notFoundE: true},
		{name: "404 not configured", notFound: []int{410}, rp: reply{status: 404}, detail: "Not Found"},
		{name: "401", rp: reply{status: 401, body: `{"error":"bad token"}`}, auth: true},
		{name: "403", rp: reply{status: 403}, auth: true},
		{name: "429 seconds", rp: reply{status: 429, header: map[string]string{"Retry-After": "2"}}, temporary: true, retryAfter: 2 * time.Second},
		{name: "429 HTTP date", rp: reply{status: 429, header: map[string]string{"Retry-After": httpDate}}, temporary: true, retryAfter: -1},
		{name: "500", rp: reply{status: 500, body: `{"status":"open"}`}, detail: "Internal Server Error"},
		{name: "503", rp: reply{status: 503}, temporary: true},
		{name: "502", rp: reply{status: 502}, temporary: true},
		{name: "302 without a location", rp: reply{status: 302}},
		{name: "malformed JSON", rp: reply{body: `{"s": "open"`}, detail: "malformed"},
		{name: "HTML", rp: reply{body: `<html>login</html>`}, detail: "malformed"},
		{name: "trailing data", rp: reply{body: `{"s":"open"} {"s":"closed"}`}, detail: "malformed"},
		{name: "empty body", rp: reply{status: 204}, detail: "malformed"},
		{name: "pointer missing", rp: reply{body: `{"state":"open"}`}, detail: "no value at StatusPointer"},
		{name: "not an object", rp: reply{body: `["open"]`}, detail: "no value at StatusPointer"},
		{name: "status is an object", rp: reply{body: `{"s":{"name":"open"}}`}, detail: "not a string or a number"},
		{name: "status is a boolean", rp: reply{body: `{"s":true}`}, detail: "not a string or a number"},
		{name: "status is null", rp: reply{body: `{"s":null}`}, detail: "not a string or a number"},
		{name: "status is an array", rp: reply{body: `{"s":["open"]}`}, detail: "not a string or a number"},
		{name: "oversized body", rp: reply{body: huge}, detail: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := fake(t, want{requestURI: "/t/T%201"}, tt.rp)
			c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s", NotFoundStatus: tt.notFound})
			got, err := c.LookupTicket(context.Background(), "T 1")
			require.Error(t, err)
			assert.Equal(t, ticketing.Ticket{}, got)
			assert.NotContains(t, err.Error(), "bad token", "no response body in the error")
			if tt.notFoundE {
				require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
				assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
				assert.Contains(t, err.Error(), `"T 1"`)
				return
			}
			assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
			var ce *ticketing.CheckerError
			require.ErrorAs(t, err, &ce)
			if tt.auth {
				require.ErrorIs(t, err, ticketing.ErrCheckerAuth)
				assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
				return
			}
			require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Equal(t, tt.temporary, ce.Temporary, "temporary")
			switch {
			case tt.retryAfter > 0:
				assert.Equal(t, tt.retryAfter, ce.RetryAfter)
			case tt.retryAfter < 0:
				assert.InDelta(t, 30*time.Second, ce.RetryAfter, float64(3*time.Second))
			default:
				assert.Zero(t, ce.RetryAfter)
			}
			assert.Contains(t, ce.Detail, tt.detail)
		})
	}
}

func TestServerThatNeverAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := c.LookupTicket(ctx, "1")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.Less(t, time.Since(began), 2*time.Second)
}

func TestRedirects(t *testing.T) {
	other, otherHits := fake(t, want{requestURI: "/stolen"}, reply{body: `{"s":"open"}`})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/t/1":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
		case "/t/2":
			http.Redirect(w, r, "/moved/2", http.StatusMovedPermanently)
		case "/moved/2":
			assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
			_, _ = w.Write([]byte(`{"s":"open"}`))
		default:
			t.Errorf("unexpected request %s", r.RequestURI)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s", BearerToken: "tok"})

	_, err := c.LookupTicket(context.Background(), "1")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, err.Error(), "redirect")
	assert.Zero(t, otherHits.Load(), "the other host must not be contacted")

	got, err := c.LookupTicket(context.Background(), "2")
	require.NoError(t, err, "a redirect on the same host is followed")
	assert.Equal(t, "open", got.Status)
}

func TestInjectionInThePath(t *testing.T) {
	tests := []struct {
		number, requestURI string
	}{
		{"1/../../admin?x=1#y", "/api/tickets/1%2F..%2F..%2Fadmin%3Fx=1%23y/status"},
		{"../", "/api/tickets/..%2F/status"},
		{"..%2F..%2Fadmin", "/api/tickets/..%252F..%252Fadmin/status"},
		{"?", "/api/tickets/%3F/status"},
		{"#", "/api/tickets/%23/status"},
		{"a b+c", "/api/tickets/a%20b+c/status"},
		{"x;y,z", "/api/tickets/x%3By%2Cz/status"},
		{`\..\`, "/api/tickets/%5C..%5C/status"},
		{"ü", "/api/tickets/%C3%BC/status"},
		{"...", "/api/tickets/.../status"},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			srv, hits := fake(t, want{
				requestURI: tt.requestURI,
				path:       "/api/tickets/" + tt.number + "/status",
			}, reply{body: `{"s":"open"}`})
			c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/api/tickets/{ticket}/status", StatusPointer: "/s"})
			got, err := c.LookupTicket(context.Background(), tt.number)
			require.NoError(t, err)
			assert.Equal(t, tt.number, got.Number)
			assert.EqualValues(t, 1, hits.Load())
		})
	}
}

func TestInjectionInTheQuery(t *testing.T) {
	tests := []struct {
		number, rawQuery string
	}{
		{"1/../../admin?x=1#y", "key=1%2F..%2F..%2Fadmin%3Fx%3D1%23y&fields=status"},
		{"INC1&fields=secret", "key=INC1%26fields%3Dsecret&fields=status"},
		{"a b+c", "key=a+b%2Bc&fields=status"},
		{"%26admin=1", "key=%2526admin%3D1&fields=status"},
		{`project = X OR key = "Y"`, "key=project+%3D+X+OR+key+%3D+%22Y%22&fields=status"},
	}
	for _, tt := range tests {
		t.Run(tt.number, func(t *testing.T) {
			srv, hits := fake(t, want{
				requestURI: "/search?" + tt.rawQuery,
				path:       "/search",
				query:      url.Values{"key": {tt.number}, "fields": {"status"}},
			}, reply{body: `{"issues":[{"s":"open"}]}`})
			c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/search?key={ticket}&fields=status", StatusPointer: "/issues/0/s"})
			got, err := c.LookupTicket(context.Background(), tt.number)
			require.NoError(t, err)
			assert.Equal(t, "open", got.Status)
			assert.EqualValues(t, 1, hits.Load())
		})
	}

	t.Run("path and query together, template text kept as written", func(t *testing.T) {
		srv, _ := fake(t, want{
			requestURI: "/v1/a%20b/x%2Fy/items?q=project%3DOPS%20AND%20key%3Dx%2Fy&z=1",
			path:       "/v1/a b/x/y/items",
			query:      url.Values{"q": {"project=OPS AND key=x/y"}, "z": {"1"}},
		}, reply{body: `{"s":"open"}`})
		c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/v1/a%20b/{ticket}/items?q=project%3DOPS%20AND%20key%3D{ticket}&z=1", StatusPointer: "/s"})
		_, err := c.LookupTicket(context.Background(), "x/y")
		require.NoError(t, err)
	})
}

func TestNumbersNeverSent(t *testing.T) {
	srv, hits := fake(t, want{}, reply{})
	c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "/t/{ticket}", StatusPointer: "/s"})
	for _, n := range []string{"", ".", ".."} {
		_, err := c.LookupTicket(context.Background(), n)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "%q", n)
	}
	assert.Zero(t, hits.Load())
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name     string
		cfg      httpjson.Config
		auth     string
		header   string // X-API-Key
		accept   string
		userAgnt string
	}{
		{name: "none", accept: "application/json"},
		{name: "bearer", cfg: httpjson.Config{BearerToken: "tok"}, auth: "Bearer tok", accept: "application/json"},
		{name: "basic", cfg: httpjson.Config{Username: "svc", Password: "pa:ss"}, auth: "Basic c3ZjOnBhOnNz", accept: "application/json"},
		{name: "basic, empty password", cfg: httpjson.Config{Username: "apikey"}, auth: "Basic YXBpa2V5Og==", accept: "application/json"},
		{name: "API key header", cfg: httpjson.Config{Header: map[string]string{"x-api-key": "k3y"}}, header: "k3y", accept: "application/json"},
		{
			name: "Authorization and Accept through Header",
			cfg:  httpjson.Config{Header: map[string]string{"Authorization": "Token abc", "Accept": "application/vnd.api+json"}},
			auth: "Token abc", accept: "application/vnd.api+json",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, tt.auth, r.Header.Get("Authorization"))
				assert.Equal(t, tt.header, r.Header.Get("X-Api-Key"))
				assert.Equal(t, tt.accept, r.Header.Get("Accept"))
				_, _ = w.Write([]byte(`{"s":"open"}`))
			}))
			t.Cleanup(srv.Close)
			cfg := tt.cfg
			cfg.URLTemplate, cfg.StatusPointer = srv.URL+"/t/{ticket}", "/s"
			_, err := newClient(t, cfg).LookupTicket(context.Background(), "1")
			require.NoError(t, err)
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	const secret = "s3cret-credential"
	ok := httpjson.Config{URLTemplate: "https://tickets.example.com/t/{ticket}", StatusPointer: "/status"}
	with := func(f func(*httpjson.Config)) httpjson.Config { c := ok; f(&c); return c }
	tests := []struct {
		name string
		cfg  httpjson.Config
		want string
	}{
		{"no template", with(func(c *httpjson.Config) { c.URLTemplate = "" }), "URLTemplate is required"},
		{"no placeholder", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/t/1" }), "must contain {ticket}"},
		{"placeholder in host", with(func(c *httpjson.Config) { c.URLTemplate = "https://{ticket}.example.com/t" }), "never in the host"},
		{"placeholder as host", with(func(c *httpjson.Config) { c.URLTemplate = "https://{ticket}/t" }), "never in the host"},
		{"placeholder in port", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example:{ticket}/t" }), "never in the host"},
		{"placeholder in user info", with(func(c *httpjson.Config) { c.URLTemplate = "https://{ticket}@h.example/t" }), "never in the host"},
		{"placeholder in scheme", with(func(c *httpjson.Config) { c.URLTemplate = "{ticket}://h.example/t" }), "absolute http or https"},
		{"placeholder in fragment", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/t#{ticket}" }), "fragment"},
		{"fragment", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/t/{ticket}#top" }), "fragment"},
		{"user info", with(func(c *httpjson.Config) { c.URLTemplate = "https://u:" + secret + "@h.example/t/{ticket}" }), "user info"},
		{"ftp", with(func(c *httpjson.Config) { c.URLTemplate = "ftp://h.example/{ticket}" }), "http or https"},
		{"relative", with(func(c *httpjson.Config) { c.URLTemplate = "/t/{ticket}" }), "http or https"},
		{"no host", with(func(c *httpjson.Config) { c.URLTemplate = "https:///t/{ticket}" }), "host"},
		{"bad port", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example:x/t/{ticket}" }), "host"},
		{"space", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/a b/{ticket}" }), "not allowed"},
		{"bad escape in path", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/%zz/{ticket}" }), "percent-escape in the path"},
		{"bad escape in query", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/t?k={ticket}&x=%4" }), "percent-escape in the query"},
		{"other placeholder", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/{project}/{ticket}" }), "brace"},
		{"core placeholder only", with(func(c *httpjson.Config) { c.URLTemplate = "https://h.example/t/$TICKETID" }), "must contain {ticket}"},
		{"no status pointer", with(func(c *httpjson.Config) { c.StatusPointer = "" }), "StatusPointer is required"},
		{"status pointer without slash", with(func(c *httpjson.Config) { c.StatusPointer = "fields/status" }), "StatusPointer"},
		{"bad escape in pointer", with(func(c *httpjson.Config) { c.SummaryPointer = "/a~2" }), "SummaryPointer"},
		{"bad assignee pointer", with(func(c *httpjson.Config) { c.AssigneePointer = "x" }), "AssigneePointer"},
		{"bad requester pointer", with(func(c *httpjson.Config) { c.RequesterPointer = "/~" }), "RequesterPointer"},
		{"status in both lists", with(func(c *httpjson.Config) { c.OpenStatuses, c.ClosedStatuses = []string{"Open"}, []string{"open"} }), "both"},
		{"empty status", with(func(c *httpjson.Config) { c.ClosedStatuses = []string{" "} }), "ClosedStatuses"},
		{"control in status", with(func(c *httpjson.Config) { c.OpenStatuses = []string{"a\nb"} }), "OpenStatuses"},
		{"not found 500", with(func(c *httpjson.Config) { c.NotFoundStatus = []int{500} }), "NotFoundStatus 500"},
		{"not found 401", with(func(c *httpjson.Config) { c.NotFoundStatus = []int{401} }), "NotFoundStatus 401"},
		{"not found 429", with(func(c *httpjson.Config) { c.NotFoundStatus = []int{429} }), "NotFoundStatus 429"},
		{"not found 200", with(func(c *httpjson.Config) { c.NotFoundStatus = []int{200} }), "NotFoundStatus 200"},
		{"bearer and basic", with(func(c *httpjson.Config) { c.BearerToken, c.Username, c.Password = secret, "u", secret }), "not both"},
		{"password without user", with(func(c *httpjson.Config) { c.Password = secret }), "without Username"},
		{"colon in user", with(func(c *httpjson.Config) { c.Username, c.Password = "a:b", secret }), "Username"},
		{"newline in token", with(func(c *httpjson.Config) { c.BearerToken = secret + "\r\nX-Evil: 1" }), "BearerToken"},
		{"bad header name", with(func(c *httpjson.Config) { c.Header = map[string]string{"X Key": secret} }), "Header name"},
		{"newline in header value", with(func(c *httpjson.Config) { c.Header = map[string]string{"X-Key": secret + "\nX-Evil: 1"} }), `Header["X-Key"]`},
		{"Host header", with(func(c *httpjson.Config) { c.Header = map[string]string{"host": "evil.example"} }), "Host"},
		{"two Authorizations", with(func(c *httpjson.Config) { c.BearerToken, c.Header = secret, map[string]string{"Authorization": secret} }), "Authorization"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := httpjson.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), secret, "an error text must never hold a credential")
		})
	}

	for _, tmpl := range []string{
		"https://h.example/t/{ticket}",
		"HTTP://h.example:8080/t/{ticket}.json",
		"https://h.example?key={ticket}",
		"https://h.example/{ticket}/{ticket}?a={ticket}{ticket}",
		"http://[::1]:9000/api/{ticket}",
		"  https://h.example/t/{ticket}  ",
	} {
		_, err := httpjson.New(httpjson.Config{URLTemplate: tmpl, StatusPointer: "/s"})
		assert.NoError(t, err, tmpl)
	}
}

func TestQueryOnlyTemplate(t *testing.T) {
	srv, _ := fake(t, want{requestURI: "/?key=A%2FB", path: "/", query: url.Values{"key": {"A/B"}}}, reply{body: `{"s":"open"}`})
	c := newClient(t, httpjson.Config{URLTemplate: srv.URL + "?key={ticket}", StatusPointer: "/s"})
	_, err := c.LookupTicket(context.Background(), "A/B")
	require.NoError(t, err)
}

func TestThroughValidator(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/tickets/101":
			_, _ = w.Write([]byte(`{"ticket":{"status":"open","subject":"Disk full"}}`))
		case "/api/tickets/102":
			_, _ = w.Write([]byte(`{"ticket":{"status":"solved"}}`))
		case "/api/tickets/103":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, httpjson.Config{
		URLTemplate:    srv.URL + "/api/tickets/{ticket}",
		StatusPointer:  "/ticket/status",
		ClosedStatuses: []string{"solved", "closed"},
		SummaryPointer: "/ticket/subject",
	})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name:          "Helpdesk",
		Pattern:       `^\d+$`,
		Mode:          ticketing.TicketRequired,
		LookupRetries: -1,
	}, ticketing.WithChecker(c))
	require.NoError(t, err)
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: "101"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "Disk full", res.Ticket.Summary)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "999"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "102"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	var ve *ticketing.ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Contains(t, ve.Message, "solved")

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "103"})
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
}
