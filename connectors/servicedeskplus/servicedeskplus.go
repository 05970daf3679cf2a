// Package servicedeskplus is the live ticket check for ManageEngine
// ServiceDesk Plus requests, through the REST API v3: on-premises
// installations and ServiceDesk Plus Cloud (SDP On-Demand).
//
// A ticket number is the request id, a number (`^[0-9]{1,19}$`; leading
// zeros are dropped). Any other number is reported as not found without a
// request, so nothing a user types can change the request path. On
// premises the id is the request number the web UI shows. On Cloud the id
// is the long internal id (e.g. 123640000000240013), not the short
// display_id; looking requests up by display_id is not supported.
//
// The lookup is
//
//	GET {BaseURL}[/{PortalPath}]/api/v3/requests/{id}
//	Accept: application/vnd.manageengine.sdp.v3+json
//	authtoken: <technician key>                 (on premises)
//	Authorization: Zoho-oauthtoken <token>      (Cloud)
//
// and the comment write-back adds a note that the requester does not see:
//
//	POST {BaseURL}[/{PortalPath}]/api/v3/requests/{id}/notes
//	input_data={"note":{"description":"...","show_to_requester":false}}   (form-encoded)
//
// Open or closed: statuses are defined by each installation's
// administrators, so the request is open unless its status name or
// internal_name is Resolved, Closed, Cancelled or Canceled
// (case-insensitive). A request without a status name is not open. A
// request in the trash (is_trashed) counts as deleted: not found.
// Ticket.Status is the status name and Ticket.StatusCode its
// internal_name, so a TicketSystem's AllowedStatuses can list either.
//
// Errors: ServiceDesk Plus reports failures in response_status (an object
// on single records, an array on lists; both are read). HTTP 404 or
// status code 4007 ("Invalid URL or Resource not found") is
// ticketing.ErrTicketNotFound; HTTP 401 or 403, 4002 (forbidden) and 4022
// (invalid API key) are ticketing.ErrCheckerAuth; HTTP 429 or 4015 (API
// rate limit reached) are temporary. Since 4007 also answers a wrong URL, a
// wrong BaseURL or PortalPath shows as every ticket being not found (the
// Registry's Test of a known request reveals it); a 404 without
// ServiceDesk Plus's JSON is reported as unavailable instead.
//
// Wiring it into a Registry:
//
//	sdp, err := servicedeskplus.New(servicedeskplus.Config{
//		BaseURL:   "https://sdp.example.com:8080",
//		AuthToken: technicianKey,
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("servicedeskplus", sdp))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:      "ServiceDesk Plus",
//		Mode:      ticketing.TicketRequired,
//		Pattern:   `^[0-9]{1,19}$`,
//		Connector: "servicedeskplus",
//	})
package servicedeskplus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// AcceptV3 is the media type of API v3, sent in Accept.
const AcceptV3 = "application/vnd.manageengine.sdp.v3+json"

// Config configures a Client. The zero value is not usable: BaseURL and
// exactly one of AuthToken and OAuthToken are required.
type Config struct {
	// BaseURL is the server: "https://sdp.example.com:8080" on premises,
	// "https://sdpondemand.manageengine.com" (or another data centre's
	// domain) for Cloud; required.
	BaseURL string
	// PortalPath is the Cloud portal's path, "app/{portal}" (for example
	// "app/itdesk"), put between BaseURL and /api/v3. "" means none (on
	// premises). Path segments of letters, digits, '_', '-' and '.' only.
	PortalPath string
	// AuthToken is the on-premises technician API key, sent as the header
	// "authtoken: <key>" (never in the query string). Set either AuthToken
	// or OAuthToken, not both. It never appears in error texts.
	AuthToken string
	// OAuthToken is a Cloud (Zoho) OAuth access token, sent as
	// "Authorization: Zoho-oauthtoken <token>". Zoho access tokens expire
	// after about an hour; the host must build a new Client with a fresh
	// token before then. It never appears in error texts.
	OAuthToken string
	// HTTPClient sends the requests; nil means a client with
	// httpapi.DefaultTimeout. It is copied, never modified; redirects to
	// another host are refused.
	HTTPClient *http.Client
}

// Client checks tickets against ServiceDesk Plus requests and writes
// notes. Build it with New (the zero value is not usable); it is safe for
// concurrent use.
type Client struct {
	api       *httpapi.Client
	apiPath   string // "[/{portal}]/api/v3/requests/", escaped
	webBase   string // base URL for ticket links
	cloud     bool   // a PortalPath was given: Cloud-style ticket links
	apiHeader http.Header
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

var (
	idRE      = regexp.MustCompile(`^[0-9]{1,19}$`)
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)
)

// New checks cfg and returns a Client. Errors name the field at fault and
// never contain a credential.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("servicedeskplus: BaseURL is required")
	}
	key, oauth := strings.TrimSpace(cfg.AuthToken), strings.TrimSpace(cfg.OAuthToken)
	var auth func(*http.Request) error
	switch {
	case key == "" && oauth == "":
		return nil, errors.New("servicedeskplus: AuthToken (on premises) or OAuthToken (Cloud) is required")
	case key != "" && oauth != "":
		return nil, errors.New("servicedeskplus: set only one of AuthToken and OAuthToken")
	case key != "":
		if !httpapi.HeaderSafe(key) {
			return nil, errors.New("servicedeskplus: AuthToken contains characters that cannot be sent in an HTTP header")
		}
		auth = httpapi.Header("authtoken", key)
	default:
		if !httpapi.HeaderSafe(oauth) {
			return nil, errors.New("servicedeskplus: OAuthToken contains characters that cannot be sent in an HTTP header")
		}
		auth = httpapi.Header("Authorization", "Zoho-oauthtoken "+oauth)
	}
	portal := strings.Trim(strings.TrimSpace(cfg.PortalPath), "/")
	var prefix string
	if portal != "" {
		for _, seg := range strings.Split(portal, "/") {
			if !segmentRE.MatchString(seg) || seg == "." || seg == ".." {
				return nil, fmt.Errorf("servicedeskplus: PortalPath must look like \"app/{portal}\", got %s", strconv.QuoteToASCII(cfg.PortalPath))
			}
			prefix += "/" + url.PathEscape(seg)
		}
	}
	api, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, auth)
	if err != nil {
		return nil, fmt.Errorf("servicedeskplus: BaseURL: %w", err)
	}
	h := http.Header{}
	h.Set("Accept", AcceptV3)
	return &Client{
		api:       api,
		apiPath:   prefix + "/api/v3/requests/",
		webBase:   api.Base().String() + prefix,
		cloud:     portal != "",
		apiHeader: h,
	}, nil
}

// requestID turns "0042" into "42"; ok is false for anything that is not
// a request id (including 0).
func requestID(number string) (string, bool) {
	if !idRE.MatchString(number) {
		return "", false
	}
	n, err := strconv.ParseUint(number, 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

// envelope is every API v3 answer: the record (request, note) and
// response_status.
type envelope struct {
	Request        json.RawMessage `json:"request"`
	ResponseStatus responseStatus  `json:"response_status"`
}

// responseStatus collects the status codes of response_status, which is
// an object on single records and an array of them on lists. Its decoder
// never fails: shapes it does not know leave it empty.
type responseStatus struct {
	Codes []int // the top-level status_code values, then the messages' codes
	Top   int   // the first top-level status_code, 0 when none
}

func (s *responseStatus) UnmarshalJSON(b []byte) error {
	type message struct {
		StatusCode httpapi.Text `json:"status_code"`
	}
	type status struct {
		StatusCode httpapi.Text    `json:"status_code"`
		Messages   json.RawMessage `json:"messages"`
	}
	var list []status
	var one status
	if json.Unmarshal(b, &one) == nil {
		list = []status{one}
	} else if json.Unmarshal(b, &list) != nil {
		return nil
	}
	*s = responseStatus{}
	var nested []int
	for _, st := range list {
		if n, ok := textInt(st.StatusCode); ok {
			s.Codes = append(s.Codes, n)
			if s.Top == 0 {
				s.Top = n
			}
		}
		var msgs []message
		if json.Unmarshal(st.Messages, &msgs) != nil {
			var m message
			if json.Unmarshal(st.Messages, &m) != nil {
				continue
			}
			msgs = []message{m}
		}
		for _, m := range msgs {
			if n, ok := textInt(m.StatusCode); ok {
				nested = append(nested, n)
			}
		}
	}
	s.Codes = append(s.Codes, nested...)
	return nil
}

func (s responseStatus) has(code int) bool {
	for _, c := range s.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// ServiceDesk Plus status codes (response_status.status_code).
const (
	codeSuccess    = 2000
	codeForbidden  = 4002
	codeNotFound   = 4007 // invalid URL or resource not found
	codeRateLimit  = 4015
	codeInvalidKey = 4022
)

// sdpRequest is the part of a request record the Ticket uses.
type sdpRequest struct {
	ID             httpapi.Text `json:"id"`
	Subject        httpapi.Text `json:"subject"`
	Status         entity       `json:"status"`
	Technician     entity       `json:"technician"`
	Requester      entity       `json:"requester"`
	IsTrashed      httpapi.Text `json:"is_trashed"`
	ScheduledStart dateTime     `json:"scheduled_start_time"`
	ScheduledEnd   dateTime     `json:"scheduled_end_time"`
}

// LookupTicket fetches request id number and reports it as a Ticket. It
// returns an error wrapping ticketing.ErrTicketNotFound for an unknown
// (or trashed) request, and a *ticketing.CheckerError for every other
// failure.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	id, ok := requestID(number)
	if !ok {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	resp, err := c.api.Do(ctx, httpapi.Request{Op: "lookup", Path: c.apiPath + id, Header: c.apiHeader})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	env, jsonOK := decodeEnvelope(resp.Body)
	if err := classify("lookup", resp, env, jsonOK); err != nil {
		if errors.Is(err, errNotFound) {
			return ticketing.Ticket{}, httpapi.NotFound(number)
		}
		return ticketing.Ticket{}, err
	}
	if !jsonOK {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "malformed JSON response")
	}
	var r sdpRequest
	if len(env.Request) == 0 || bytes.Equal(env.Request, []byte("null")) || json.Unmarshal(env.Request, &r) != nil {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "response without a request record")
	}
	if r.ID != "" && string(r.ID) != id {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "response is for another request")
	}
	if strings.EqualFold(string(r.IsTrashed), "true") {
		return ticketing.Ticket{}, fmt.Errorf("%w: %s is in the trash", ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
	}
	t := ticketing.Ticket{
		Number:     id,
		Status:     r.Status.Name,
		StatusCode: r.Status.InternalName,
		Open:       isOpen(r.Status),
		Assignee:   r.Technician.Name,
		Requester:  r.Requester.Name,
		Summary:    string(r.Subject),
		Start:      r.ScheduledStart.Time,
		End:        r.ScheduledEnd.Time,
		URL:        c.ticketURL(id),
		Raw:        append(json.RawMessage(nil), env.Request...),
	}
	return t, nil
}

// isOpen: open unless the status is a completed one; unknown is not open.
func isOpen(s entity) bool {
	if s.Name == "" && s.InternalName == "" {
		return false
	}
	for _, v := range []string{s.Name, s.InternalName} {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "resolved", "closed", "cancelled", "canceled":
			return false
		}
	}
	return true
}

// ticketURL links to the request in the web UI.
func (c *Client) ticketURL(id string) string {
	if c.cloud {
		return c.webBase + "/ui/requests/" + id + "/details"
	}
	return c.webBase + "/WorkOrder.do?woMode=viewWO&woID=" + id
}

// AddComment adds c.Text as a note on request t.ID (or t.Number when ID
// is empty) that the requester does not see. Success is response_status
// 2000.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	ref := t.ID
	if ref == "" {
		ref = t.Number
	}
	id, ok := requestID(ref)
	if !ok {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
			Detail: "ticket number " + strconv.QuoteToASCII(ref) + " is not a request id"}
	}
	type note struct {
		Description     string `json:"description"`
		ShowToRequester bool   `json:"show_to_requester"`
	}
	input, err := json.Marshal(struct {
		Note note `json:"note"`
	}{note{Description: cm.Text}})
	if err != nil {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "cannot encode the note"}
	}
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op: "comment", Method: http.MethodPost, Path: c.apiPath + id + "/notes",
		Header: c.apiHeader, Form: url.Values{"input_data": {string(input)}},
	})
	if err != nil {
		return err
	}
	env, jsonOK := decodeEnvelope(resp.Body)
	if err := classify("comment", resp, env, jsonOK); err != nil {
		if errors.Is(err, errNotFound) {
			return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
				StatusCode: resp.StatusCode, Detail: "request not found"}
		}
		return err
	}
	if !jsonOK || env.ResponseStatus.Top != codeSuccess {
		return httpapi.Malformed("comment", resp.StatusCode, "note not confirmed (no status code 2000)")
	}
	return nil
}

// errNotFound marks classify's "resource not found"; callers turn it into
// the error their operation needs.
var errNotFound = errors.New("not found")

func decodeEnvelope(body []byte) (envelope, bool) {
	var env envelope
	if json.Unmarshal(body, &env) != nil {
		return envelope{}, false
	}
	return env, true
}

// classify turns a failed answer into an error: nil for a 2xx answer whose
// response_status (if any) does not report a failure; errNotFound for
// HTTP 404 with ServiceDesk Plus's JSON, or status code 4007; a
// *ticketing.CheckerError otherwise.
func classify(op string, resp *httpapi.Response, env envelope, jsonOK bool) error {
	code, st := resp.StatusCode, env.ResponseStatus
	switch {
	case code == http.StatusTooManyRequests || st.has(codeRateLimit):
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, StatusCode: code, Temporary: true,
			RetryAfter: httpapi.RetryAfter(resp.Header.Get("Retry-After"), time.Now()), Detail: "API rate limit reached"}
	case code == http.StatusUnauthorized || code == http.StatusForbidden || st.has(codeInvalidKey) || st.has(codeForbidden):
		detail := "credentials refused"
		switch {
		case st.has(codeInvalidKey):
			detail = "invalid API key (4022)"
		case st.has(codeForbidden):
			detail = "operation not allowed for this technician (4002)"
		}
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerAuth, Op: op, StatusCode: code, Detail: detail}
	case st.has(codeNotFound) || code == http.StatusNotFound && jsonOK && len(st.Codes) > 0:
		return errNotFound
	case code == http.StatusNotFound:
		return httpapi.Malformed(op, code, "404 without a ServiceDesk Plus answer (check BaseURL and PortalPath)")
	case code < 200 || code > 299:
		return httpapi.StatusError(op, resp)
	case st.Top != 0 && st.Top != codeSuccess:
		return httpapi.Malformed(op, code, "status code "+strconv.Itoa(st.Top))
	}
	return nil
}

// entity is a reference to a status, technician or requester: an object
// with name (and internal_name), or, permissively, a bare string. Its
// decoder never fails.
type entity struct {
	Name         string
	InternalName string
}

func (e *entity) UnmarshalJSON(b []byte) error {
	*e = entity{}
	var obj struct {
		Name         httpapi.Text `json:"name"`
		InternalName httpapi.Text `json:"internal_name"`
	}
	if json.Unmarshal(b, &obj) == nil {
		e.Name, e.InternalName = string(obj.Name), string(obj.InternalName)
		return nil
	}
	var s httpapi.Text
	_ = json.Unmarshal(b, &s)
	e.Name = string(s)
	return nil
}

// dateTime is an API v3 date: {"display_value": "...", "value": "<epoch
// milliseconds>"}, or, permissively, the milliseconds alone. Its decoder
// never fails; anything else is the zero time.
type dateTime struct{ time.Time }

func (d *dateTime) UnmarshalJSON(b []byte) error {
	d.Time = time.Time{}
	var obj struct {
		Value httpapi.Text `json:"value"`
	}
	var v httpapi.Text
	if json.Unmarshal(b, &obj) == nil {
		v = obj.Value
	} else {
		_ = json.Unmarshal(b, &v)
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || ms <= 0 {
		return nil
	}
	d.Time = time.UnixMilli(ms).UTC()
	return nil
}

func textInt(t httpapi.Text) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(string(t)))
	return n, err == nil
}
