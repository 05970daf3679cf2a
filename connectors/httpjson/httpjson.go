package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// Config configures a Client. URLTemplate and StatusPointer are required;
// every other field is optional. A Config is copied by New; changing it
// afterwards has no effect.
type Config struct {
	// URLTemplate is the address of one ticket: an absolute http or https
	// URL, already percent-encoded, with {ticket} (Placeholder) where the
	// ticket number goes, in the path or the query (never in the scheme,
	// host or port; no fragment). Examples:
	//	https://tickets.example.com/api/v2/tickets/{ticket}.json
	//	https://tickets.example.com/api/search?key={ticket}&fields=status
	URLTemplate string
	// StatusPointer is an RFC 6901 JSON Pointer to the ticket's status in
	// the response, such as /fields/status/name or /items/0/state. The
	// value must be a JSON string (Ticket.Status) or number
	// (Ticket.StatusCode). Required; the whole document ("") is not
	// allowed.
	StatusPointer string
	// OpenStatuses lists the statuses of an open ticket (case-insensitive).
	// When set, every other status is closed.
	OpenStatuses []string
	// ClosedStatuses lists the statuses of a closed ticket
	// (case-insensitive); used when OpenStatuses is empty: every other
	// status is open. When neither is set, every status is open and the
	// ticket system's AllowedStatuses decides which ones allow access.
	ClosedStatuses []string
	// SummaryPointer, AssigneePointer and RequesterPointer point to the
	// ticket's summary, assignee and requester. "" means not read. A value
	// that is missing, null, or neither a string nor a number is left
	// empty: these fields are informative and never fail a lookup.
	SummaryPointer   string
	AssigneePointer  string
	RequesterPointer string
	// Header holds extra request headers, such as an API key
	// ("X-API-Key"). nil means none. They may replace Accept and
	// User-Agent; Host is refused, and Authorization is refused when
	// BearerToken or Username is set.
	Header map[string]string
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// Username and Password, when Username is set, are sent with HTTP
	// basic authentication. Password without Username is an error.
	Username string
	Password string
	// NotFoundStatus lists the HTTP statuses that mean "no such ticket";
	// nil means 404 only. Each must be a 4xx status other than 401 and 429.
	NotFoundStatus []int
	// HTTPClient sends the requests; nil means a client with
	// httpapi.DefaultTimeout. It is copied, and the copy refuses redirects
	// to another host.
	HTTPClient *http.Client
}

// Client looks tickets up in a JSON API. It is immutable and safe for
// concurrent use. The zero value is not usable: build one with New. It
// implements ticketing.Checker only: it writes no comments.
type Client struct {
	api       *httpapi.Client
	tmpl      *urlTemplate
	status    pointer
	summary   pointer // nil: not read
	assignee  pointer
	requester pointer
	open      []string
	closed    []string
	notFound  []int
	header    http.Header
	bearer    string
	user      string
	password  string
}

var _ ticketing.Checker = (*Client)(nil)

// New checks cfg and returns a Client. Error texts name the setting at
// fault, never a credential or a header value.
func New(cfg Config) (*Client, error) {
	tmpl, err := parseTemplate(cfg.URLTemplate)
	if err != nil {
		return nil, fmt.Errorf("httpjson: URLTemplate %w", err)
	}
	c := &Client{tmpl: tmpl, bearer: cfg.BearerToken, user: cfg.Username, password: cfg.Password}

	if cfg.StatusPointer == "" {
		return nil, errors.New("httpjson: StatusPointer is required")
	}
	for _, p := range []struct {
		name string
		text string
		dst  *pointer
	}{
		{"StatusPointer", cfg.StatusPointer, &c.status},
		{"SummaryPointer", cfg.SummaryPointer, &c.summary},
		{"AssigneePointer", cfg.AssigneePointer, &c.assignee},
		{"RequesterPointer", cfg.RequesterPointer, &c.requester},
	} {
		if p.text == "" {
			continue
		}
		if *p.dst, err = parsePointer(p.text); err != nil {
			return nil, fmt.Errorf("httpjson: %s %s: %w", p.name, quote(p.text), err)
		}
	}

	if c.open, err = statusList("OpenStatuses", cfg.OpenStatuses); err != nil {
		return nil, err
	}
	if c.closed, err = statusList("ClosedStatuses", cfg.ClosedStatuses); err != nil {
		return nil, err
	}
	for _, s := range c.open {
		if containsFold(c.closed, s) {
			return nil, fmt.Errorf("httpjson: status %s is in both OpenStatuses and ClosedStatuses", quote(s))
		}
	}

	c.notFound = []int{http.StatusNotFound}
	if cfg.NotFoundStatus != nil {
		c.notFound = slices.Clone(cfg.NotFoundStatus)
	}
	for _, code := range c.notFound {
		if code < 400 || code > 499 || code == http.StatusUnauthorized || code == http.StatusTooManyRequests {
			return nil, fmt.Errorf("httpjson: NotFoundStatus %d must be a 4xx status other than 401 and 429", code)
		}
	}

	switch {
	case cfg.BearerToken != "" && cfg.Username != "":
		return nil, errors.New("httpjson: set BearerToken or Username/Password, not both")
	case cfg.Password != "" && cfg.Username == "":
		return nil, errors.New("httpjson: Password is set without Username")
	case strings.ContainsAny(cfg.BearerToken, "\r\n\x00"):
		return nil, errors.New("httpjson: BearerToken must not contain line breaks or NUL")
	case strings.Contains(cfg.Username, ":"):
		return nil, errors.New("httpjson: Username must not contain ':'")
	}
	c.header = make(http.Header, len(cfg.Header))
	for name, value := range cfg.Header {
		if !validHeaderName(name) {
			return nil, fmt.Errorf("httpjson: Header name %s is not a valid HTTP header name", quote(name))
		}
		canonical := http.CanonicalHeaderKey(name)
		if !validHeaderValue(value) {
			return nil, fmt.Errorf("httpjson: Header[%s] value must not contain control characters", quote(canonical))
		}
		switch {
		case canonical == "Host":
			return nil, errors.New("httpjson: Header must not set Host")
		case canonical == "Authorization" && (cfg.BearerToken != "" || cfg.Username != ""):
			return nil, errors.New("httpjson: Header sets Authorization, and so do BearerToken or Username")
		}
		c.header.Set(canonical, value)
	}

	if c.api, err = httpapi.New(tmpl.base, cfg.HTTPClient, c.prepare); err != nil {
		return nil, fmt.Errorf("httpjson: URLTemplate: %w", err)
	}
	return c, nil
}

// prepare is the httpapi authorize hook: it sets the configured headers
// and the credentials.
func (c *Client) prepare(r *http.Request) error {
	for name, values := range c.header {
		r.Header[name] = slices.Clone(values)
	}
	switch {
	case c.bearer != "":
		r.Header.Set("Authorization", "Bearer "+c.bearer)
	case c.user != "":
		r.SetBasicAuth(c.user, c.password)
	}
	return nil
}

// LookupTicket GETs the ticket's URL and reads its status through
// StatusPointer. A status in NotFoundStatus is ErrTicketNotFound; other
// failures are *ticketing.CheckerError values (401/403 ErrCheckerAuth,
// 429/502/503/504 temporary, a body that is not JSON or lacks a string or
// number status unavailable).
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	// An empty number would address the collection, "." and ".." its
	// parents: none of them is a ticket.
	if number == "" || number == "." || number == ".." {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	path, query := c.tmpl.expand(number)
	// RawQuery, not url.Values: Encode would reorder and re-escape the
	// template's query.
	resp, err := c.api.Do(ctx, httpapi.Request{Op: "lookup", Method: http.MethodGet, Path: path, RawQuery: query})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	if slices.Contains(c.notFound, resp.StatusCode) {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	if err := httpapi.StatusError("lookup", resp); err != nil {
		return ticketing.Ticket{}, err
	}
	return c.ticket(number, resp.StatusCode, resp.Body)
}

// ticket reads a 2xx response body.
func (c *Client) ticket(number string, status int, body []byte) (ticketing.Ticket, error) {
	doc, err := decode(body)
	if err != nil {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", status, "malformed JSON response")
	}
	v, ok := c.status.resolve(doc)
	if !ok {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", status, "no value at StatusPointer "+quote(c.status.String()))
	}
	t := ticketing.Ticket{Number: number, Raw: json.RawMessage(bytes.Clone(body))}
	var value string
	switch s := v.(type) {
	case string:
		t.Status, value = s, s
	case json.Number:
		t.StatusCode, value = s.String(), s.String()
	default:
		return ticketing.Ticket{}, httpapi.Malformed("lookup", status, "the value at StatusPointer "+quote(c.status.String())+" is not a string or a number")
	}
	switch {
	case len(c.open) > 0:
		t.Open = containsFold(c.open, value)
	case len(c.closed) > 0:
		t.Open = !containsFold(c.closed, value)
	default:
		t.Open = true
	}
	t.Summary = c.optional(c.summary, doc)
	t.Assignee = c.optional(c.assignee, doc)
	t.Requester = c.optional(c.requester, doc)
	return t, nil
}

// optional reads an informative field: a string or a number, else "".
func (c *Client) optional(p pointer, doc any) string {
	if p == nil {
		return ""
	}
	switch v, _ := p.resolve(doc); s := v.(type) {
	case string:
		return s
	case json.Number:
		return s.String()
	}
	return ""
}

// decode parses one JSON value, keeping numbers as json.Number so that a
// numeric status keeps its text ("2", not "2e+00"). Trailing data is an
// error.
func decode(body []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// statusList trims and checks a configured list of statuses.
func statusList(field string, list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		t := strings.TrimSpace(s)
		if t == "" || strings.ContainsFunc(t, unicode.IsControl) {
			return nil, fmt.Errorf("httpjson: %s entry %s must be non-empty text without control characters", field, quote(s))
		}
		out = append(out, t)
	}
	return out, nil
}

// containsFold reports whether list holds s, ignoring case and
// surrounding white space in s.
func containsFold(list []string, s string) bool {
	s = strings.TrimSpace(s)
	return slices.ContainsFunc(list, func(e string) bool { return strings.EqualFold(e, s) })
}

// validHeaderName reports whether name is an HTTP token (RFC 9110).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func quote(s string) string { return strconv.QuoteToASCII(s) }
