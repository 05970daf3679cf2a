// Package github is the live ticket check for GitHub Issues (github.com and
// GitHub Enterprise Server), through the REST API (version 2022-11-28).
//
// A ticket number is an issue number of one repository (Config.Owner and
// Config.Repo): "42" or "#42", that is `^#?[0-9]{1,10}$`. Any other number
// is reported as not found without a request, so nothing a user types can
// change the request path. The lookup is
//
//	GET {BaseURL}/repos/{owner}/{repo}/issues/{number}
//	Authorization: Bearer <token>
//	Accept: application/vnd.github+json
//	X-GitHub-Api-Version: 2022-11-28
//
// and the comment write-back is
//
//	POST {BaseURL}/repos/{owner}/{repo}/issues/{number}/comments  {"body": "..."}
//
// Open or closed: an issue is open when its state is "open". Ticket.Status
// is the state ("open", "closed") and Ticket.StatusCode the state_reason
// ("completed", "not_planned", "reopened", "duplicate" or empty), so a
// TicketSystem's AllowedStatuses can name either.
//
// Decisions worth knowing:
//
//   - Pull requests are issues too in GitHub's API. They are not tickets
//     here: a pull request number is reported as not found, unless
//     Config.AllowPullRequests is set.
//   - 404 and 410 (deleted issue) are "not found". GitHub answers 404 as
//     well when the repository does not exist or the token cannot see it;
//     the API does not tell these apart, so a wrong Owner, Repo or token
//     scope shows up as every ticket being not found (the Registry's Test
//     of a known issue reveals it).
//   - 301 (the issue was transferred to another repository, or the
//     repository was renamed) is "not found" as well, and the redirect is
//     never followed, on any host: the issue is no longer issue {number} of
//     the configured repository, and failing closed is the safe answer. The
//     error text says "moved", so an administrator can tell it apart.
//   - 401 and 403 are refused credentials (ticketing.ErrCheckerAuth), except
//     a rate limit: 403 or 429 with x-ratelimit-remaining: 0, or with a
//     Retry-After header (GitHub's secondary rate limits), and every 429 are
//     temporary, with RetryAfter taken from Retry-After or, failing that,
//     from x-ratelimit-reset (Unix seconds).
//   - GitHub has no private notes: the comment is visible to everyone who
//     can read the issue (on a public repository, to everyone). Enable
//     TicketSystem.AddCommentsToTicket only where that is acceptable.
//
// Wiring it into a Registry:
//
//	gh, err := github.New(github.Config{Owner: "acme", Repo: "ops", Token: token})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("github", gh))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:      "GitHub acme/ops",
//		Mode:      ticketing.TicketRequired,
//		Pattern:   `^#?[0-9]{1,10}$`,
//		Connector: "github",
//	})
package github

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

// DefaultBaseURL is the API of github.com, used when Config.BaseURL is "".
const DefaultBaseURL = "https://api.github.com"

// APIVersion is the REST API version sent in X-GitHub-Api-Version.
const APIVersion = "2022-11-28"

// Config configures a Client. The zero value is not usable: Owner, Repo
// and Token are required.
type Config struct {
	// BaseURL is the REST API root: "" means DefaultBaseURL (github.com);
	// GitHub Enterprise Server uses "https://ghe.example.com/api/v3".
	BaseURL string
	// Owner is the user or organisation that owns the repository. Letters,
	// digits, '-', '_' and '.' only (at most 100); required.
	Owner string
	// Repo is the repository name, with the same characters as Owner;
	// required.
	Repo string
	// Token is a personal access token, fine-grained token or GitHub App
	// installation token with read access to issues (and write access for
	// comments), sent as "Authorization: Bearer <token>"; required. It
	// never appears in error texts.
	Token string
	// AllowPullRequests makes pull requests count as tickets. The zero
	// value reports a pull request number as not found.
	AllowPullRequests bool
	// HTTPClient sends the requests; nil means a client with
	// httpapi.DefaultTimeout. It is copied, never modified; the copy never
	// follows redirects (its CheckRedirect is replaced).
	HTTPClient *http.Client
}

// Client checks tickets against GitHub Issues and writes comments. Build
// it with New (the zero value is not usable); it is safe for concurrent use.
type Client struct {
	api       *httpapi.Client
	repoPath  string // "/repos/{owner}/{repo}", escaped
	allowPRs  bool
	apiHeader http.Header
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	numberRE = regexp.MustCompile(`^#?[0-9]{1,10}$`)
)

// New checks cfg and returns a Client. Errors name the field at fault and
// never contain the token.
func New(cfg Config) (*Client, error) {
	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		base = DefaultBaseURL
	}
	if err := checkName("Owner", cfg.Owner); err != nil {
		return nil, err
	}
	if err := checkName("Repo", cfg.Repo); err != nil {
		return nil, err
	}
	token := strings.TrimSpace(cfg.Token)
	if token == "" {
		return nil, errors.New("github: Token is required")
	}
	if !httpapi.HeaderSafe(token) {
		return nil, errors.New("github: Token contains characters that cannot be sent in an HTTP header")
	}
	hc := &http.Client{Timeout: httpapi.DefaultTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	// Never follow a redirect: 301 means the issue moved out of this
	// repository (see the package doc). httpapi still refuses a redirect
	// to another host before this runs.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	api, err := httpapi.New(base, hc, httpapi.Header("Authorization", "Bearer "+token))
	if err != nil {
		return nil, fmt.Errorf("github: BaseURL: %w", err)
	}
	h := http.Header{}
	h.Set("Accept", "application/vnd.github+json")
	h.Set("X-GitHub-Api-Version", APIVersion)
	return &Client{
		api:       api,
		repoPath:  "/repos/" + url.PathEscape(cfg.Owner) + "/" + url.PathEscape(cfg.Repo),
		allowPRs:  cfg.AllowPullRequests,
		apiHeader: h,
	}, nil
}

func checkName(field, v string) error {
	if !nameRE.MatchString(v) || v == "." || v == ".." {
		return fmt.Errorf("github: %s must be 1 to 100 letters, digits, '-', '_' or '.', got %s", field, strconv.QuoteToASCII(v))
	}
	return nil
}

// issueNumber turns "#42" or "0042" into "42"; ok is false for anything
// that is not an issue number (including 0).
func issueNumber(number string) (string, bool) {
	if !numberRE.MatchString(number) {
		return "", false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(number, "#"), 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	return strconv.FormatUint(n, 10), true
}

// issue is the part of GitHub's issue object the Ticket uses.
type issue struct {
	ID          httpapi.Text    `json:"id"`
	Number      httpapi.Text    `json:"number"`
	State       string          `json:"state"`
	StateReason string          `json:"state_reason"`
	Title       string          `json:"title"`
	HTMLURL     string          `json:"html_url"`
	User        *account        `json:"user"`
	Assignee    *account        `json:"assignee"`
	Assignees   []account       `json:"assignees"`
	PullRequest json.RawMessage `json:"pull_request"`
}

type account struct {
	Login string `json:"login"`
}

// LookupTicket fetches issue number (see the package doc for the accepted
// forms) and reports it as a Ticket. It returns an error wrapping
// ticketing.ErrTicketNotFound for a number that is not an issue of the
// repository, and a *ticketing.CheckerError for every other failure.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	n, ok := issueNumber(number)
	if !ok {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	resp, err := c.api.Do(ctx, httpapi.Request{Op: "lookup", Path: c.repoPath + "/issues/" + n, Header: c.apiHeader})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound, code == http.StatusGone:
		return ticketing.Ticket{}, httpapi.NotFound(number)
	case code == http.StatusMovedPermanently:
		return ticketing.Ticket{}, fmt.Errorf("%w: %s moved (transferred to another repository, or the repository was renamed)",
			ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
	case code < 200 || code > 299:
		return ticketing.Ticket{}, statusError("lookup", resp)
	}
	var is issue
	if err := httpapi.DecodeJSON("lookup", resp, &is); err != nil {
		return ticketing.Ticket{}, err
	}
	if is.Number != "" && string(is.Number) != n {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "response is for another issue")
	}
	if is.State == "" {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "issue without a state")
	}
	if len(is.PullRequest) > 0 && string(is.PullRequest) != "null" && !c.allowPRs {
		return ticketing.Ticket{}, fmt.Errorf("%w: %s is a pull request", ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
	}
	t := ticketing.Ticket{
		Number:     n,
		ID:         string(is.ID),
		Status:     is.State,
		StatusCode: is.StateReason,
		Open:       is.State == "open",
		Summary:    is.Title,
		URL:        webURL(is.HTMLURL),
		Raw:        json.RawMessage(resp.Body),
	}
	if is.User != nil {
		t.Requester = is.User.Login
	}
	switch {
	case is.Assignee != nil && is.Assignee.Login != "":
		t.Assignee = is.Assignee.Login
	case len(is.Assignees) > 0:
		t.Assignee = is.Assignees[0].Login
	}
	return t, nil
}

// AddComment posts c.Text as a comment on the issue t.Number. GitHub has no
// private comments: see the package doc.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	n, ok := issueNumber(t.Number)
	if !ok {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment",
			Detail: "ticket number " + strconv.QuoteToASCII(t.Number) + " is not an issue number"}
	}
	resp, err := c.api.Do(ctx, httpapi.Request{
		Op: "comment", Method: http.MethodPost, Path: c.repoPath + "/issues/" + n + "/comments",
		Header: c.apiHeader, JSON: struct {
			Body string `json:"body"`
		}{cm.Text},
	})
	if err != nil {
		return err
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return statusError("comment", resp)
}

// statusError classifies a failed answer: GitHub's rate limits (403 or 429
// with x-ratelimit-remaining: 0 or Retry-After; every 429) are temporary,
// other statuses go to httpapi.StatusError.
func statusError(op string, resp *httpapi.Response) error {
	code := resp.StatusCode
	limited := code == http.StatusTooManyRequests ||
		code == http.StatusForbidden && (strings.TrimSpace(resp.Header.Get("X-Ratelimit-Remaining")) == "0" ||
			strings.TrimSpace(resp.Header.Get("Retry-After")) != "")
	if limited {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, StatusCode: code,
			Temporary: true, RetryAfter: retryAfter(resp.Header, time.Now()), Detail: "rate limit exceeded"}
	}
	if code >= 300 && code <= 399 {
		return httpapi.Malformed(op, code, "unexpected redirect")
	}
	return httpapi.StatusError(op, resp)
}

// retryAfter reads Retry-After, else x-ratelimit-reset (Unix seconds).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if d := httpapi.RetryAfter(h.Get("Retry-After"), now); d > 0 {
		return d
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), 10, 64)
	if err != nil || secs <= 0 {
		return 0
	}
	d := time.Unix(secs, 0).Sub(now)
	if d <= 0 {
		return 0
	}
	if d > 24*time.Hour {
		d = 24 * time.Hour
	}
	return d.Round(time.Second)
}

// webURL returns u when it is an absolute http or https URL, else "".
func webURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return u
}
