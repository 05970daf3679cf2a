package remedy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ticketgate/ticketing/connectors/remedy"
)

// Credentials of the fake; the password holds characters that form
// encoding must escape.
const (
	testUser = "svc_secrets"
	testPass = "pa&ss=w0rd +%"
)

// The fields LookupTicket must ask for, per form kind.
const (
	incidentFields = "values(Incident Number,Status,Request ID,Assignee,First Name,Last Name,Description)"
	changeFields   = "values(Infrastructure Change ID,Change Request Status,Request ID,Assignee,Customer First Name,Customer Last Name,Description,Scheduled Start Date,Scheduled End Date)"
)

// arAuthFailed is AR's answer to a call with a bad or expired token.
const arAuthFailed = `[{"messageType":"ERROR","messageText":"Authentication failed","messageAppendedText":null,"messageNumber":623}]`

// fake is an AR System REST API: it logs users in, checks the AR-JWT
// header of every other call, and hands entry calls to entry. It counts
// logins and requests, records their order, and detects requests of the
// account that overlap.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	// authString is the authString the login must carry ("" = none).
	authString string
	// login, when set, answers the login instead of issuing a token.
	login func(w http.ResponseWriter, r *http.Request)
	// entry answers the calls under /api/arsys/v1/entry/ that carry a
	// valid token.
	entry func(w http.ResponseWriter, r *http.Request)
	// rejectTokens makes every token invalid, even fresh ones.
	rejectTokens atomic.Bool

	logins   atomic.Int32
	requests atomic.Int32
	inFlight atomic.Int32
	overlaps atomic.Int32

	mu     sync.Mutex
	issued int
	valid  string   // the token that calls must carry
	log    []string // "login", "entry 200", "entry 401", in order
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) record(s string) {
	f.mu.Lock()
	f.log = append(f.log, s)
	f.mu.Unlock()
}

// Log returns the calls seen so far, in order.
func (f *fake) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// revoke invalidates the current token, as its expiry would.
func (f *fake) revoke() {
	f.mu.Lock()
	f.valid = ""
	f.mu.Unlock()
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.inFlight.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	defer f.inFlight.Add(-1)

	if r.URL.Path == "/api/jwt/login" {
		f.serveLogin(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/arsys/v1/entry/") {
		f.t.Errorf("unexpected path %q", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	ok := f.valid != "" && r.Header.Get("Authorization") == "AR-JWT "+f.valid && !f.rejectTokens.Load()
	f.mu.Unlock()
	if !ok {
		f.record("entry 401")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, arAuthFailed)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if f.entry == nil {
		f.t.Errorf("unexpected entry call %s %s", r.Method, r.URL)
		rec.WriteHeader(http.StatusInternalServerError)
	} else {
		f.entry(rec, r)
	}
	f.record(fmt.Sprintf("entry %d", rec.status))
}

// serveLogin asserts the login request: POST, form-encoded, exactly
// username, password and (when expected) authString, no query.
func (f *fake) serveLogin(w http.ResponseWriter, r *http.Request) {
	f.logins.Add(1)
	f.record("login")
	if r.Method != http.MethodPost {
		f.t.Errorf("login: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.t.Errorf("login: Content-Type %q", ct)
	}
	if r.URL.RawQuery != "" {
		f.t.Errorf("login: query %q, want none", r.URL.RawQuery)
	}
	if a := r.Header.Get("Accept"); !strings.Contains(a, "text/plain") {
		f.t.Errorf("login: Accept %q does not take the text/plain token", a)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		f.t.Errorf("login: Authorization %q, want none", a)
	}
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		f.t.Errorf("login: body %q: %v", body, err)
	}
	want := url.Values{"username": {testUser}, "password": {testPass}}
	if f.authString != "" {
		want.Set("authString", f.authString)
	}
	if form.Encode() != want.Encode() {
		f.t.Errorf("login: form %q, want %q", form.Encode(), want.Encode())
	}
	if f.login != nil {
		f.login(w, r)
		return
	}
	f.mu.Lock()
	f.issued++
	f.valid = fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.token-%d.c2ln", f.issued)
	tok := f.valid
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, tok+"\n")
}

// Token returns the token issued last.
func (f *fake) Token() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.token-%d.c2ln", f.issued)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// client builds a Client for the fake; cfg's connection fields are filled
// in.
func (f *fake) client(t *testing.T, cfg remedy.Config) *remedy.Client {
	t.Helper()
	cfg.BaseURL = f.srv.URL
	cfg.Username, cfg.Password = testUser, testPass
	cfg.AuthString = f.authString
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	c, err := remedy.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// checkLookup asserts an entry lookup: GET on form, exactly the q, fields
// and limit parameters, nothing else.
func checkLookup(t *testing.T, r *http.Request, form, q, fields string) {
	t.Helper()
	if r.Method != http.MethodGet {
		t.Errorf("lookup: method %s, want GET", r.Method)
	}
	if want := "/api/arsys/v1/entry/" + form; r.URL.Path != want {
		t.Errorf("lookup: path %q, want %q", r.URL.Path, want)
	}
	got, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		t.Errorf("lookup: query %q: %v", r.URL.RawQuery, err)
	}
	want := url.Values{"q": {q}, "fields": {fields}, "limit": {"1"}}
	if got.Encode() != want.Encode() {
		t.Errorf("lookup: query\n got %q\nwant %q", got, want)
	}
}

// writeJSON answers status with body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// entries wraps entry objects in a list answer.
func entries(es ...string) string {
	return `{"entries":[` + strings.Join(es, ",") + `],"_links":{"self":[{"href":"https://remedy.example.com/api/arsys/v1/entry/HPD:IncidentInterface?q=x"}]}}`
}

// incidentEntry is an incident entry as HPD:IncidentInterface returns it.
func incidentEntry(number, status string) string {
	return `{"values":{"Incident Number":"` + number + `","Status":"` + status + `",` +
		`"Request ID":"INC000000000527|INC000000000527","Assignee":"Allen Allbrook","First Name":"Mary",` +
		`"Last Name":"Mann","Description":"Email server not responding","Status_Reason":null},` +
		`"_links":{"self":[{"href":"https://remedy.example.com:8443/api/arsys/v1/entry/HPD:IncidentInterface/INC000000000527%7CINC000000000527"}]}}`
}

// changeEntry is a change entry as CHG:ChangeInterface returns it.
func changeEntry(number, status string) string {
	return `{"values":{"Infrastructure Change ID":"` + number + `","Change Request Status":"` + status + `",` +
		`"Request ID":"CRQ000000000109","Assignee":"Ian Plyment","Customer First Name":"App",` +
		`"Customer Last Name":"Admin","Description":"Patch the mail servers",` +
		`"Scheduled Start Date":"2026-03-01T22:00:00.000+0000","Scheduled End Date":"2026-03-02T02:30:00.000+0100"},` +
		`"_links":{"self":[{"href":"https://remedy.example.com:8443/api/arsys/v1/entry/CHG:ChangeInterface/CRQ000000000109"}]}}`
}
