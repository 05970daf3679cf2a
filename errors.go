package ticketing

import (
	"context"
	"errors"
	"strconv"
)

// Sentinel errors. Match them with errors.Is; the errors returned by this
// package wrap them, usually inside a *ValidationError.
var (
	// ErrTicketRequired: the requirement mode needs a ticket number and none was given.
	ErrTicketRequired = errors.New("ticketing: ticket number required")
	// ErrReasonRequired: the requirement mode needs a reason and none was given.
	ErrReasonRequired = errors.New("ticketing: reason required")
	// ErrTicketOrReasonRequired: TicketOrReasonRequired and neither was given.
	ErrTicketOrReasonRequired = errors.New("ticketing: ticket number or reason required")
	// ErrTicketNotAccepted: a ticket number was given for a secret that has
	// neither Require Comment nor Requires Approval, so it takes none.
	ErrTicketNotAccepted = errors.New("ticketing: secret does not take a ticket number")
	// ErrTicketFormat: the ticket number does not match the system's Pattern.
	ErrTicketFormat = errors.New("ticketing: ticket number does not match the pattern")
	// ErrMalformed: input with invalid UTF-8, a forbidden control or format
	// character, or more characters than the limit allows.
	ErrMalformed = errors.New("ticketing: malformed input")
	// ErrPatternTimeout: the pattern could not be evaluated within its limits
	// (match timeout, backtracking limit, or a failure inside the regex
	// engine). The request is denied.
	ErrPatternTimeout = errors.New("ticketing: pattern match did not complete")

	// ErrInvalidPattern: Pattern does not compile.
	ErrInvalidPattern = errors.New("ticketing: invalid pattern")
	// ErrInvalidTemplate: URLTemplate breaks the template rules.
	ErrInvalidTemplate = errors.New("ticketing: invalid URL template")
	// ErrInvalidMode: a RequirementMode outside the four defined ones.
	ErrInvalidMode = errors.New("ticketing: invalid requirement mode")
	// ErrInvalidSystem: any other bad TicketSystem field (empty name, bad ID,
	// a field that is too long, Active or Default changed through Update).
	ErrInvalidSystem = errors.New("ticketing: invalid ticket system")

	// ErrNotFound: no ticket system has that ID.
	ErrNotFound = errors.New("ticketing: ticket system not found")
	// ErrDuplicateName: another active system has the same name
	// (compared trimmed and case-insensitively).
	ErrDuplicateName = errors.New("ticketing: duplicate active ticket system name")
	// ErrDuplicateID: Add was given an ID that is already taken.
	ErrDuplicateID = errors.New("ticketing: duplicate ticket system ID")
	// ErrVersionConflict: Update was given a system whose Version is not
	// the stored one, so it was edited meanwhile.
	ErrVersionConflict = errors.New("ticketing: ticket system was changed concurrently")
	// ErrInactive: the system is retired, so it cannot be the default or be
	// chosen for access.
	ErrInactive = errors.New("ticketing: ticket system is inactive")
	// ErrDefaultSystem: the default system cannot be retired while another
	// active system could take its place; make another one default first.
	ErrDefaultSystem = errors.New("ticketing: ticket system is the default")
	// ErrNoDefault: no system is active, so there is no default.
	ErrNoDefault = errors.New("ticketing: no default ticket system")

	// ErrInvalidRequest: the host passed an AccessRequest that is incomplete
	// or malformed (no user, no secret ID, unknown action).
	ErrInvalidRequest = errors.New("ticketing: invalid access request")
	// ErrAuditFailed: the audit record could not be stored, so access is
	// denied: nothing is granted without a record.
	ErrAuditFailed = errors.New("ticketing: audit record not stored")
)

// Field names the input a *ValidationError is about. The zero value ""
// means the error is not about one user input.
type Field string

// The fields of a Submission, and the ticket system the user picked.
const (
	FieldTicketNumber Field = "ticketNumber"
	FieldReason       Field = "reason"
	FieldTicketSystem Field = "ticketSystem"
)

// ValidationError reports why a Submission (or a configuration) was
// rejected. Message is meant for the end user: for a pattern mismatch it is
// the admin's ErrorMessage, otherwise a sentence that names the system's
// Label. Err is one of the sentinel errors and is what errors.Is matches.
//
// Message never contains the rejected input; Error adds nothing to it but
// the field, so logging err.Error() cannot leak what the user typed. The
// zero value has no Field, Message or Err; the package never returns one.
type ValidationError struct {
	Field   Field
	Message string
	Err     error
}

// Error returns "ticketing: <field>: <message>".
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "ticketing: " + e.Message
	}
	return "ticketing: " + string(e.Field) + ": " + e.Message
}

// Unwrap returns the sentinel error.
func (e *ValidationError) Unwrap() error { return e.Err }

// configError wraps a configuration sentinel with a detail that quotes the
// offending input, never trusting it.
type configError struct {
	err    error
	detail string
}

func (e *configError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *configError) Unwrap() error { return e.err }

func configErrorf(sentinel error, detail string) error {
	return &configError{err: sentinel, detail: detail}
}

// quote renders user input for an error text: Go-quoted (so control
// characters and invalid UTF-8 show as escapes) and cut short.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// denialCodes maps each sentinel to the stable code recorded in a denied
// AuditRecord. Order matters only for errors that wrap several sentinels:
// the first match wins, so ErrAuditFailed, which wraps the denial it could
// not record, comes first.
var denialCodes = [...]struct {
	err  error
	code string
}{
	{ErrAuditFailed, "audit_failed"},
	{ErrTicketRequired, "ticket_required"},
	{ErrReasonRequired, "reason_required"},
	{ErrTicketOrReasonRequired, "ticket_or_reason_required"},
	{ErrTicketNotAccepted, "ticket_not_accepted"},
	{ErrTicketFormat, "ticket_format"},
	{ErrMalformed, "malformed"},
	{ErrPatternTimeout, "pattern_timeout"},
	// ErrCommentFailed wraps the connector's error: it must win over it.
	{ErrCommentFailed, "comment_failed"},
	{ErrTicketNotFound, "ticket_not_found"},
	{ErrTicketClosed, "ticket_closed"},
	{ErrCheckerAuth, "checker_auth"},
	{ErrCheckerUnavailable, "checker_unavailable"},
	{ErrInvalidPattern, "invalid_pattern"},
	{ErrInvalidTemplate, "invalid_template"},
	{ErrInvalidMode, "invalid_mode"},
	{ErrInvalidSystem, "invalid_system"},
	{ErrNotFound, "not_found"},
	{ErrInactive, "inactive"},
	{ErrNoDefault, "no_default"},
	{ErrDuplicateName, "duplicate_name"},
	{ErrDuplicateID, "duplicate_id"},
	{ErrVersionConflict, "version_conflict"},
	{ErrDefaultSystem, "default_system"},
	{ErrInvalidRequest, "invalid_request"},
	{ErrInvalidQuery, "invalid_query"},
	{ErrChainBroken, "chain_broken"},
}

// DenialCode returns the stable, machine-readable code for err as it is
// recorded in AuditRecord.DenialCode: "ticket_format", "reason_required",
// "not_found" and so on; "canceled" or "deadline_exceeded" for a context
// error; "error" for anything else; "" for nil.
func DenialCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range denialCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return "error"
}
