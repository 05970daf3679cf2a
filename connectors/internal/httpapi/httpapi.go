// Package httpapi is what the HTTP connectors share: a client that sends
// JSON requests to one base URL with a connector's authentication, caps
// response bodies, refuses redirects to another host, and turns every
// failure into a *ticketing.CheckerError that the Validator's outage policy
// understands (which failures are temporary, what Retry-After said).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
)

// MaxBodyBytes caps every response body read (1 MiB).
const MaxBodyBytes = 1 << 20

// DefaultTimeout is the HTTP client timeout used when the connector's
// Config gives no *http.Client. The Validator's per-lookup deadline is
// normally shorter and comes through the context.
const DefaultTimeout = 30 * time.Second

// Client sends requests to one ticket system. It is safe for concurrent
// use once built.
type Client struct {
	base      *url.URL
	http      *http.Client
	authorize func(*http.Request) error
	userAgent string
}

// New returns a Client for baseURL, which must be an absolute http or https
// URL with a host and without user info (credentials belong in the
// connector's Config fields, where they stay out of error texts). hc may be
// nil; it is copied, never modified, and the copy refuses redirects that
// leave the base URL's scheme and host. authorize adds the authentication
// headers to each request; it may be nil.
func New(baseURL string, hc *http.Client, authorize func(*http.Request) error) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" {
		return nil, fmt.Errorf("base URL must be an absolute http or https URL with a host")
	}
	if u.User != nil {
		return nil, fmt.Errorf("base URL must not contain user info; use the Config's credential fields")
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	// Keep the base path in its escaped form, so that an escaped segment
	// (%2F) stays one segment.
	escaped := strings.TrimRight(u.EscapedPath(), "/")
	if u.Path, err = url.PathUnescape(escaped); err != nil {
		return nil, fmt.Errorf("base URL has a malformed path")
	}
	u.RawPath = escaped

	var c http.Client
	if hc != nil {
		c = *hc
	} else {
		c.Timeout = DefaultTimeout
	}
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != u.Scheme || !strings.EqualFold(req.URL.Host, u.Host) {
			return errRedirectOffHost
		}
		if len(via) > 5 {
			return errTooManyRedirects
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &Client{base: u, http: &c, authorize: authorize, userAgent: "ticketgate-ticketing"}, nil
}

var (
	errRedirectOffHost  = errors.New("redirect to another host refused")
	errTooManyRedirects = errors.New("too many redirects")
)

// Base returns a copy of the base URL.
func (c *Client) Base() *url.URL { u := *c.base; return &u }

// Response is a completed HTTP exchange with its body read (at most
// MaxBodyBytes).
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Request describes one call. Path is appended to the base URL's path and
// must already be escaped (use url.PathEscape on every segment that holds
// user input); Query is encoded by url.Values.
type Request struct {
	Op     string // "lookup" or "comment", for errors
	Method string
	Path   string
	Query  url.Values
	// RawQuery is an already encoded query, sent as it is when Query is
	// empty (for a URL template whose query must keep its exact form).
	RawQuery string
	// JSON, when not nil, is marshalled as the request body.
	JSON any
	// Form, when not nil, is sent as application/x-www-form-urlencoded.
	Form url.Values
	// Header holds extra headers. They are applied after the defaults
	// (Accept: application/json, User-Agent, Content-Type), so they can
	// replace them, and before authorize.
	Header http.Header
}

// Do sends r and reads the response. It returns a Response for every HTTP
// status; transport failures, oversized bodies and refused redirects are
// *ticketing.CheckerError values (connection failures are Temporary).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u := *c.base
	if r.Path != "" {
		raw := c.base.RawPath + r.Path
		p, err := url.PathUnescape(raw)
		if err != nil {
			return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: r.Op, Detail: "bad request path"}
		}
		u.Path, u.RawPath = p, raw
	}
	switch {
	case len(r.Query) > 0:
		u.RawQuery = r.Query.Encode()
	case r.RawQuery != "":
		u.RawQuery = r.RawQuery
	}
	var body io.Reader
	contentType := ""
	switch {
	case r.JSON != nil:
		b, err := json.Marshal(r.JSON)
		if err != nil {
			return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: r.Op, Detail: "cannot encode the request", Cause: err}
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case r.Form != nil:
		body, contentType = strings.NewReader(r.Form.Encode()), "application/x-www-form-urlencoded"
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: r.Op, Detail: "cannot build the request"}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.authorize != nil {
		if err := c.authorize(req); err != nil {
			return nil, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, r.Op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, transportError(ctx, r.Op, err)
	}
	if len(b) > MaxBodyBytes {
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: r.Op, StatusCode: resp.StatusCode,
			Detail: "response body larger than " + strconv.Itoa(MaxBodyBytes) + " bytes"}
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// transportError classifies a failed exchange. It never keeps a *url.Error
// itself, whose text holds the full URL (and so possibly a key in the
// query), only what it wraps.
func transportError(ctx context.Context, op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	ce := &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, Cause: err}
	var ne net.Error
	switch {
	case errors.Is(err, errRedirectOffHost), errors.Is(err, errTooManyRedirects):
		ce.Detail = err.Error()
	case ctx.Err() != nil:
		ce.Detail = "no answer in time"
		ce.Cause = ctx.Err()
	case errors.As(err, &ne) && ne.Timeout():
		ce.Detail = "no answer in time"
	default:
		ce.Detail = "connection failed"
		ce.Temporary = true
	}
	return ce
}

// StatusError turns an HTTP status the connector does not handle itself
// into a *ticketing.CheckerError: 401 and 403 are ErrCheckerAuth; 429, 502,
// 503 and 504 are temporary (with Retry-After); anything else is a plain
// unavailable answer. It returns nil for 2xx.
func StatusError(op string, resp *Response) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	ce := &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, StatusCode: code, Detail: http.StatusText(code)}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		ce.Err = ticketing.ErrCheckerAuth
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		ce.Temporary = true
		ce.RetryAfter = RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if ce.Detail == "" {
		ce.Detail = "unexpected status"
	}
	return ce
}

// RetryAfter parses a Retry-After value, in seconds or as an HTTP date, into
// a wait from now, at most 24 hours; 0 when absent, malformed or in the
// past.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	const max = 24 * time.Hour
	secs, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(min(secs, int64(max/time.Second)))*time.Second, max)
	}
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
		return max // valid delay-seconds, just enormous
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, max)
		}
	}
	return 0
}

// DecodeJSON decodes resp's body into v; a body that is not the expected
// JSON is an unavailable answer ("malformed response").
func DecodeJSON(op string, resp *Response, v any) error {
	if err := json.Unmarshal(resp.Body, v); err != nil {
		return Malformed(op, resp.StatusCode, "malformed JSON response")
	}
	return nil
}

// Malformed is the error for an answer that cannot be understood.
func Malformed(op string, status int, detail string) error {
	return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, StatusCode: status, Detail: detail}
}

// NotFound is the error for an unknown ticket number; the number is quoted,
// never trusted.
func NotFound(number string) error {
	return fmt.Errorf("%w: %s", ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
}

// Basic returns an authorize function for HTTP basic authentication.
func Basic(user, password string) func(*http.Request) error {
	return func(r *http.Request) error { r.SetBasicAuth(user, password); return nil }
}

// Header returns an authorize function that sets one header, such as
// "Authorization: Bearer <token>" or an API key header.
func Header(name, value string) func(*http.Request) error {
	return func(r *http.Request) error { r.Header.Set(name, value); return nil }
}

// HeaderSafe reports whether v can be sent as (part of) a header value
// unchanged: printable ASCII without spaces. Connectors check tokens with
// it, so that a credential cannot inject a header.
func HeaderSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Text decodes a JSON string, number or boolean as its text, and anything
// else (null, objects, arrays) as "", without failing: ticket systems
// disagree on whether an id is a number or a string.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		*t = ""
		return nil
	}
	switch v := v.(type) {
	case string:
		*t = Text(v)
	case json.Number:
		*t = Text(v.String())
	case bool:
		*t = Text(strconv.FormatBool(v))
	default:
		*t = ""
	}
	return nil
}

// EqualFoldASCII reports whether a and b are equal ignoring ASCII case
// only. Connectors compare ticket numbers with it: Unicode case folding
// would let look-alikes (the Kelvin sign for K) match.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
