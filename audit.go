package ticketing

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Action is what the user was doing, which is also the screen the reason
// and ticket number were entered on. The zero value "" is not an action;
// the access check denies it as ErrInvalidRequest.
type Action string

// The actions the access check knows.
const (
	// ActionView: viewing the secret, on the Comment screen.
	ActionView Action = "view"
	// ActionRequestAccess: asking for approval, on the Request Access
	// screen.
	ActionRequestAccess Action = "request_access"
)

// Valid reports whether a is ActionView or ActionRequestAccess.
func (a Action) Valid() bool { return a == ActionView || a == ActionRequestAccess }

// Outcome is the decision an AuditRecord records. The zero value "" is
// neither; records written by the access check always have one of the two.
type Outcome string

// The two outcomes.
const (
	OutcomeGranted Outcome = "granted"
	OutcomeDenied  Outcome = "denied"
)

// AuditRecord is one entry of the audit trail: one access check, granted or
// denied. Records are appended by the access check and never changed. The
// zero value is an empty record. An AuditRecord is a plain value, safe to
// copy and to share between goroutines.
//
// In a granted record TicketNumber and Reason are the accepted, trimmed
// input. In a denied record every text that came from the request (user,
// secret, action, ticket number, reason) is escaped first: control and
// format characters and invalid UTF-8 are written as \u{XXXX}, \t, \n,
// \r or \x{NN}, and the text is cut at the configured input limit with
// "…" appended, so a hostile input is kept as evidence but inert. Text
// without such characters is kept unchanged, so it can still be found by
// ticket number.
type AuditRecord struct {
	// Seq is the record's position in the trail (1, 2, ...), set by the
	// Store when the record is appended. Time is kept to the microsecond,
	// in UTC.
	Seq              int64     `json:"seq"`
	Time             time.Time `json:"time"`
	Action           Action    `json:"action"`
	SecretID         string    `json:"secretId"`
	SecretName       string    `json:"secretName,omitempty"`
	User             string    `json:"user"`
	TicketSystemID   string    `json:"ticketSystemId,omitempty"`
	TicketSystemName string    `json:"ticketSystemName,omitempty"`
	TicketNumber     string    `json:"ticketNumber,omitempty"`
	Reason           string    `json:"reason,omitempty"`
	// URL is the resolved View Ticket link; "" when there is none.
	URL     string  `json:"url,omitempty"`
	Outcome Outcome `json:"outcome"`
	// DenialCode is DenialCode(err) of the denial ("ticket_format",
	// "reason_required", ...); "" when granted.
	DenialCode string `json:"denialCode,omitempty"`
	// DenialMessage is the user-facing message of the denial; "" when
	// granted.
	DenialMessage string `json:"denialMessage,omitempty"`
	// LiveCheck says whether the ticket was verified with the ticket
	// system, or let through unverified because it was down and the system
	// fails open ("" when no live check ran).
	LiveCheck LiveCheck `json:"liveCheck,omitempty"`
	// FromCache is set when the live answer was not fetched for this
	// request (see Result.FromCache).
	FromCache bool `json:"fromCache,omitempty"`
	// TicketStatus is the ticket's status as the ticket system named it.
	TicketStatus string `json:"ticketStatus,omitempty"`
	// Comment says what became of the note for the ticket
	// (AddCommentsToTicket); CommentDetail says why it was skipped or
	// failed; CorrelationID is the id the note carries.
	Comment       CommentOutcome `json:"comment,omitempty"`
	CommentDetail string         `json:"commentDetail,omitempty"`
	CorrelationID string         `json:"correlationId,omitempty"`
	// PrevHash and Hash chain the trail (see ChainRecord): Hash is the
	// SHA-256, in hex, of this record's canonical encoding and PrevHash, the
	// Hash of the record before (empty for the first). The Store sets both
	// when it appends the record.
	PrevHash string `json:"prevHash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// CommentOutcome is what became of the comment write-back of one access.
// The zero value "" means none was due.
type CommentOutcome string

// The comment outcomes.
const (
	CommentWritten CommentOutcome = "written"
	CommentSkipped CommentOutcome = "skipped" // closed or unverified ticket, or a connector that cannot comment
	CommentFailed  CommentOutcome = "failed"  // access stands unless the system has StrictComments
)

// TicketLinkHTML renders the record's ticket number for an HTML page: a
// link through URL when URL is an absolute http or https URL without user
// info, otherwise
// the ticket number as text. Everything is escaped by html/template, so a
// hostile ticket number or URL cannot inject markup or script. It returns
// "" when the record has no ticket number. Safe for concurrent use.
func (r AuditRecord) TicketLinkHTML() template.HTML {
	if r.TicketNumber == "" {
		return ""
	}
	data := struct{ Ticket, URL string }{Ticket: r.TicketNumber}
	if isWebURL(r.URL) {
		data.URL = r.URL
	}
	var b strings.Builder
	if err := ticketLinkTemplate().Execute(&b, data); err != nil {
		return template.HTML(template.HTMLEscapeString(r.TicketNumber))
	}
	return template.HTML(b.String())
}

var ticketLinkTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("ticketLink").Parse(
		`{{if .URL}}<a href="{{.URL}}" rel="noopener noreferrer">{{.Ticket}}</a>{{else}}{{.Ticket}}{{end}}`))
})

// isWebURL reports whether s is an absolute http or https URL with a host
// and without user info (a link must not carry credentials).
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || u.User != nil {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// escapeInput makes text from a rejected request safe to keep: see
// AuditRecord. max is the number of characters kept before "…".
func escapeInput(s string, max int) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, forbiddenInTicket) && utf8.RuneCountInString(s) <= max {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); n++ {
		if n == max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x{%02X}`, s[i])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case forbiddenInTicket(r):
			fmt.Fprintf(&b, `\u{%04X}`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
