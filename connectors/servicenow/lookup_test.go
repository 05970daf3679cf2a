package servicenow_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/servicenow"
)

// An open incident as sysparm_display_value=all returns it.
const openIncident = `{"sys_id":{"display_value":"a9e30c7dc61122760116894de7bcc7bd","value":"a9e30c7dc61122760116894de7bcc7bd"},` +
	`"number":{"display_value":"INC0010001","value":"INC0010001"},` +
	`"state":{"display_value":"In Progress","value":"2"},` +
	`"active":{"display_value":"true","value":"true"},` +
	`"assigned_to":{"display_value":"Beth Anglin","value":"46d44a23a9fe19810012d100cca80666"},` +
	`"caller_id":{"display_value":"Abel Tuter","value":"62826bf03710200044e0bfc8bcbe5df1"},` +
	`"opened_by":{"display_value":"System Administrator","value":"6816f79cc0a8016401c5a33be04be441"},` +
	`"short_description":{"display_value":"Can't access SFA software","value":"Can't access SFA software"},` +
	`"sys_class_name":{"display_value":"Incident","value":"incident"}}`

func TestLookupFoundOpenIncident(t *testing.T) {
	f := scripted(t, http.StatusOK, map[string]string{"X-Total-Count": "1"}, `{"result":[`+openIncident+`]}`)
	c := newClient(t, f.srv.URL, nil)

	got, err := c.LookupTicket(context.Background(), "INC0010001")
	require.NoError(t, err)
	f.requireOneLookup(t, "/api/now/table/incident", "INC0010001")

	want := ticketing.Ticket{
		Number:     "INC0010001",
		ID:         "a9e30c7dc61122760116894de7bcc7bd",
		Status:     "In Progress",
		StatusCode: "2",
		Open:       true,
		Assignee:   "Beth Anglin",
		Requester:  "Abel Tuter",
		Summary:    "Can't access SFA software",
		URL:        f.srv.URL + "/nav_to.do?uri=incident.do%3Fsysparm_query%3Dnumber%3DINC0010001",
		Raw:        json.RawMessage(openIncident),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
}

func TestLookupFoundChangeWindow(t *testing.T) {
	rec := `{"sys_id":{"display_value":"c286d61347c12200e0ef563dbb9a71df","value":"c286d61347c12200e0ef563dbb9a71df"},` +
		`"number":{"display_value":"CHG0000024","value":"CHG0000024"},` +
		`"state":{"display_value":"Implement","value":"-1"},` +
		`"active":{"display_value":"true","value":"true"},` +
		`"assigned_to":{"display_value":"","value":""},` +
		`"requested_by":{"display_value":"Fred Luddy","value":"5137153cc611227c000bbd1bd8cd2005"},` +
		`"opened_by":{"display_value":"System Administrator","value":"6816f79cc0a8016401c5a33be04be441"},` +
		`"short_description":{"display_value":"Patch the mail servers","value":"Patch the mail servers"},` +
		`"sys_class_name":{"display_value":"Change Request","value":"change_request"},` +
		`"start_date":{"display_value":"2024-05-01 23:00:00","value":"2024-05-01 22:00:00"},` +
		`"end_date":{"display_value":"2024-05-02 01:30:00","value":"2024-05-02 00:30:00"}}`
	f := scripted(t, http.StatusOK, nil, `{"result":[`+rec+`]}`)
	c := newClient(t, f.srv.URL+"/", func(cfg *servicenow.Config) { cfg.Table = "change_request"; cfg.APIVersion = "v2" })

	got, err := c.LookupTicket(context.Background(), "CHG0000024")
	require.NoError(t, err)
	f.requireOneLookup(t, "/api/now/v2/table/change_request", "CHG0000024")

	want := ticketing.Ticket{
		Number:     "CHG0000024",
		ID:         "c286d61347c12200e0ef563dbb9a71df",
		Status:     "Implement",
		StatusCode: "-1",
		Open:       true,
		Requester:  "Fred Luddy",
		Summary:    "Patch the mail servers",
		Start:      time.Date(2024, 5, 1, 22, 0, 0, 0, time.UTC),
		End:        time.Date(2024, 5, 2, 0, 30, 0, 0, time.UTC),
		URL:        f.srv.URL + "/nav_to.do?uri=change_request.do%3Fsysparm_query%3Dnumber%3DCHG0000024",
		Raw:        json.RawMessage(rec),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
}

// A BaseURL with a path (a proxy in front of the instance) prefixes the
// API path and the link.
func TestLookupBaseURLWithPath(t *testing.T) {
	f := scripted(t, http.StatusOK, nil, `{"result":[`+openIncident+`]}`)
	c := newClient(t, f.srv.URL+"/proxy/sn%20prod/", nil)
	got, err := c.LookupTicket(context.Background(), "INC0010001")
	require.NoError(t, err)
	f.requireOneLookup(t, "/proxy/sn prod/api/now/table/incident", "INC0010001")
	assert.Equal(t, f.srv.URL+"/proxy/sn%20prod/nav_to.do?uri=incident.do%3Fsysparm_query%3Dnumber%3DINC0010001", got.URL)
}

// Fields may come as plain strings (display_value=false, or a proxy that
// drops the parameter) or as {link,value} references: both decode, and the
// out-of-box label stands in for the missing display value.
func TestLookupPlainStringAndLinkFields(t *testing.T) {
	rec := `{"sys_id":"a9e30c7dc61122760116894de7bcc7bd","number":"INC0000046","state":"3","active":true,` +
		`"assigned_to":{"link":"https://x.service-now.com/api/now/table/sys_user/681b","value":"681b365ec0a80164000fb0b05854a0cd"},` +
		`"caller_id":"","opened_by":null,"short_description":"Printer jam","sys_class_name":"incident","start_date":""}`
	f := scripted(t, http.StatusOK, nil, `{"result":[`+rec+`]}`)
	c := newClient(t, f.srv.URL, nil)

	got, err := c.LookupTicket(context.Background(), "INC0000046")
	require.NoError(t, err)
	want := ticketing.Ticket{
		Number:     "INC0000046",
		ID:         "a9e30c7dc61122760116894de7bcc7bd",
		Status:     "On Hold",
		StatusCode: "3",
		Open:       true,
		Assignee:   "681b365ec0a80164000fb0b05854a0cd",
		Summary:    "Printer jam",
		URL:        f.srv.URL + "/nav_to.do?uri=incident.do%3Fsysparm_query%3Dnumber%3DINC0000046",
		Raw:        json.RawMessage(rec),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
}

func TestLookupStates(t *testing.T) {
	tests := []struct {
		table, state, label, active string
		open                        bool
	}{
		{"incident", "1", "New", "true", true},
		{"incident", "2", "In Progress", "true", true},
		{"incident", "3", "On Hold", "true", true},
		{"incident", "6", "Resolved", "true", false}, // still active until it closes
		{"incident", "7", "Closed", "false", false},
		{"incident", "8", "Canceled", "false", false},
		{"incident", "2", "In Progress", "false", false}, // inactive wins
		{"change_request", "-5", "New", "true", true},
		{"change_request", "-4", "Assess", "true", true},
		{"change_request", "-3", "Authorize", "true", true},
		{"change_request", "-2", "Scheduled", "true", true},
		{"change_request", "-1", "Implement", "true", true},
		{"change_request", "0", "Review", "true", true},
		{"change_request", "3", "Closed", "false", false},
		{"change_request", "4", "Canceled", "true", false},
		{"sc_req_item", "-5", "Pending", "true", true},
		{"sc_req_item", "1", "Open", "true", true},
		{"sc_req_item", "2", "Work in Progress", "true", true},
		{"sc_req_item", "3", "Closed Complete", "false", false},
		{"sc_req_item", "4", "Closed Incomplete", "true", false},
		{"sc_req_item", "7", "Closed Skipped", "true", false},
		// A table whose states are not known: the active flag decides.
		{"u_access_request", "6", "Done", "true", true},
		{"u_access_request", "1", "Draft", "false", false},
	}
	for _, tt := range tests {
		t.Run(tt.table+"/"+tt.state+"/"+tt.active, func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, resultBody(t, stateRecord(tt.table, "X0001", tt.state, tt.label, tt.active)))
			c := newClient(t, f.srv.URL, func(cfg *servicenow.Config) { cfg.Table = tt.table })
			got, err := c.LookupTicket(context.Background(), "X0001")
			require.NoError(t, err)
			f.requireOneLookup(t, "/api/now/table/"+tt.table, "X0001")
			assert.Equal(t, tt.open, got.Open, "Open")
			assert.Equal(t, tt.label, got.Status, "Status")
			assert.Equal(t, tt.state, got.StatusCode, "StatusCode")
		})
	}
}

// Looking up in the parent table task judges each record by the states of
// its own class, and links to that class's form.
func TestLookupTaskTableDispatchesOnClass(t *testing.T) {
	tests := []struct {
		class, state, label string
		open                bool
	}{
		{"incident", "6", "Resolved", false},    // 6 is not a closed task state
		{"incident", "3", "On Hold", true},      // 3 is Closed Complete for a task
		{"change_request", "0", "Review", true}, // 0 is no task state
		{"change_request", "4", "Canceled", false},
		{"sc_req_item", "7", "Closed Skipped", false},
		{"sc_req_item", "2", "Work in Progress", true},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.state, func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, resultBody(t, stateRecord(tt.class, "TASK0001", tt.state, tt.label, "true")))
			c := newClient(t, f.srv.URL, func(cfg *servicenow.Config) { cfg.Table = "task" })
			got, err := c.LookupTicket(context.Background(), "TASK0001")
			require.NoError(t, err)
			f.requireOneLookup(t, "/api/now/table/task", "TASK0001")
			assert.Equal(t, tt.open, got.Open, "Open")
			assert.Equal(t, tt.state, got.StatusCode)
			assert.Equal(t, f.srv.URL+"/nav_to.do?uri="+tt.class+".do%3Fsysparm_query%3Dnumber%3DTASK0001", got.URL)
		})
	}
}

func TestLookupNotFound(t *testing.T) {
	const v1NoRecord = `{"error":{"message":"No Record found","detail":"Records matching query not found. Check query parameter or offset parameter"},"status":"failure"}`
	other := resultBody(t, stateRecord("incident", "INC0099999", "2", "In Progress", "true"))
	tests := []struct {
		name, version, path string
		status              int
		body                string
	}{
		{"default empty result", "", "/api/now/table/incident", http.StatusOK, `{"result":[]}`},
		{"v2 empty result", "v2", "/api/now/v2/table/incident", http.StatusOK, `{"result":[]}`},
		{"v1 404 No Record found", "v1", "/api/now/v1/table/incident", http.StatusNotFound, v1NoRecord},
		{"different number returned", "", "/api/now/table/incident", http.StatusOK, other},
		{"different number returned v1", "v1", "/api/now/v1/table/incident", http.StatusOK, other},
		{"record without number", "", "/api/now/table/incident", http.StatusOK, `{"result":[{"sys_id":"a9e30c7dc61122760116894de7bcc7bd","state":"2","active":"true"}]}`},
		{"prefix of the number", "", "/api/now/table/incident", http.StatusOK, resultBody(t, stateRecord("incident", "INC00100011", "2", "In Progress", "true"))},
		// The Kelvin sign folds to 'k' in Unicode but is not the ASCII number.
		{"unicode case folding", "", "/api/now/table/incident", http.StatusOK, resultBody(t, stateRecord("incident", "INC0010001\u212a", "2", "In Progress", "true"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scripted(t, tt.status, nil, tt.body)
			c := newClient(t, f.srv.URL, func(cfg *servicenow.Config) { cfg.APIVersion = tt.version })
			number := "INC0010001"
			if tt.name == "unicode case folding" {
				number = "INC0010001K"
			}
			_, err := c.LookupTicket(context.Background(), number)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			require.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Contains(t, err.Error(), strconv.Quote(number))
			assert.NotContains(t, err.Error(), "INC0099999", "the error text must not carry the answer")
			f.requireOneLookup(t, tt.path, number)
		})
	}
}

// ServiceNow compares strings case-insensitively; the ticket carries the
// number as ServiceNow spells it.
func TestLookupMatchesNumberCaseInsensitively(t *testing.T) {
	f := scripted(t, http.StatusOK, nil, `{"result":[`+openIncident+`]}`)
	c := newClient(t, f.srv.URL, nil)
	got, err := c.LookupTicket(context.Background(), "inc0010001")
	require.NoError(t, err)
	f.requireOneLookup(t, "/api/now/table/incident", "inc0010001")
	assert.Equal(t, "INC0010001", got.Number)
}

func TestLookupFailures(t *testing.T) {
	httpDate := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		kind      error // ErrCheckerAuth or ErrCheckerUnavailable
		temporary bool
		retry     func(time.Duration) bool
	}{
		{name: "401", status: http.StatusUnauthorized, body: `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`,
			kind: ticketing.ErrCheckerAuth},
		{name: "403", status: http.StatusForbidden, body: `{"error":{"message":"Insufficient rights to query records","detail":"Fields present in the query do not have permission to be read"},"status":"failure"}`,
			kind: ticketing.ErrCheckerAuth},
		{name: "429 Retry-After seconds", status: http.StatusTooManyRequests,
			header: map[string]string{"Retry-After": "2", "X-RateLimit-Limit": "100", "X-RateLimit-Reset": "1700000000", "X-RateLimit-Rule": "a1b2"},
			body:   `{"error":{"message":"Rate limit exceeded"},"status":"failure"}`,
			kind:   ticketing.ErrCheckerUnavailable, temporary: true, retry: func(d time.Duration) bool { return d == 2*time.Second }},
		{name: "429 Retry-After HTTP date", status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": httpDate},
			kind: ticketing.ErrCheckerUnavailable, temporary: true, retry: func(d time.Duration) bool { return d > 0 && d <= 3*time.Second }},
		{name: "500", status: http.StatusInternalServerError, body: `{"error":{"message":"Internal error"},"status":"failure"}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "503", status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": "1"}, body: `<html>maintenance</html>`,
			kind: ticketing.ErrCheckerUnavailable, temporary: true, retry: func(d time.Duration) bool { return d == time.Second }},
		{name: "400 invalid table", status: http.StatusBadRequest, body: `{"error":{"message":"Invalid table incidnet","detail":null},"status":"failure"}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "404 from a proxy", status: http.StatusNotFound, header: map[string]string{"Content-Type": "text/html"}, body: `<html>Not Found</html>`, kind: ticketing.ErrCheckerUnavailable},
		{name: "404 other API error", status: http.StatusNotFound, body: `{"error":{"message":"Requested URI does not represent any resource"},"status":"failure"}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "malformed JSON", status: http.StatusOK, body: `{"result":[{"number":`, kind: ticketing.ErrCheckerUnavailable},
		{name: "hibernating instance login page", status: http.StatusOK, header: map[string]string{"Content-Type": "text/html"}, body: `<html><body>Instance hibernating</body></html>`, kind: ticketing.ErrCheckerUnavailable},
		{name: "no result list", status: http.StatusOK, body: `{"error":{"message":"x"},"status":"failure"}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "result is an object", status: http.StatusOK, body: `{"result":{"number":"INC0010001"}}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "result is null", status: http.StatusOK, body: `{"result":null}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "record is not an object", status: http.StatusOK, body: `{"result":["INC0010001"]}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "number is an array", status: http.StatusOK, body: `{"result":[{"number":["INC0010001"]}]}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "state is a nested object", status: http.StatusOK, body: `{"result":[{"number":"INC0010001","state":{"value":{"x":1}}}]}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "oversized body", status: http.StatusOK, body: `{"result":["` + strings.Repeat("a", 1<<20) + `"]}`, kind: ticketing.ErrCheckerUnavailable},
		{name: "204 no content", status: http.StatusNoContent, kind: ticketing.ErrCheckerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scripted(t, tt.status, tt.header, tt.body)
			c := newClient(t, f.srv.URL, nil)
			_, err := c.LookupTicket(context.Background(), "INC0010001")
			require.Error(t, err)
			f.requireOneLookup(t, "/api/now/table/incident", "INC0010001")
			require.ErrorIs(t, err, tt.kind)
			require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
			var ce *ticketing.CheckerError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "lookup", ce.Op)
			assert.Equal(t, tt.temporary, ce.Temporary, "Temporary")
			if tt.retry != nil {
				assert.True(t, tt.retry(ce.RetryAfter), "RetryAfter %v", ce.RetryAfter)
			} else {
				assert.Zero(t, ce.RetryAfter)
			}
			// Neither credentials nor the answer's text reach the error.
			for _, s := range []string{testPassword, "Authenticated", "Insufficient", "Invalid table", "hibernating", "maintenance"} {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

// A server that never answers: the caller's deadline ends the lookup
// promptly, as unavailable.
func TestLookupTimeout(t *testing.T) {
	f := newFake(t, func(_ http.ResponseWriter, r *http.Request, _ string) { <-r.Context().Done() })
	c := newClient(t, f.srv.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "INC0010001")
	elapsed := time.Since(start)
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.Less(t, elapsed, 3*time.Second)
	require.Len(t, f.Calls(), 1)
}

// A redirect to another host is refused before that host is contacted:
// it would receive the credentials.
func TestLookupRedirectToAnotherHost(t *testing.T) {
	other := scripted(t, http.StatusOK, nil, `{"result":[`+openIncident+`]}`)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string) {
		http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusFound)
	})
	c := newClient(t, f.srv.URL, nil)
	_, err := c.LookupTicket(context.Background(), "INC0010001")
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	f.requireOneLookup(t, "/api/now/table/incident", "INC0010001")
	assert.Empty(t, other.Calls(), "the other host must not be contacted")
}

// Numbers that could change the encoded query (or the path) are never
// sent: they are not found, without a request.
func TestLookupInjectionNeverSent(t *testing.T) {
	numbers := []string{
		"INC001^ORnumber=INC002",
		"INC0010001^NQnumber=INC0010002",
		"INC0010001^ORDERBYnumber",
		"INC0010001^active=true",
		"^ORnumber!=x",
		"javascript:gs.getUserID()",
		"INC0010001 OR 1=1",
		"INC0010001=",
		"INC0010001&sysparm_limit=100",
		"INC0010001?sysparm_query=x",
		"INC0010001#x",
		"../sys_user",
		"INC%2F001",
		"INC/001",
		"INC0010001\n",
		" INC0010001",
		"INC0010001,INC0010002",
		"INC00100０1", // a full-width digit
		"ＩＮＣ0010001",
		"",
		strings.Repeat("A", 129),
	}
	for _, n := range numbers {
		t.Run(strconv.QuoteToASCII(n), func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, `{"result":[`+openIncident+`]}`)
			c := newClient(t, f.srv.URL, nil)
			_, err := c.LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.Contains(t, err.Error(), strconv.QuoteToASCII(n), "the number is quoted in the error")
			assert.Empty(t, f.Calls(), "nothing may reach the server")
		})
	}
}

// What may be sent reaches the server exactly as the one value of the
// number condition.
func TestLookupUnusualButSafeNumbersSentExactly(t *testing.T) {
	for _, n := range []string{"INC-001.2_x", "a", strings.Repeat("9", 128), "RITM0010001"} {
		t.Run(n, func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, `{"result":[]}`)
			c := newClient(t, f.srv.URL, nil)
			_, err := c.LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			f.requireOneLookup(t, "/api/now/table/incident", n)
		})
	}
}

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*servicenow.Config)
		check func(t *testing.T, h http.Header)
	}{
		{"basic", nil, func(t *testing.T, h http.Header) {
			assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword)), h.Get("Authorization"))
			assert.Empty(t, h.Values("X-Sn-Apikey"))
		}},
		{"bearer", func(c *servicenow.Config) { c.Username, c.Password, c.Token = "", "", testToken }, func(t *testing.T, h http.Header) {
			assert.Equal(t, "Bearer "+testToken, h.Get("Authorization"))
			assert.Empty(t, h.Values("X-Sn-Apikey"))
		}},
		{"api key", func(c *servicenow.Config) { c.Username, c.Password, c.APIKey = "", "", testAPIKey }, func(t *testing.T, h http.Header) {
			assert.Equal(t, []string{testAPIKey}, h.Values("X-Sn-Apikey"))
			assert.Empty(t, h.Values("Authorization"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, `{"result":[`+openIncident+`]}`)
			c := newClient(t, f.srv.URL, tt.edit)
			_, err := c.LookupTicket(context.Background(), "INC0010001")
			require.NoError(t, err)
			calls := f.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, lookupQuery("INC0010001"), calls[0].Query)
			tt.check(t, calls[0].Header)
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	base := servicenow.Config{BaseURL: "https://acme.service-now.com", Username: testUser, Password: testPassword}
	tests := []struct {
		name string
		edit func(*servicenow.Config)
		want string // in the error text
	}{
		{"no base URL", func(c *servicenow.Config) { c.BaseURL = " " }, "BaseURL is required"},
		{"relative base URL", func(c *servicenow.Config) { c.BaseURL = "acme.service-now.com" }, "BaseURL"},
		{"ftp base URL", func(c *servicenow.Config) { c.BaseURL = "ftp://acme.service-now.com" }, "BaseURL"},
		{"user info in base URL", func(c *servicenow.Config) { c.BaseURL = "https://u:" + testPassword + "@acme.service-now.com" }, "user info"},
		{"no credentials", func(c *servicenow.Config) { c.Username, c.Password = "", "" }, "credentials are required"},
		{"password without user", func(c *servicenow.Config) { c.Username = "" }, "Username is required"},
		{"user without password", func(c *servicenow.Config) { c.Password = "" }, "Password is required"},
		{"user with colon", func(c *servicenow.Config) { c.Username = "a:b" }, "Username"},
		{"basic and token", func(c *servicenow.Config) { c.Token = testToken }, "only one"},
		{"token and api key", func(c *servicenow.Config) { c.Username, c.Password, c.Token, c.APIKey = "", "", testToken, testAPIKey }, "only one"},
		{"token with newline", func(c *servicenow.Config) { c.Username, c.Password, c.Token = "", "", testToken+"\r\nX-Evil: 1" }, "Token"},
		{"api key with space", func(c *servicenow.Config) { c.Username, c.Password, c.APIKey = "", "", "a "+testAPIKey }, "APIKey"},
		{"upper-case table", func(c *servicenow.Config) { c.Table = "Incident" }, "Table"},
		{"table with slash", func(c *servicenow.Config) { c.Table = "incident/../sys_user" }, "Table"},
		{"table with caret", func(c *servicenow.Config) { c.Table = "incident^" }, "Table"},
		{"long table", func(c *servicenow.Config) { c.Table = strings.Repeat("a", 81) }, "Table"},
		{"api version v3", func(c *servicenow.Config) { c.APIVersion = "v3" }, "APIVersion"},
		{"api version with path", func(c *servicenow.Config) { c.APIVersion = "v1/../x" }, "APIVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			c, err := servicenow.New(cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			for _, s := range []string{testPassword, testToken, testAPIKey} {
				assert.NotContains(t, err.Error(), s, "credential in the error text")
			}
		})
	}
	for _, table := range []string{"", "incident", "change_request", "sc_req_item", "task", "u_custom_table2"} {
		cfg := base
		cfg.Table = table
		_, err := servicenow.New(cfg)
		assert.NoError(t, err, "Table %q", table)
	}
}

// Many goroutines share one Client (run with -race).
func TestLookupConcurrent(t *testing.T) {
	in := newInstance(t, map[string][]map[string]any{
		"incident": {stateRecord("incident", "INC0010001", "2", "In Progress", "true")},
	})
	c := newClient(t, in.srv.URL, nil)
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			tk, err := c.LookupTicket(context.Background(), "INC0010001")
			if err == nil && !tk.Open {
				err = errors.New("not open")
			}
			errs <- err
		}()
	}
	for range 20 {
		require.NoError(t, <-errs)
	}
	assert.Len(t, in.Calls(), 20)
}
