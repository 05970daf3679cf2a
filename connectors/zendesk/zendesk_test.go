package zendesk_test

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
	"github.com/ticketgate/ticketing/connectors/zendesk"
)

const (
	email    = "bot@example.com"
	apiToken = "zd-SECRET-token-5512"
	oauth    = "oauth-SECRET-bearer-9001"
)

var tokenAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(email+"/token:"+apiToken))

// openTicketObj is Zendesk's documented example ticket (ticket-apis.md 4.3).
const openTicketObj = `{
    "id": 35436,
    "url": "https://company.zendesk.com/api/v2/tickets/35436.json",
    "subject": "Help, my printer is on fire!",
    "description": "The fire is very colorful.",
    "status": "open",
    "custom_status_id": 123,
    "type": "incident",
    "priority": "high",
    "assignee_id": 235323,
    "group_id": 98738,
    "requester_id": 20978392,
    "created_at": "2009-07-20T22:55:29Z",
    "updated_at": "2011-05-05T10:38:52Z"
  }`

const notFoundBody = `{"error":"RecordNotFound","description":"Not found"}`

const closedBody = `{"error":"RecordInvalid","description":"Record validation errors","details":{"status":[{"description":"Status: closed prevents ticket update"}]}}`

func envelope(ticket string) string { return `{"ticket": ` + ticket + `}` }

// ticketJSON is a minimal ticket; customStatus and assignee "" are null.
func ticketJSON(id, status, customStatus, assignee string) string {
	if customStatus == "" {
		customStatus = "null"
	}
	if assignee == "" {
		assignee = "null"
	}
	return envelope(fmt.Sprintf(`{"id":%s,"subject":"s","status":%q,"custom_status_id":%s,"assignee_id":%s,"requester_id":7}`,
		id, status, customStatus, assignee))
}

func newClient(t *testing.T, baseURL string) *zendesk.Client {
	t.Helper()
	c, err := zendesk.New(zendesk.Config{BaseURL: baseURL, Email: email, APIToken: apiToken})
	require.NoError(t, err)
	return c
}

func lookupRoute(id string) string { return "GET /api/v2/tickets/" + id + ".json" }

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     zendesk.Config
		wantErr string
	}{
		{"api token", zendesk.Config{BaseURL: "https://acme.zendesk.com", Email: email, APIToken: apiToken}, ""},
		{"oauth", zendesk.Config{BaseURL: "https://acme.zendesk.com/", Token: oauth}, ""},
		{"no base URL", zendesk.Config{Token: oauth}, "BaseURL is required"},
		{"relative base URL", zendesk.Config{BaseURL: "acme.zendesk.com", Token: oauth}, "absolute http or https URL"},
		{"user info in base URL", zendesk.Config{BaseURL: "https://bot:" + apiToken + "@acme.zendesk.com", Token: oauth}, "user info"},
		{"no credentials", zendesk.Config{BaseURL: "https://acme.zendesk.com"}, "credentials are required"},
		{"both kinds", zendesk.Config{BaseURL: "https://acme.zendesk.com", Email: email, APIToken: apiToken, Token: oauth}, "not both"},
		{"email only", zendesk.Config{BaseURL: "https://acme.zendesk.com", Email: email}, "both Email and APIToken"},
		{"api token only", zendesk.Config{BaseURL: "https://acme.zendesk.com", APIToken: apiToken}, "both Email and APIToken"},
		{"colon in email", zendesk.Config{BaseURL: "https://acme.zendesk.com", Email: "a:b@x", APIToken: apiToken}, "colon"},
		{"newline in token", zendesk.Config{BaseURL: "https://acme.zendesk.com", Token: oauth + "\r\nX: y"}, "control characters"},
		{"newline in api token", zendesk.Config{BaseURL: "https://acme.zendesk.com", Email: email, APIToken: apiToken + "\n"}, "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := zendesk.New(tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, c)
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestLookupFound(t *testing.T) {
	f := newFake(t, tokenAuth, map[string]reply{lookupRoute("35436"): {status: 200, body: envelope(openTicketObj),
		header: map[string]string{"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"}}})
	got, err := newClient(t, f.srv.URL).LookupTicket(t.Context(), "35436")
	require.NoError(t, err)
	want := ticketing.Ticket{
		Number:     "35436",
		Status:     "open",
		StatusCode: "123",
		Open:       true,
		Assignee:   "235323",
		Requester:  "20978392",
		Summary:    "Help, my printer is on fire!",
		URL:        f.srv.URL + "/agent/tickets/35436",
		Raw:        []byte(openTicketObj),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]seen{{Method: "GET", URI: "/api/v2/tickets/35436.json"}}, f.requests()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

func TestLookupNumbersAndAuth(t *testing.T) {
	tests := []struct {
		name, input, id string
		oauth           bool
	}{
		{"plain", "35436", "35436", false},
		{"leading hash", "#35436", "35436", false},
		{"leading zeros dropped", "0035436", "35436", false},
		{"largest id", "9223372036854775807", "9223372036854775807", false},
		{"oauth bearer", "1", "1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth := tokenAuth
			if tt.oauth {
				auth = "Bearer " + oauth
			}
			f := newFake(t, auth, map[string]reply{lookupRoute(tt.id): {status: 200, body: ticketJSON(tt.id, "new", "", "")}})
			cfg := zendesk.Config{BaseURL: f.srv.URL + "/", Email: email, APIToken: apiToken}
			if tt.oauth {
				cfg = zendesk.Config{BaseURL: f.srv.URL, Token: oauth}
			}
			c, err := zendesk.New(cfg)
			require.NoError(t, err)
			got, err := c.LookupTicket(t.Context(), tt.input)
			require.NoError(t, err)
			assert.Equal(t, tt.id, got.Number)
			assert.Equal(t, f.srv.URL+"/agent/tickets/"+tt.id, got.URL)
			assert.Len(t, f.requests(), 1)
		})
	}
}

func TestLookupStates(t *testing.T) {
	tests := []struct {
		status, customStatus string
		open                 bool
	}{
		{"new", "", true},
		{"open", "123", true},
		{"pending", "4001", true},
		{"hold", "", true},
		{"solved", "9", false},
		{"closed", "", false},
		{"deleted", "", false}, // unknown: fails closed
		{"Open", "", false},    // Zendesk's values are lower-case
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			f := newFake(t, tokenAuth, map[string]reply{lookupRoute("42"): {status: 200, body: ticketJSON("42", tt.status, tt.customStatus, "")}})
			got, err := newClient(t, f.srv.URL).LookupTicket(t.Context(), "42")
			require.NoError(t, err)
			assert.Equal(t, tt.open, got.Open, "Open")
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, tt.customStatus, got.StatusCode)
			assert.Empty(t, got.Assignee, "null assignee")
			assert.Equal(t, "7", got.Requester)
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
		want  error
	}{
		{"RecordNotFound", reply{status: 404, body: notFoundBody}, ticketing.ErrTicketNotFound},
		{"nested RecordNotFound", reply{status: 404, body: `{"error":{"title":"RecordNotFound","message":"Not found"}}`}, ticketing.ErrTicketNotFound},
		{"InvalidEndpoint (wrong path)", reply{status: 404, body: `{"error":"InvalidEndpoint","description":"Not found"}`}, ticketing.ErrCheckerUnavailable},
		{"HTML (wrong base URL)", reply{status: 404, body: `<html>Help Center Closed</html>`, header: map[string]string{"Content-Type": "text/html"}}, ticketing.ErrCheckerUnavailable},
		{"empty", reply{status: 404}, ticketing.ErrCheckerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tokenAuth, map[string]reply{lookupRoute("404"): tt.reply})
			got, err := newClient(t, f.srv.URL).LookupTicket(t.Context(), "#404")
			assert.Equal(t, ticketing.Ticket{}, got)
			assert.Len(t, f.requests(), 1)
			if tt.want == ticketing.ErrTicketNotFound {
				require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
				assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
				assert.Contains(t, err.Error(), `"#404"`)
				return
			}
			ce := checkerError(t, err, tt.want)
			assert.False(t, ce.Temporary)
			assert.Contains(t, ce.Detail, "BaseURL")
		})
	}
}

func TestLookupFailures(t *testing.T) {
	big := envelope(`{"id":1,"status":"open","subject":"` + strings.Repeat("a", 1<<20) + `"}`)
	tests := []struct {
		name       string
		reply      reply
		want       error
		temporary  bool
		retryAfter func(t *testing.T, d time.Duration)
	}{
		{name: "401", reply: reply{status: 401, body: `{"error":"Couldn't authenticate you"}`}, want: ticketing.ErrCheckerAuth},
		{name: "403", reply: reply{status: 403, body: `{"error":"Forbidden","description":"You do not have access to this page."}`}, want: ticketing.ErrCheckerAuth},
		{name: "429 seconds, text body", reply: reply{status: 429, body: "You have exceeded the rate limit for this account",
			header: map[string]string{"Retry-After": "2", "Content-Type": "text/plain"}},
			want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) { assert.Equal(t, 2*time.Second, d) }},
		{name: "429 HTTP date", reply: reply{status: 429, header: map[string]string{"Retry-After": httpDate(5 * time.Second)}},
			want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) {
				assert.Greater(t, d, 3*time.Second)
				assert.LessOrEqual(t, d, 5*time.Second)
			}},
		{name: "503", reply: reply{status: 503, header: map[string]string{"Retry-After": "1"}}, want: ticketing.ErrCheckerUnavailable, temporary: true,
			retryAfter: func(t *testing.T, d time.Duration) { assert.Equal(t, time.Second, d) }},
		{name: "502", reply: reply{status: 502}, want: ticketing.ErrCheckerUnavailable, temporary: true},
		{name: "504", reply: reply{status: 504}, want: ticketing.ErrCheckerUnavailable, temporary: true},
		{name: "500", reply: reply{status: 500, body: `{"error":"InternalError"}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "400", reply: reply{status: 400, body: `{"error":"InvalidValue"}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "204", reply: reply{status: 204}, want: ticketing.ErrCheckerUnavailable},
		{name: "malformed JSON", reply: reply{status: 200, body: `{"ticket":{"id":1,`}, want: ticketing.ErrCheckerUnavailable},
		{name: "JSON array", reply: reply{status: 200, body: `[{"id":1}]`}, want: ticketing.ErrCheckerUnavailable},
		{name: "no ticket", reply: reply{status: 200, body: `{"tickets":[]}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "null ticket", reply: reply{status: 200, body: `{"ticket":null}`}, want: ticketing.ErrCheckerUnavailable},
		{name: "no status", reply: reply{status: 200, body: envelope(`{"id":1,"subject":"x"}`)}, want: ticketing.ErrCheckerUnavailable},
		{name: "status of wrong type", reply: reply{status: 200, body: envelope(`{"id":1,"status":1}`)}, want: ticketing.ErrCheckerUnavailable},
		{name: "no id", reply: reply{status: 200, body: envelope(`{"status":"open"}`)}, want: ticketing.ErrCheckerUnavailable},
		{name: "another ticket", reply: reply{status: 200, body: ticketJSON("2", "open", "", "")}, want: ticketing.ErrCheckerUnavailable},
		{name: "negative id", reply: reply{status: 200, body: ticketJSON("-1", "open", "", "")}, want: ticketing.ErrCheckerUnavailable},
		{name: "fractional id", reply: reply{status: 200, body: ticketJSON("1.5", "open", "", "")}, want: ticketing.ErrCheckerUnavailable},
		{name: "custom status not an id", reply: reply{status: 200, body: ticketJSON("1", "open", `"abc"`, "")}, want: ticketing.ErrCheckerUnavailable},
		{name: "assignee object", reply: reply{status: 200, body: ticketJSON("1", "open", "", `{"id":5}`)}, want: ticketing.ErrCheckerUnavailable},
		{name: "oversized body", reply: reply{status: 200, body: big}, want: ticketing.ErrCheckerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tokenAuth, map[string]reply{lookupRoute("1"): tt.reply})
			got, err := newClient(t, f.srv.URL).LookupTicket(t.Context(), "1")
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
			for _, leak := range []string{apiToken, "authenticate you", "exceeded", "aaaa", "InternalError"} {
				assert.NotContains(t, err.Error(), leak)
			}
			assert.Len(t, f.requests(), 1, "one request, no retries")
		})
	}
}

func TestLookupStringIDs(t *testing.T) {
	// Ids given as strings of digits are accepted and kept as text.
	f := newFake(t, tokenAuth, map[string]reply{lookupRoute("9007199254740993"): {status: 200,
		body: envelope(`{"id":"9007199254740993","status":"pending","custom_status_id":"77","assignee_id":9007199254740995,"requester_id":"12"}`)}})
	got, err := newClient(t, f.srv.URL).LookupTicket(t.Context(), "9007199254740993")
	require.NoError(t, err)
	assert.Equal(t, "77", got.StatusCode)
	assert.Equal(t, "9007199254740995", got.Assignee, "no float rounding")
	assert.Equal(t, "12", got.Requester)
	assert.True(t, got.Open)
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
	c := newClient(t, srv.URL)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "35436")
	elapsed := time.Since(start)
	ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.False(t, ce.Temporary)
	assert.Less(t, elapsed, 3*time.Second, "returned promptly")
}

func TestLookupRedirectOffHost(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write([]byte(envelope(openTicketObj)))
	}))
	t.Cleanup(other.Close)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	t.Cleanup(srv.Close)

	_, err := newClient(t, srv.URL).LookupTicket(t.Context(), "35436")
	checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, err.Error(), "redirect")
	assert.EqualValues(t, 1, hits.Load())
	assert.Zero(t, otherHits.Load(), "the other host was contacted")
}

// TestLookupRejectsUnsafeNumbers: nothing but a ticket id reaches the
// server, and the answer is not-found.
func TestLookupRejectsUnsafeNumbers(t *testing.T) {
	f := newFake(t, tokenAuth, map[string]reply{})
	c := newClient(t, f.srv.URL)
	for _, number := range []string{
		"", "#", "##1", "# 1", "0", "000", "#0", "-1", "+1", "1.0", "1e3", "0x1F", "1_000", "1,2",
		"12345678901234567890", // 20 digits
		"9223372036854775808",  // 2^63
		"18446744073709551615", // 2^64-1
		" 1", "1 ", "1\n", "1\x00",
		"1/../2", "../1", "..%2F1", "1%2F..", "%31", "1?x=y", "1.json", "1.json?include=users", "1#", "1;x", "1&x",
		"show_many.json?ids=1,2", "1 OR 2", "abc", "INC0010001",
		"١٢٣", // Arabic-Indic digits
		"１２",  // full-width digits
		"1\u200b",
	} {
		got, err := c.LookupTicket(t.Context(), number)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "%q", number)
		assert.Equal(t, ticketing.Ticket{}, got)
		assert.Contains(t, err.Error(), strconv.QuoteToASCII(number), "quoted")
	}
	assert.Empty(t, f.requests(), "no request was sent")
}

// FuzzLookupTicket: whatever the number, a request either is not sent or
// asks for exactly one canonical ticket id, without a query.
func FuzzLookupTicket(f *testing.F) {
	for _, s := range []string{"35436", "#1", "007", "1/../2", "1?x", "%31", "9223372036854775808", "١"} {
		f.Add(s)
	}
	valid := regexp.MustCompile(`^/api/v2/tickets/([1-9][0-9]{0,18})\.json$`)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.RequestURI)
		w.WriteHeader(404)
		_, _ = w.Write([]byte(notFoundBody))
	}))
	defer srv.Close()
	c, err := zendesk.New(zendesk.Config{BaseURL: srv.URL, Token: oauth})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, number string) {
		got.Store("")
		_, err := c.LookupTicket(context.Background(), number)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
		uri := got.Load().(string)
		if uri == "" {
			return
		}
		m := valid.FindStringSubmatch(uri)
		require.NotNil(t, m, "request URI %q", uri)
		want, err := strconv.ParseUint(strings.TrimPrefix(number, "#"), 10, 64)
		require.NoError(t, err)
		require.Equal(t, strconv.FormatUint(want, 10), m[1])
	})
}

func TestAddComment(t *testing.T) {
	const text = "alice viewed secret \"db\" (42).\nReason: deploy <v2> & more\nCorrelation ID: 7f3a"
	f := newFake(t, tokenAuth, map[string]reply{
		"PUT /api/v2/tickets/35436.json": {status: 200, body: envelope(openTicketObj)},
	})
	err := newClient(t, f.srv.URL).AddComment(t.Context(), ticketing.Ticket{Number: "35436", Open: true},
		ticketing.Comment{Text: text, CorrelationID: "7f3a"})
	require.NoError(t, err)
	want := []seen{{Method: "PUT", URI: "/api/v2/tickets/35436.json",
		Body: `{"ticket":{"comment":{"body":"alice viewed secret \"db\" (42).\nReason: deploy \u003cv2\u003e \u0026 more\nCorrelation ID: 7f3a","public":false}}}`}}
	if d := cmp.Diff(want, f.requests()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

func TestAddCommentFailures(t *testing.T) {
	tests := []struct {
		name       string
		reply      reply
		want       error
		temporary  bool
		retry      time.Duration
		wantDetail string
	}{
		{name: "422 closed", reply: reply{status: 422, body: closedBody}, want: ticketing.ErrCheckerUnavailable, wantDetail: "ticket is closed"},
		{name: "422 other", reply: reply{status: 422, body: `{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"too many comments"}]}}`},
			want: ticketing.ErrCheckerUnavailable, wantDetail: "validation error"},
		{name: "422 text", reply: reply{status: 422, body: "nope"}, want: ticketing.ErrCheckerUnavailable, wantDetail: "validation error"},
		{name: "401", reply: reply{status: 401, body: `{"error":"Couldn't authenticate you"}`}, want: ticketing.ErrCheckerAuth},
		{name: "403", reply: reply{status: 403}, want: ticketing.ErrCheckerAuth},
		{name: "404", reply: reply{status: 404, body: notFoundBody}, want: ticketing.ErrCheckerUnavailable, wantDetail: "not found"},
		{name: "409 conflict", reply: reply{status: 409, header: map[string]string{"Retry-After": "1"}}, want: ticketing.ErrCheckerUnavailable, temporary: true, retry: time.Second},
		{name: "429", reply: reply{status: 429, body: "rate limited", header: map[string]string{"Retry-After": "2"}}, want: ticketing.ErrCheckerUnavailable, temporary: true, retry: 2 * time.Second},
		{name: "500", reply: reply{status: 500}, want: ticketing.ErrCheckerUnavailable},
		{name: "503", reply: reply{status: 503}, want: ticketing.ErrCheckerUnavailable, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tokenAuth, map[string]reply{"PUT /api/v2/tickets/77.json": tt.reply})
			err := newClient(t, f.srv.URL).AddComment(t.Context(), ticketing.Ticket{Number: "77"}, ticketing.Comment{Text: "note"})
			ce := checkerError(t, err, tt.want)
			assert.Equal(t, "comment", ce.Op)
			assert.Equal(t, tt.reply.status, ce.StatusCode)
			assert.Equal(t, tt.temporary, ce.Temporary)
			assert.Equal(t, tt.retry, ce.RetryAfter)
			assert.Contains(t, ce.Detail, tt.wantDetail)
			assert.NotContains(t, err.Error(), "prevents ticket update", "no response body in the error")
			assert.Len(t, f.requests(), 1)
		})
	}
}

func TestAddCommentRefusesUnsafeNumber(t *testing.T) {
	f := newFake(t, tokenAuth, map[string]reply{})
	c := newClient(t, f.srv.URL)
	for _, number := range []string{"", "0", "1/../2", "1?x=y", "1.json", "abc", "-5"} {
		err := c.AddComment(t.Context(), ticketing.Ticket{Number: number}, ticketing.Comment{Text: "x"})
		ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
		assert.False(t, ce.Temporary)
	}
	assert.Empty(t, f.requests())
}

// TestValidatorEndToEnd runs the connector through the core's Validator.
func TestValidatorEndToEnd(t *testing.T) {
	f := newFake(t, "Bearer "+oauth, map[string]reply{
		lookupRoute("100"): {status: 200, body: ticketJSON("100", "pending", "", "5")},
		lookupRoute("101"): {status: 200, body: ticketJSON("101", "solved", "", "5")},
		lookupRoute("102"): {status: 404, body: notFoundBody},
		lookupRoute("103"): {status: 401, body: `{"error":"Couldn't authenticate you"}`},
	})
	c, err := zendesk.New(zendesk.Config{BaseURL: f.srv.URL, Token: oauth})
	require.NoError(t, err)
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name: "Zendesk", Pattern: `^#?\d{1,19}$`, Mode: ticketing.TicketRequired,
	}, ticketing.WithChecker(c))
	require.NoError(t, err)

	res, err := v.Validate(t.Context(), ticketing.Submission{TicketNumber: "#100"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "100", res.Ticket.Number)

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "101"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	var ve *ticketing.ValidationError
	require.True(t, errors.As(err, &ve))
	assert.Contains(t, ve.Message, "solved")

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "102"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(t.Context(), ticketing.Submission{TicketNumber: "103"})
	require.ErrorIs(t, err, ticketing.ErrCheckerAuth)
	require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)

	want := []seen{
		{Method: "GET", URI: "/api/v2/tickets/100.json"},
		{Method: "GET", URI: "/api/v2/tickets/101.json"},
		{Method: "GET", URI: "/api/v2/tickets/102.json"},
		{Method: "GET", URI: "/api/v2/tickets/103.json"},
	}
	if d := cmp.Diff(want, f.requests()); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}
