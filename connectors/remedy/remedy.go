// Package remedy is the live ticket check for BMC Helix ITSM and BMC Remedy
// AR System, through the AR System REST API (/api/jwt/login and
// /api/arsys/v1/entry/{form}, AR System 9.x and later, Helix ITSM).
//
// # Authentication
//
// The Client logs in with POST /api/jwt/login (form-encoded username,
// password and, when Config.AuthString is set, authString), keeps the JWT
// the server answers with, and sends it as "Authorization: AR-JWT <token>"
// on every call. A token is used for at most TokenLifetime (55 minutes;
// AR's default expiry is one hour); when a call answers 401 with an older
// token, the Client logs in again once and repeats the call. A 401 or 403
// from the login itself, or a 401 that a fresh token does not cure, is
// ticketing.ErrCheckerAuth.
//
// AR System serialises the requests of one user, and concurrent requests
// with one account can fail with ARERR 9093 ("user is currently connected
// from another machine"). So every request of a Client, the login
// included, runs one at a time: a call waits for the one before it (or for
// its context to end). Clients built with Config.ShareLoginWith share one
// token and one queue, so an incident Client and a change Client for the
// same account never overlap either.
//
// # Lookup
//
// LookupTicket queries the form for the ticket number:
//
//	GET /api/arsys/v1/entry/HPD:IncidentInterface
//	    ?q='Incident Number'="INC000000000430"
//	    &fields=values(Incident Number,Status,Request ID,Assignee,First Name,Last Name,Description)
//	    &limit=1
//
// The number sits inside double quotes in an AR qualification. Rather than
// escaping it, LookupTicket refuses a number that holds a double quote, a
// single quote, a backslash, a dollar sign (AR keywords and field
// references) or any character that is not printable (controls, format
// characters, non-ASCII spaces, invalid UTF-8), or that is longer than 128
// bytes: such a number cannot be represented safely, and no Remedy ticket
// number looks like that, so the answer is ticketing.ErrTicketNotFound and
// nothing is sent. Every other number goes into q verbatim, and q itself
// is encoded as a query parameter, so `&`, `#`, `?`, `%2F` or `../` in it
// stay part of the value.
//
// A 200 with no entries, a 404 with AR message 302 ("Entry does not exist
// in database") and an entry whose number is not the one asked for are all
// ticketing.ErrTicketNotFound. The number comparison ignores ASCII case,
// as AR's database usually does; any other mismatch proves nothing about
// the number and so fails closed, even on a system with FailOpen.
//
// # Open or closed
//
// Status is the status label the form returns (Status on incidents,
// Change Request Status on changes); StatusCode stays empty, since the REST
// API returns selection fields as labels. As in Secret Server's BMC
// integration:
//
//	incident: not Open when Closed or Cancelled (New, Assigned, In
//	          Progress, Pending and Resolved are Open)
//	change:   not Open when Completed, Closed or Cancelled
//
// The comparison ignores case and surrounding space. An entry without a
// status is not Open. A TicketSystem's AllowedStatuses can narrow this
// (to leave out Resolved or Rejected, say).
//
// # Errors
//
// AR often answers a failure with a bare 500 and keeps the details in its
// own log; that is ticketing.ErrCheckerUnavailable and not temporary. 429,
// 502, 503 and 504 are temporary, with Retry-After. Error bodies (arrays of
// AR messages) never reach an error text; only their AR message numbers do
// ("ARERR 9093"). A 404 other than message 302 (a form that does not
// exist, 303) is a configuration problem and reported as unavailable, not
// as an unknown ticket.
//
// # Comments
//
// AddComment adds a work info entry to the ticket:
//
//	POST /api/arsys/v1/entry/HPD:WorkLog        (changes: CHG:WorkLog)
//	{"values":{"Incident Number":"INC000000000430","Work Log Type":"General Information",
//	  "Description":"<first line of the note>","Detailed Description":"<the note>",
//	  "View Access":"Internal","Secure Work Log":"No"}}
//
// and expects 201 Created.
//
// # Wiring
//
//	incidents, err := remedy.New(remedy.Config{
//		BaseURL:  "https://remedy.example.com:8443",
//		Username: "svc_secrets",
//		Password: password,
//		Form:     remedy.Incident,
//	})
//	if err != nil { ... }
//	changes, err := remedy.New(remedy.Config{Form: remedy.Change, ShareLoginWith: incidents})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store,
//		ticketing.WithConnector("remedy-incident", incidents),
//		ticketing.WithConnector("remedy-change", changes))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name:                "BMC Helix incidents",
//		Mode:                ticketing.TicketRequired,
//		Pattern:             `^INC\d{12}$`,
//		Connector:           "remedy-incident",
//		AddCommentsToTicket: true,
//	})
package remedy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// FormKind selects the ITSM form a Client reads and the status rule it
// applies.
type FormKind string

// The form kinds.
const (
	// Incident reads HPD:IncidentInterface by Incident Number; an incident
	// is not open when Closed or Cancelled.
	Incident FormKind = "incident"
	// Change reads CHG:ChangeInterface by Infrastructure Change ID; a
	// change is not open when Completed, Closed or Cancelled.
	Change FormKind = "change"
)

// DefaultWorkInfoType is the work info type of comments when
// Config.WorkInfoType is empty.
const DefaultWorkInfoType = "General Information"

// TokenLifetime is how long a Client uses a JWT before it logs in again
// without waiting for a 401 (AR's default token expiry is one hour).
const TokenLifetime = 55 * time.Minute

// Omit, as a name in Fields, leaves that field out of the lookup, for
// sites whose form does not have it.
const Omit = "-"

// Fields names the fields of the form that LookupTicket reads. An empty
// name means the default of the Config's Form kind (given per field
// below); Omit leaves an optional field out (AR answers an error when
// asked for a field the form does not have). Number and Status cannot be
// omitted. Names must not contain quotes, commas, parentheses or control
// characters.
type Fields struct {
	// Number holds the ticket number: "Incident Number", or
	// "Infrastructure Change ID" for changes.
	Number string
	// Status holds the status label: "Status", or "Change Request Status"
	// for changes.
	Status string
	// RequestID holds the entry id, Ticket.ID: "Request ID".
	RequestID string
	// Assignee holds the assignee's name: "Assignee".
	Assignee string
	// FirstName and LastName hold the customer's name, Ticket.Requester:
	// "First Name" and "Last Name", or "Customer First Name" and "Customer
	// Last Name" for changes.
	FirstName, LastName string
	// Summary holds the short description: "Description".
	Summary string
	// Start and End hold the change window: "Scheduled Start Date" and
	// "Scheduled End Date" for changes; incidents have none by default.
	Start, End string
}

// Config configures a Client. The zero value is not usable: BaseURL,
// Username and Password are required (or ShareLoginWith). New copies what
// it needs, so changing a Config afterwards does not affect the Client,
// which is safe for concurrent use.
type Config struct {
	// BaseURL is the AR System REST endpoint, scheme and host with an
	// optional path prefix, for example "https://remedy.example.com:8443"
	// (the AR server's Jetty port, not the Mid-Tier). Required unless
	// ShareLoginWith is set.
	BaseURL string
	// Username and Password log in to AR System. Required unless
	// ShareLoginWith is set. They are never part of an error text.
	Username, Password string
	// AuthString is the "authentication" value of the AR login (an
	// authentication server or domain); "" sends none.
	AuthString string
	// ShareLoginWith makes this Client use the login (token and request
	// queue) of another Client for the same account, so that their requests
	// never overlap. BaseURL, Username, Password, AuthString and HTTPClient
	// must then be empty: they come from that Client.
	ShareLoginWith *Client

	// Form is the kind of ticket: Incident (the zero value "" means
	// Incident) or Change. It sets the default form, fields, work log form
	// and status rule.
	Form FormKind
	// FormName overrides the form queried: "" means HPD:IncidentInterface,
	// or CHG:ChangeInterface for changes.
	FormName string
	// Fields overrides field names for customised forms; the zero value
	// uses the defaults of Form.
	Fields Fields
	// WorkLogForm overrides the form comments are written to: "" means
	// HPD:WorkLog, or CHG:WorkLog for changes.
	WorkLogForm string
	// WorkLogNumberField overrides the field of WorkLogForm that holds the
	// ticket number: "" means Fields.Number's default for Form ("Incident
	// Number", "Infrastructure Change ID").
	WorkLogNumberField string
	// WorkInfoType is the Work Log Type of comments; "" means
	// DefaultWorkInfoType ("General Information").
	WorkInfoType string

	// TicketURL, when set, links each Ticket to the ticket in the web UI:
	// an absolute http or https URL in which every $TICKETID is replaced by
	// the percent-encoded ticket number (the same encoding as the core's
	// View Ticket URL template), typically a Mid-Tier search link such as
	// "https://midtier.example.com/arsys/forms/arserver/SHR%3ALandingConsole/Default+Administrator+View/?mode=search&F304255610=%27Incident+Number%27%3D%22$TICKETID%22".
	// "" leaves Ticket.URL empty: the REST endpoint does not reveal the
	// Mid-Tier's address.
	TicketURL string

	// HTTPClient sends the requests; nil means a client with
	// httpapi.DefaultTimeout. It is copied, not modified. Ignored with
	// ShareLoginWith.
	HTTPClient *http.Client
}

// Client checks tickets in one AR System form and writes work info
// entries. It is safe for concurrent use; its requests are serialised (see
// the package documentation). Build it with New.
type Client struct {
	sess        *session
	kind        FormKind
	form        string
	fields      Fields
	fieldList   string // the fields query parameter
	workLogForm string
	workLogNum  string
	workType    string
	ticketURL   string
	closed      []string
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

// New checks cfg and returns a Client. It does not contact the server: the
// first lookup logs in. Errors name the missing or bad setting, never a
// credential.
func New(cfg Config) (*Client, error) {
	kind := cfg.Form
	if kind == "" {
		kind = Incident
	}
	if kind != Incident && kind != Change {
		return nil, fmt.Errorf("remedy: Form must be %q or %q", Incident, Change)
	}
	c := &Client{kind: kind}

	if cfg.ShareLoginWith != nil {
		if cfg.ShareLoginWith.sess == nil {
			return nil, errors.New("remedy: ShareLoginWith must be a Client built by New")
		}
		if cfg.BaseURL != "" || cfg.Username != "" || cfg.Password != "" || cfg.AuthString != "" || cfg.HTTPClient != nil {
			return nil, errors.New("remedy: with ShareLoginWith, leave BaseURL, Username, Password, AuthString and HTTPClient empty")
		}
		c.sess = cfg.ShareLoginWith.sess
	} else {
		if strings.TrimSpace(cfg.BaseURL) == "" {
			return nil, errors.New("remedy: BaseURL is required")
		}
		if cfg.Username == "" {
			return nil, errors.New("remedy: Username is required")
		}
		if cfg.Password == "" {
			return nil, errors.New("remedy: Password is required")
		}
		hc, err := httpapi.New(cfg.BaseURL, cfg.HTTPClient, nil)
		if err != nil {
			return nil, fmt.Errorf("remedy: %w", err)
		}
		c.sess = newSession(hc, cfg.Username, cfg.Password, cfg.AuthString)
	}

	def := defaults(kind)
	c.form = orDefault(cfg.FormName, def.form)
	if err := checkName("FormName", c.form); err != nil {
		return nil, err
	}
	c.workLogForm = orDefault(cfg.WorkLogForm, def.workLogForm)
	if err := checkName("WorkLogForm", c.workLogForm); err != nil {
		return nil, err
	}
	c.workType = orDefault(cfg.WorkInfoType, DefaultWorkInfoType)
	if err := checkName("WorkInfoType", c.workType); err != nil {
		return nil, err
	}

	f, err := resolveFields(cfg.Fields, def.fields)
	if err != nil {
		return nil, err
	}
	c.fields = f
	c.fieldList = fieldList(f)
	c.workLogNum = orDefault(cfg.WorkLogNumberField, def.fields.Number)
	if err := checkFieldName("WorkLogNumberField", c.workLogNum); err != nil {
		return nil, err
	}
	if cfg.TicketURL != "" {
		if err := checkTicketURL(cfg.TicketURL); err != nil {
			return nil, err
		}
		c.ticketURL = cfg.TicketURL
	}
	c.closed = def.closed
	return c, nil
}

// formDefaults is what a FormKind implies.
type formDefaults struct {
	form, workLogForm string
	fields            Fields
	closed            []string
}

func defaults(kind FormKind) formDefaults {
	if kind == Change {
		return formDefaults{
			form:        "CHG:ChangeInterface",
			workLogForm: "CHG:WorkLog",
			fields: Fields{
				Number: "Infrastructure Change ID", Status: "Change Request Status", RequestID: "Request ID",
				Assignee: "Assignee", FirstName: "Customer First Name", LastName: "Customer Last Name",
				Summary: "Description", Start: "Scheduled Start Date", End: "Scheduled End Date",
			},
			closed: []string{"Completed", "Closed", "Cancelled"},
		}
	}
	return formDefaults{
		form:        "HPD:IncidentInterface",
		workLogForm: "HPD:WorkLog",
		fields: Fields{
			Number: "Incident Number", Status: "Status", RequestID: "Request ID",
			Assignee: "Assignee", FirstName: "First Name", LastName: "Last Name",
			Summary: "Description", Start: Omit, End: Omit,
		},
		closed: []string{"Closed", "Cancelled"},
	}
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}

// resolveFields fills the defaults into f and checks every name.
func resolveFields(f, def Fields) (Fields, error) {
	pairs := []struct {
		name     string
		v        *string
		def      string
		required bool
	}{
		{"Number", &f.Number, def.Number, true},
		{"Status", &f.Status, def.Status, true},
		{"RequestID", &f.RequestID, def.RequestID, false},
		{"Assignee", &f.Assignee, def.Assignee, false},
		{"FirstName", &f.FirstName, def.FirstName, false},
		{"LastName", &f.LastName, def.LastName, false},
		{"Summary", &f.Summary, def.Summary, false},
		{"Start", &f.Start, def.Start, false},
		{"End", &f.End, def.End, false},
	}
	for _, p := range pairs {
		*p.v = orDefault(*p.v, p.def)
		if *p.v == Omit {
			if p.required {
				return f, fmt.Errorf("remedy: Fields.%s cannot be omitted", p.name)
			}
			*p.v = ""
			continue
		}
		if err := checkFieldName("Fields."+p.name, *p.v); err != nil {
			return f, err
		}
	}
	return f, nil
}

// fieldList is the fields query parameter: values(a,b,...) without
// duplicates.
func fieldList(f Fields) string {
	var names []string
	seen := map[string]bool{}
	for _, n := range []string{f.Number, f.Status, f.RequestID, f.Assignee, f.FirstName, f.LastName, f.Summary, f.Start, f.End} {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return "values(" + strings.Join(names, ",") + ")"
}

// checkName accepts a form name or setting: printable, no control
// characters, at most 254 bytes.
func checkName(setting, s string) error {
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return fmt.Errorf("remedy: %s must be 1 to 254 bytes of UTF-8", setting)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("remedy: %s must not contain control or format characters", setting)
		}
	}
	return nil
}

// checkFieldName also refuses the characters that would break the
// qualification ('Field Name') or the fields list (values(a,b)).
func checkFieldName(setting, s string) error {
	if err := checkName(setting, s); err != nil {
		return err
	}
	if strings.ContainsAny(s, `'",()\$`) {
		return fmt.Errorf(`remedy: %s must not contain quotes, commas, parentheses, backslashes or $`, setting)
	}
	return nil
}

func checkTicketURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("remedy: TicketURL must be an absolute http or https URL with a host and no user info")
	}
	if !strings.Contains(s, "$TICKETID") {
		return errors.New("remedy: TicketURL must contain $TICKETID")
	}
	if strings.Contains(u.Host, "$TICKETID") {
		return errors.New("remedy: TicketURL must not have $TICKETID in its host")
	}
	return nil
}

// ticketLink resolves TicketURL for number: every byte other than ASCII
// letters, digits and -._~ becomes %XX, as the core's View Ticket URL
// template does.
func (c *Client) ticketLink(number string) string {
	if c.ticketURL == "" {
		return ""
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(number); i++ {
		ch := number[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return strings.ReplaceAll(c.ticketURL, "$TICKETID", b.String())
}

// maxNumberLength bounds the ticket numbers sent (AR's Incident Number is
// 15 characters).
const maxNumberLength = 128

// safeNumber reports whether number can go inside the double quotes of an
// AR qualification as it is: printable, no quotes, backslashes or $.
func safeNumber(number string) bool {
	if number == "" || len(number) > maxNumberLength || !utf8.ValidString(number) {
		return false
	}
	for _, r := range number {
		if r == '"' || r == '\'' || r == '\\' || r == '$' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
