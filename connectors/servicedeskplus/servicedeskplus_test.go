package servicedeskplus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/servicedeskplus"
)

const (
	apiKey     = "8D4A1C7E-S3CR3T-KEY"
	oauthToken = "1000.s3cr3t.oauth"
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

func newClient(t *testing.T, baseURL string, mod ...func(*servicedeskplus.Config)) *servicedeskplus.Client {
	t.Helper()
	cfg := servicedeskplus.Config{BaseURL: baseURL, AuthToken: apiKey}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := servicedeskplus.New(cfg)
	require.NoError(t, err)
	return c
}

func jsonBody(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const success = `{"status_code":2000,"status":"success"}`

// notFound is SDP's answer for an unknown request.
const notFound = `{"response_status":{"status_code":4000,"status":"failed",` +
	`"messages":[{"status_code":4007,"type":"failed","message":"Invalid URL or Resource not found"}]}}`

func requestJSON(id, statusName, internalName string) string {
	return fmt.Sprintf(`{"id":%q,"display_id":%q,"subject":"Rotate the \"db\" password",`+
		`"status":{"id":"2","name":%q,"internal_name":%q,"in_progress":true,"stop_timer":false,"color":"#0066ff"},`+
		`"technician":{"id":"5","name":"First Last","email_id":"tech@example.com"},`+
		`"requester":{"id":"7","name":"Jane Doe","email_id":"jane@example.com"},`+
		`"scheduled_start_time":{"display_value":"Jan 2, 2019 11:00 AM","value":"1546426800000"},`+
		`"scheduled_end_time":{"display_value":"Jan 2, 2019 12:00 PM","value":"1546430400000"},`+
		`"is_trashed":false,"deleted_time":null,"completed_time":null}`, id, id, statusName, internalName)
}

func envelope(request string) string {
	return `{"request":` + request + `,"response_status":` + success + `}`
}

func assertGET(t *testing.T, h hit, path string) {
	t.Helper()
	assert.Equal(t, http.MethodGet, h.Method)
	assert.Equal(t, path, h.RequestURI, "nothing beyond the path may reach the server")
	assert.Empty(t, h.RawQuery, "the key is never in the query string")
	assert.Equal(t, apiKey, h.Header.Get("authtoken"))
	assert.Empty(t, h.Header.Get("Authorization"))
	assert.Equal(t, servicedeskplus.AcceptV3, h.Header.Get("Accept"))
}

func TestNew(t *testing.T) {
	ok := servicedeskplus.Config{BaseURL: "https://sdp.example.com:8080", AuthToken: apiKey}
	tests := []struct {
		name    string
		mod     func(*servicedeskplus.Config)
		wantErr string
	}{
		{"on premises", func(*servicedeskplus.Config) {}, ""},
		{"cloud", func(c *servicedeskplus.Config) {
			c.BaseURL, c.PortalPath, c.AuthToken, c.OAuthToken = "https://sdpondemand.manageengine.com", "/app/itdesk/", "", oauthToken
		}, ""},
		{"missing base URL", func(c *servicedeskplus.Config) { c.BaseURL = " " }, "BaseURL is required"},
		{"bad base URL", func(c *servicedeskplus.Config) { c.BaseURL = "sdp.example.com" }, "BaseURL"},
		{"user info", func(c *servicedeskplus.Config) { c.BaseURL = "https://admin:pw@sdp.example.com" }, "BaseURL"},
		{"no credential", func(c *servicedeskplus.Config) { c.AuthToken = "" }, "AuthToken (on premises) or OAuthToken"},
		{"two credentials", func(c *servicedeskplus.Config) { c.OAuthToken = oauthToken }, "only one"},
		{"key with newline", func(c *servicedeskplus.Config) { c.AuthToken = apiKey + "\r\nX: y" }, "AuthToken contains"},
		{"token with space", func(c *servicedeskplus.Config) { c.AuthToken, c.OAuthToken = "", "a b" }, "OAuthToken contains"},
		{"portal dot-dot", func(c *servicedeskplus.Config) { c.PortalPath = "app/../admin" }, "PortalPath"},
		{"portal query", func(c *servicedeskplus.Config) { c.PortalPath = "app/itdesk?x=1" }, "PortalPath"},
		{"portal escaped", func(c *servicedeskplus.Config) { c.PortalPath = "app%2Fitdesk" }, "PortalPath"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			c, err := servicedeskplus.New(cfg)
			if tc.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), apiKey)
			assert.NotContains(t, err.Error(), oauthToken)
		})
	}
}

func TestLookupOpenRequest(t *testing.T) {
	req := requestJSON("102", "Open", "Open")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, envelope(req)) })
	c := newClient(t, f.URL+"/")

	got, err := c.LookupTicket(context.Background(), "102")
	require.NoError(t, err)
	assertGET(t, f.only(t), "/api/v3/requests/102")

	want := ticketing.Ticket{
		Number:     "102",
		Status:     "Open",
		StatusCode: "Open",
		Open:       true,
		Assignee:   "First Last",
		Requester:  "Jane Doe",
		Summary:    `Rotate the "db" password`,
		Start:      time.Date(2019, 1, 2, 11, 0, 0, 0, time.UTC),
		End:        time.Date(2019, 1, 2, 12, 0, 0, 0, time.UTC),
		URL:        f.URL + "/WorkOrder.do?woMode=viewWO&woID=102",
		Raw:        json.RawMessage(req),
	}
	assert.Empty(t, cmp.Diff(want, got))
}

func TestLookupCloud(t *testing.T) {
	const id = "123640000000240013"
	req := `{"id":"123640000000240013","display_id":"102","subject":"s","status":{"name":"In Progress","internal_name":"In Progress"},"technician":null}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, envelope(req)) })
	c := newClient(t, f.URL, func(c *servicedeskplus.Config) {
		c.AuthToken, c.OAuthToken, c.PortalPath = "", oauthToken, "app/itdesk"
	})

	got, err := c.LookupTicket(context.Background(), id)
	require.NoError(t, err)
	h := f.only(t)
	assert.Equal(t, "/app/itdesk/api/v3/requests/"+id, h.RequestURI)
	assert.Equal(t, "Zoho-oauthtoken "+oauthToken, h.Header.Get("Authorization"))
	assert.Empty(t, h.Header.Get("authtoken"))
	assert.Equal(t, servicedeskplus.AcceptV3, h.Header.Get("Accept"))
	assert.Equal(t, ticketing.Ticket{
		Number: id, Status: "In Progress", StatusCode: "In Progress", Open: true, Summary: "s",
		URL: f.URL + "/app/itdesk/ui/requests/" + id + "/details", Raw: json.RawMessage(req),
	}, got)
}

func TestLookupStates(t *testing.T) {
	tests := []struct {
		name   string
		status string // the request's "status" JSON
		label  string
		code   string
		open   bool
	}{
		{"open", `{"name":"Open","internal_name":"Open"}`, "Open", "Open", true},
		{"on hold", `{"name":"On Hold","internal_name":"Onhold","in_progress":true,"stop_timer":true}`, "On Hold", "Onhold", true},
		{"in progress", `{"name":"In Progress","internal_name":"In Progress"}`, "In Progress", "In Progress", true},
		{"custom open", `{"name":"Awaiting Vendor","internal_name":"Awaiting Vendor"}`, "Awaiting Vendor", "Awaiting Vendor", true},
		{"resolved", `{"name":"Resolved","internal_name":"Resolved"}`, "Resolved", "Resolved", false},
		{"closed", `{"name":"Closed","internal_name":"Closed"}`, "Closed", "Closed", false},
		{"cancelled", `{"name":"Cancelled","internal_name":"Cancelled"}`, "Cancelled", "Cancelled", false},
		{"lower case", `{"name":"closed"}`, "closed", "", false},
		{"renamed closed", `{"name":"Done","internal_name":"Closed"}`, "Done", "Closed", false},
		{"bare string", `"Resolved"`, "Resolved", "", false},
		{"no status", `null`, "", "", false},
		{"odd status", `[1,2]`, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				jsonBody(w, 200, envelope(`{"id":7,"subject":"s","status":`+tc.status+`}`))
			})
			got, err := newClient(t, f.URL).LookupTicket(context.Background(), "7")
			require.NoError(t, err)
			assert.Equal(t, tc.open, got.Open)
			assert.Equal(t, tc.label, got.Status)
			assert.Equal(t, tc.code, got.StatusCode)
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"404 4000/4007", 404, notFound},
		{"404 4000 without messages", 404, `{"response_status":{"status_code":4000,"status":"failed"}}`},
		{"200 4007", 200, notFound},
		{"status array", 404, `{"response_status":[{"status_code":4000,"status":"failed","messages":[{"status_code":"4007"}]}]}`},
		{"messages object", 400, `{"response_status":{"status_code":4000,"messages":{"status_code":4007}}}`},
		{"trashed", 200, envelope(`{"id":"102","status":{"name":"Open"},"is_trashed":true}`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, tc.status, tc.body) })
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "102")
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Contains(t, err.Error(), `"102"`)
			assertGET(t, f.only(t), "/api/v3/requests/102")
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
	assert.NotContains(t, err.Error(), apiKey)
	assert.NotContains(t, err.Error(), "SECRET-BODY")
}

func status(code int, messages ...int) string {
	b, _ := json.Marshal(map[string]any{"response_status": map[string]any{"status_code": code, "status": "failed",
		"messages": func() []map[string]any {
			var ms []map[string]any
			for _, m := range messages {
				ms = append(ms, map[string]any{"status_code": m, "type": "failed", "message": "SECRET-BODY"})
			}
			return ms
		}()}})
	return string(b)
}

// failures apply to the lookup and the note alike.
var failures = []struct {
	name   string
	status int
	header map[string]string
	body   string
	want   wantErr
}{
	{"401 invalid key", 401, nil, status(4022), wantErr{kind: ticketing.ErrCheckerAuth, status: 401}},
	{"401 bare", 401, nil, ``, wantErr{kind: ticketing.ErrCheckerAuth, status: 401}},
	{"403 4002", 403, nil, status(4000, 4002), wantErr{kind: ticketing.ErrCheckerAuth, status: 403}},
	{"400 4022", 400, nil, status(4022), wantErr{kind: ticketing.ErrCheckerAuth, status: 400}},
	{"200 4002", 200, nil, status(4002), wantErr{kind: ticketing.ErrCheckerAuth, status: 200}},
	{"429 Retry-After seconds", 429, map[string]string{"Retry-After": "2"}, status(4015),
		wantErr{kind: ticketing.ErrCheckerUnavailable, status: 429, temporary: true, retryMin: 2 * time.Second, retryMax: 2 * time.Second}},
	{"429 Retry-After date", 429, map[string]string{"Retry-After": time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)}, ``,
		wantErr{kind: ticketing.ErrCheckerUnavailable, status: 429, temporary: true, retryMin: time.Second, retryMax: 3 * time.Second}},
	{"400 4015", 400, nil, status(4000, 4015), wantErr{kind: ticketing.ErrCheckerUnavailable, status: 400, temporary: true}},
	{"500 4004", 500, nil, status(4004), wantErr{kind: ticketing.ErrCheckerUnavailable, status: 500}},
	{"500 bare", 500, nil, `SECRET-BODY`, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 500}},
	{"503", 503, map[string]string{"Retry-After": "1"}, ``, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 503, temporary: true, retryMin: time.Second, retryMax: time.Second}},
	{"502", 502, nil, `<html>SECRET-BODY</html>`, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 502, temporary: true}},
	{"404 HTML", 404, nil, `<html>SECRET-BODY</html>`, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 404}},
	{"404 foreign JSON", 404, nil, `{"error":"not here"}`, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 404}},
	{"400 4001", 400, nil, status(4000, 4001), wantErr{kind: ticketing.ErrCheckerUnavailable, status: 400}},
	{"200 4012", 200, nil, status(4000, 4012), wantErr{kind: ticketing.ErrCheckerUnavailable, status: 200}},
	{"malformed JSON", 200, nil, `{"request":{"id":"102"`, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 200}},
}

func TestLookupFailures(t *testing.T) {
	lookupOnly := []struct {
		name string
		body string
	}{
		{"no request", `{"response_status":` + success + `}`},
		{"request null", `{"request":null,"response_status":` + success + `}`},
		{"request not an object", `{"request":"102","response_status":` + success + `}`},
		{"another request", envelope(requestJSON("103", "Open", "Open"))},
		{"JSON array", `[]`},
	}
	tests := failures
	for _, lo := range lookupOnly {
		tests = append(tests, struct {
			name   string
			status int
			header map[string]string
			body   string
			want   wantErr
		}{lo.name, 200, nil, lo.body, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 200}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				jsonBody(w, tc.status, tc.body)
			})
			_, err := newClient(t, f.URL).LookupTicket(context.Background(), "102")
			checkErr(t, err, tc.want)
			assert.Len(t, f.requests(), 1, "connectors never retry")
		})
	}
}

func TestLookupOversizedBody(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"request":{"id":"102","subject":"`)
		_, _ = w.Write(bytes.Repeat([]byte("a"), 1<<20))
		_, _ = io.WriteString(w, `"},"response_status":`+success+`}`)
	})
	_, err := newClient(t, f.URL).LookupTicket(context.Background(), "102")
	checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable, status: 200})
}

func TestLookupNoAnswer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newClient(t, f.URL).LookupTicket(ctx, "102")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestLookupRedirectToAnotherHost(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		jsonBody(w, 200, envelope(requestJSON("102", "Open", "Open")))
	}))
	defer other.Close()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	})
	_, err := newClient(t, f.URL).LookupTicket(context.Background(), "102")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.NotContains(t, err.Error(), apiKey)
	assert.Zero(t, otherHits.Load(), "the other host must not be contacted")
}

func TestLookupUnsafeNumbers(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		jsonBody(w, 200, envelope(requestJSON("102", "Open", "Open")))
	})
	c := newClient(t, f.URL)
	for _, n := range []string{
		"", "0", "000", "-1", "+1", "1e3", "0x10", "#102", "REQ102", "10 2", " 102", "102\n",
		"12345678901234567890", // 20 digits
		"102/../../../servlets", "../102", "102/notes", "102?input_data={}", "102#x", "102%2F103", "%31%30%32",
		"102;x", "102&TECHNICIAN_KEY=x", "１０２", "102\x00",
	} {
		t.Run(strconv.QuoteToASCII(n), func(t *testing.T) {
			_, err := c.LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.Contains(t, err.Error(), strconv.QuoteToASCII(n))
		})
	}
	assert.Empty(t, f.requests(), "no unsafe number may be sent")

	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 404, notFound) })
	_, err := newClient(t, f2.URL).LookupTicket(context.Background(), "0000102")
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	assertGET(t, f2.only(t), "/api/v3/requests/102")
}

func TestAddComment(t *testing.T) {
	text := "alice viewed secret \"db\" (17).\nReason: <b>deploy</b> & fix; input_data=x\nCorrelation ID: abc"
	for name, body := range map[string]string{
		"request_note": `{"request_note":{"id":"23","description":"x","show_to_requester":false},"response_status":` + success + `}`,
		"note":         `{"note":{"id":"23"},"response_status":[` + success + `]}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, body) })
			err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "102"}, ticketing.Comment{Text: text})
			require.NoError(t, err)
			h := f.only(t)
			assert.Equal(t, http.MethodPost, h.Method)
			assert.Equal(t, "/api/v3/requests/102/notes", h.RequestURI)
			assert.Equal(t, apiKey, h.Header.Get("authtoken"))
			assert.Equal(t, servicedeskplus.AcceptV3, h.Header.Get("Accept"))
			assert.Equal(t, "application/x-www-form-urlencoded", h.Header.Get("Content-Type"))
			form, err := url.ParseQuery(h.Body)
			require.NoError(t, err)
			require.Len(t, form, 1, "only input_data is sent")
			require.Len(t, form["input_data"], 1)
			var input map[string]any
			require.NoError(t, json.Unmarshal([]byte(form.Get("input_data")), &input))
			assert.Equal(t, map[string]any{"note": map[string]any{"description": text, "show_to_requester": false}}, input)
		})
	}
}

func TestAddCommentUsesID(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 201, `{"response_status":`+success+`}`) })
	c := newClient(t, f.URL, func(c *servicedeskplus.Config) { c.PortalPath = "app/itdesk" })
	require.NoError(t, c.AddComment(context.Background(), ticketing.Ticket{Number: "102", ID: "123640000000240013"}, ticketing.Comment{Text: "x"}))
	assert.Equal(t, "/app/itdesk/api/v3/requests/123640000000240013/notes", f.only(t).RequestURI)
}

func TestAddCommentFailures(t *testing.T) {
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				jsonBody(w, tc.status, tc.body)
			})
			err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "102"}, ticketing.Comment{Text: "x"})
			checkErr(t, err, tc.want)
			assert.Len(t, f.requests(), 1)
		})
	}
	for name, resp := range map[string]struct {
		status int
		body   string
	}{
		"request gone":       {404, notFound},
		"no response_status": {200, `{"request_note":{"id":"23"}}`},
		"empty body":         {200, ``},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, resp.status, resp.body) })
			err := newClient(t, f.URL).AddComment(context.Background(), ticketing.Ticket{Number: "102"}, ticketing.Comment{Text: "x"})
			checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable, status: resp.status})
		})
	}
	t.Run("unsafe number is not sent", func(t *testing.T) {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) { jsonBody(w, 200, `{"response_status":`+success+`}`) })
		for _, tk := range []ticketing.Ticket{{}, {Number: "102/../1"}, {Number: "102?x"}, {Number: "102", ID: "abc"}} {
			err := newClient(t, f.URL).AddComment(context.Background(), tk, ticketing.Comment{Text: "x"})
			checkErr(t, err, wantErr{kind: ticketing.ErrCheckerUnavailable})
		}
		assert.Empty(t, f.requests())
	})
}

func TestValidatorEndToEnd(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v3/requests/1":
			jsonBody(w, 200, envelope(requestJSON("1", "In Progress", "In Progress")))
		case "/api/v3/requests/2":
			jsonBody(w, 200, envelope(requestJSON("2", "Resolved", "Resolved")))
		default:
			jsonBody(w, 404, notFound)
		}
	})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{Name: "ServiceDesk Plus", Pattern: `^[0-9]+$`, Mode: ticketing.TicketRequired},
		ticketing.WithChecker(newClient(t, f.URL)))
	require.NoError(t, err)
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: "1"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "In Progress", res.Ticket.Status)

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
	for _, s := range []string{`{"request":{"id":"102","status":{"name":"Open"}},"response_status":{"status_code":2000}}`, `{"response_status":[{"status_code":4000,"messages":[{"status_code":4007}]}]}`, `{"response_status":{"messages":7},"request":{"scheduled_start_time":{"value":"-1"},"status":[]}}`, `{"request":{"id":102,"is_trashed":"true"}}`, ``, `null`, `[]`, `{"a":`} {
		f.Add(uint16(200), s)
		f.Add(uint16(404), s)
	}
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		hc := &http.Client{Transport: bodyTransport{status: 200 + int(status)%400, body: []byte(body)}}
		c, err := servicedeskplus.New(servicedeskplus.Config{BaseURL: "https://sdp.example.test", AuthToken: apiKey, HTTPClient: hc})
		require.NoError(t, err)
		got, err := c.LookupTicket(context.Background(), "102")
		if err == nil {
			assert.Equal(t, "102", got.Number)
			return
		}
		var ce *ticketing.CheckerError
		if !errors.Is(err, ticketing.ErrTicketNotFound) && !errors.As(err, &ce) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}
