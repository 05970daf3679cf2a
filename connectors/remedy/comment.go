package remedy

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// maxSummaryRunes caps the work info summary (AR's Description field of
// HPD:WorkLog holds 100 characters).
const maxSummaryRunes = 100

// AddComment writes c.Text as an internal work info entry of the ticket t
// (which LookupTicket returned): POST /api/arsys/v1/entry/{WorkLogForm}
// with the ticket number, the Client's WorkInfoType, the first line of the
// note as the summary (Description) and the whole note as the Detailed
// Description, View Access "Internal" and Secure Work Log "No". 201
// Created is success. Failures are *ticketing.CheckerError values, as for
// LookupTicket (401 after a renewed login and 403 are ErrCheckerAuth; 429,
// 502, 503 and 504 are temporary; any other status, other 2xx answers
// included, is unavailable).
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	if t.Number == "" || len(t.Number) > maxNumberLength || !utf8.ValidString(t.Number) {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "ticket has no usable number"}
	}
	if strings.TrimSpace(cm.Text) == "" {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "empty comment"}
	}
	resp, err := c.sess.do(ctx, httpapi.Request{
		Op:     "comment",
		Method: http.MethodPost,
		Path:   "/api/arsys/v1/entry/" + url.PathEscape(c.workLogForm),
		JSON: map[string]map[string]string{"values": {
			c.workLogNum:           t.Number,
			"Work Log Type":        c.workType,
			"Description":          summary(cm.Text),
			"Detailed Description": cm.Text,
			"View Access":          "Internal",
			"Secure Work Log":      "No",
		}},
	})
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode == http.StatusCreated:
		return nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return httpapi.Malformed("comment", resp.StatusCode, "unexpected status (want 201 Created)")
	}
	return statusError("comment", resp)
}

// summary is the first non-empty line of text, capped at maxSummaryRunes.
func summary(text string) string {
	line := ""
	for l := range strings.Lines(text) {
		if l = strings.TrimSpace(l); l != "" {
			line = l
			break
		}
	}
	if utf8.RuneCountInString(line) <= maxSummaryRunes {
		return line
	}
	runes := []rune(line)
	return string(runes[:maxSummaryRunes-3]) + "..."
}
