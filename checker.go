package ticketing

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of the live ticket check. Connectors return ErrTicketNotFound for
// an unknown ticket and a *CheckerError for everything else that goes
// wrong; the Validator turns closed tickets into ErrTicketClosed.
var (
	// ErrTicketNotFound: the ticket system has no ticket with that number.
	ErrTicketNotFound = errors.New("ticketing: ticket not found")
	// ErrTicketClosed: the ticket exists but its status is not allowed.
	ErrTicketClosed = errors.New("ticketing: ticket is not in an allowed status")
	// ErrCheckerUnavailable: the ticket system could not answer (network
	// error, timeout, 5xx, rate limit, a malformed or oversized answer).
	ErrCheckerUnavailable = errors.New("ticketing: ticket system unavailable")
	// ErrCheckerAuth: the ticket system refused the connector's credentials
	// (401, 403). Unlike ErrCheckerUnavailable it never fails open: it is a
	// configuration problem, and failing open would silently switch the
	// check off until someone noticed.
	ErrCheckerAuth = errors.New("ticketing: ticket system refused the credentials")
	// ErrCommentFailed: the comment could not be written back to the ticket
	// and the system's StrictComments setting makes that deny access.
	ErrCommentFailed = errors.New("ticketing: comment not written to the ticket")
)

// Ticket is what a ticket system says about one ticket. Connectors fill
// what their API offers; the zero value of a field means "not given". A
// Ticket is a plain value; Raw must be treated as read-only.
type Ticket struct {
	// Number is the ticket number as the system spells it.
	Number string `json:"number"`
	// ID is the system's internal identifier when it differs from Number
	// (ServiceNow sys_id, Remedy entry ID); connectors use it to comment.
	ID string `json:"id,omitempty"`
	// Status is the status label as the system names it ("In Progress").
	Status string `json:"status,omitempty"`
	// StatusCode is the status value or code when the system has one
	// ("2" for ServiceNow's In Progress).
	StatusCode string `json:"statusCode,omitempty"`
	// Open is the connector's judgement of whether the ticket may still be
	// worked under; each connector's documentation says which statuses
	// count as open. AllowedStatuses, when set, replaces this judgement.
	Open bool `json:"open"`
	// Rejected marks a ticket the connector refuses outright, whatever its
	// status (a script's non-zero exit): AllowedStatuses cannot allow it.
	Rejected  bool   `json:"rejected,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
	Requester string `json:"requester,omitempty"`
	Summary   string `json:"summary,omitempty"`
	// Start and End bound the change window, when the ticket has one.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// URL links to the ticket in the system's own user interface.
	URL string `json:"url,omitempty"`
	// Raw is the ticket record as the system returned it (JSON), for
	// fields this struct does not name.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// Checker looks a ticket up in a live ticket system. Implementations (the
// packages under connectors/) must be safe for concurrent use, honour ctx,
// return a Ticket or an error wrapping ErrTicketNotFound for an unknown
// number, and a *CheckerError for every other failure. The number they
// are given has passed hygiene and the system's Pattern; they must still
// encode it so that it cannot change the upstream query.
type Checker interface {
	LookupTicket(ctx context.Context, number string) (Ticket, error)
}

// Commenter adds an internal note (a work note, private comment) to a
// ticket. A Checker that also implements Commenter enables the comment
// write-back of TicketSystem.AddCommentsToTicket. t is the Ticket the same
// connector returned for the lookup. Implementations must be safe for
// concurrent use and return a *CheckerError on failure. A write refused for
// one record (a 403 from an ACL on a closed ticket, say) is
// ErrCheckerUnavailable, not ErrCheckerAuth: the same credentials have just
// read the ticket.
type Commenter interface {
	AddComment(ctx context.Context, t Ticket, c Comment) error
}

// Comment is the note written back to a ticket after access was granted.
type Comment struct {
	// Text is the whole note, ready to post; it ends with the correlation
	// id, so a note posted twice by a retried write can be recognised.
	Text string
	// CorrelationID is also in the AuditRecord of the access.
	CorrelationID string
	Action        Action
	SecretID      string
	SecretName    string
	User          string
	Reason        string
}

// CheckerError is the error a connector returns when the ticket system
// did not give a usable answer. Err is ErrCheckerUnavailable or
// ErrCheckerAuth, and is what errors.Is matches; Temporary says the
// request may be retried (429, 502, 503, 504, connection failures). The
// text never contains credentials or response bodies.
type CheckerError struct {
	Err        error         // ErrCheckerUnavailable or ErrCheckerAuth
	Op         string        // "lookup" or "comment"
	StatusCode int           // HTTP status, 0 when there was no response
	RetryAfter time.Duration // the server's Retry-After, 0 when none
	Temporary  bool          // worth retrying
	Detail     string        // what went wrong, safe to log
	Cause      error         // the underlying error, if any
}

// Error returns "ticketing: ticket system unavailable: lookup: HTTP 503: detail".
func (e *CheckerError) Error() string {
	var b strings.Builder
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(ErrCheckerUnavailable.Error())
	}
	if e.Op != "" {
		b.WriteString(": " + e.Op)
	}
	if e.StatusCode != 0 {
		b.WriteString(": HTTP " + strconv.Itoa(e.StatusCode))
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

// Unwrap returns Err (ErrCheckerUnavailable when unset) and Cause.
func (e *CheckerError) Unwrap() []error {
	kind := e.Err
	if kind == nil {
		kind = ErrCheckerUnavailable
	}
	if e.Cause == nil {
		return []error{kind}
	}
	return []error{kind, e.Cause}
}

// LiveCheck says whether, and how, a ticket number was checked against the
// live ticket system.
type LiveCheck string

// The live-check outcomes recorded in a Result and an AuditRecord.
const (
	// LiveCheckNone: no live check ran (no connector, or no ticket number).
	LiveCheckNone LiveCheck = ""
	// LiveCheckVerified: the ticket system confirmed the ticket.
	LiveCheckVerified LiveCheck = "verified"
	// LiveCheckFailedOpen: the ticket system could not be asked and the
	// system's FailOpen setting let the request through unverified.
	LiveCheckFailedOpen LiveCheck = "failed_open"
)

// Outage policy defaults.
const (
	// DefaultLookupTimeout bounds one live lookup, retries included.
	DefaultLookupTimeout = 5 * time.Second
	// DefaultLookupRetries is how many times a temporary failure is retried.
	DefaultLookupRetries = 2
	// MaxRetryAfter caps how long a server's Retry-After is honoured; a
	// longer one ends the lookup as unavailable.
	MaxRetryAfter = 10 * time.Second
)
