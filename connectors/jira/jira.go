// Package jira checks ticket numbers against Jira Cloud and Jira Data
// Center (Server) issues through the platform REST API version 2, and
// writes the access note back to the issue as a comment.
//
// # API and authentication
//
// A lookup is one request,
//
//	GET {BaseURL}/rest/api/2/issue/{KEY}?fields=summary,status,resolution,assignee,reporter
//
// and a comment is
//
//	POST {BaseURL}/rest/api/2/issue/{KEY}/comment   {"body": "..."}
//
// Jira Cloud authenticates with HTTP basic auth of the account's e-mail
// address and an API token (Config.Email and Config.APIToken); Jira Data
// Center with a personal access token sent as a bearer token
// (Config.Token). Exactly one of the two must be configured.
//
// # Issue keys
//
// Only issue keys are looked up: a project key of a letter and one or more
// letters, digits or underscores, a hyphen, and the issue number
// ([A-Z][A-Z0-9_]+-[0-9]+, ASCII, at most 255 characters). Lower-case input
// is accepted and upper-cased before it is sent, since Jira project keys
// are upper-case ("ops-12" looks up "OPS-12"). Anything else (numeric issue
// ids, JQL fragments such as "X-1 OR project=Y", "../", "?", "#",
// percent signs, non-ASCII letters) is reported as ticketing.ErrTicketNotFound
// without a request. The key is sent as one escaped path segment, never in
// JQL.
//
// # Open or closed
//
// A ticket is open when its status category (fields.status.statusCategory.key)
// is "new" (To Do) or "indeterminate" (In Progress) and it has no
// resolution. Category "done", the rare "undefined" (No Category), a
// missing or unknown category, or any resolution make it not open: the
// judgement fails closed, and an administrator who wants such a status
// allowed lists it in the TicketSystem's AllowedStatuses. Ticket.Status is
// the status name ("In Progress"), Ticket.StatusCode the status id ("3"),
// both workflow-specific; the category is in Ticket.Raw.
//
// Jira answers a request for the old key of a moved issue with the issue
// under its new key. Because the TicketSystem's Pattern was checked
// against the old key (and may restrict the projects users may cite), such
// an answer is reported as ticketing.ErrTicketNotFound unless
// Config.AllowMovedIssues is set; then Ticket.Number is the new key.
//
// # Errors
//
// 404 is ticketing.ErrTicketNotFound (Jira does not tell "no such issue"
// from "no permission to see it"), except when Jira Data Center says the
// request was anonymous or the login failed (X-AUSERNAME: anonymous,
// X-Seraph-LoginReason: AUTHENTICATED_FAILED or AUTHENTICATION_DENIED), or
// when the 404 body is not Jira's error envelope (a wrong BaseURL): those
// are ticketing.ErrCheckerAuth and ticketing.ErrCheckerUnavailable. 401
// and 403 are ticketing.ErrCheckerAuth; 429, 502, 503 and 504 are
// temporary, with the server's Retry-After; other statuses and answers
// that cannot be understood are ticketing.ErrCheckerUnavailable. The
// connector never retries: the Validator's outage policy does.
//
// # Wiring
//
//	client, err := jira.New(jira.Config{
//		BaseURL:  "https://example.atlassian.net",
//		Email:    "bot@example.com",
//		APIToken: os.Getenv("JIRA_API_TOKEN"),
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("jira", client))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:      "Jira",
//		Mode:      ticketing.TicketRequired,
//		Pattern:   `(?i)^OPS-\d+$`,
//		Connector: "jira",
//	})
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// Config configures a Client. Credentials stay in the Client: they are
// never part of an error text.
type Config struct {
	// BaseURL is the Jira site, such as "https://example.atlassian.net" or
	// "https://jira.example.com/jira" (a Data Center context path is kept).
	// Required; an absolute http or https URL without user info.
	BaseURL string
	// Email and APIToken are the Jira Cloud credentials (HTTP basic auth).
	// Set both, or neither and Token instead.
	Email    string
	APIToken string
	// Token is a Jira Data Center personal access token, sent as
	// "Authorization: Bearer <Token>". Set it, or Email and APIToken.
	Token string
	// HTTPClient sends the requests; nil means a client with httpapi's
	// default timeout. It is copied, never modified, and the copy refuses
	// redirects to another host.
	HTTPClient *http.Client
	// AllowMovedIssues accepts Jira's answer for a moved issue, which
	// carries another key than the one asked for; Ticket.Number is then the
	// new key. The zero value reports such an answer as
	// ticketing.ErrTicketNotFound.
	AllowMovedIssues bool
	// CommentVisibility restricts who sees the comments the Client writes
	// to the members of a project role or a group. The zero value writes
	// comments visible to everyone who can see the issue.
	CommentVisibility Visibility
	// ServiceDeskInternal marks comments on Jira Service Management issues
	// as internal (agent-only) with the "sd.public.comment" entity
	// property, so that customers do not see them on the portal. The zero
	// value leaves the comment as Jira makes it (public on JSM issues).
	// Plain Jira projects ignore the property.
	ServiceDeskInternal bool
}

// Visibility is a Jira comment restriction. The zero value means no
// restriction.
type Visibility struct {
	// Type is "role" (a project role name, such as "Developers") or
	// "group" (a group name).
	Type string
	// Value names the role or group.
	Value string
}

// Client looks Jira issues up and comments on them. It implements
// ticketing.Checker and ticketing.Commenter, and is safe for concurrent
// use. Build it with New; the zero value is not usable.
type Client struct {
	api                 *httpapi.Client
	browse              string // {base}/browse/
	allowMoved          bool
	visibility          *visibility
	serviceDeskInternal bool
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

// New checks cfg and returns a Client. It reports a missing or malformed
// BaseURL, missing, incomplete or doubled credentials, and a malformed
// CommentVisibility; the error never contains a credential.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("jira: BaseURL is required")
	}
	cloud := cfg.Email != "" || cfg.APIToken != ""
	var authorize func(*http.Request) error
	switch {
	case cloud && cfg.Token != "":
		return nil, errors.New("jira: set either Email and APIToken (Jira Cloud) or Token (Data Center), not both")
	case cloud && (cfg.Email == "" || cfg.APIToken == ""):
		return nil, errors.New("jira: Jira Cloud needs both Email and APIToken")
	case cloud:
		if strings.Contains(cfg.Email, ":") || hasControl(cfg.Email) {
			return nil, errors.New("jira: Email must not contain a colon or control characters")
		}
		if hasControl(cfg.APIToken) {
			return nil, errors.New("jira: APIToken must not contain control characters")
		}
		authorize = httpapi.Basic(cfg.Email, cfg.APIToken)
	case cfg.Token != "":
		if hasControl(cfg.Token) {
			return nil, errors.New("jira: Token must not contain control characters")
		}
		authorize = httpapi.Header("Authorization", "Bearer "+cfg.Token)
	default:
		return nil, errors.New("jira: credentials are required: Email and APIToken (Jira Cloud) or Token (Data Center)")
	}
	var vis *visibility
	switch cfg.CommentVisibility.Type {
	case "":
		if cfg.CommentVisibility.Value != "" {
			return nil, errors.New(`jira: CommentVisibility.Type must be "role" or "group" when Value is set`)
		}
	case "role", "group":
		if strings.TrimSpace(cfg.CommentVisibility.Value) == "" {
			return nil, errors.New("jira: CommentVisibility.Value must name the role or group")
		}
		vis = &visibility{Type: cfg.CommentVisibility.Type, Value: cfg.CommentVisibility.Value}
	default:
		return nil, errors.New(`jira: CommentVisibility.Type must be "role" or "group"`)
	}
	api, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, authorize)
	if err != nil {
		return nil, fmt.Errorf("jira: %w", err)
	}
	return &Client{
		api:                 api,
		browse:              api.Base().String() + "/browse/",
		allowMoved:          cfg.AllowMovedIssues,
		visibility:          vis,
		serviceDeskInternal: cfg.ServiceDeskInternal,
	}, nil
}

// lookupFields are the issue fields a lookup asks for.
const lookupFields = "summary,status,resolution,assignee,reporter"

// LookupTicket returns the issue with key number. See the package
// documentation for the accepted keys, the open judgement and the errors.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	key, ok := canonicalKey(number)
	if !ok {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op:    "lookup",
		Path:  "/rest/api/2/issue/" + url.PathEscape(key),
		Query: url.Values{"fields": {lookupFields}},
	})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	if authFailed(resp) {
		return ticketing.Ticket{}, authError("lookup", resp.StatusCode)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		if !isJiraError(resp.Body) {
			return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "not Jira's error answer; check the BaseURL")
		}
		return ticketing.Ticket{}, httpapi.NotFound(number)
	case resp.StatusCode != http.StatusOK:
		return ticketing.Ticket{}, statusError("lookup", resp)
	}
	return c.ticket("lookup", number, key, resp)
}

// ticket decodes a lookup answer.
func (c *Client) ticket(op, number, key string, resp *httpapi.Response) (ticketing.Ticket, error) {
	var is issue
	if err := httpapi.DecodeJSON(op, resp, &is); err != nil {
		return ticketing.Ticket{}, err
	}
	if is.Fields == nil || is.Fields.Status == nil || is.Fields.Status.Name == "" {
		return ticketing.Ticket{}, httpapi.Malformed(op, resp.StatusCode, "answer without the issue status")
	}
	got, ok := canonicalKey(is.Key)
	if !ok {
		return ticketing.Ticket{}, httpapi.Malformed(op, resp.StatusCode, "answer without a valid issue key")
	}
	if got != key && !c.allowMoved {
		return ticketing.Ticket{}, fmt.Errorf("%w: %s (Jira answered with issue %s: the issue was moved)",
			ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number), strconv.QuoteToASCII(is.Key))
	}
	f := is.Fields
	t := ticketing.Ticket{
		Number:     is.Key,
		ID:         string(is.ID),
		Status:     f.Status.Name,
		StatusCode: string(f.Status.ID),
		Open:       f.Resolution == nil && f.Status.StatusCategory != nil && openCategory(f.Status.StatusCategory.Key),
		Assignee:   f.Assignee.display(),
		Requester:  f.Reporter.display(),
		Summary:    f.Summary,
		URL:        c.browse + url.PathEscape(is.Key),
		Raw:        json.RawMessage(resp.Body),
	}
	return t, nil
}

// openCategory reports whether a status category key means the issue is
// still being worked on.
func openCategory(key string) bool {
	return key == "new" || key == "indeterminate"
}

// AddComment posts c.Text as a comment on the issue t.Number, with the
// configured visibility and Service Management internal flag. It returns
// a *ticketing.CheckerError on failure: ErrCheckerAuth for 401 and 403,
// temporary for 429, 502, 503 and 504, ErrCheckerUnavailable otherwise
// (404: the issue is gone or the account may not comment on it).
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	key, ok := canonicalKey(t.Number)
	if !ok {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
			Detail: "issue key " + strconv.QuoteToASCII(t.Number) + " cannot be sent"}
	}
	body := commentBody{Body: cm.Text, Visibility: c.visibility}
	if c.serviceDeskInternal {
		body.Properties = []property{{Key: "sd.public.comment", Value: map[string]bool{"internal": true}}}
	}
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op:     "comment",
		Method: http.MethodPost,
		Path:   "/rest/api/2/issue/" + url.PathEscape(key) + "/comment",
		JSON:   body,
	})
	if err != nil {
		return err
	}
	if authFailed(resp) {
		return authError("comment", resp.StatusCode)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "issue not found, or the account may not comment on it"}
	case resp.StatusCode == http.StatusBadRequest:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "Jira rejected the comment (check CommentVisibility)"}
	}
	return statusError("comment", resp)
}

// statusError is httpapi.StatusError, also for a 2xx that is not the
// expected one.
func statusError(op string, resp *httpapi.Response) error {
	if err := httpapi.StatusError(op, resp); err != nil {
		return err
	}
	return httpapi.Malformed(op, resp.StatusCode, "unexpected status")
}

// authFailed reports Jira Data Center's signs of a request that was not
// authenticated, which it may answer with 404 (anonymous) instead of 401.
func authFailed(resp *httpapi.Response) bool {
	switch strings.ToUpper(strings.TrimSpace(resp.Header.Get("X-Seraph-LoginReason"))) {
	case "AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED":
		return true
	}
	return resp.StatusCode == http.StatusNotFound &&
		strings.EqualFold(strings.TrimSpace(resp.Header.Get("X-AUSERNAME")), "anonymous")
}

func authError(op string, status int) error {
	return &ticketing.CheckerError{Err: ticketing.ErrCheckerAuth, Op: op, StatusCode: status,
		Detail: "Jira did not accept the credentials"}
}

// isJiraError reports whether body is Jira's error envelope
// ({"errorMessages":[...],"errors":{...}}).
func isJiraError(body []byte) bool {
	var e struct {
		ErrorMessages []string                   `json:"errorMessages"`
		Errors        map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return e.ErrorMessages != nil || e.Errors != nil
}

// maxKeyLength bounds an issue key.
const maxKeyLength = 255

// canonicalKey checks that s is an issue key, [A-Za-z][A-Za-z0-9_]+-[0-9]+
// in ASCII, and returns it upper-cased. It checks the bytes before it
// upper-cases them, so no Unicode case mapping ("ſ" to "S") can turn
// foreign input into a key.
func canonicalKey(s string) (string, bool) {
	if len(s) < 4 || len(s) > maxKeyLength {
		return "", false
	}
	dash := strings.LastIndexByte(s, '-')
	if dash < 2 || dash == len(s)-1 {
		return "", false
	}
	if !isLetter(s[0]) {
		return "", false
	}
	for i := 1; i < dash; i++ {
		if b := s[i]; !isLetter(b) && !isDigit(b) && b != '_' {
			return "", false
		}
	}
	for i := dash + 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return "", false
		}
	}
	return strings.ToUpper(s), true
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
func isDigit(b byte) bool  { return '0' <= b && b <= '9' }

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// issue is the part of Jira's issue answer the connector reads.
type issue struct {
	ID     flexString `json:"id"`
	Key    string     `json:"key"`
	Fields *struct {
		Summary string `json:"summary"`
		Status  *struct {
			ID             flexString `json:"id"`
			Name           string     `json:"name"`
			StatusCategory *struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Resolution *struct {
			Name string `json:"name"`
		} `json:"resolution"`
		Assignee *user `json:"assignee"`
		Reporter *user `json:"reporter"`
	} `json:"fields"`
}

// user is a Jira user: Cloud gives accountId and displayName, Data Center
// name, key and displayName.
type user struct {
	DisplayName string `json:"displayName"`
	Name        string `json:"name"`
	AccountID   string `json:"accountId"`
}

// display names the user: the display name, else the Data Center user
// name, else the Cloud account id; "" for nobody.
func (u *user) display() string {
	switch {
	case u == nil:
		return ""
	case u.DisplayName != "":
		return u.DisplayName
	case u.Name != "":
		return u.Name
	}
	return u.AccountID
}

// flexString decodes a JSON string or number (Jira sends ids as strings,
// but a number is no reason to refuse the answer) and null as "".
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n)
	return nil
}

type commentBody struct {
	Body       string      `json:"body"`
	Visibility *visibility `json:"visibility,omitempty"`
	Properties []property  `json:"properties,omitempty"`
}

type visibility struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type property struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}
