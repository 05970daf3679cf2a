package github_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/ticketgate/ticketing/connectors/github"
)

const token = "ghp_s3cr3tT0ken"

// hit is one request the fake received.
type hit struct {
	Method, Path, RawPath, RequestURI, RawQuery string
	Header                                      http.Header
	Body                                        string
}

// fake is an httptest server that records every request and answers with
// handler.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newFake(t *testing.T, handler http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RequestURI: r.RequestURI,
			RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(b)})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) requests() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// only asserts that exactly one request arrived and returns it.
func (f *fake) only(t *testing.T) hit {
	t.Helper()
	hs := f.requests()
	require.Len(t, hs, 1)
	return hs[0]
}

func newClient(t *testing.T, baseURL string, mod ...func(*github.Config)) *github.Client {
	t.Helper()
	cfg := github.Config{BaseURL: baseURL, Owner: "acme", Repo: "ops.infra", Token: token}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := github.New(cfg)
	require.NoError(t, err)
	return c
}

func jsonBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func issueJSON(number int, state, reason string) string {
	r := "null"
	if reason != "" {
		r = strconv.Quote(reason)
	}
	return fmt.Sprintf(`{"id":1296269%d,"node_id":"MDU6SXNzdWUx","number":%d,"state":%q,"state_reason":%s,`+
		`"title":"Rotate the \"db\" password","html_url":"https://github.com/acme/ops.infra/issues/%d",`+
		`"user":{"login":"octocat","id":1},"assignee":{"login":"hubot"},"assignees":[{"login":"hubot"},{"login":"other"}],`+
		`"labels":[],"locked":false,"comments":0,"closed_at":null}`, number, number, state, r, number)
}

func assertGET(t *testing.T, h hit, path string) {
	t.Helper()
	assert.Equal(t, http.MethodGet, h.Method)
	assert.Equal(t, path, h.Path)
	assert.Equal(t, path, h.RequestURI, "nothing beyond the path may reach the server")
	assert.Empty(t, h.RawQuery)
	assert.Equal(t, "Bearer "+token, h.Header.Get("Authorization"))
	assert.Equal(t, "application/vnd.github+json", h.Header.Get("Accept"))
	assert.Equal(t, "2022-11-28", h.Header.Get("X-GitHub-Api-Version"))
}

func TestNew(t *testing.T) {
	ok := github.Config{Owner: "acme", Repo: "ops", Token: token}
	tests := []struct {
		name    string
		mod     func(*github.Config)
		wantErr string
	}{
		{"defaults to api.github.com", func(*github.Config) {}, ""},
		{"enterprise base URL", func(c *github.Config) { c.BaseURL = "https://ghe.example.com/api/v3" }, ""},
		{"dotted names", func(c *github.Config) { c.Owner, c.Repo = "my-org_1", "repo.name-2" }, ""},
		{"missing owner", func(c *github.Config) { c.Owner = "" }, "Owner"},
		{"owner with slash", func(c *github.Config) { c.Owner = "acme/evil" }, "Owner"},
		{"owner dot-dot", func(c *github.Config) { c.Owner = ".." }, "Owner"},
		{"repo with query", func(c *github.Config) { c.Repo = "ops?x=1" }, "Repo"},
		{"repo with encoded slash", func(c *github.Config) { c.Repo = "ops%2Fx" }, "Repo"},
		{"repo dot", func(c *github.Config) { c.Repo = "." }, "Repo"},
		{"missing token", func(c *github.Config) { c.Token = "  " }, "Token is required"},
		{"token with newline", func(c *github.Config) { c.Token = token + "\r\nX-Evil: 1" }, "Token contains"},
		{"bad scheme", func(c *github.Config) { c.BaseURL = "ftp://ghe.example.com" }, "BaseURL"},
		{"user info in base URL", func(c *github.Config) { c.BaseURL = "https://u:p@ghe.example.com" }, "BaseURL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			c, err := github.New(cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), token)
		})
	}
}

func TestLookupOpenIssue(t *testing.T) {
	body := issueJSON(42, "open", "reopened")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, body) })
	c := newClient(t, f.URL+"/api/v3")

	got, err := c.LookupTicket(context.Background(), "#42")
	require.NoError(t, err)
	assertGET(t, f.only(t), "/api/v3/repos/acme/ops.infra/issues/42")

	want := ticketing.Ticket{
		Number:     "42",
		ID:         "129626942",
		Status:     "open",
		StatusCode: "reopened",
		Open:       true,
		Assignee:   "hubot",
		Requester:  "octocat",
		Summary:    `Rotate the "db" password`,
		URL:        "https://github.com/acme/ops.infra/issues/42",
		Raw:        json.RawMessage(body),
	}
	assert.Empty(t, cmp.Diff(want, got))
}

func TestLookupStates(t *testing.T) {
	tests := []struct {
		state, reason string
		open          bool
	}{
		{"open", "", true},
		{"open", "reopened", true},
		{"closed", "completed", false},
		{"closed", "not_planned", false},
		{"closed", "duplicate", false},
		{"closed", "", false},
		{"locked", "", false}, // anything but "open" is not open
	}
	for _, tc := range tests {
		t.Run(tc.state+"/"+tc.reason, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, issueJSON(7, tc.state, tc.reason)) })
			got, err := newClient(t, f.URL).LookupTicket(context.Background(), "7")
			require.NoError(t, err)
			assert.Equal(t, tc.open, got.Open)
			assert.Equal(t, tc.state, got.Status)
			assert.Equal(t, tc.reason, got.StatusCode)
		})
	}
}

func TestLookupAssigneeFallback(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 200, `{"number":3,"state":"open","title":"x","assignee":null,"assignees":[{"login":"second"}],"user":null,"html_url":"javascript:alert(1)"}`)
	})
	got, err := newClient(t, f.URL).LookupTicket(context.Background(), "3")
	require.NoError(t, err)
	assert.Equal(t, "second", got.Assignee)
	assert.Empty(t, got.Requester)
	assert.Empty(t, got.URL, "only http(s) links are kept")
}

func TestLookupNotFound(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		text    string
	}{
		{"404", func(w http.ResponseWriter, r *http.Request) {
			jsonBody(w, 404, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#get-an-issue"}`)
		}, ""},
		{"410 deleted", func(w http.ResponseWriter, r *http.Request) {
			jsonBody(w, 410, `{"message":"This issue was deleted","documentation_url":"https://docs.github.com/rest"}`)
		}, ""},
		{"301 transferred", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/repos/acme/ops.infra/issues/42" {
				jsonBody(w, 200, issueJSON(42, "open", "")) // must never be reached
				return
			}
			w.Header().Set("Location", "/repositories/99/issues/42")
			jsonBody(w, 301, `{"message":"Moved Permanently","url":"/repositories/99/issues/42"}`)
		}, "moved"},
		{"pull request", func(w http.ResponseWriter, r *http.Request) {
			jsonBody(w, 200, `{"number":42,"state":"open","title":"Fix","pull_request":{"url":"https://api.github.com/repos/acme/ops.infra/pulls/42","merged_at":null}}`)
		}, "pull request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.handler)
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Contains(t, err.Error(), `"42"`)
			assert.Contains(t, err.Error(), tc.text)
			assertGET(t, f.only(t), "/repos/acme/ops.infra/issues/42") // the 301 was not followed
		})
	}
}

func TestLookupPullRequestAllowed(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 200, `{"number":5,"state":"closed","state_reason":null,"title":"Fix","pull_request":{"merged_at":"2024-01-01T00:00:00Z"}}`)
	})
	c := newClient(t, f.URL, func(c *github.Config) { c.AllowPullRequests = true })
	got, err := c.LookupTicket(context.Background(), "5")
	require.NoError(t, err)
	assert.False(t, got.Open)
	assert.Equal(t, "closed", got.Status)

	// "pull_request": null is an ordinary issue, also without the option.
	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 200, `{"number":5,"state":"open","title":"x","pull_request":null}`)
	})
	got, err = newClient(t, f2.URL).LookupTicket(context.Background(), "5")
	require.NoError(t, err)
	assert.True(t, got.Open)
}

type wantErr struct {
	kind       error // ErrCheckerAuth or ErrCheckerUnavailable
	status     int
	temporary  bool
	retryMin   time.Duration
	retryMax   time.Duration
	notContain string
}

func checkErr(t *testing.T, err error, w wantErr) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, w.kind)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	if w.kind == ticketing.ErrCheckerAuth {
		assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	}
	var ce *ticketing.CheckerError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, w.status, ce.StatusCode)
	assert.Equal(t, w.temporary, ce.Temporary)
	assert.GreaterOrEqual(t, ce.RetryAfter, w.retryMin)
	assert.LessOrEqual(t, ce.RetryAfter, w.retryMax)
	assert.NotContains(t, err.Error(), token)
	if w.notContain != "" {
		assert.NotContains(t, err.Error(), w.notContain)
	}
}

func TestLookupFailures(t *testing.T) {
	unavailable := ticketing.ErrCheckerUnavailable
	auth := ticketing.ErrCheckerAuth
	reset := strconv.FormatInt(time.Now().Add(30*time.Second).Unix(), 10)
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    wantErr
		comment bool // also run against AddComment
	}{
		{"401", 401, nil, `{"message":"Bad credentials"}`, wantErr{kind: auth, status: 401}, true},
		{"403 forbidden", 403, map[string]string{"X-Ratelimit-Remaining": "4999"},
			`{"message":"Resource not accessible by integration"}`, wantErr{kind: auth, status: 403}, true},
		{"403 primary rate limit, reset epoch", 403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset},
			`{"message":"API rate limit exceeded"}`, wantErr{kind: unavailable, status: 403, temporary: true, retryMin: 28 * time.Second, retryMax: 31 * time.Second}, true},
		{"403 rate limit, Retry-After wins", 403, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset, "Retry-After": "2"},
			`{"message":"API rate limit exceeded"}`, wantErr{kind: unavailable, status: 403, temporary: true, retryMin: 2 * time.Second, retryMax: 2 * time.Second}, false},
		{"403 secondary rate limit", 403, map[string]string{"Retry-After": "60"},
			`{"message":"You have exceeded a secondary rate limit"}`, wantErr{kind: unavailable, status: 403, temporary: true, retryMin: time.Minute, retryMax: time.Minute}, false},
		{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "2"}, `{"message":"slow down"}`,
			wantErr{kind: unavailable, status: 429, temporary: true, retryMin: 2 * time.Second, retryMax: 2 * time.Second}, true},
		{"429 Retry-After date", 429, map[string]string{"Retry-After": time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}, ``,
			wantErr{kind: unavailable, status: 429, temporary: true, retryMin: time.Second, retryMax: 3 * time.Second}, false},
		{"429 without headers", 429, nil, ``, wantErr{kind: unavailable, status: 429, temporary: true}, false},
		{"500", 500, nil, `{"message":"boom SECRET-BODY"}`, wantErr{kind: unavailable, status: 500, notContain: "SECRET-BODY"}, true},
		{"502", 502, nil, `<html>bad gateway</html>`, wantErr{kind: unavailable, status: 502, temporary: true}, false},
		{"503", 503, map[string]string{"Retry-After": "1"}, ``, wantErr{kind: unavailable, status: 503, temporary: true, retryMin: time.Second, retryMax: time.Second}, true},
		{"302 on the same host", 302, map[string]string{"Location": "/elsewhere"}, ``, wantErr{kind: unavailable, status: 302}, false},
		{"malformed JSON", 200, nil, `{"number":42,"state":"open"`, wantErr{kind: unavailable, status: 200}, false},
		{"HTML", 200, nil, `<html>login</html>`, wantErr{kind: unavailable, status: 200}, false},
		{"JSON array", 200, nil, `[]`, wantErr{kind: unavailable, status: 200}, false},
		{"no state", 200, nil, `{"number":42,"title":"x"}`, wantErr{kind: unavailable, status: 200}, false},
		{"another issue", 200, nil, issueJSON(43, "open", ""), wantErr{kind: unavailable, status: 200}, false},
		{"wrong types", 200, nil, `{"number":42,"state":17}`, wantErr{kind: unavailable, status: 200}, false},
	}
	for _, tc := range tests {
		handler := func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tc.header {
				w.Header().Set(k, v)
			}
			jsonBody(w, tc.status, tc.body)
		}
		t.Run("lookup/"+tc.name, func(t *testing.T) {
			f := newFake(t, handler)
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
			checkErr(t, err, tc.want)
			assert.Len(t, f.requests(), 1, "connectors never retry")
		})
		if tc.comment {
			t.Run("comment/"+tc.name, func(t *testing.T) {
				f := newFake(t, handler)
				err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "42"}, ticketing.Comment{Text: "x"})
				checkErr(t, err, tc.want)
				assert.Len(t, f.requests(), 1)
			})
		}
	}
}

func TestLookupOversizedBody(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"number":42,"state":"open","title":"`)
		_, _ = w.Write(bytes.Repeat([]byte("a"), 1<<20))
		_, _ = io.WriteString(w, `"}`)
	})
	_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
	checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 200})
}

func TestLookupNoAnswer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t, f.URL).LookupTicket(ctx, "42")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestLookupRedirectToAnotherHost(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		jsonBody(w, 200, issueJSON(42, "open", ""))
	}))
	defer other.Close()
	for _, status := range []int{301, 302, 307} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path, status)
			})
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
			require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotContains(t, err.Error(), token)
			assert.Zero(t, otherHits.Load(), "the other host must not be contacted")
		})
	}
}

func TestLookupUnsafeNumbers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, issueJSON(42, "open", "")) })
	c := newClient(t, f.URL)
	for _, n := range []string{
		"", "#", "##42", "0", "#0", "-1", "+1", "1e3", "0x10", "4 2", " 42", "42 ", "42\n",
		"12345678901", // 11 digits
		"42/../../../user", "../42", "42/comments", "42?state=all", "42#frag", "42%2F43", "%34%32",
		"42;x", "42&x=1", "４２", "42\x00",
	} {
		t.Run(strconv.QuoteToASCII(n), func(t *testing.T) {
			_, err := c.LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.Contains(t, err.Error(), strconv.QuoteToASCII(n))
		})
	}
	assert.Empty(t, f.requests(), "no unsafe number may be sent")

	for n, path := range map[string]string{"0042": "/repos/acme/ops.infra/issues/42", "#9999999999": "/repos/acme/ops.infra/issues/9999999999"} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, `{"message":"Not Found"}`) })
		_, err := newClient(t, f.URL).LookupTicket(context.Background(), n)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
		assertGET(t, f.only(t), path)
	}
}

func TestAddComment(t *testing.T) {
	text := "alice viewed secret \"db\" (17).\nReason: <b>deploy</b> & \"fix\"\nCorrelation ID: abc"
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 201, `{"id":1,"body":"x","html_url":"https://github.com/acme/ops.infra/issues/42#issuecomment-1"}`)
	})
	err := newClient(t, f.URL+"/api/v3").AddComment(context.Background(), ticketing.Ticket{Number: "42", ID: "129626942"}, ticketing.Comment{Text: text})
	require.NoError(t, err)
	h := f.only(t)
	assert.Equal(t, http.MethodPost, h.Method)
	assert.Equal(t, "/api/v3/repos/acme/ops.infra/issues/42/comments", h.RequestURI)
	assert.Equal(t, "Bearer "+token, h.Header.Get("Authorization"))
	assert.Equal(t, "application/vnd.github+json", h.Header.Get("Accept"))
	assert.Equal(t, "2022-11-28", h.Header.Get("X-GitHub-Api-Version"))
	assert.Equal(t, "application/json", h.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(h.Body), &got))
	assert.Equal(t, map[string]any{"body": text}, got)
}

func TestAddCommentFailures(t *testing.T) {
	t.Run("404", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, `{"message":"Not Found"}`) })
		err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "42"}, ticketing.Comment{Text: "x"})
		checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 404})
	})
	t.Run("unsafe number is not sent", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 201, `{}`) })
		for _, n := range []string{"", "42/../1", "42?x", "abc"} {
			err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: n}, ticketing.Comment{Text: "x"})
			checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable})
		}
		assert.Empty(t, f.requests())
	})
	t.Run("no answer", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := newClient(t, f.URL).AddComment(ctx, ticketing.Ticket{Number: "42"}, ticketing.Comment{Text: "x"})
		require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	})
}

func TestValidatorEndToEnd(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repos/acme/ops.infra/issues/1":
			jsonBody(w, 200, issueJSON(1, "open", ""))
		case "/repos/acme/ops.infra/issues/2":
			jsonBody(w, 200, issueJSON(2, "closed", "completed"))
		default:
			jsonBody(w, 404, `{"message":"Not Found"}`)
		}
	})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{Name: "GitHub", Pattern: `^#?[0-9]+$`, Mode: ticketing.TicketRequired},
		ticketing.WithChecker(newClient(t, f.URL)))
	require.NoError(t, err)
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: "#1"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "1", res.Ticket.Number)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "3"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "2"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	var ve *ticketing.ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Contains(t, ve.Message, "closed")
	assert.False(t, strings.Contains(ve.Message, token))
}

// bodyTransport answers every request in-process with one status and body.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: b.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// FuzzLookupBody: no answer makes the connector panic, and every failure
// is "not found" or a *ticketing.CheckerError.
func FuzzLookupBody(f *testing.F) {
	for _, s := range []string{`{"number":42,"state":"open","title":"t","user":{"login":"u"}}`, `{"number":42,"state":"closed","pull_request":{}}`, `{"message":"Not Found"}`, `{"number":"42","state":"open","assignees":[null]}`, ``, `null`, `[]`, `{"a":`} {
		f.Add(uint16(200), s)
		f.Add(uint16(404), s)
	}
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		hc := &http.Client{Transport: bodyTransport{status: 200 + int(status)%400, body: []byte(body)}}
		c, err := github.New(github.Config{BaseURL: "https://api.example.test", Owner: "acme", Repo: "ops", Token: token, HTTPClient: hc})
		require.NoError(t, err)
		got, err := c.LookupTicket(context.Background(), "42")
		if err == nil {
			assert.Equal(t, "42", got.Number)
			return
		}
		var ce *ticketing.CheckerError
		if !errors.Is(err, ticketing.ErrTicketNotFound) && !errors.As(err, &ce) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
