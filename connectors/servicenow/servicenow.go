// Package servicenow is the live ticket check for ServiceNow, through its
// REST Table API (/api/now/table/{table}, or the versioned
// /api/now/v1/table/... and /api/now/v2/table/...).
//
// # Lookup
//
// LookupTicket asks one table (incident by default; change_request,
// sc_req_item, task or any other table) for the record with that number:
//
//	GET /api/now/table/incident?sysparm_query=number=INC0010001&sysparm_limit=1
//	    &sysparm_display_value=all&sysparm_exclude_reference_link=true
//	    &sysparm_no_count=true&sysparm_fields=sys_id,number,state,active,...
//
// A 200 with an empty result (default path and v2) and a v1 404 "No Record
// found" both mean the ticket does not exist (ticketing.ErrTicketNotFound).
// So does a record whose number is not the one asked for: ServiceNow
// ignores the parts of a query it cannot use and then returns arbitrary
// rows, and such an answer proves nothing about the number, so it is never
// taken as a match. It is reported as not found rather than unavailable so
// that it fails closed even on a system with FailOpen.
//
// The Ticket carries the sys_id (ID), the state label and value, the
// assignee's and requester's names (caller_id, requested_for, requested_by
// or opened_by, the first that is set), short_description, a change's
// start_date and end_date (UTC), a link to the record's form
// ({base}/nav_to.do?uri={class}.do%3Fsysparm_query%3Dnumber%3D{number}) and
// the record as returned.
//
// # Open or closed
//
// A ticket is Open when its active flag is "true" and its state is not one
// of the resolved, closed or cancelled states of its table (out of the box):
//
//	incident:                         6 Resolved, 7 Closed, 8 Canceled
//	change_request:                   3 Closed, 4 Canceled
//	sc_req_item, sc_task, task:       3 Closed Complete, 4 Closed Incomplete, 7 Closed Skipped
//	change_task:                      3 Closed, 4 Canceled
//	any other table:                  the active flag alone
//
// The table is the record's sys_class_name, so a lookup in the parent
// table task judges an incident found there by the incident states.
// Status is the state's label as the instance displays it (for the
// integration user's language) and StatusCode its value ("2"), so a
// TicketSystem's AllowedStatuses may name either; on instances with
// customised states, list the allowed values there.
//
// # Work notes
//
// AddComment writes the note to the record's work_notes journal (visible to
// agents only): PATCH /api/now/table/{sys_class_name}/{sys_id} with
// {"work_notes": "..."}. The integration user needs write access to the
// work_notes field of those tables.
//
// # Ticket numbers that are never sent
//
// An encoded query joins conditions with "^" ("^OR", "^NQ", "^ORDERBY"),
// and a value that starts with "javascript:" is evaluated by the instance.
// LookupTicket therefore sends only numbers made of ASCII letters, digits,
// '_', '.' and '-' (at most 128 of them), which can hold neither; any other
// number is reported as ErrTicketNotFound without a request, because no
// ServiceNow number looks like that.
//
// # Wiring
//
//	client, err := servicenow.New(servicenow.Config{
//		BaseURL:  "https://acme.service-now.com",
//		Username: "svc-ticketgate",
//		Password: password,
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("servicenow", client))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:                "ServiceNow",
//		Active:              true,
//		Mode:                ticketing.TicketAndReasonRequired,
//		Pattern:             `^INC\d{7}$`,
//		Connector:           "servicenow",
//		AddCommentsToTicket: true,
//		URLTemplate:         "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
//	})
//
// The connector never retries: the Validator's outage policy does, from
// the *ticketing.CheckerError values it returns (429, 502, 503 and 504 are
// temporary and carry Retry-After).
package servicenow

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

// DefaultTable is the table looked up when Config.Table is empty.
const DefaultTable = "incident"

// Config configures a Client. Exactly one way to authenticate must be set:
// Username and Password (basic), Token (OAuth bearer) or APIKey.
type Config struct {
	// BaseURL is the instance URL, such as "https://acme.service-now.com".
	// Required; it must be http or https and carry no user info. A path
	// (for a proxy in front of the instance) is kept as a prefix.
	BaseURL string
	// Username and Password authenticate with HTTP basic authentication.
	// Both or neither; the user name must not contain ':'.
	Username string
	Password string
	// Token is an OAuth access token sent as "Authorization: Bearer ...".
	// The connector does not renew it; "" means not used.
	Token string
	// APIKey is sent in the "x-sn-apikey" header (API Key and HMAC
	// Authentication plugin); "" means not used.
	APIKey string
	// Table is the table that is searched: "incident" (the zero value ""),
	// "change_request", "sc_req_item", "task" (all task types; each record
	// is then judged by its sys_class_name) or any other table name made of
	// lower-case letters, digits and '_'.
	Table string
	// APIVersion selects the path: "" (the zero value) uses the default
	// /api/now/table/..., "v1" and "v2" use /api/now/v1/table/... and
	// /api/now/v2/table/....
	APIVersion string
	// HTTPClient sends the requests; nil means a client with a 30 s timeout.
	// It is copied, never modified, and the copy refuses redirects to
	// another host.
	HTTPClient *http.Client
}

// Client looks tickets up in one ServiceNow table and writes work notes.
// It implements ticketing.Checker and ticketing.Commenter and is safe for
// concurrent use. The zero value is not usable; build one with New.
type Client struct {
	http    *httpapi.Client
	table   string
	apiPath string // "/api/now" or "/api/now/v1" or "/api/now/v2"
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

// tableName is what a table name (and a sys_class_name used in a path or
// a link) must look like.
var tableName = regexp.MustCompile(`^[a-z0-9_]{1,80}$`)

// New checks cfg and returns a Client. The error names the field that is
// wrong and never contains a credential.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.BaseURL) == "" {
		return nil, errors.New("servicenow: BaseURL is required")
	}
	authorize, err := authFor(cfg)
	if err != nil {
		return nil, err
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("servicenow: Table %s must be 1 to 80 lower-case letters, digits or '_'", strconv.QuoteToASCII(table))
	}
	apiPath := "/api/now"
	switch cfg.APIVersion {
	case "":
	case "v1", "v2":
		apiPath += "/" + cfg.APIVersion
	default:
		return nil, fmt.Errorf("servicenow: APIVersion %s must be \"\", \"v1\" or \"v2\"", strconv.QuoteToASCII(cfg.APIVersion))
	}
	hc, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, authorize)
	if err != nil {
		return nil, fmt.Errorf("servicenow: BaseURL: %w", err)
	}
	return &Client{http: hc, table: table, apiPath: apiPath}, nil
}

// authFor picks the one authentication cfg sets.
func authFor(cfg Config) (func(*http.Request) error, error) {
	var set []string
	if cfg.Username != "" || cfg.Password != "" {
		set = append(set, "Username/Password")
	}
	if cfg.Token != "" {
		set = append(set, "Token")
	}
	if cfg.APIKey != "" {
		set = append(set, "APIKey")
	}
	switch len(set) {
	case 0:
		return nil, errors.New("servicenow: credentials are required: set Username and Password, Token, or APIKey")
	case 1:
	default:
		return nil, fmt.Errorf("servicenow: set only one of Username/Password, Token and APIKey (got %s)", strings.Join(set, ", "))
	}
	switch {
	case cfg.Token != "":
		if !httpapi.HeaderSafe(cfg.Token) {
			return nil, errors.New("servicenow: Token must be printable ASCII without spaces")
		}
		return httpapi.Header("Authorization", "Bearer "+cfg.Token), nil
	case cfg.APIKey != "":
		if !httpapi.HeaderSafe(cfg.APIKey) {
			return nil, errors.New("servicenow: APIKey must be printable ASCII without spaces")
		}
		return httpapi.Header("x-sn-apikey", cfg.APIKey), nil
	}
	switch {
	case cfg.Username == "":
		return nil, errors.New("servicenow: Username is required with Password")
	case cfg.Password == "":
		return nil, errors.New("servicenow: Password is required with Username")
	case strings.Contains(cfg.Username, ":"):
		return nil, errors.New("servicenow: Username must not contain ':' (basic authentication)")
	}
	return httpapi.Basic(cfg.Username, cfg.Password), nil
}

// maxNumberLength caps the ticket numbers that are sent.
const maxNumberLength = 128

// safeNumber reports whether number can be sent inside an encoded query:
// ASCII letters, digits, '_', '.' and '-' cannot start another condition
// ('^'), an operator ('=', '!', '<', '>') or a "javascript:" value.
func safeNumber(number string) bool {
	if number == "" || len(number) > maxNumberLength {
		return false
	}
	for i := 0; i < len(number); i++ {
		c := number[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// lookupFields are the fields a lookup asks for. Fields a table does not
// have are ignored by the instance (caller_id exists on incident only,
// requested_for on sc_req_item, requested_by, start_date and end_date on
// change_request).
const lookupFields = "sys_id,number,state,active,assigned_to,caller_id,requested_for,requested_by,opened_by,short_description,sys_class_name,start_date,end_date"

// LookupTicket returns the record of the configured table whose number is
// number, an error wrapping ticketing.ErrTicketNotFound when there is none
// (or number cannot be a ServiceNow number, see the package doc), or a
// *ticketing.CheckerError: ErrCheckerAuth for 401 and 403, a temporary
// ErrCheckerUnavailable for 429, 502, 503 and 504 (with Retry-After), and
// ErrCheckerUnavailable for everything else.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	if !safeNumber(number) {
		return ticketing.Ticket{}, fmt.Errorf("%w: %s: not sent to ServiceNow: a number holds only ASCII letters, digits, '_', '.' and '-'",
			ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
	}
	resp, err := c.http.Do(ctx, httpapi.Request{
		Op:   "lookup",
		Path: c.apiPath + "/table/" + url.PathEscape(c.table),
		Query: url.Values{
			"sysparm_query":                  {"number=" + number},
			"sysparm_limit":                  {"1"},
			"sysparm_display_value":          {"all"},
			"sysparm_exclude_reference_link": {"true"},
			"sysparm_no_count":               {"true"},
			"sysparm_fields":                 {lookupFields},
		},
	})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		if isNoRecord(resp.Body) {
			return ticketing.Ticket{}, httpapi.NotFound(number)
		}
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "not a Table API answer (check BaseURL and Table)")
	case resp.StatusCode == http.StatusBadRequest:
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "request rejected (check Table)")
	}
	if err := httpapi.StatusError("lookup", resp); err != nil {
		return ticketing.Ticket{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "unexpected status")
	}
	var list struct {
		Result *[]json.RawMessage `json:"result"`
	}
	if err := httpapi.DecodeJSON("lookup", resp, &list); err != nil {
		return ticketing.Ticket{}, err
	}
	if list.Result == nil {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "response has no result list")
	}
	for _, raw := range *list.Result {
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "malformed record")
		}
		if !httpapi.EqualFoldASCII(rec.Number.value(), number) {
			continue // the instance ignored (part of) the query: not this ticket
		}
		return c.ticket(rec, raw), nil
	}
	if len(*list.Result) > 0 {
		return ticketing.Ticket{}, fmt.Errorf("%w: %s: ServiceNow answered with a record of another number, which is not a match",
			ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
	}
	return ticketing.Ticket{}, httpapi.NotFound(number)
}

// isNoRecord reports whether a 404 body is the Table API's "No Record
// found" error (v1's answer to a query without results), as opposed to a
// 404 from a wrong path or a proxy.
func isNoRecord(body []byte) bool {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		Status string `json:"status"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return strings.EqualFold(e.Status, "failure") && strings.EqualFold(strings.TrimSpace(e.Error.Message), "No Record found")
}

// record is the part of a Table API record the connector reads.
type record struct {
	SysID            field `json:"sys_id"`
	Number           field `json:"number"`
	State            field `json:"state"`
	Active           field `json:"active"`
	AssignedTo       field `json:"assigned_to"`
	CallerID         field `json:"caller_id"`
	RequestedFor     field `json:"requested_for"`
	RequestedBy      field `json:"requested_by"`
	OpenedBy         field `json:"opened_by"`
	ShortDescription field `json:"short_description"`
	SysClassName     field `json:"sys_class_name"`
	StartDate        field `json:"start_date"`
	EndDate          field `json:"end_date"`
}

// field is one Table API field in any of its shapes: a plain string
// (sysparm_display_value=false or true), {"display_value": ..., "value":
// ...} (all) or {"link": ..., "value": ...} (a reference with its link).
// Numbers and booleans are taken as their JSON text and null as empty.
type field struct {
	Value, Display string
	HasDisplay     bool
}

// UnmarshalJSON accepts the shapes above and rejects arrays and nested
// objects.
func (f *field) UnmarshalJSON(b []byte) error {
	b = trimJSONSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		var err error
		if f.Value, err = scalar(o["value"]); err != nil {
			return err
		}
		if d, ok := o["display_value"]; ok {
			f.HasDisplay = true
			if f.Display, err = scalar(d); err != nil {
				return err
			}
		}
		return nil
	}
	v, err := scalar(b)
	f.Value = v
	return err
}

// value is the field's value: the stored value, or the display value when
// the instance sent only that.
func (f field) value() string {
	if f.Value == "" && f.HasDisplay {
		return f.Display
	}
	return f.Value
}

// display is what a person would read: the display value (a user's name
// rather than their sys_id) when there is one, else the value.
func (f field) display() string {
	if f.Display != "" {
		return f.Display
	}
	return f.Value
}

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// scalar turns a JSON string, number, boolean or null into text.
func scalar(b json.RawMessage) (string, error) {
	b = trimJSONSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return "", nil
	}
	switch b[0] {
	case '"':
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	case '{', '[':
		return "", errors.New("servicenow: field is not a scalar")
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		return n.String(), nil
	}
	var t bool
	if err := json.Unmarshal(b, &t); err != nil {
		return "", err
	}
	return strconv.FormatBool(t), nil
}

// ticket builds the Ticket of rec.
func (c *Client) ticket(rec record, raw json.RawMessage) ticketing.Ticket {
	class := c.classOf(rec)
	state := rec.State.value()
	t := ticketing.Ticket{
		Number:     rec.Number.value(),
		ID:         rec.SysID.value(),
		StatusCode: state,
		Status:     rec.State.Display,
		Open:       strings.EqualFold(rec.Active.value(), "true") && !closedState(class, state),
		Assignee:   rec.AssignedTo.display(),
		Requester:  firstNonEmpty(rec.CallerID.display(), rec.RequestedFor.display(), rec.RequestedBy.display(), rec.OpenedBy.display()),
		Summary:    rec.ShortDescription.display(),
		Start:      parseTime(rec.StartDate.Value),
		End:        parseTime(rec.EndDate.Value),
		URL:        c.recordURL(class, rec.Number.value()),
		Raw:        raw,
	}
	if t.Status == "" {
		t.Status = stateLabel(class, state)
	}
	return t
}

// classOf is the record's own table (sys_class_name) when it is a valid
// table name, else the configured table.
func (c *Client) classOf(rec record) string {
	if cl := rec.SysClassName.value(); tableName.MatchString(cl) {
		return cl
	}
	return c.table
}

// recordURL links to the record's form in the instance's UI:
// {base}/nav_to.do?uri={class}.do?sysparm_query=number={number}, the inner
// URI percent-encoded as one query value.
func (c *Client) recordURL(class, number string) string {
	if number == "" {
		return ""
	}
	u := c.http.Base()
	u.RawPath = u.EscapedPath() + "/nav_to.do"
	u.Path += "/nav_to.do"
	u.RawQuery = url.Values{"uri": {class + ".do?sysparm_query=number=" + number}}.Encode()
	return u.String()
}

// parseTime reads a glide_date_time value ("2006-01-02 15:04:05", UTC);
// the zero time when it is empty or not in that form.
func parseTime(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, strings.TrimSpace(s), time.UTC)
	if err != nil {
		return time.Time{}
	}
	return t
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
