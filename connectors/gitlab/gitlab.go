// Package gitlab is the live ticket check for GitLab Issues (gitlab.com and
// self-managed GitLab), through the REST API v4.
//
// A ticket number is the project-scoped issue iid, the "#123" of the web
// UI: "123" or "#123", that is `^#?[0-9]{1,10}$`. Any other number is
// reported as not found without a request. The project (Config.Project) is
// a numeric id or a full path such as "group/subgroup/project", sent as one
// path segment with its slashes escaped ("group%2Fsubgroup%2Fproject"), as
// GitLab requires. The lookup is
//
//	GET {BaseURL}/api/v4/projects/{project}/issues/{iid}
//	PRIVATE-TOKEN: <token>           (or Authorization: Bearer <token>)
//
// and the comment write-back posts an internal note (visible to project
// members only):
//
//	POST {BaseURL}/api/v4/projects/{project}/issues/{iid}/notes  {"body": "...", "internal": true}
//
// GitLab releases before internal notes (15.0) ignore the "internal" field
// and post a note that anyone who can read the issue sees.
//
// Open or closed: an issue is open when its state is "opened" (GitLab's
// spelling); every other state ("closed") is not open. Ticket.Status is the
// state.
//
// Errors: 404 "404 Issue Not Found" (or any other GitLab 404 that is not
// about the project) is ticketing.ErrTicketNotFound. 404 "404 Project Not
// Found" is not a fact about the ticket: the Project setting is wrong, or
// the token cannot see the project (GitLab hides projects it will not
// show). It is reported as ticketing.ErrCheckerAuth, a configuration
// problem that never fails open. A 404 whose body is not GitLab's JSON
// (a wrong BaseURL, a proxy page) is ticketing.ErrCheckerUnavailable. 401
// and 403 are ErrCheckerAuth; 429 is temporary, with RetryAfter from
// Retry-After or, failing that, RateLimit-Reset.
//
// Wiring it into a Registry:
//
//	gl, err := gitlab.New(gitlab.Config{
//		BaseURL: "https://gitlab.example.com",
//		Project: "ops/change-requests",
//		Token:   token,
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("gitlab", gl))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:      "GitLab change requests",
//		Mode:      ticketing.TicketRequired,
//		Pattern:   `^#?[0-9]{1,10}$`,
//		Connector: "gitlab",
//	})
package gitlab

import (
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

// Config configures a Client. The zero value is not usable: BaseURL,
// Project and Token are required.
type Config struct {
	// BaseURL is the GitLab instance, such as "https://gitlab.com" or
	// "https://git.example.com/gitlab" (without /api/v4); required.
	BaseURL string
	// Project is the project's numeric id ("278964") or its full path
	// ("group/subgroup/project": path segments of letters, digits, '_',
	// '-' and '.'); required.
	Project string
	// Token is a personal, project or group access token with the api scope
	// (read_api is enough without comments); required. It is sent as
	// "PRIVATE-TOKEN: <token>", or as "Authorization: Bearer <token>" when
	// BearerAuth is set. It never appears in error texts.
	Token string
	// BearerAuth sends Token as an OAuth 2.0 bearer token. The zero value
	// uses the PRIVATE-TOKEN header.
	BearerAuth bool
	// HTTPClient sends the requests; nil means a client with
	// httpapi.DefaultTimeout. It is copied, never modified; redirects to
	// another host are refused.
	HTTPClient *http.Client
}

// Client checks tickets against GitLab Issues and writes internal notes.
// Build it with New (the zero value is not usable); it is safe for
// concurrent use.
type Client struct {
	api         *httpapi.Client
	projectPath string // "/api/v4/projects/{escaped project}"
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

var (
	projectIDRE = regexp.MustCompile(`^[0-9]{1,19}$`)
	segmentRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,255}$`)
	iidRE       = regexp.MustCompile(`^#?[0-9]{1,10}$`)
)

// New checks cfg and returns a Client. Errors name the field at fault and
// never contain the token.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("gitlab: BaseURL is required")
	}
	project := strings.TrimSpace(cfg.Project)
	if !validProject(project) {
		return nil, fmt.Errorf("gitlab: Project must be a numeric id or a path like \"group/project\", got %s", strconv.QuoteToASCII(cfg.Project))
	}
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, errors.New("gitlab: Token is required")
	}
	if !httpapi.HeaderSafe(token) {
		return nil, errors.New("gitlab: Token contains characters that cannot be sent in an HTTP header")
	}
	auth := httpapi.Header("PRIVATE-TOKEN", token)
	if cfg.BearerAuth {
		auth = httpapi.Header("Authorization", "Bearer "+token)
	}
	api, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, auth)
	if err != nil {
		return nil, fmt.Errorf("gitlab: BaseURL: %w", err)
	}
	// url.PathEscape escapes '/' as %2F: the whole path is one segment.
	return &Client{api: api, projectPath: "/api/v4/projects/" + url.PathEscape(project)}, nil
}

func validProject(p string) bool {
	if projectIDRE.MatchString(p) {
		return true
	}
	if len(p) > 1024 || !strings.Contains(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if !segmentRE.MatchString(seg) || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// issueIID turns "#42" or "0042" into "42"; ok is false for anything that
// is not an iid (including 0).
func issueIID(number string) (string, bool) {
	if !iidRE.MatchString(number) {
		return "", false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(number, "#"), 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

// issue is the part of GitLab's issue object the Ticket uses.
type issue struct {
	ID        httpapi.Text `json:"id"`
	IID       httpapi.Text `json:"iid"`
	State     string       `json:"state"`
	Title     string       `json:"title"`
	WebURL    string       `json:"web_url"`
	Author    *user        `json:"author"`
	Assignee  *user        `json:"assignee"`
	Assignees []user       `json:"assignees"`
}

type user struct {
	Username string `json:"username"`
}

// LookupTicket fetches issue iid number (see the package doc for the
// accepted forms) and reports it as a Ticket. It returns an error wrapping
// ticketing.ErrTicketNotFound for an unknown issue, and a
// *ticketing.CheckerError for every other failure, including a project
// that GitLab does not show (ErrCheckerAuth).
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	iid, ok := issueIID(number)
	if !ok {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	resp, err := c.api.Do(ctx, httpapi.Request{Op: "lookup", Path: c.projectPath + "/issues/" + iid})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	if resp.StatusCode == http.StatusNotFound {
		switch notFoundKind(resp.Body) {
		case notFoundIssue:
			return ticketing.Ticket{}, httpapi.NotFound(number)
		case notFoundProject:
			return ticketing.Ticket{}, projectNotFound("lookup")
		}
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "404 without a GitLab answer (check BaseURL)")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ticketing.Ticket{}, statusError("lookup", resp)
	}
	var is issue
	if err := httpapi.DecodeJSON("lookup", resp, &is); err != nil {
		return ticketing.Ticket{}, err
	}
	if is.IID != "" && string(is.IID) != iid {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "response is for another issue")
	}
	if is.State == "" {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "issue without a state")
	}
	t := ticketing.Ticket{
		Number:  iid,
		ID:      string(is.ID),
		Status:  is.State,
		Open:    is.State == "opened",
		Summary: is.Title,
		URL:     webURL(is.WebURL),
		Raw:     json.RawMessage(resp.Body),
	}
	if is.Author != nil {
		t.Requester = is.Author.Username
	}
	switch {
	case is.Assignee != nil && is.Assignee.Username != "":
		t.Assignee = is.Assignee.Username
	case len(is.Assignees) > 0:
		t.Assignee = is.Assignees[0].Username
	}
	return t, nil
}

// AddComment posts c.Text as an internal note on issue t.Number.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	iid, ok := issueIID(t.Number)
	if !ok {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
			Detail: "ticket number " + strconv.QuoteToASCII(t.Number) + " is not an issue iid"}
	}
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op: "comment", Method: http.MethodPost, Path: c.projectPath + "/issues/" + iid + "/notes",
		JSON: struct {
			Body     string `json:"body"`
			Internal bool   `json:"internal"`
		}{cm.Text, true},
	})
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	if resp.StatusCode == http.StatusNotFound {
		switch notFoundKind(resp.Body) {
		case notFoundProject:
			return projectNotFound("comment")
		case notFoundIssue:
			return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
				StatusCode: resp.StatusCode, Detail: "issue not found"}
		}
	}
	return statusError("comment", resp)
}

type notFound int

const (
	notFoundOther notFound = iota
	notFoundIssue
	notFoundProject
)

// notFoundKind reads a GitLab 404 body: {"message":"404 Project Not
// Found"} is about the project, any other GitLab message ("404 Issue Not
// Found", "404 Not found") about the issue; a body that is not GitLab's
// JSON is neither.
func notFoundKind(body []byte) notFound {
	var e struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return notFoundOther
	}
	var msg string
	if json.Unmarshal(e.Message, &msg) != nil || !strings.HasPrefix(msg, "404") {
		return notFoundOther
	}
	if strings.Contains(strings.ToLower(msg), "project") {
		return notFoundProject
	}
	return notFoundIssue
}

func projectNotFound(op string) error {
	return &ticketing.CheckerError{Err: ticketing.ErrCheckerAuth, Op: op, StatusCode: http.StatusNotFound,
		Detail: "project not found, or not visible to the token (check Project and the token's access)"}
}

// statusError classifies a failed answer with httpapi.StatusError, adding
// RateLimit-Reset as the wait of a 429 without Retry-After.
func statusError(op string, resp *httpapi.Response) error {
	err := httpapi.StatusError(op, resp)
	var ce *ticketing.CheckerError
	if resp.StatusCode == http.StatusTooManyRequests && errors.As(err, &ce) && ce.RetryAfter == 0 {
		ce.RetryAfter = resetAfter(resp.Header.Get("RateLimit-Reset"), time.Now())
	}
	return err
}

// resetAfter turns a Unix-seconds reset time into a wait from now.
func resetAfter(v string, now time.Time) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs <= 0 {
		return 0
	}
	d := time.Unix(secs, 0).Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, 24*time.Hour).Round(time.Second)
}

// webURL returns u when it is an absolute http or https URL, else "".
func webURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return u
}
