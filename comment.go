package ticketing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// writeComment writes the access note back to the ticket of a granted
// access, as the system's AddCommentsToTicket asks, and records what
// happened in rec. The note is skipped for a ticket that is not open (an
// admin may allow a closed status), for an unverified ticket (failed
// open), and for a connector that cannot comment. Writing runs under the
// system's outage policy; since a retried write may land twice, the note
// carries the record's CorrelationID, so a duplicate is recognisable. A
// failure is recorded and access stands, unless the system has
// StrictComments: then the returned error denies access.
func (r *Registry) writeComment(ctx context.Context, v *Validator, rec *AuditRecord, req AccessRequest, res Result) error {
	commenter, canComment := v.checker.(Commenter)
	switch {
	case res.Ticket == nil:
		rec.Comment, rec.CommentDetail = CommentSkipped, "ticket not verified"
		return nil
	case !res.Ticket.Open:
		rec.Comment, rec.CommentDetail = CommentSkipped, "ticket is not open"
		return nil
	case !canComment:
		rec.Comment, rec.CommentDetail = CommentSkipped, "the connector cannot write comments"
		return nil
	}
	rec.CorrelationID = newCorrelationID()
	c := Comment{
		CorrelationID: rec.CorrelationID,
		Action:        req.Action,
		SecretID:      req.Secret.ID,
		SecretName:    req.Secret.Name,
		User:          req.User,
		Reason:        res.Reason,
	}
	c.Text = commentText(c)
	ticket := *res.Ticket
	_, err := withOutagePolicy(ctx, v, "comment", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, commenter.AddComment(ctx, ticket, c)
	})
	if err == nil {
		rec.Comment = CommentWritten
		return nil
	}
	rec.Comment, rec.CommentDetail = CommentFailed, escapeInput(err.Error(), maxDenialDetail)
	if !v.sys.StrictComments {
		return nil
	}
	return &ValidationError{Err: fmt.Errorf("%w: %w", ErrCommentFailed, err),
		Message: "Access could not be noted in " + v.systemName() + ", so it was denied; try again later"}
}

// commentText is the note: who, which secret, why, and the correlation id
// on a line of its own.
func commentText(c Comment) string {
	var b strings.Builder
	b.WriteString(c.User)
	if c.Action == ActionRequestAccess {
		b.WriteString(" requested access to secret ")
	} else {
		b.WriteString(" viewed secret ")
	}
	if c.SecretName != "" {
		b.WriteString(strconv.Quote(c.SecretName) + " ")
	}
	b.WriteString("(" + c.SecretID + ").\n")
	if c.Reason != "" {
		b.WriteString("Reason: " + c.Reason + "\n")
	} else {
		b.WriteString("No reason given.\n")
	}
	b.WriteString("Correlation ID: " + c.CorrelationID)
	return b.String()
}

func newCorrelationID() string { return randomHex(12) }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
