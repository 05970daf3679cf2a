package jira_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/jira"
)

const (
	email    = "bot@example.com"
	apiToken = "tok-SECRET-cloud-7781"
	pat      = "pat-SECRET-dc-4410"
	// query is the exact raw query of every lookup.
	query = "?fields=summary%2Cstatus%2Cresolution%2Cassignee%2Creporter"
)

var cloudAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+apiToken))

// openIssue is Jira's answer for an issue in progress (ticket-apis.md 2.3).
const openIssue = `{
  "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
  "id": "45153",
  "self": "https://example.atlassian.net/rest/api/2/issue/45153",
  "key": "TD-3480",
  "fields": {
    "summary": "Upgrade ingress controller",
    "status": {
      "self": "https://example.atlassian.net/rest/api/2/status/3",
      "description": "This issue is being actively worked on at the moment by the assignee.",
      "iconUrl": "https://example.atlassian.net/images/icons/statuses/inprogress.png",
      "name": "In Progress",
      "id": "3",
      "statusCategory": {
        "self": "https://example.atlassian.net/rest/api/2/statuscategory/4",
        "id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"
      }
    },
    "resolution": null,
    "assignee": {
      "accountId": "557058:f0a5a110-4da2-4a0d-a2ad-358eec0fa7c8",
      "displayName": "Alex Rivera",
      "active": true,
      "timeZone": "Etc/GMT",
      "accountType": "atlassian"
    },
    "reporter": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Jo Chen", "active": true}
  }
}`

const notFoundBody = `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`

// issueJSON is a minimal issue answer; category "" leaves statusCategory
// out, resolution "" makes it null.
func issueJSON(key, status, statusID, category, resolution string) string {
	cat := ""
	if category != "" {
		cat = fmt.Sprintf(`,"statusCategory":{"id":1,"key":%q,"name":"x"}`, category)
	}
	res := "null"
	if resolution != "" {
		res = fmt.Sprintf(`{"self":"https://example.atlassian.net/rest/api/2/resolution/10000","id":"10000","name":%q}`, resolution)
	}
	return fmt.Sprintf(`{"id":"100","key":%q,"fields":{"summary":"s","status":{"name":%q,"id":%q%s},"resolution":%s,"assignee":null}}`,
		key, status, statusID, cat, res)
}

func newCloud(t *testing.T, baseURL string, mod ...func(*jira.Config)) *jira.Client {
	t.Helper()
	cfg := jira.Config{BaseURL: baseURL, Email: email, APIToken: apiToken}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := jira.New(cfg)
	require.NoError(t, err)
	return c
}

func lookupRoute(key string) string { return "GET /rest/api/2/issue/" + key + query }

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     jira.Config
		wantErr string
	}{
		{"cloud", jira.Config{BaseURL: "https://x.atlassian.net", Email: email, APIToken: apiToken}, ""},
		{"data center", jira.Config{BaseURL: "https://jira.example.com/jira/", Token: pat}, ""},
		{"role visibility", jira.Config{BaseURL: "https://x", Token: pat, CommentVisibility: jira.Visibility{Type: "role", Value: "Developers"}}, ""},
		{"no base URL", jira.Config{Token: pat}, "BaseURL is required"},
		{"blank base URL", jira.Config{BaseURL: "  ", Token: pat}, "BaseURL is required"},
		{"relative base URL", jira.Config{BaseURL: "jira.example.com", Token: pat}, "absolute http or https URL"},
		{"ftp base URL", jira.Config{BaseURL: "ftp://jira.example.com", Token: pat}, "absolute http or https URL"},
		{"user info in base URL", jira.Config{BaseURL: "https://bot:" + apiToken + "@x.atlassian.net", Token: pat}, "user info"},
		{"no credentials", jira.Config{BaseURL: "https://x"}, "credentials are required"},
		{"both kinds", jira.Config{BaseURL: "https://x", Email: email, APIToken: apiToken, Token: pat}, "not both"},
		{"email only", jira.Config{BaseURL: "https://x", Email: email}, "both Email and APIToken"},
		{"token only", jira.Config{BaseURL: "https://x", APIToken: apiToken}, "both Email and APIToken"},
		{"colon in email", jira.Config{BaseURL: "https://x", Email: "a:b@example.com", APIToken: apiToken}, "colon"},
		{"newline in token", jira.Config{BaseURL: "https://x", Token: pat + "\r\nX-Evil: 1"}, "control characters"},
		{"newline in API token", jira.Config{BaseURL: "https://x", Email: email, APIToken: apiToken + "\n"}, "control characters"},
		{"bad visibility type", jira.Config{BaseURL: "https://x", Token: pat, CommentVisibility: jira.Visibility{Type: "user", Value: "x"}}, `"role" or "group"`},
		{"visibility without value", jira.Config{BaseURL: "https://x", Token: pat, CommentVisibility: jira.Visibility{Type: "group"}}, "Value must name"},
		{"visibility value without type", jira.Config{BaseURL: "https://x", Token: pat, CommentVisibility: jira.Visibility{Value: "g"}}, `"role" or "group"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := jira.New(tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, c)
			for _, secret := range []string{apiToken, pat, "SECRET"} {
				assert.NotContains(t, err.Error(), secret)
			}
		})
	}
}

func TestLookupFound(t *testing.T) {
	f := newFake(t, cloudAuth, map[string]reply{lookupRoute("TD-3480"): {status: 200, body: openIssue}})
	c := newCloud(t, f.srv.URL)

	got, err := c.LookupTicket(t.Context(), "TD-3480")
	require.NoError(t, err)
	want := ticketing.Ticket{
		Number:     "TD-3480",
		ID:         "45153",
		Status:     "In Progress",
		StatusCode: "3",
		Open:       true,
		Assignee:   "Alex Rivera",
		Requester:  "Jo Chen",
		Summary:    "Upgrade ingress controller",
		URL:        f.srv.URL + "/browse/TD-3480",
		Raw:        []byte(openIssue),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]seen{{Method: "GET", URI: "/rest/api/2/issue/TD-3480" + query}}, f.requests()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

func TestLookupAuthAndBase(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(base string) jira.Config
		auth   string
		prefix string
		input  string
		key    string
	}{
		{"cloud basic", func(b string) jira.Config { return jira.Config{BaseURL: b, Email: email, APIToken: apiToken} }, cloudAuth, "", "TD-3480", "TD-3480"},
		{"data center bearer with context path", func(b string) jira.Config { return jira.Config{BaseURL: b + "/jira/", Token: pat} },
			"Bearer " + pat, "/jira", "TD-3480", "TD-3480"},
		{"lower-case input is upper-cased", func(b string) jira.Config { return jira.Config{BaseURL: b, Token: pat} }, "Bearer " + pat, "", "td-3480", "TD-3480"},
		{"mixed case with underscore", func(b string) jira.Config { return jira.Config{BaseURL: b, Token: pat} }, "Bearer " + pat, "", "Ops_2-007", "OPS_2-007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.auth, map[string]reply{
				"GET " + tt.prefix + "/rest/api/2/issue/" + tt.key + query: {status: 200, body: issueJSON(tt.key, "To Do", "1", "new", "")},
			})
			c, err := jira.New(tt.cfg(f.srv.URL))
			require.NoError(t, err)
			got, err := c.LookupTicket(t.Context(), tt.input)
			require.NoError(t, err)
			assert.Equal(t, tt.key, got.Number)
			assert.Equal(t, f.srv.URL+tt.prefix+"/browse/"+tt.key, got.URL)
			assert.True(t, got.Open)
			assert.Len(t, f.requests(), 1)
		})
	}
}

func TestLookupStates(t *testing.T) {
	tests := []struct {
		name, status, statusID, category, resolution string
		open                                         bool
	}{
		{"to do", "To Do", "10000", "new", "", true},
		{"in progress", "In Progress", "3", "indeterminate", "", true},
		{"waiting for support (JSM)", "Waiting for support", "10102", "indeterminate", "", true},
		{"done", "Done", "10001", "done", "Done", false},
		{"done without resolution", "Closed", "6", "done", "", false},
		{"won't do", "Won't Do", "10003", "done", "Won't Do", false},
		{"resolved but category in progress", "Reopened", "4", "indeterminate", "Fixed", false},
		{"resolution on a to-do status", "Open", "1", "new", "Duplicate", false},
		{"undefined category", "Legacy", "7", "undefined", "", false},
		{"unknown category", "Flying", "8", "in-flight", "", false},
		{"no category", "Odd", "9", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, cloudAuth, map[string]reply{
				lookupRoute("OPS-1"): {status: 200, body: issueJSON("OPS-1", tt.status, tt.statusID, tt.category, tt.resolution)},
			})
			got, err := newCloud(t, f.srv.URL).LookupTicket(t.Context(), "OPS-1")
			require.NoError(t, err)
			assert.Equal(t, tt.open, got.Open, "Open")
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, tt.statusID, got.StatusCode)
			assert.Equal(t, "OPS-1", got.Number)
			assert.Empty(t, got.Assignee, "null assignee")
		})
	}
}

func TestLookupUsersFallback(t *testing.T) {
	// Data Center users without a display name fall back to the user name.
	body := `{"id":1001,"key":"OPS-2","fields":{"status":{"name":"To Do","id":1,"statusCategory":{"key":"new"}},
		"assignee":{"name":"jsmith","key":"JIRAUSER10100"},"reporter":{"accountId":"5b10ac8d82e05b22cc7d4ef5"}}}`
	f := newFake(t, cloudAuth, map[string]reply{lookupRoute("OPS-2"): {status: 200, body: body}})
	got, err := newCloud(t, f.srv.URL).LookupTicket(t.Context(), "OPS-2")
	require.NoError(t, err)
	assert.Equal(t, "jsmith", got.Assignee)
	assert.Equal(t, "5b10ac8d82e05b22cc7d4ef5", got.Requester)
	assert.Equal(t, "1001", got.ID, "numeric id accepted")
	assert.Equal(t, "1", got.StatusCode, "numeric status id accepted")
	assert.True(t, got.Open)
}

func TestLookupNotFoundAndMoved(t *testing.T) {
	tests := []struct {
		name    string
		reply   reply
		allow   bool
		want    error // ErrTicketNotFound, ErrCheckerAuth or ErrCheckerUnavailable
		wantNum string
	}{
		{name: "404 Jira envelope", reply: reply{status: 404, body: notFoundBody}, want: ticketing.ErrTicketNotFound},
		{name: "404 errors only", reply: reply{status: 404, body: `{"errors":{"issueIdOrKey":"Issue does not exist"}}`}, want: ticketing.ErrTicketNotFound},
		{name: "404 anonymous on Data Center", reply: reply{status: 404, body: notFoundBody, header: map[string]string{"X-AUSERNAME": "anonymous"}}, want: ticketing.ErrCheckerAuth},
		{name: "404 failed login", reply: reply{status: 404, body: notFoundBody, header: map[string]string{"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}}, want: ticketing.ErrCheckerAuth},
		{name: "200 served anonymously after failed login", reply: reply{status: 200, body: issueJSON("OPS-1", "To Do", "1", "new", ""), header: map[string]string{"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"}}, want: ticketing.ErrCheckerAuth},
		{name: "404 HTML from a wrong base URL", reply: reply{status: 404, body: "<html>Not Found</html>", header: map[string]string{"Content-Type": "text/html"}}, want: ticketing.ErrCheckerUnavailable},
		{name: "404 empty body", reply: reply{status: 404}, want: ticketing.ErrCheckerUnavailable},
		{name: "moved issue refused", reply: reply{status: 200, body: issueJSON("NEW-77", "To Do", "1", "new", "")}, want: ticketing.ErrTicketNotFound},
		{name: "moved issue allowed", reply: reply{status: 200, body: issueJSON("NEW-77", "To Do", "1", "new", "")}, allow: true, wantNum: "NEW-77"},
		{name: "same key", reply: reply{status: 200, body: issueJSON("OPS-1", "To Do", "1", "new", "")}, wantNum: "OPS-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, cloudAuth, map[string]reply{lookupRoute("OPS-1"): tt.reply})
			c := newCloud(t, f.srv.URL, func(c *jira.Config) { c.AllowMovedIssues = tt.allow })
			got, err := c.LookupTicket(t.Context(), "ops-1")
			assert.Len(t, f.requests(), 1)
			switch tt.want {
			case nil:
				require.NoError(t, err)
				assert.Equal(t, tt.wantNum, got.Number)
				assert.Equal(t, f.srv.URL+"/browse/"+tt.wantNum, got.URL)
			case ticketing.ErrTicketNotFound:
				require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
				assert.NotErrorIs(t, err, ticketing.ErrCheckerAuth)
				assert.Contains(t, err.Error(), `"ops-1"`, "the number is quoted")
				assert.Equal(t, ticketing.Ticket{}, got)
			default:
				ce := checkerError(t, err, tt.want)
				assert.False(t, ce.Temporary)
				assert.Equal(t, "lookup", ce.Op)
			}
		})
	}
}

func TestLookupFailures(t *testing.T) {
	big := `{"key":"OPS-1","fields":{"summary":"` + strings.Repeat("a", 1<<20) + `"}}`
	tests := []struct {
		name       string
		reply      reply
		want       error
		temporary  bool
		retryAfter func(t *testing.T, d time.Duration)
	}{
		{name: "401", reply: reply{status: 401, body: `{"errorMessages":["You are not authenticated. Authentication required to perform this operation."],"errors":{}}`}, want: ticketing.ErrCheckerAuth},
		{name: "403", reply: reply{status: 403, body: `{"errorMessages":["You currently don't have access to perform this operation."],"errors":{}}`}, want: ticketing.ErrCheckerAuth},
		{name: "429 seconds", reply: reply{status: 429, header: map[string]string{"Retry-After": "2", "X-RateLimit-Reset": "2024-01-01T10:00Z", "RateLimit-Reason": "jira-burst-based"}},
			want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) { assert.Equal(t, 2*time.Second, d) }},
		{name: "429 HTTP date", reply: reply{status: 429, header: map[string]string{"Retry-After": httpDate(5 * time.Second)}},
			want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) {
				assert.Greater(t, d, 3*time.Second)
				assert.LessOrEqual(t, d, 5*time.Second)
			}},
		{name: "503 with Retry-After", reply: reply{status: 503, header: map[string]string{"Retry-After": "1"}}, want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) { assert.Equal(t, time.Second, d) }},
		{name: "503 bare", reply: reply{status: 503}, want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) { assert.Zero(t, d) }},
		{name: "502", reply: reply{status: 502}, want: ticketing.ErrCheckerUnavailable, temporary: true},
		{name: "500", reply: reply{status: 500, body: `{"errorMessages":["Internal server error"]}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "400", reply: reply{status: 400, body: `{"errorMessages":["bad"],"errors":{}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "204", reply: reply{status: 204}, want: ticketing.ErrCheckerUnavailable},
		{name: "malformed JSON", reply: reply{status: 200, body: `{"key":"OPS-1","fields":`}, want: ticketing.ErrCheckerUnavailable},
		{name: "HTML login page", reply: reply{status: 200, body: `<html><body>Log in</body></html>`}, want: ticketing.ErrCheckerUnavailable},
		{name: "JSON array", reply: reply{status: 200, body: `[]`}, want: ticketing.ErrCheckerUnavailable},
		{name: "null", reply: reply{status: 200, body: `null`}, want: ticketing.ErrCheckerUnavailable},
		{name: "no fields", reply: reply{status: 200, body: `{"id":"1","key":"OPS-1"}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "no status", reply: reply{status: 200, body: `{"id":"1","key":"OPS-1","fields":{"summary":"x"}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "status of wrong type", reply: reply{status: 200, body: `{"id":"1","key":"OPS-1","fields":{"status":"Open"}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "id of wrong type", reply: reply{status: 200, body: `{"id":true,"key":"OPS-1","fields":{"status":{"name":"Open","id":"1"}}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "no key", reply: reply{status: 200, body: `{"id":"1","fields":{"status":{"name":"Open","id":"1","statusCategory":{"key":"new"}}}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "key not a key", reply: reply{status: 200, body: issueJSON("../OPS-1", "Open", "1", "new", "")}, want: ticketing.ErrCheckerUnavailable},
		{name: "oversized body", reply: reply{status: 200, body: big}, want: ticketing.ErrCheckerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, cloudAuth, map[string]reply{lookupRoute("OPS-1"): tt.reply})
			got, err := newCloud(t, f.srv.URL).LookupTicket(t.Context(), "OPS-1")
			ce := checkerError(t, err, tt.want)
			assert.Equal(t, tt.temporary, ce.Temporary, "Temporary")
			if tt.retryAfter != nil {
				tt.retryAfter(t, ce.RetryAfter)
			}
			if tt.reply.status != 200 {
				assert.Equal(t, tt.reply.status, ce.StatusCode)
			}
			assert.Equal(t, "lookup", ce.Op)
			assert.Equal(t, ticketing.Ticket{}, got)
			for _, leak := range []string{apiToken, "errorMessages", "authenticated", "Log in", "aaaa"} {
				assert.NotContains(t, err.Error(), leak)
			}
			assert.Len(t, f.requests(), 1, "one request, no retries")
		})
	}
}

func TestLookupTimeout(t *testing.T) {
	released := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-released:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(released) })
	c := newCloud(t, srv.URL)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "OPS-1")
	elapsed := time.Since(start)
	ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.False(t, ce.Temporary)
	assert.Less(t, elapsed, 3*time.Second, "returned promptly")
}

func TestLookupRedirectOffHost(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write([]byte(openIssue))
	}))
	t.Cleanup(other.Close)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(srv.Close)

	_, err := newCloud(t, srv.URL).LookupTicket(t.Context(), "TD-3480")
	checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, err.Error(), "redirect")
	assert.EqualValues(t, 1, hits.Load())
	assert.Zero(t, otherHits.Load(), "the other host was contacted")
}

// TestLookupRejectsUnsafeKeys: nothing that is not an issue key reaches
// the server, and the answer is not-found.
func TestLookupRejectsUnsafeKeys(t *testing.T) {
	f := newFake(t, cloudAuth, map[string]reply{})
	c := newCloud(t, f.srv.URL)
	for _, number := range []string{
		"", "OPS", "OPS-", "-1", "O-1", "1OPS-1", "_OPS-1", "OPS-1a", "OPS--1", "OPS-1-",
		"12345",            // numeric issue ids are not keys
		"X-1 OR project=Y", // JQL
		"X-1 OR key=Y-2", "key=OPS-1", "OPS-1 ", " OPS-1", "OPS-1\n",
		"../OPS-1", "OPS-1/../../admin", "..%2FOPS-1", "OPS-1%2F..", "OPS%2D1",
		"OPS-1?fields=*all", "OPS-1#x", "OPS-1;x", "OPS-1&expand=changelog", "OPS 1",
		"ОPS-1",           // Cyrillic O
		"ſOPS-1", "OPſ-1", // long s upper-cases to S
		"OPS-１", // full-width digit
		"OPS-1\x00", "OPS-\u200b1",
		"A" + strings.Repeat("B", 260) + "-1",
	} {
		got, err := c.LookupTicket(t.Context(), number)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "%q", number)
		assert.Equal(t, ticketing.Ticket{}, got)
		assert.Contains(t, err.Error(), strconv.QuoteToASCII(number), "quoted")
	}
	assert.Empty(t, f.requests(), "no request was sent")
}

// FuzzLookupTicket: whatever the number, a request either is not sent or
// asks for exactly one upper-cased issue key, with the fixed query.
func FuzzLookupTicket(f *testing.F) {
	for _, s := range []string{"OPS-1", "ops-12", "X-1 OR project=Y", "../x", "A_1-0", "OPS-1?x", "OPS-1#", "%2F", "ſS-1"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^/rest/api/2/issue/[A-Z][A-Z0-9_]+-[0-9]+$`)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.RequestURI)
		w.WriteHeader(404)
		_, _ = w.Write([]byte(notFoundBody))
	}))
	defer srv.Close()
	c, err := jira.New(jira.Config{BaseURL: srv.URL, Token: pat})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, number string) {
		got.Store("")
		_, err := c.LookupTicket(context.Background(), number)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
		uri := got.Load().(string)
		if uri == "" {
			return
		}
		path, q, _ := strings.Cut(uri, "?")
		require.Regexp(t, valid, path)
		require.Equal(t, query[1:], q)
		require.Equal(t, "/rest/api/2/issue/"+strings.ToUpper(number), path)
	})
}

func TestAddComment(t *testing.T) {
	const text = "alice viewed secret \"db\" (42).\nReason: deploy \"v2\" <b>\nCorrelation ID: 7f3a"
	tests := []struct {
		name     string
		mod      func(*jira.Config)
		wantBody string
	}{
		{"plain", nil, `{"body":"alice viewed secret \"db\" (42).\nReason: deploy \"v2\" \u003cb\u003e\nCorrelation ID: 7f3a"}`},
		{"role visibility", func(c *jira.Config) { c.CommentVisibility = jira.Visibility{Type: "role", Value: "Developers"} },
			`{"body":"alice viewed secret \"db\" (42).\nReason: deploy \"v2\" \u003cb\u003e\nCorrelation ID: 7f3a","visibility":{"type":"role","value":"Developers"}}`},
		{"service desk internal", func(c *jira.Config) { c.ServiceDeskInternal = true },
			`{"body":"alice viewed secret \"db\" (42).\nReason: deploy \"v2\" \u003cb\u003e\nCorrelation ID: 7f3a","properties":[{"key":"sd.public.comment","value":{"internal":true}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, cloudAuth, map[string]reply{
				"POST /rest/api/2/issue/TD-3480/comment": {status: 201, body: `{"id":"10000","body":"x","jsdPublic":true}`},
			})
			mods := []func(*jira.Config){}
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			c := newCloud(t, f.srv.URL, mods...)
			err := c.AddComment(t.Context(), ticketing.Ticket{Number: "TD-3480", ID: "45153", Open: true}, ticketing.Comment{Text: text, CorrelationID: "7f3a"})
			require.NoError(t, err)
			want := []seen{{Method: "POST", URI: "/rest/api/2/issue/TD-3480/comment", Body: tt.wantBody}}
			if d := cmp.Diff(want, f.requests()); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

func TestAddCommentFailures(t *testing.T) {
	tests := []struct {
		name      string
		reply     reply
		want      error
		temporary bool
		retry     time.Duration
	}{
		{name: "400", reply: reply{status: 400, body: `{"errorMessages":[],"errors":{"visibility":"bad role"}}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "401", reply: reply{status: 401}, want: ticketing.ErrCheckerAuth},
		{name: "403", reply: reply{status: 403}, want: ticketing.ErrCheckerAuth},
		{name: "404", reply: reply{status: 404, body: notFoundBody}, want: ticketing.ErrCheckerUnavailable},
		{name: "404 anonymous", reply: reply{status: 404, body: notFoundBody, header: map[string]string{"X-AUSERNAME": "anonymous"}}, want: ticketing.ErrCheckerAuth},
		{name: "413", reply: reply{status: 413}, want: ticketing.ErrCheckerUnavailable},
		{name: "429 per-issue write limit", reply: reply{status: 429, header: map[string]string{"Retry-After": "2", "RateLimit-Reason": "jira-per-issue-on-write"}},
			want: ticketing.ErrCheckerUnavailable, temporary: true, retry: 2 * time.Second},
		{name: "500", reply: reply{status: 500}, want: ticketing.ErrCheckerUnavailable},
		{name: "503", reply: reply{status: 503, header: map[string]string{"Retry-After": "1"}}, want: ticketing.ErrCheckerUnavailable, temporary: true, retry: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, cloudAuth, map[string]reply{"POST /rest/api/2/issue/OPS-9/comment": tt.reply})
			err := newCloud(t, f.srv.URL).AddComment(t.Context(), ticketing.Ticket{Number: "OPS-9"}, ticketing.Comment{Text: "note"})
			ce := checkerError(t, err, tt.want)
			assert.Equal(t, "comment", ce.Op)
			assert.Equal(t, tt.reply.status, ce.StatusCode)
			assert.Equal(t, tt.temporary, ce.Temporary)
			assert.Equal(t, tt.retry, ce.RetryAfter)
			assert.NotContains(t, err.Error(), "bad role")
			assert.Len(t, f.requests(), 1)
		})
	}
}

func TestAddCommentRefusesUnsafeNumber(t *testing.T) {
	f := newFake(t, cloudAuth, map[string]reply{})
	c := newCloud(t, f.srv.URL)
	for _, number := range []string{"", "OPS-1/../../x", "OPS-1?a=b", "X-1 OR project=Y", "45153"} {
		err := c.AddComment(t.Context(), ticketing.Ticket{Number: number}, ticketing.Comment{Text: "x"})
		ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
		assert.False(t, ce.Temporary)
	}
	assert.Empty(t, f.requests())
}

// TestValidatorEndToEnd runs the connector through the core's Validator.
func TestValidatorEndToEnd(t *testing.T) {
	f := newFake(t, "Bearer "+pat, map[string]reply{
		lookupRoute("OPS-1"): {status: 200, body: issueJSON("OPS-1", "In Progress", "3", "indeterminate", "")},
		lookupRoute("OPS-2"): {status: 200, body: issueJSON("OPS-2", "Done", "10001", "done", "Done")},
		lookupRoute("OPS-3"): {status: 404, body: notFoundBody},
		lookupRoute("OPS-4"): {status: 401, body: `{"errorMessages":["You are not authenticated."],"errors":{}}`},
	})
	c, err := jira.New(jira.Config{BaseURL: f.srv.URL, Token: pat})
	require.NoError(t, err)
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name: "Jira", Pattern: `(?i)^OPS-\d+$`, Mode: ticketing.TicketRequired,
	}, ticketing.WithChecker(c))
	require.NoError(t, err)

	res, err := v.Validate(t.Context(), ticketing.Submission{TicketNumber: "OPS-1"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "In Progress", res.Ticket.Status)

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "OPS-2"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	var ve *ticketing.ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Contains(t, ve.Message, "Done")

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "OPS-3"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "OPS-4"})
	require.ErrorIs(t, err, ticketing.ErrCheckerAuth)
	require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)

	// The pattern keeps JQL away; the connector would too.
	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "OPS-1 OR project=ADMIN"})
	require.ErrorIs(t, err, ticketing.ErrTicketFormat)

	want := []seen{
		{Method: "GET", URI: "/rest/api/2/issue/OPS-1" + query},
		{Method: "GET", URI: "/rest/api/2/issue/OPS-2" + query},
		{Method: "GET", URI: "/rest/api/2/issue/OPS-3" + query},
		{Method: "GET", URI: "/rest/api/2/issue/OPS-4" + query},
	}
	if d := cmp.Diff(want, f.requests()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}
