package remedy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/remedy"
)

func TestNewValidatesConfig(t *testing.T) {
	base := remedy.Config{BaseURL: "https://remedy.example.com:8443", Username: "u", Password: "s3cret-pw"}
	ok, err := remedy.New(base)
	require.NoError(t, err)

	tests := []struct {
		name string
		edit func(*remedy.Config)
		want string
	}{
		{"no base URL", func(c *remedy.Config) { c.BaseURL = " " }, "BaseURL is required"},
		{"no username", func(c *remedy.Config) { c.Username = "" }, "Username is required"},
		{"no password", func(c *remedy.Config) { c.Password = "" }, "Password is required"},
		{"relative base URL", func(c *remedy.Config) { c.BaseURL = "remedy.example.com" }, "absolute http or https"},
		{"user info in base URL", func(c *remedy.Config) { c.BaseURL = "https://u:s3cret-pw@remedy.example.com" }, "user info"},
		{"unknown form kind", func(c *remedy.Config) { c.Form = "problem" }, "Form must be"},
		{"quote in field", func(c *remedy.Config) { c.Fields.Number = `Incident Number'="x` }, "Fields.Number"},
		{"comma in field", func(c *remedy.Config) { c.Fields.Assignee = "Assignee,Password" }, "Fields.Assignee"},
		{"parenthesis in field", func(c *remedy.Config) { c.Fields.Summary = "Description)" }, "Fields.Summary"},
		{"number omitted", func(c *remedy.Config) { c.Fields.Number = remedy.Omit }, "Fields.Number cannot be omitted"},
		{"status omitted", func(c *remedy.Config) { c.Fields.Status = remedy.Omit }, "Fields.Status cannot be omitted"},
		{"control char in form", func(c *remedy.Config) { c.FormName = "HPD:Help\nDesk" }, "FormName"},
		{"quote in work log field", func(c *remedy.Config) { c.WorkLogNumberField = "Incident 'Number" }, "WorkLogNumberField"},
		{"ticket URL without $TICKETID", func(c *remedy.Config) { c.TicketURL = "https://midtier.example.com/arsys" }, "$TICKETID"},
		{"ticket URL not http", func(c *remedy.Config) { c.TicketURL = "javascript:alert($TICKETID)" }, "absolute http"},
		{"ticket URL $TICKETID in host", func(c *remedy.Config) { c.TicketURL = "https://$TICKETID.example.com/" }, "host"},
		{"share with credentials", func(c *remedy.Config) { c.ShareLoginWith = ok }, "ShareLoginWith"},
		{"share with unbuilt client", func(c *remedy.Config) { *c = remedy.Config{ShareLoginWith: &remedy.Client{}} }, "ShareLoginWith"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			c, err := remedy.New(cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "s3cret-pw")
		})
	}

	shared, err := remedy.New(remedy.Config{ShareLoginWith: ok, Form: remedy.Change})
	require.NoError(t, err)
	assert.NotNil(t, shared)
}

func TestLookupIncidentFound(t *testing.T) {
	f := newFake(t)
	f.authString = "corp-ldap"
	entry := incidentEntry("INC000000000430", "Assigned")
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		checkLookup(t, r, "HPD:IncidentInterface", `'Incident Number'="INC000000000430"`, incidentFields)
		writeJSON(w, http.StatusOK, entries(entry))
	}
	c := f.client(t, remedy.Config{
		TicketURL: "https://midtier.example.com/arsys/forms/ar/SHR%3ALandingConsole/?q=%27Incident+Number%27%3D%22$TICKETID%22",
	})

	got, err := c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	want := ticketing.Ticket{
		Number:    "INC000000000430",
		ID:        "INC000000000527|INC000000000527",
		Status:    "Assigned",
		Open:      true,
		Assignee:  "Allen Allbrook",
		Requester: "Mary Mann",
		Summary:   "Email server not responding",
		URL:       "https://midtier.example.com/arsys/forms/ar/SHR%3ALandingConsole/?q=%27Incident+Number%27%3D%22INC000000000430%22",
		Raw:       json.RawMessage(entry),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
	assert.Equal(t, []string{"login", "entry 200"}, f.Log())
}

func TestLookupChangeFound(t *testing.T) {
	f := newFake(t)
	entry := changeEntry("CRQ000000000109", "Scheduled")
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		checkLookup(t, r, "CHG:ChangeInterface", `'Infrastructure Change ID'="CRQ000000000109"`, changeFields)
		writeJSON(w, http.StatusOK, entries(entry))
	}
	c := f.client(t, remedy.Config{Form: remedy.Change})

	got, err := c.LookupTicket(context.Background(), "CRQ000000000109")
	require.NoError(t, err)
	want := ticketing.Ticket{
		Number:    "CRQ000000000109",
		ID:        "CRQ000000000109",
		Status:    "Scheduled",
		Open:      true,
		Assignee:  "Ian Plyment",
		Requester: "App Admin",
		Summary:   "Patch the mail servers",
		Start:     time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC),
		End:       time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC),
		Raw:       json.RawMessage(entry),
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ticket (-want +got):\n%s", d)
	}
}

func TestLookupCustomisedForm(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		checkLookup(t, r, "ACME:Help Desk", `'ACME Number'="AC 17/b"`, "values(ACME Number,ACME State,Owner)")
		writeJSON(w, http.StatusOK, entries(`{"values":{"ACME Number":"AC 17/b","ACME State":"Cancelled","Owner":"Bob"}}`))
	}
	c := f.client(t, remedy.Config{
		FormName: "ACME:Help Desk",
		Fields: remedy.Fields{Number: "ACME Number", Status: "ACME State", Assignee: "Owner",
			RequestID: remedy.Omit, FirstName: remedy.Omit, LastName: remedy.Omit, Summary: remedy.Omit},
		TicketURL: "https://midtier.example.com/t/$TICKETID?again=$TICKETID",
	})
	got, err := c.LookupTicket(context.Background(), "AC 17/b")
	require.NoError(t, err)
	assert.Equal(t, "Cancelled", got.Status)
	assert.False(t, got.Open)
	assert.Equal(t, "Bob", got.Assignee)
	assert.Equal(t, "https://midtier.example.com/t/AC%2017%2Fb?again=AC%2017%2Fb", got.URL)
}

func TestLookupStatuses(t *testing.T) {
	tests := []struct {
		kind   remedy.FormKind
		status string
		open   bool
	}{
		{remedy.Incident, "New", true},
		{remedy.Incident, "Assigned", true},
		{remedy.Incident, "In Progress", true},
		{remedy.Incident, "Pending", true},
		{remedy.Incident, "Resolved", true}, // as Secret Server: only Closed and Cancelled block
		{remedy.Incident, "Closed", false},
		{remedy.Incident, "Cancelled", false},
		{remedy.Incident, "closed", false},
		{remedy.Incident, " CANCELLED ", false},
		{remedy.Incident, "Completed", true}, // not an incident status: only changes treat it as closed
		{remedy.Incident, "", false},
		{remedy.Change, "Draft", true},
		{remedy.Change, "Request For Authorization", true},
		{remedy.Change, "Scheduled For Approval", true},
		{remedy.Change, "Scheduled", true},
		{remedy.Change, "Implementation In Progress", true},
		{remedy.Change, "Pending", true},
		{remedy.Change, "Completed", false},
		{remedy.Change, "Closed", false},
		{remedy.Change, "Cancelled", false},
		{remedy.Change, "completed", false},
		{remedy.Change, "", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.status, func(t *testing.T) {
			f := newFake(t)
			number, entry := "INC000000000001", incidentEntry("INC000000000001", tt.status)
			if tt.kind == remedy.Change {
				number, entry = "CRQ000000000001", changeEntry("CRQ000000000001", tt.status)
			}
			f.entry = func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, entries(entry)) }
			c := f.client(t, remedy.Config{Form: tt.kind})
			got, err := c.LookupTicket(context.Background(), number)
			require.NoError(t, err)
			assert.Equal(t, tt.open, got.Open)
			assert.Equal(t, strings.TrimSpace(tt.status), got.Status)
			assert.Empty(t, got.StatusCode)
		})
	}
}

func TestLookupStatusNull(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, entries(`{"values":{"Incident Number":"INC000000000001","Status":null,"Assignee":null}}`))
	}
	got, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000001")
	require.NoError(t, err)
	assert.False(t, got.Open)
	assert.Empty(t, got.Status)
	assert.Empty(t, got.Assignee)
}

func TestLookupNotFound(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"empty entries", http.StatusOK, `{"entries":[],"_links":{"self":[{"href":"https://x/api/arsys/v1/entry/HPD:IncidentInterface"}]}}`},
		{"empty entries with numMatches", http.StatusOK, `{"entries":[],"numMatches":null}`},
		{"404 entry does not exist", http.StatusNotFound, `[{"messageType":"ERROR","messageText":"Entry does not exist in database","messageAppendedText":null,"messageNumber":302}]`},
		{"another ticket", http.StatusOK, entries(incidentEntry("INC000000000999", "Assigned"))},
		{"entry without values", http.StatusOK, entries(`{"_links":{}}`)},
		{"number null", http.StatusOK, entries(`{"values":{"Incident Number":null,"Status":"Assigned"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.entry = func(w http.ResponseWriter, r *http.Request) {
				checkLookup(t, r, "HPD:IncidentInterface", `'Incident Number'="INC000000000430"`, incidentFields)
				writeJSON(w, tt.status, tt.body)
			}
			_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000430")
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
			assert.NotErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			assert.Contains(t, err.Error(), `"INC000000000430"`)
			assert.Equal(t, int32(1), f.logins.Load())
		})
	}
}

func TestLookupCaseInsensitiveNumber(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		checkLookup(t, r, "HPD:IncidentInterface", `'Incident Number'="inc000000000430"`, incidentFields)
		writeJSON(w, http.StatusOK, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	got, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "inc000000000430")
	require.NoError(t, err)
	assert.Equal(t, "INC000000000430", got.Number, "the number as Remedy spells it")
}

// checkerError asserts err is a *ticketing.CheckerError of kind and
// returns it.
func checkerError(t *testing.T, err error, kind error) *ticketing.CheckerError {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind)
	assert.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	var ce *ticketing.CheckerError
	require.ErrorAs(t, err, &ce)
	return ce
}

func TestLookupFailures(t *testing.T) {
	hostile := `[{"messageType":"ERROR","messageText":"<script>alert(1)</script> password=hunter2","messageAppendedText":"secret detail","messageNumber":9093}]`
	httpDate := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		kind       error
		status     int
		temporary  bool
		retryAfter func(time.Duration) bool
		detail     string
	}{
		{name: "403", respond: func(w http.ResponseWriter) {
			writeJSON(w, 403, `[{"messageType":"ERROR","messageText":"No read access","messageNumber":354}]`)
		},
			kind: ticketing.ErrCheckerAuth, status: 403, detail: "ARERR 354"},
		{name: "429 seconds", respond: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			writeJSON(w, 429, `{}`)
		}, kind: ticketing.ErrCheckerUnavailable, status: 429, temporary: true,
			retryAfter: func(d time.Duration) bool { return d == 2*time.Second }},
		{name: "429 HTTP date", respond: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", httpDate)
			writeJSON(w, 429, `{}`)
		}, kind: ticketing.ErrCheckerUnavailable, status: 429, temporary: true,
			retryAfter: func(d time.Duration) bool { return d > 0 && d <= 3*time.Second }},
		{name: "bare 500", respond: func(w http.ResponseWriter) { w.WriteHeader(500) },
			kind: ticketing.ErrCheckerUnavailable, status: 500},
		{name: "500 with AR messages", respond: func(w http.ResponseWriter) { writeJSON(w, 500, hostile) },
			kind: ticketing.ErrCheckerUnavailable, status: 500, detail: "ARERR 9093"},
		{name: "503", respond: func(w http.ResponseWriter) { writeJSON(w, 503, `upstream down`) },
			kind: ticketing.ErrCheckerUnavailable, status: 503, temporary: true},
		{name: "404 form does not exist", respond: func(w http.ResponseWriter) {
			writeJSON(w, 404, `[{"messageType":"ERROR","messageText":"Form does not exist on server","messageNumber":303}]`)
		}, kind: ticketing.ErrCheckerUnavailable, status: 404, detail: "ARERR 303"},
		{name: "404 without AR body", respond: func(w http.ResponseWriter) { writeJSON(w, 404, `<html>not here</html>`) },
			kind: ticketing.ErrCheckerUnavailable, status: 404},
		{name: "400 bad qualification", respond: func(w http.ResponseWriter) { writeJSON(w, 400, hostile) },
			kind: ticketing.ErrCheckerUnavailable, status: 400},
		{name: "malformed JSON", respond: func(w http.ResponseWriter) { writeJSON(w, 200, `{"entries":[{"values":`) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "malformed"},
		{name: "array body on 200", respond: func(w http.ResponseWriter) { writeJSON(w, 200, hostile) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "malformed"},
		{name: "no entries key", respond: func(w http.ResponseWriter) { writeJSON(w, 200, `{"_links":{}}`) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "no entries"},
		{name: "entries null", respond: func(w http.ResponseWriter) { writeJSON(w, 200, `{"entries":null}`) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "no entries"},
		{name: "entry not an object", respond: func(w http.ResponseWriter) { writeJSON(w, 200, `{"entries":["x"]}`) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "malformed"},
		{name: "HTML page", respond: func(w http.ResponseWriter) { writeJSON(w, 200, `<html><body>Mid-Tier login</body></html>`) },
			kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "malformed"},
		{name: "204", respond: func(w http.ResponseWriter) { w.WriteHeader(204) },
			kind: ticketing.ErrCheckerUnavailable, status: 204},
		{name: "oversized body", respond: func(w http.ResponseWriter) {
			writeJSON(w, 200, `{"entries":[],"pad":"`+strings.Repeat("x", 1<<20)+`"}`)
		}, kind: ticketing.ErrCheckerUnavailable, status: 200, detail: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.entry = func(w http.ResponseWriter, r *http.Request) { tt.respond(w) }
			_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000430")
			ce := checkerError(t, err, tt.kind)
			assert.Equal(t, "lookup", ce.Op)
			assert.Equal(t, tt.status, ce.StatusCode)
			assert.Equal(t, tt.temporary, ce.Temporary)
			if tt.retryAfter != nil {
				assert.True(t, tt.retryAfter(ce.RetryAfter), "RetryAfter %v", ce.RetryAfter)
			} else {
				assert.Zero(t, ce.RetryAfter)
			}
			if tt.detail != "" {
				assert.Contains(t, err.Error(), tt.detail)
			}
			for _, leak := range []string{"script", "hunter2", "secret detail", "upstream down", "Mid-Tier", "not here", testPass, f.Token()} {
				assert.NotContains(t, err.Error(), leak)
			}
			assert.Equal(t, int32(1), f.logins.Load(), "no re-login for a non-401 failure")
		})
	}
}

func TestLookupTimeout(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := f.client(t, remedy.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "INC000000000430")
	elapsed := time.Since(start)
	ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.False(t, ce.Temporary)
	assert.Less(t, elapsed, 3*time.Second)
}

func TestLoginTimeout(t *testing.T) {
	f := newFake(t)
	f.login = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c := f.client(t, remedy.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "INC000000000430")
	checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, err.Error(), "login")
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestLookupRedirectToAnotherHost(t *testing.T) {
	var contacted atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contacted.Add(1)
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}))
	defer other.Close()
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}
	_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000430")
	checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Zero(t, contacted.Load(), "the other host must not be contacted")
	assert.NotContains(t, err.Error(), f.Token())
}

func TestLoginRedirectToAnotherHost(t *testing.T) {
	var contacted atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { contacted.Add(1) }))
	defer other.Close()
	f := newFake(t)
	f.login = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/jwt/login", http.StatusTemporaryRedirect)
	}
	_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000430")
	checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Zero(t, contacted.Load(), "the credentials must not go to the other host")
}

func TestLookupRefusesUnsafeNumbers(t *testing.T) {
	unsafe := []string{
		`INC1"`,
		`INC1" OR 'Status'!="x`,
		`INC1' OR '1'='1`,
		`INC1\"`,
		`INC1\`,
		`INC$USER$`,
		`$NULL$`,
		"INC1\x00",
		"INC1\nOR",
		"INC1\r",
		"INC1\t",
		"INC1\u202e", // bidi override
		"INC1\u200b", // zero-width space
		"INC1\u00a0", // non-breaking space
		"INC1\xff",   // invalid UTF-8
		"",
		strings.Repeat("1", 129),
	}
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		// Typographic quotes are not AR quotes: that number is sent as is.
		checkLookup(t, r, "HPD:IncidentInterface", "'Incident Number'=\"INC\u201c1\u201d\"", incidentFields)
		writeJSON(w, 200, entries())
	}
	c := f.client(t, remedy.Config{})
	for _, n := range unsafe {
		_, err := c.LookupTicket(context.Background(), n)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "%q", n)
		assert.NotContains(t, err.Error(), "\n")
		assert.NotContains(t, err.Error(), "\x00")
	}
	assert.Zero(t, f.requests.Load(), "nothing was sent, not even a login")

	_, err := c.LookupTicket(context.Background(), "INC\u201c1\u201d")
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.Equal(t, []string{"login", "entry 200"}, f.Log())
}

func TestLookupEncodesNumber(t *testing.T) {
	// Numbers that are safe inside AR quotes but would change a URL if not
	// encoded. The fake sees exactly one q, with the number verbatim.
	numbers := []string{
		"INC1&q=x&limit=100",
		"INC1?limit=100",
		"INC1#fragment",
		"../../jwt/logout",
		"INC1%2F..%2Fx",
		"INC1/../CHG:ChangeInterface",
		"INC1+OR+1",
		"INC 1 OR 1=1",
		"INC1;fields=values(Password)",
		"INC%",
		"INC_CAL_0000001",
		"ÎNC€1",
	}
	for _, n := range numbers {
		t.Run(n, func(t *testing.T) {
			f := newFake(t)
			f.entry = func(w http.ResponseWriter, r *http.Request) {
				checkLookup(t, r, "HPD:IncidentInterface", `'Incident Number'="`+n+`"`, incidentFields)
				writeJSON(w, 200, entries(incidentEntry("INC000000000001", "Assigned")))
			}
			_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), n)
			require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "another ticket's entry is not a match")
			assert.Equal(t, []string{"login", "entry 200"}, f.Log())
		})
	}
}

func TestTokenReused(t *testing.T) {
	f := newFake(t)
	var auths []string
	var mu sync.Mutex
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	for range 3 {
		_, err := c.LookupTicket(context.Background(), "INC000000000430")
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), f.logins.Load())
	tok := "AR-JWT " + f.Token()
	assert.Equal(t, []string{tok, tok, tok}, auths)
}

func TestTokenRenewedOn401(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	_, err := c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	f.revoke() // the token expires on the server

	got, err := c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	assert.Equal(t, "Assigned", got.Status)
	assert.Equal(t, []string{"login", "entry 200", "entry 401", "login", "entry 200"}, f.Log())

	_, err = c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	assert.Equal(t, int32(2), f.logins.Load(), "the renewed token is kept")
}

func TestTokenRenewalRefused(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	_, err := c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)

	f.rejectTokens.Store(true) // e.g. the account lost its license
	_, err = c.LookupTicket(context.Background(), "INC000000000430")
	ce := checkerError(t, err, ticketing.ErrCheckerAuth)
	assert.Equal(t, 401, ce.StatusCode)
	assert.Contains(t, err.Error(), "ARERR 623")
	assert.NotContains(t, err.Error(), "Authentication failed")
	assert.Equal(t, []string{"login", "entry 200", "entry 401", "login", "entry 401"}, f.Log(), "exactly one re-login")

	// The refused token is dropped; a fresh token that is refused is not
	// renewed again within the same call.
	_, err = c.LookupTicket(context.Background(), "INC000000000430")
	checkerError(t, err, ticketing.ErrCheckerAuth)
	assert.Equal(t, int32(3), f.logins.Load())
	assert.Equal(t, []string{"login", "entry 401"}, f.Log()[5:])
}

func TestTokenLifetime(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	remedy.SetClock(c, func() time.Time { return now })

	_, err := c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	now = now.Add(remedy.TokenLifetime - time.Second)
	_, err = c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	now = now.Add(time.Second)
	_, err = c.LookupTicket(context.Background(), "INC000000000430")
	require.NoError(t, err)
	assert.Equal(t, []string{"login", "entry 200", "entry 200", "login", "entry 200"}, f.Log(), "an old token is replaced before it fails")
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name      string
		respond   func(w http.ResponseWriter)
		kind      error
		temporary bool
		detail    string
	}{
		{"401", func(w http.ResponseWriter) {
			writeJSON(w, 401, `[{"messageType":"ERROR","messageText":"Authentication failed for svc_secrets","messageNumber":623}]`)
		}, ticketing.ErrCheckerAuth, false, "login: Unauthorized (ARERR 623)"},
		{"403", func(w http.ResponseWriter) { w.WriteHeader(403) }, ticketing.ErrCheckerAuth, false, "login: Forbidden"},
		{"200 with x-ar-messages error", func(w http.ResponseWriter) {
			w.Header().Set("x-ar-messages", `[{"messageType":"ERROR","messageText":"login failed","messageNumber":623}]`)
			io.WriteString(w, "eyJ.guest.token")
		}, ticketing.ErrCheckerAuth, false, "x-ar-messages"},
		{"500", func(w http.ResponseWriter) { w.WriteHeader(500) }, ticketing.ErrCheckerUnavailable, false, "login: Internal Server Error"},
		{"503", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
		}, ticketing.ErrCheckerUnavailable, true, "login"},
		{"empty token", func(w http.ResponseWriter) { io.WriteString(w, " \n") }, ticketing.ErrCheckerUnavailable, false, "not a token"},
		{"token with space", func(w http.ResponseWriter) { io.WriteString(w, "eyJ abc") }, ticketing.ErrCheckerUnavailable, false, "not a token"},
		{"token with CRLF", func(w http.ResponseWriter) { io.WriteString(w, "eyJ\r\nX-Evil: 1") }, ticketing.ErrCheckerUnavailable, false, "not a token"},
		{"HTML page", func(w http.ResponseWriter) { io.WriteString(w, "<html><body>Sign in</body></html>") }, ticketing.ErrCheckerUnavailable, false, "not a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.login = func(w http.ResponseWriter, r *http.Request) { tt.respond(w) }
			c := f.client(t, remedy.Config{})
			_, err := c.LookupTicket(context.Background(), "INC000000000430")
			ce := checkerError(t, err, tt.kind)
			assert.Equal(t, tt.temporary, ce.Temporary)
			assert.Equal(t, "lookup", ce.Op)
			assert.Contains(t, err.Error(), tt.detail)
			for _, leak := range []string{testPass, testUser, "Sign in", "Evil", "guest"} {
				assert.NotContains(t, err.Error(), leak)
			}
			assert.Equal(t, []string{"login"}, f.Log(), "no entry call without a token")

			// The next call tries to log in again.
			_, err = c.LookupTicket(context.Background(), "INC000000000430")
			require.Error(t, err)
			assert.Equal(t, int32(2), f.logins.Load())
		})
	}
}

func TestConcurrentLookupsAreSerialised(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // widen the window for an overlap
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.LookupTicket(context.Background(), "INC000000000430")
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), f.logins.Load(), "one login for all")
	assert.Equal(t, int32(21), f.requests.Load())
	assert.Zero(t, f.overlaps.Load(), "requests of one account never overlap")
}

func TestSharedLoginAcrossForms(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		if strings.Contains(r.URL.Path, "CHG:") {
			checkLookup(t, r, "CHG:ChangeInterface", `'Infrastructure Change ID'="CRQ000000000109"`, changeFields)
			writeJSON(w, 200, entries(changeEntry("CRQ000000000109", "Scheduled")))
			return
		}
		checkLookup(t, r, "HPD:IncidentInterface", `'Incident Number'="INC000000000430"`, incidentFields)
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	incidents := f.client(t, remedy.Config{})
	changes, err := remedy.New(remedy.Config{Form: remedy.Change, ShareLoginWith: incidents})
	require.NoError(t, err)

	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 10 {
		wg.Go(func() {
			if _, err := incidents.LookupTicket(context.Background(), "INC000000000430"); err != nil {
				failures.Add(1)
			}
		})
		wg.Go(func() {
			if _, err := changes.LookupTicket(context.Background(), "CRQ000000000109"); err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failures.Load())
	assert.Equal(t, int32(1), f.logins.Load())
	assert.Zero(t, f.overlaps.Load())
}

func TestWaitingForTheAccountHonoursContext(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	var entered atomic.Int32
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeJSON(w, 200, entries(incidentEntry("INC000000000430", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	done := make(chan error, 1)
	go func() {
		_, err := c.LookupTicket(context.Background(), "INC000000000430")
		done <- err
	}()
	require.Eventually(t, func() bool { return entered.Load() == 1 }, 2*time.Second, time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.LookupTicket(ctx, "INC000000000430")
	ce := checkerError(t, err, ticketing.ErrCheckerUnavailable)
	assert.Contains(t, ce.Detail, "waiting")
	assert.Less(t, time.Since(start), 3*time.Second)
	assert.Equal(t, int32(1), entered.Load(), "the waiting call never reached the server")

	close(release)
	require.NoError(t, <-done)
}

func TestAddComment(t *testing.T) {
	note := "alice viewed secret \"prod-db\" (42).\nReason: deploy \"hotfix\" <b>now</b>\nCorrelation ID: 7f3a"
	tests := []struct {
		name     string
		cfg      remedy.Config
		ticket   ticketing.Ticket
		wantPath string
		want     map[string]string
	}{
		{"incident", remedy.Config{}, ticketing.Ticket{Number: "INC000000000430", ID: "INC000000000527|INC000000000527"},
			"/api/arsys/v1/entry/HPD:WorkLog", map[string]string{
				"Incident Number": "INC000000000430", "Work Log Type": "General Information",
				"Description": `alice viewed secret "prod-db" (42).`, "Detailed Description": note,
				"View Access": "Internal", "Secure Work Log": "No",
			}},
		{"change with work type", remedy.Config{Form: remedy.Change, WorkInfoType: "Security"},
			ticketing.Ticket{Number: "CRQ000000000109"},
			"/api/arsys/v1/entry/CHG:WorkLog", map[string]string{
				"Infrastructure Change ID": "CRQ000000000109", "Work Log Type": "Security",
				"Description": `alice viewed secret "prod-db" (42).`, "Detailed Description": note,
				"View Access": "Internal", "Secure Work Log": "No",
			}},
		{"customised work log form", remedy.Config{WorkLogForm: "ACME:Work Info", WorkLogNumberField: "ACME Number"},
			ticketing.Ticket{Number: "AC-17"},
			"/api/arsys/v1/entry/ACME:Work Info", map[string]string{
				"ACME Number": "AC-17", "Work Log Type": "General Information",
				"Description": `alice viewed secret "prod-db" (42).`, "Detailed Description": note,
				"View Access": "Internal", "Secure Work Log": "No",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.entry = func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, tt.wantPath, r.URL.Path)
				assert.Empty(t, r.URL.RawQuery)
				assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
				assert.Equal(t, "AR-JWT "+f.Token(), r.Header.Get("Authorization"))
				var body map[string]map[string]string
				assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
				if d := cmp.Diff(map[string]map[string]string{"values": tt.want}, body); d != "" {
					t.Errorf("work info body (-want +got):\n%s", d)
				}
				w.Header().Set("Location", "https://remedy.example.com/api/arsys/v1/entry/HPD:WorkLog/WLG000002437184")
				w.WriteHeader(http.StatusCreated)
			}
			c := f.client(t, tt.cfg)
			require.NoError(t, c.AddComment(context.Background(), tt.ticket, ticketing.Comment{Text: note, CorrelationID: "7f3a"}))
			assert.Equal(t, []string{"login", "entry 201"}, f.Log())
		})
	}
}

func TestAddCommentSummaryCapped(t *testing.T) {
	f := newFake(t)
	var got map[string]map[string]string
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.WriteHeader(http.StatusCreated)
	}
	long := "\n  " + strings.Repeat("é", 150) + "\nsecond line"
	require.NoError(t, f.client(t, remedy.Config{}).AddComment(context.Background(),
		ticketing.Ticket{Number: "INC000000000430"}, ticketing.Comment{Text: long}))
	assert.Equal(t, strings.Repeat("é", 97)+"...", got["values"]["Description"])
	assert.Equal(t, long, got["values"]["Detailed Description"])
}

func TestAddCommentFailures(t *testing.T) {
	tests := []struct {
		name      string
		respond   func(w http.ResponseWriter)
		kind      error
		status    int
		temporary bool
	}{
		{"400", func(w http.ResponseWriter) {
			writeJSON(w, 400, `[{"messageType":"ERROR","messageText":"Required field (without a default) not specified : Work Log Submitter","messageNumber":326}]`)
		}, ticketing.ErrCheckerUnavailable, 400, false},
		{"403", func(w http.ResponseWriter) { writeJSON(w, 403, `[]`) }, ticketing.ErrCheckerAuth, 403, false},
		{"bare 500", func(w http.ResponseWriter) { w.WriteHeader(500) }, ticketing.ErrCheckerUnavailable, 500, false},
		{"503", func(w http.ResponseWriter) { w.WriteHeader(503) }, ticketing.ErrCheckerUnavailable, 503, true},
		{"429", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		}, ticketing.ErrCheckerUnavailable, 429, true},
		{"200 instead of 201", func(w http.ResponseWriter) { writeJSON(w, 200, `<html>proxy</html>`) }, ticketing.ErrCheckerUnavailable, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.entry = func(w http.ResponseWriter, r *http.Request) { tt.respond(w) }
			err := f.client(t, remedy.Config{}).AddComment(context.Background(),
				ticketing.Ticket{Number: "INC000000000430"}, ticketing.Comment{Text: "note"})
			ce := checkerError(t, err, tt.kind)
			assert.Equal(t, "comment", ce.Op)
			assert.Equal(t, tt.status, ce.StatusCode)
			assert.Equal(t, tt.temporary, ce.Temporary)
			assert.NotContains(t, err.Error(), "Work Log Submitter")
			assert.NotContains(t, err.Error(), "proxy")
		})
	}
}

func TestAddCommentRenewsToken(t *testing.T) {
	f := newFake(t)
	var posts atomic.Int32
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusCreated)
	}
	c := f.client(t, remedy.Config{})
	require.NoError(t, c.AddComment(context.Background(), ticketing.Ticket{Number: "INC000000000430"}, ticketing.Comment{Text: "one"}))
	f.revoke()
	require.NoError(t, c.AddComment(context.Background(), ticketing.Ticket{Number: "INC000000000430"}, ticketing.Comment{Text: "two"}))
	assert.Equal(t, []string{"login", "entry 201", "entry 401", "login", "entry 201"}, f.Log())
	assert.Equal(t, int32(2), posts.Load(), "the refused post was not stored, the repeated one was")
}

func TestAddCommentRefusesWithoutRequest(t *testing.T) {
	f := newFake(t)
	c := f.client(t, remedy.Config{})
	for _, tc := range []struct {
		ticket ticketing.Ticket
		text   string
	}{
		{ticketing.Ticket{}, "note"},
		{ticketing.Ticket{Number: "INC1\xff"}, "note"},
		{ticketing.Ticket{Number: "INC000000000430"}, " \n"},
	} {
		err := c.AddComment(context.Background(), tc.ticket, ticketing.Comment{Text: tc.text})
		checkerError(t, err, ticketing.ErrCheckerUnavailable)
	}
	assert.Zero(t, f.requests.Load())
}

// statusFake answers lookups from a table of incident statuses.
func statusFake(t *testing.T, statuses map[string]string) *fake {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			return
		}
		q := r.URL.Query().Get("q")
		number := strings.TrimSuffix(strings.TrimPrefix(q, `'Incident Number'="`), `"`)
		if st, ok := statuses[number]; ok {
			writeJSON(w, 200, entries(incidentEntry(number, st)))
			return
		}
		writeJSON(w, 200, entries())
	}
	return f
}

func TestThroughValidator(t *testing.T) {
	f := statusFake(t, map[string]string{"INC000000000001": "In Progress", "INC000000000002": "Closed"})
	c := f.client(t, remedy.Config{})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name:    "BMC Helix",
		Pattern: `^INC\d{12}$`,
		Mode:    ticketing.TicketRequired,
	}, ticketing.WithChecker(c))
	require.NoError(t, err)

	res, err := v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC000000000001"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "In Progress", res.Ticket.Status)

	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC000000000003"})
	assert.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC000000000002"})
	assert.ErrorIs(t, err, ticketing.ErrTicketClosed)
	assert.Contains(t, err.Error(), "Closed")

	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: `INC000000000001" OR "1"="1`})
	assert.ErrorIs(t, err, ticketing.ErrTicketFormat, "the pattern stops it before the connector")

	assert.Equal(t, int32(1), f.logins.Load())
}

func TestThroughRegistryWithComment(t *testing.T) {
	f := newFake(t)
	var note string
	f.entry = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			var body map[string]map[string]string
			assert.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			note = body["values"]["Detailed Description"]
			w.WriteHeader(http.StatusCreated)
			return
		}
		writeJSON(w, 200, entries(incidentEntry("INC000000000001", "Assigned")))
	}
	c := f.client(t, remedy.Config{})
	reg := ticketing.NewRegistry(ticketing.NewMemoryStore(), ticketing.WithConnector("remedy", c))
	sys, err := reg.Add(context.Background(), ticketing.TicketSystem{
		Name: "BMC Helix", Active: true, Pattern: `^INC\d{12}$`, Mode: ticketing.TicketAndReasonRequired,
		Connector: "remedy", AddCommentsToTicket: true,
	})
	require.NoError(t, err)

	rec, err := reg.CheckAccess(context.Background(), ticketing.AccessRequest{
		User:           "alice",
		Secret:         ticketing.Secret{ID: "42", Name: "prod-db", RequireComment: true},
		Action:         ticketing.ActionView,
		TicketSystemID: sys.ID,
		Submission:     ticketing.Submission{TicketNumber: "INC000000000001", Reason: "deploy"},
	})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, rec.LiveCheck)
	assert.Equal(t, ticketing.CommentWritten, rec.Comment)
	require.NotEmpty(t, rec.CorrelationID)
	assert.Contains(t, note, rec.CorrelationID)
	assert.Contains(t, note, "alice")
	assert.Contains(t, note, "deploy")
	assert.Zero(t, f.overlaps.Load())
	assert.Equal(t, []string{"login", "entry 200", "entry 201"}, f.Log())
}

// TestErrorsAreClassified: a 502 is a temporary *CheckerError, which the
// core's outage policy retries.
func TestErrorsAreClassified(t *testing.T) {
	f := newFake(t)
	f.entry = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) }
	_, err := f.client(t, remedy.Config{}).LookupTicket(context.Background(), "INC000000000430")
	var ce *ticketing.CheckerError
	require.True(t, errors.As(err, &ce))
	assert.True(t, ce.Temporary)
}
