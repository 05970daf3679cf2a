package gitlab_test

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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/gitlab"
)

const (
	token   = "glpat-s3cr3tT0ken"
	project = "platform/infra.ops/change-requests"
	// projectPath is project as one escaped path segment, as GitLab wants.
	projectPath = "/api/v4/projects/platform%2Finfra.ops%2Fchange-requests"
)

type hit struct {
	Method, Path, RawPath, RequestURI, RawQuery string
	Header                                      http.Header
	Body                                        string
}

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

func (f *fake) only(t *testing.T) hit {
	t.Helper()
	hs := f.requests()
	require.Len(t, hs, 1)
	return hs[0]
}

func newClient(t *testing.T, baseURL string, mod ...func(*gitlab.Config)) *gitlab.Client {
	t.Helper()
	cfg := gitlab.Config{BaseURL: baseURL, Project: project, Token: token}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := gitlab.New(cfg)
	require.NoError(t, err)
	return c
}

func jsonBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func issueJSON(iid int, state string) string {
	return fmt.Sprintf(`{"id":9%d,"iid":%d,"project_id":8,"title":"Rotate the \"db\" password","state":%q,`+
		`"author":{"id":1,"username":"jdoe","name":"Jane Doe"},"assignee":{"id":2,"username":"jsmith","name":"John Smith"},`+
		`"assignees":[{"username":"jsmith"},{"username":"other"}],"closed_at":null,"confidential":false,`+
		`"web_url":"https://gitlab.example.com/platform/infra.ops/change-requests/-/issues/%d"}`, iid, iid, state, iid)
}

// assertGET checks the exact request: the escaped project path is one
// segment (RawPath and RequestURI), nothing else was added.
func assertGET(t *testing.T, h hit, rawPath string) {
	t.Helper()
	assert.Equal(t, http.MethodGet, h.Method)
	assert.Equal(t, rawPath, h.RequestURI, "nothing beyond the path may reach the server")
	assert.Equal(t, rawPath, h.RawPath)
	assert.Empty(t, h.RawQuery)
	assert.Equal(t, token, h.Header.Get("PRIVATE-TOKEN"))
	assert.Empty(t, h.Header.Get("Authorization"))
}

func TestNew(t *testing.T) {
	ok := gitlab.Config{BaseURL: "https://gitlab.example.com", Project: "group/project", Token: token}
	tests := []struct {
		name    string
		mod     func(*gitlab.Config)
		wantErr string
	}{
		{"path", func(*gitlab.Config) {}, ""},
		{"numeric id", func(c *gitlab.Config) { c.Project = "278964" }, ""},
		{"subgroups", func(c *gitlab.Config) { c.Project = "a/b.c/d_e/f-g" }, ""},
		{"missing base URL", func(c *gitlab.Config) { c.BaseURL = "" }, "BaseURL is required"},
		{"bad base URL", func(c *gitlab.Config) { c.BaseURL = "gitlab.example.com" }, "BaseURL"},
		{"user info", func(c *gitlab.Config) { c.BaseURL = "https://u:p@gitlab.example.com" }, "BaseURL"},
		{"missing project", func(c *gitlab.Config) { c.Project = "" }, "Project"},
		{"single name", func(c *gitlab.Config) { c.Project = "project" }, "Project"},
		{"dot-dot", func(c *gitlab.Config) { c.Project = "group/../admin" }, "Project"},
		{"empty segment", func(c *gitlab.Config) { c.Project = "group//project" }, "Project"},
		{"trailing slash", func(c *gitlab.Config) { c.Project = "group/project/" }, "Project"},
		{"query", func(c *gitlab.Config) { c.Project = "group/project?x=1" }, "Project"},
		{"pre-escaped", func(c *gitlab.Config) { c.Project = "group%2Fproject" }, "Project"},
		{"space", func(c *gitlab.Config) { c.Project = "group/my project" }, "Project"},
		{"negative id", func(c *gitlab.Config) { c.Project = "-1" }, "Project"},
		{"missing token", func(c *gitlab.Config) { c.Token = "" }, "Token is required"},
		{"token with newline", func(c *gitlab.Config) { c.Token = token + "\nX: y" }, "Token contains"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			c, err := gitlab.New(cfg)
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
	body := issueJSON(42, "opened")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, body) })
	c := newClient(t, f.URL+"/gitlab/")

	got, err := c.LookupTicket(context.Background(), "#42")
	require.NoError(t, err)
	h := f.only(t)
	assertGET(t, h, "/gitlab"+projectPath+"/issues/42")
	assert.Equal(t, "/gitlab/api/v4/projects/"+project+"/issues/42", h.Path, "decoded, the path holds the project's slashes")

	want := ticketing.Ticket{
		Number:    "42",
		ID:        "942",
		Status:    "opened",
		Open:      true,
		Assignee:  "jsmith",
		Requester: "jdoe",
		Summary:   `Rotate the "db" password`,
		URL:       "https://gitlab.example.com/platform/infra.ops/change-requests/-/issues/42",
		Raw:       json.RawMessage(body),
	}
	assert.Empty(t, cmp.Diff(want, got))
}

func TestLookupNumericProjectAndBearer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, issueJSON(5, "opened")) })
	c := newClient(t, f.URL, func(c *gitlab.Config) { c.Project, c.BearerAuth = "278964", true })
	_, err := c.LookupTicket(context.Background(), "5")
	require.NoError(t, err)
	h := f.only(t)
	assert.Equal(t, "/api/v4/projects/278964/issues/5", h.RequestURI)
	assert.Equal(t, "Bearer "+token, h.Header.Get("Authorization"))
	assert.Empty(t, h.Header.Get("PRIVATE-TOKEN"))
}

func TestLookupStates(t *testing.T) {
	for _, tc := range []struct {
		state string
		open  bool
	}{{"opened", true}, {"closed", false}, {"open", false}, {"locked", false}} {
		t.Run(tc.state, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, issueJSON(7, tc.state)) })
			got, err := newClient(t, f.URL).LookupTicket(context.Background(), "7")
			require.NoError(t, err)
			assert.Equal(t, tc.open, got.Open)
			assert.Equal(t, tc.state, got.Status)
		})
	}
}

func TestLookupAssigneeFallback(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 200, `{"iid":3,"state":"opened","assignee":null,"assignees":[{"username":"second"}],"author":null,"web_url":"ftp://x/y"}`)
	})
	got, err := newClient(t, f.URL).LookupTicket(context.Background(), "3")
	require.NoError(t, err)
	assert.Equal(t, "second", got.Assignee)
	assert.Empty(t, got.Requester)
	assert.Empty(t, got.URL)
}

func TestLookupNotFound(t *testing.T) {
	for name, body := range map[string]string{
		"issue":           `{"message":"404 Issue Not Found"}`,
		"generic message": `{"message":"404 Not found"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, body) })
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerAuth)
			assert.Contains(t, err.Error(), `"42"`)
			assertGET(t, f.only(t), projectPath+"/issues/42")
		})
	}
}

type wantErr struct {
	kind      error
	status    int
	temporary bool
	retryMin  time.Duration
	retryMax  time.Duration
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
	assert.NotContains(t, err.Error(), "SECRET-BODY")
}

func TestLookupFailures(t *testing.T) {
	unavailable, auth := ticketing.ErrCheckerUnavailable, ticketing.ErrCheckerAuth
	reset := strconv.FormatInt(time.Now().Add(20*time.Second).Unix(), 10)
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    wantErr
		comment bool
	}{
		{"404 project", 404, nil, `{"message":"404 Project Not Found"}`, wantErr{kind: auth, status: 404}, true},
		{"404 route", 404, nil, `{"error":"404 Not Found"}`, wantErr{kind: unavailable, status: 404}, false},
		{"404 HTML", 404, nil, `<html>SECRET-BODY</html>`, wantErr{kind: unavailable, status: 404}, false},
		{"401", 401, nil, `{"message":"401 Unauthorized"}`, wantErr{kind: auth, status: 401}, true},
		{"403", 403, nil, `{"message":"403 Forbidden"}`, wantErr{kind: auth, status: 403}, true},
		{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "2"}, `Retry later`,
			wantErr{kind: unavailable, status: 429, temporary: true, retryMin: 2 * time.Second, retryMax: 2 * time.Second}, true},
		{"429 Retry-After date", 429, map[string]string{"Retry-After": time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)},
			`{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`,
			wantErr{kind: unavailable, status: 429, temporary: true, retryMin: time.Second, retryMax: 3 * time.Second}, false},
		{"429 RateLimit-Reset", 429, map[string]string{"RateLimit-Reset": reset}, ``,
			wantErr{kind: unavailable, status: 429, temporary: true, retryMin: 18 * time.Second, retryMax: 21 * time.Second}, false},
		{"500", 500, nil, `{"message":"500 Internal Server Error SECRET-BODY"}`, wantErr{kind: unavailable, status: 500}, true},
		{"503", 503, nil, ``, wantErr{kind: unavailable, status: 503, temporary: true}, true},
		{"504", 504, nil, ``, wantErr{kind: unavailable, status: 504, temporary: true}, false},
		{"malformed JSON", 200, nil, `{"iid":42,"state":"opened"`, wantErr{kind: unavailable, status: 200}, false},
		{"no state", 200, nil, `{"iid":42}`, wantErr{kind: unavailable, status: 200}, false},
		{"another issue", 200, nil, issueJSON(43, "opened"), wantErr{kind: unavailable, status: 200}, false},
		{"JSON null", 200, nil, `null`, wantErr{kind: unavailable, status: 200}, false},
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
		_, _ = io.WriteString(w, `{"iid":42,"state":"opened","title":"`)
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
		jsonBody(w, 200, issueJSON(42, "opened"))
	}))
	defer other.Close()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	_, err := newClient(t, f.URL).LookupTicket(context.Background(), "42")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.NotContains(t, err.Error(), token)
	assert.Zero(t, otherHits.Load(), "the other host must not be contacted")
}

func TestLookupUnsafeNumbers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, issueJSON(42, "opened")) })
	c := newClient(t, f.URL)
	for _, n := range []string{
		"", "#", "##42", "0", "-1", "+1", "1e3", "4 2", " 42", "42\t", "12345678901",
		"42/../../../../users", "../42", "42/notes", "42?scope=all", "42#note_1", "42%2F43", "%34%32",
		"42;x", "42&private_token=x", "٤٢", "42\x00", "!42", "group/project#42",
	} {
		t.Run(strconv.QuoteToASCII(n), func(t *testing.T) {
			_, err := c.LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.Contains(t, err.Error(), strconv.QuoteToASCII(n))
		})
	}
	assert.Empty(t, f.requests(), "no unsafe number may be sent")

	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, `{"message":"404 Issue Not Found"}`) })
	_, err := newClient(t, f2.URL).LookupTicket(context.Background(), "#0042")
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	assertGET(t, f2.only(t), projectPath+"/issues/42")
}

func TestAddComment(t *testing.T) {
	text := "alice viewed secret \"db\" (17).\nReason: <b>deploy</b> & fix\nCorrelation ID: abc"
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 201, `{"id":301,"body":"x","internal":true,"noteable_iid":42}`)
	})
	err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "42", ID: "942"}, ticketing.Comment{Text: text})
	require.NoError(t, err)
	h := f.only(t)
	assert.Equal(t, http.MethodPost, h.Method)
	assert.Equal(t, projectPath+"/issues/42/notes", h.RequestURI)
	assert.Equal(t, token, h.Header.Get("PRIVATE-TOKEN"))
	assert.Equal(t, "application/json", h.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(h.Body), &got))
	assert.Equal(t, map[string]any{"body": text, "internal": true}, got)
}

func TestAddCommentFailures(t *testing.T) {
	t.Run("issue gone", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, `{"message":"404 Issue Not Found"}`) })
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
}

func TestValidatorEndToEnd(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.RequestURI {
		case projectPath + "/issues/1":
			jsonBody(w, 200, issueJSON(1, "opened"))
		case projectPath + "/issues/2":
			jsonBody(w, 200, issueJSON(2, "closed"))
		default:
			jsonBody(w, 404, `{"message":"404 Issue Not Found"}`)
		}
	})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{Name: "GitLab", Pattern: `^#?[0-9]+$`, Mode: ticketing.TicketRequired},
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
	for _, s := range []string{`{"iid":42,"state":"opened","author":{"username":"u"}}`, `{"message":"404 Project Not Found"}`, `{"message":"404 Issue Not Found"}`, `{"message":{"error":"x"}}`, ``, `null`, `[]`, `{"a":`} {
		f.Add(uint16(200), s)
		f.Add(uint16(404), s)
	}
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		hc := &http.Client{Transport: bodyTransport{status: 200 + int(status)%400, body: []byte(body)}}
		c, err := gitlab.New(gitlab.Config{BaseURL: "https://gitlab.example.test", Project: "a/b", Token: token, HTTPClient: hc})
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
