package servicenow_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing/connectors/servicenow"
)

// A fake ServiceNow instance for the tests, after ticket-apis.md section 1.

// Credentials the tests configure; the fake sees them in the headers.
const (
	testUser     = "svc-ticketgate"
	testPassword = "pa55:word-S3CRET"
	testToken    = "tok-S3CRET-0123456789"
	testAPIKey   = "key-S3CRET-abcdef"
)

// wantFields is the sysparm_fields a lookup must send.
const wantFields = "sys_id,number,state,active,assigned_to,caller_id,requested_for,requested_by,opened_by,short_description,sys_class_name,start_date,end_date"

// lookupQuery is the exact query a lookup of number must send.
func lookupQuery(number string) url.Values {
	return url.Values{
		"sysparm_query":                  {"number=" + number},
		"sysparm_limit":                  {"1"},
		"sysparm_display_value":          {"all"},
		"sysparm_exclude_reference_link": {"true"},
		"sysparm_no_count":               {"true"},
		"sysparm_fields":                 {wantFields},
	}
}

// call is one request the fake received.
type call struct {
	Method string
	Path   string // decoded
	Query  url.Values
	Header http.Header
	Body   string
}

// fake is an httptest server that records every request and answers
// through handle.
type fake struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []call
	handle func(w http.ResponseWriter, r *http.Request, body string)
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body string)) *fake {
	t.Helper()
	f := &fake{handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.calls = append(f.calls, call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(b)})
		f.mu.Unlock()
		f.handle(w, r, string(b))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// scripted answers every request with one status, header set and body.
func scripted(t *testing.T, status int, header map[string]string, body string) *fake {
	return newFake(t, func(w http.ResponseWriter, _ *http.Request, _ string) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		if _, ok := header["Content-Type"]; !ok {
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

func (f *fake) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// requireOneLookup asserts that the fake received exactly one lookup of
// number, with basic authentication, on path.
func (f *fake) requireOneLookup(t *testing.T, path, number string) {
	t.Helper()
	calls := f.Calls()
	require.Len(t, calls, 1, "requests received")
	requireLookup(t, calls[0], path, number)
}

func requireLookup(t *testing.T, c call, path, number string) {
	t.Helper()
	require.Equal(t, http.MethodGet, c.Method)
	require.Equal(t, path, c.Path)
	require.Equal(t, lookupQuery(number), c.Query)
	requireBasic(t, c)
	require.Equal(t, "application/json", c.Header.Get("Accept"))
}

func requireBasic(t *testing.T, c call) {
	t.Helper()
	r := &http.Request{Header: c.Header}
	u, p, ok := r.BasicAuth()
	require.True(t, ok, "basic authentication header")
	require.Equal(t, testUser, u)
	require.Equal(t, testPassword, p)
}

// newClient returns a Client with basic authentication against base;
// edit changes the Config first.
func newClient(t *testing.T, base string, edit func(*servicenow.Config)) *servicenow.Client {
	t.Helper()
	cfg := servicenow.Config{BaseURL: base, Username: testUser, Password: testPassword}
	if edit != nil {
		edit(&cfg)
	}
	c, err := servicenow.New(cfg)
	require.NoError(t, err)
	return c
}

// dv is a field as sysparm_display_value=all sends it.
func dv(display, value string) map[string]string {
	return map[string]string{"display_value": display, "value": value}
}

// stateRecord is a minimal record in the display_value=all shape.
func stateRecord(class, number, state, label, active string) map[string]any {
	return map[string]any{
		"sys_id":         dv("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
		"number":         dv(number, number),
		"state":          dv(label, state),
		"active":         dv(active, active),
		"sys_class_name": dv(class, class),
	}
}

// resultBody is {"result":[records...]}.
func resultBody(t *testing.T, records ...any) string {
	t.Helper()
	if records == nil {
		records = []any{}
	}
	b, err := json.Marshal(map[string]any{"result": records})
	require.NoError(t, err)
	return string(b)
}

// instance is a fake that holds records per table and answers lookups
// (by the number in sysparm_query, on any API version) and work-note
// PATCHes as ServiceNow does.
type instance struct {
	*fake
	records map[string][]map[string]any // table -> records
	notes   map[string][]string         // sys_id -> work notes
}

func newInstance(t *testing.T, records map[string][]map[string]any) *instance {
	in := &instance{records: records, notes: map[string][]string{}}
	in.fake = newFake(t, func(w http.ResponseWriter, r *http.Request, body string) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		// api/now[/vN]/table/{table}[/{sys_id}]
		if len(parts) >= 3 && (parts[2] == "v1" || parts[2] == "v2") {
			parts = append(parts[:2], parts[3:]...)
		}
		switch {
		case r.Method == http.MethodGet && len(parts) == 4 && parts[2] == "table":
			number := strings.TrimPrefix(r.URL.Query().Get("sysparm_query"), "number=")
			var found []any
			for table, recs := range in.records {
				if parts[3] != "task" && parts[3] != table {
					continue
				}
				for _, rec := range recs {
					if strings.EqualFold(rec["number"].(map[string]string)["value"], number) {
						found = append(found, rec)
					}
				}
			}
			_, _ = io.WriteString(w, resultBody(t, found...))
		case r.Method == http.MethodPatch && len(parts) == 5 && parts[2] == "table":
			var in2 map[string]string
			if json.Unmarshal([]byte(body), &in2) != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			in.fake.mu.Lock()
			in.notes[parts[4]] = append(in.notes[parts[4]], in2["work_notes"])
			in.fake.mu.Unlock()
			_, _ = io.WriteString(w, `{"result":{"sys_id":"`+parts[4]+`","work_notes":""}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"Requested URI does not represent any resource"},"status":"failure"}`)
		}
	})
	return in
}

// Notes returns the work notes written to the record sysID.
func (in *instance) Notes(sysID string) []string {
	in.fake.mu.Lock()
	defer in.fake.mu.Unlock()
	return append([]string(nil), in.notes[sysID]...)
}
