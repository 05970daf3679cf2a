package servicenow

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// sysID is what a record's sys_id must look like before it goes into a
// path (32 hex digits out of the box; imported records may differ).
var sysID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// AddComment writes c.Text to the work notes (the agents-only journal) of
// the ticket t, which LookupTicket returned: PATCH
// /api/now/table/{sys_class_name}/{sys_id} with {"work_notes": c.Text}.
// When t has no ID (sys_id) it looks the ticket up by t.Number first.
//
// Any 2xx is success; the answer's body is not read, since journal fields
// read back empty. Failures are *ticketing.CheckerError values: 401 is
// ErrCheckerAuth; 429, 502, 503 and 504 are temporary; a 403 is
// ErrCheckerUnavailable and not temporary, because on an update it means
// an ACL or data policy refused this write to this record (a closed
// record, a work_notes field the user may not write), not that the
// credentials were refused: the same credentials have just read the
// record. 400 (a data policy) and 404 (the record is gone) are not
// temporary either.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	if cm.Text == "" {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "empty comment"}
	}
	id, class := t.ID, classFromRaw(t.Raw)
	if id == "" {
		found, err := c.LookupTicket(ctx, t.Number)
		if err != nil {
			if errors.Is(err, ticketing.ErrTicketNotFound) {
				return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "ticket not found", Cause: err}
			}
			return err
		}
		id, class = found.ID, classFromRaw(found.Raw)
	}
	if !sysID.MatchString(id) {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "ticket has no usable sys_id"}
	}
	if class == "" {
		class = c.table
	}
	resp, err := c.http.Do(ctx, httpapi.Request{
		Op:     "comment",
		Method: http.MethodPatch,
		Path:   c.apiPath + "/table/" + url.PathEscape(class) + "/" + url.PathEscape(id),
		Query:  url.Values{"sysparm_fields": {"sys_id"}},
		JSON:   map[string]string{"work_notes": cm.Text},
	})
	if err != nil {
		return err
	}
	switch resp.StatusCode {
	case http.StatusForbidden:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "update refused by an ACL or data policy on the record"}
	case http.StatusBadRequest:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "update rejected (data policy?)"}
	case http.StatusNotFound:
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", StatusCode: resp.StatusCode,
			Detail: "record not found"}
	}
	return httpapi.StatusError("comment", resp)
}

// classFromRaw reads sys_class_name from a record LookupTicket returned;
// "" when it is missing or not a valid table name.
func classFromRaw(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var r struct {
		SysClassName field `json:"sys_class_name"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return ""
	}
	if cl := r.SysClassName.value(); tableName.MatchString(cl) {
		return cl
	}
	return ""
}
