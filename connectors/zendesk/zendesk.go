// Package zendesk checks ticket numbers against Zendesk Support tickets
// through the Support API version 2, and writes the access note back to
// the ticket as a private (internal) comment.
//
// # API and authentication
//
// A lookup is one request,
//
//	GET {BaseURL}/api/v2/tickets/{id}.json
//
// and a comment is
//
//	PUT {BaseURL}/api/v2/tickets/{id}.json   {"ticket":{"comment":{"body":"...","public":false}}}
//
// Zendesk authenticates with an API token, sent as HTTP basic auth of
// "{email}/token" and the token (Config.Email and Config.APIToken), or with
// an OAuth access token sent as a bearer token (Config.Token). Exactly one
// of the two must be configured.
//
// # Ticket numbers
//
// A Zendesk ticket number is its numeric id. The connector accepts 1 to 19
// ASCII digits, optionally after one "#" as the agent interface shows
// it ("#35436"), whose value is between 1 and 2^63-1; leading zeros are
// dropped ("035436" looks up 35436). Anything else (letters, signs, "/",
// "?", "%2F", "../", spaces, non-ASCII digits) is reported as
// ticketing.ErrTicketNotFound without a request. The answer must be for
// the id asked for.
//
// # Open or closed
//
// Zendesk's status is the system category even when custom statuses are
// enabled: "new", "open", "pending" (waiting for the requester) and "hold"
// (waiting for a third party) are open; "solved" and "closed" are not, and
// neither is any status this package does not know (it fails closed; an
// administrator can allow such a status with the TicketSystem's
// AllowedStatuses). Ticket.Status is the status, Ticket.StatusCode the
// custom_status_id when the account uses custom statuses ("" otherwise),
// so AllowedStatuses can name custom statuses by id. Ticket.Assignee and
// Ticket.Requester are Zendesk user ids, as the ticket carries them
// (resolving names would take another request). Ticket.URL is the agent
// interface's link, {BaseURL}/agent/tickets/{id}, Ticket.Raw the "ticket"
// object of the answer, Ticket.Number the id in canonical decimal and
// Ticket.ID is empty (the number is the id). Zendesk tickets carry no
// change window, so Start and End stay zero.
//
// # Errors
//
// 404 with Zendesk's RecordNotFound answer is ticketing.ErrTicketNotFound
// (a 404 in another shape means a wrong BaseURL and is
// ticketing.ErrCheckerUnavailable). 401 and 403 are
// ticketing.ErrCheckerAuth; 429, 502, 503 and 504 are temporary, with the
// server's Retry-After; other statuses and answers that cannot be
// understood are ticketing.ErrCheckerUnavailable. A comment refused with 422
// (a closed ticket, which Zendesk no longer updates, or another validation
// error) is ticketing.ErrCheckerUnavailable and not temporary; a 409 update
// conflict is temporary. The connector never retries: the Validator's
// outage policy does.
//
// # Wiring
//
//	client, err := zendesk.New(zendesk.Config{
//		BaseURL:  "https://example.zendesk.com",
//		Email:    "bot@example.com",
//		APIToken: os.Getenv("ZENDESK_API_TOKEN"),
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("zendesk", client))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:      "Zendesk",
//		Mode:      ticketing.TicketRequired,
//		Pattern:   `^#?\d{1,19}$`,
//		Connector: "zendesk",
//	})
package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// Config configures a Client. Credentials stay in the Client: they are
// never part of an error text.
type Config struct {
	// BaseURL is the Zendesk account, "https://{subdomain}.zendesk.com" (or
	// its host-mapped domain). Required; an absolute http or https URL
	// without user info.
	BaseURL string
	// Email and APIToken are an agent's e-mail address and a Zendesk API
	// token, sent as basic auth "{Email}/token:{APIToken}". Set both, or
	// neither and Token instead.
	Email    string
	APIToken string
	// Token is an OAuth access token, sent as "Authorization: Bearer
	// <Token>". Set it, or Email and APIToken.
	Token string
	// HTTPClient sends the requests; nil means a client with httpapi's
	// default timeout. It is copied, never modified, and the copy refuses
	// redirects to another host.
	HTTPClient *http.Client
}

// Client looks Zendesk tickets up and adds private comments to them. It
// implements ticketing.Checker and ticketing.Commenter, and is safe for
// concurrent use. Build it with New; the zero value is not usable.
type Client struct {
	api   *httpapi.Client
	agent string // {base}/agent/tickets/
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

// New checks cfg and returns a Client. It reports a missing or malformed
// BaseURL and missing, incomplete or doubled credentials; the error never
// contains a credential.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("zendesk: BaseURL is required")
	}
	basic := cfg.Email != "" || cfg.APIToken != ""
	var authorize func(*http.Request) error
	switch {
	case basic && cfg.Token != "":
		return nil, errors.New("zendesk: set either Email and APIToken or Token (OAuth), not both")
	case basic && (cfg.Email == "" || cfg.APIToken == ""):
		return nil, errors.New("zendesk: API token authentication needs both Email and APIToken")
	case basic:
		if strings.Contains(cfg.Email, ":") || hasControl(cfg.Email) {
			return nil, errors.New("zendesk: Email must not contain a colon or control characters")
		}
		if hasControl(cfg.APIToken) {
			return nil, errors.New("zendesk: APIToken must not contain control characters")
		}
		authorize = httpapi.Basic(cfg.Email+"/token", cfg.APIToken)
	case cfg.Token != "":
		if hasControl(cfg.Token) {
			return nil, errors.New("zendesk: Token must not contain control characters")
		}
		authorize = httpapi.Header("Authorization", "Bearer "+cfg.Token)
	default:
		return nil, errors.New("zendesk: credentials are required: Email and APIToken, or Token (OAuth)")
	}
	api, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, authorize)
	if err != nil {
		return nil, fmt.Errorf("zendesk: %w", err)
	}
	return &Client{api: api, agent: api.Base().String() + "/agent/tickets/"}, nil
}

// LookupTicket returns the ticket with id number. See the package
// documentation for the accepted numbers, the open judgement and the
// errors.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	id, ok := parseID(number)
	if !ok {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	ids := strconv.FormatUint(id, 10)
	resp, err := c.api.Do(ctx, httpapi.Request{Op: "lookup", Path: ticketPath(ids)})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		if !isRecordNotFound(resp.Body) {
			return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "not Zendesk's not-found answer; check the BaseURL")
		}
		return ticketing.Ticket{}, httpapi.NotFound(number)
	case resp.StatusCode != http.StatusOK:
		return ticketing.Ticket{}, statusError("lookup", resp)
	}
	var env struct {
		Ticket *ticket `json:"ticket"`
	}
	if err := httpapi.DecodeJSON("lookup", resp, &env); err != nil {
		return ticketing.Ticket{}, err
	}
	tk := env.Ticket
	if tk == nil || tk.Status == "" {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "answer without the ticket status")
	}
	if got, ok := parseID(string(tk.ID)); !ok || got != id {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "answer for another ticket")
	}
	return ticketing.Ticket{
		Number:     ids,
		Status:     tk.Status,
		StatusCode: string(tk.CustomStatusID),
		Open:       openStatus(tk.Status),
		Assignee:   string(tk.AssigneeID),
		Requester:  string(tk.RequesterID),
		Summary:    tk.Subject,
		URL:        c.agent + ids,
		Raw:        tk.raw,
	}, nil
}

// openStatus reports whether a Zendesk status category means the ticket
// is still being worked on.
func openStatus(s string) bool {
	switch s {
	case "new", "open", "pending", "hold":
		return true
	}
	return false
}

// AddComment adds c.Text to ticket t.Number as a private comment (an
// internal note, public:false). It returns a *ticketing.CheckerError on
// failure: ErrCheckerAuth for 401 and 403; temporary for 409 (update
// conflict), 429, 502, 503 and 504; ErrCheckerUnavailable otherwise, with
// a detail that names a closed ticket when Zendesk refused the update
// (422) for that reason.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	id, ok := parseID(t.Number)
	if !ok {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
			Detail: "ticket number " + strconv.QuoteToASCII(t.Number) + " cannot be sent"}
	}
	var body struct {
		Ticket struct {
			Comment struct {
				Body   string `json:"body"`
				Public bool   `json:"public"`
			} `json:"comment"`
		} `json:"ticket"`
	}
	body.Ticket.Comment.Body = cm.Text
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op:     "comment",
		Method: http.MethodPut,
		Path:   ticketPath(strconv.FormatUint(id, 10)),
		JSON:   body,
	})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent:
		return nil
	case http.StatusUnprocessableEntity:
		detail := "Zendesk refused the update (validation error)"
		if closedTicket(resp.Body) {
			detail = "the ticket is closed and Zendesk no longer updates it"
		}
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode, Detail: detail}
	case http.StatusNotFound:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "ticket not found"}
	case http.StatusConflict:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Temporary: true, RetryAfter: httpapi.RetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Detail: "update conflict"}
	}
	return statusError("comment", resp)
}

// ticketPath is the API path of one ticket; id is canonical decimal.
func ticketPath(id string) string {
	return "/api/v2/tickets/" + url.PathEscape(id) + ".json"
}

// statusError is httpapi.StatusError, also for a 2xx that is not the
// expected one.
func statusError(op string, resp *httpapi.Response) error {
	if err := httpapi.StatusError(op, resp); err != nil {
		return err
	}
	return httpapi.Malformed(op, resp.StatusCode, "unexpected status")
}

// isRecordNotFound reports whether body is Zendesk's answer for a missing
// record, {"error":"RecordNotFound",...}. Any other 404 ("InvalidEndpoint",
// an HTML page) means the request went to the wrong place.
func isRecordNotFound(body []byte) bool {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return s == "RecordNotFound"
	}
	// Some endpoints nest it: {"error":{"title":"RecordNotFound",...}}.
	var o struct {
		Title string `json:"title"`
	}
	return json.Unmarshal(e.Error, &o) == nil && o.Title == "RecordNotFound"
}

// closedTicket reports whether a 422 body says the ticket is closed
// ({"details":{"status":[{"description":"Status: closed prevents ticket
// update"}]}}).
func closedTicket(body []byte) bool {
	var e struct {
		Details struct {
			Status []struct {
				Description string `json:"description"`
			} `json:"status"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, s := range e.Details.Status {
		if strings.Contains(strings.ToLower(s.Description), "closed") {
			return true
		}
	}
	return false
}

// parseID accepts 1 to 19 ASCII digits, optionally after one "#", with a
// value from 1 to 2^63-1 (Zendesk ids are 64-bit signed integers).
func parseID(s string) (uint64, bool) {
	s = strings.TrimPrefix(s, "#")
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(s, 10, 63)
	if err != nil || id == 0 {
		return 0, false
	}
	return id, true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// ticket is the part of Zendesk's ticket the connector reads; raw keeps
// the whole object for Ticket.Raw.
type ticket struct {
	ID             idString `json:"id"`
	Status         string   `json:"status"`
	CustomStatusID idString `json:"custom_status_id"`
	Subject        string   `json:"subject"`
	AssigneeID     idString `json:"assignee_id"`
	RequesterID    idString `json:"requester_id"`
	raw            json.RawMessage
}

func (t *ticket) UnmarshalJSON(b []byte) error {
	type plain ticket
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = ticket(p)
	t.raw = append(json.RawMessage(nil), b...)
	return nil
}

// idString decodes a Zendesk id: a JSON integer (or a string of digits)
// kept as its decimal text, null as "".
type idString string

func (s *idString) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	if n == "" {
		*s = ""
		return nil
	}
	if _, err := strconv.ParseUint(string(n), 10, 64); err != nil {
		return fmt.Errorf("zendesk: id %s is not a non-negative integer", strconv.QuoteToASCII(string(n)))
	}
	*s = idString(n)
	return nil
}
