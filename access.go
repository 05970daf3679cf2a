package ticketing

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AccessRequest is what the host knows when a user opens a secret or asks
// for access to it. The zero value is incomplete and is denied as
// ErrInvalidRequest.
type AccessRequest struct {
	// User identifies who is asking (a user name or ID). Required, without
	// surrounding white space or control characters.
	User string
	// Secret is the secret being opened, with its Security-tab settings.
	// Its ID is required, with the same rules as User.
	Secret Secret
	// Action is the screen the user is on: ActionView (Comment screen) or
	// ActionRequestAccess (Request Access screen). Required.
	Action Action
	// TicketSystemID is the ticket system the user picked; "" means the
	// default system.
	TicketSystemID string
	// Submission is what the user typed.
	Submission Submission
}

// maxIdentityLength bounds the User, Secret.ID and Secret.Name of a request.
const maxIdentityLength = 256

// auditAppendTimeout bounds the audit append. The append runs even when
// the caller's context is already cancelled, so that a denial caused by
// that cancellation is recorded too.
const auditAppendTimeout = 10 * time.Second

// CheckAccess is the one call a host makes when a user views a secret or
// requests access to it. It decides, records, and reports:
//
//  1. It checks the request itself (User, Secret.ID, Action; else
//     ErrInvalidRequest).
//  2. For a secret with neither RequireComment nor RequiresApproval, no
//     ticket system is needed (one named in TicketSystemID must still exist
//     and be active), a reason is optional, and a ticket number is refused
//     with ErrTicketNotAccepted.
//  3. Otherwise it picks the chosen system, or the default (ErrNotFound,
//     ErrInactive, ErrNoDefault), and runs its Validator: hygiene, the
//     requirement mode, the Pattern, the live lookup when the system has a
//     Connector; then resolves the ticket link.
//  4. When access is granted and the system has AddCommentsToTicket, it
//     writes the access note to the ticket (see TicketSystem.StrictComments
//     for what a failure does). The note comes before the record, which
//     says what became of it; should the record then fail to be stored, the
//     note stands for an access that was denied, and its correlation id
//     matches no record.
//  5. It appends an AuditRecord, granted or denied, to the Store and returns
//     it as stored.
//
// The error is nil exactly when access is granted; otherwise it is the
// reason for the denial, a *ValidationError for user input, whose Message
// can be shown to the user. If the record cannot be stored, access is
// denied with an error wrapping ErrAuditFailed: nothing is granted without
// a record. CheckAccess is safe for concurrent use.
func (r *Registry) CheckAccess(ctx context.Context, req AccessRequest) (AuditRecord, error) {
	rec := AuditRecord{
		Time:       r.now().UTC().Truncate(time.Microsecond),
		Action:     req.Action,
		SecretID:   req.Secret.ID,
		SecretName: req.Secret.Name,
		User:       req.User,
	}
	res, v, denial := r.decide(ctx, req)
	var sys TicketSystem
	if v != nil {
		sys = v.sys
	}
	rec.TicketSystemID, rec.TicketSystemName = sys.ID, sys.Name
	if sys.ID == "" {
		// An unknown system: record which one was asked for.
		rec.TicketSystemID = req.TicketSystemID
	}
	rec.LiveCheck, rec.FromCache = res.LiveCheck, res.FromCache
	if res.Ticket != nil {
		rec.TicketStatus = escapeInput(res.Ticket.displayStatus(), maxIdentityLength)
	}
	if denial == nil && sys.AddCommentsToTicket && res.TicketNumber != "" {
		denial = r.writeComment(ctx, v, &rec, req, res)
	}
	if denial == nil {
		rec.Outcome = OutcomeGranted
		rec.TicketNumber, rec.Reason, rec.URL = res.TicketNumber, res.Reason, res.URL
	} else {
		r.markDenied(&rec, req, denial)
	}

	appendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditAppendTimeout)
	defer cancel()
	stored, err := r.store.AppendAudit(appendCtx, rec)
	if err != nil {
		if denial == nil {
			denial = fmt.Errorf("%w: %w", ErrAuditFailed, err)
			r.markDenied(&rec, req, denial)
		} else {
			denial = fmt.Errorf("%w: %w (denied: %w)", ErrAuditFailed, err, denial)
			rec.DenialCode, rec.DenialMessage = DenialCode(denial), denialMessage(denial)
		}
		return rec, denial
	}
	return stored, denial
}

// markDenied fills the denial fields of rec and replaces every text that
// came from the request with its escaped form.
func (r *Registry) markDenied(rec *AuditRecord, req AccessRequest, denial error) {
	rec.Outcome = OutcomeDenied
	rec.DenialCode = DenialCode(denial)
	rec.DenialMessage = denialMessage(denial)
	rec.User = escapeInput(req.User, maxIdentityLength)
	rec.SecretID = escapeInput(req.Secret.ID, maxIdentityLength)
	rec.SecretName = escapeInput(req.Secret.Name, maxIdentityLength)
	rec.Action = Action(escapeInput(string(req.Action), maxIdentityLength))
	rec.TicketSystemID = escapeInput(rec.TicketSystemID, maxIdentityLength)
	rec.TicketNumber = escapeInput(trimSpace(req.Submission.TicketNumber), r.inputLimits.maxTicketLength)
	rec.Reason = escapeInput(trimSpace(req.Submission.Reason), r.inputLimits.maxReasonLength)
	rec.URL = ""
}

// denialMessage is the text a denied record keeps: the user-facing Message
// of a *ValidationError (also when the record then failed to be stored, as
// that is what the user must fix); the (escaped) detail of an invalid request, which
// the host built; and a fixed sentence for everything else, so that a
// store's error text (which may name a server or echo a query) never
// reaches the trail or the user.
func denialMessage(err error) string {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return ve.Message
	case errors.Is(err, ErrAuditFailed):
		return "Access could not be recorded, so it was denied; try again later"
	case errors.Is(err, ErrInvalidRequest):
		return escapeInput(err.Error(), maxDenialDetail)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "The request was cancelled before access was checked"
	default:
		return "Access could not be checked; try again later"
	}
}

// maxDenialDetail caps the detail kept in DenialMessage, in characters.
const maxDenialDetail = 1024

// decide applies the rules of CheckAccess and returns what was accepted,
// the Validator of the ticket system that was used (nil when none), and
// the denial. A denial by the live check comes with the Result of the
// lookup, for the record.
func (r *Registry) decide(ctx context.Context, req AccessRequest) (Result, *Validator, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, nil, err
	}
	if err := checkRequest(req); err != nil {
		return Result{}, nil, err
	}
	if !req.Secret.takesTicket() {
		return r.decideWithoutTicket(ctx, req)
	}
	sys, err := r.selectSystem(ctx, req.TicketSystemID)
	if err != nil {
		return Result{}, r.named(sys), selectionError(err)
	}
	v, err := r.compiled(sys)
	if err != nil {
		return Result{}, r.named(sys), err
	}
	res, err := v.Validate(ctx, req.Submission)
	return res, v, err
}

// named returns a Validator that only names sys (for the record of a
// denial before sys could be compiled or chosen), or nil for no system.
func (r *Registry) named(sys TicketSystem) *Validator {
	if sys.ID == "" {
		return nil
	}
	return &Validator{sys: sys}
}

// selectionError gives a failure to pick the ticket system a message for
// the user; Err keeps the Registry's error, so errors.Is still finds
// ErrNotFound, ErrInactive or ErrNoDefault.
func selectionError(err error) error {
	var msg string
	switch {
	case errors.Is(err, ErrNoDefault):
		msg = "No ticket system is available; contact your administrator"
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInactive):
		msg = "The chosen ticket system is not available; choose another"
	default:
		return err // the Store failed: not the user's doing
	}
	return &ValidationError{Field: FieldTicketSystem, Message: msg, Err: err}
}

// decideWithoutTicket handles a secret that prompts for nothing.
func (r *Registry) decideWithoutTicket(ctx context.Context, req AccessRequest) (Result, *Validator, error) {
	var v *Validator
	if req.TicketSystemID != "" {
		sys, err := r.selectSystem(ctx, req.TicketSystemID)
		v = r.named(sys)
		if err != nil {
			return Result{}, v, selectionError(err)
		}
	}
	if trimSpace(req.Submission.TicketNumber) != "" {
		return Result{}, v, &ValidationError{Field: FieldTicketNumber, Err: ErrTicketNotAccepted,
			Message: "This secret does not take a ticket number"}
	}
	reason := trimSpace(req.Submission.Reason)
	if err := reasonHygieneError(reason, r.inputLimits.maxReasonLength); err != nil {
		return Result{}, v, err
	}
	return Result{Reason: reason}, v, nil
}

// checkRequest checks the host-supplied parts of a request.
func checkRequest(req AccessRequest) error {
	for _, f := range []struct{ name, value string }{
		{"User", req.User},
		{"Secret.ID", req.Secret.ID},
	} {
		if f.value == "" {
			return configErrorf(ErrInvalidRequest, f.name+" is required")
		}
		// " alice" and "alice" must not become two users in the trail.
		if trimSpace(f.value) != f.value {
			return configErrorf(ErrInvalidRequest, f.name+" "+quote(f.value)+" has surrounding white space")
		}
		if checkTicketNumber(f.value, maxIdentityLength) != inputOK {
			return configErrorf(ErrInvalidRequest, f.name+" "+quote(f.value)+" must be valid text without control characters, at most 256 characters")
		}
	}
	if req.Secret.Name != "" && checkTicketNumber(req.Secret.Name, maxIdentityLength) != inputOK {
		return configErrorf(ErrInvalidRequest, "Secret.Name "+quote(req.Secret.Name)+" must be valid text without control characters, at most 256 characters")
	}
	if !req.Action.Valid() {
		return configErrorf(ErrInvalidRequest, "unknown Action "+quote(string(req.Action)))
	}
	return nil
}
