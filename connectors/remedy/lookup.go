package remedy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// arEntryNotFound is AR's message 302, "Entry does not exist in database".
const arEntryNotFound = 302

// LookupTicket finds the ticket with that number in the Client's form (see
// the package documentation for the request, the number rules and the
// open/closed rule). An unknown number, or one that cannot be represented
// safely in a qualification, wraps ticketing.ErrTicketNotFound; every
// other failure is a *ticketing.CheckerError.
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	if !safeNumber(number) {
		return ticketing.Ticket{}, httpapi.NotFound(number)
	}
	resp, err := c.sess.do(ctx, httpapi.Request{
		Op:   "lookup",
		Path: "/api/arsys/v1/entry/" + url.PathEscape(c.form),
		Query: url.Values{
			"q":      {c.qualification(number)},
			"fields": {c.fieldList},
			"limit":  {"1"},
		},
	})
	if err != nil {
		return ticketing.Ticket{}, err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && slices.Contains(arErrorNumbers(resp.Body), arEntryNotFound):
		return ticketing.Ticket{}, httpapi.NotFound(number)
	case resp.StatusCode != http.StatusOK:
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "unexpected status")
		}
		return ticketing.Ticket{}, statusError("lookup", resp)
	}

	var list struct {
		Entries *[]json.RawMessage `json:"entries"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(resp.Body), []byte("[")) {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "malformed response: an array, not a list of entries")
	}
	if err := httpapi.DecodeJSON("lookup", resp, &list); err != nil {
		return ticketing.Ticket{}, err
	}
	if list.Entries == nil {
		return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "malformed response: no entries")
	}
	for _, raw := range *list.Entries {
		var e struct {
			Values map[string]json.RawMessage `json:"values"`
		}
		if json.Unmarshal(raw, &e) != nil {
			return ticketing.Ticket{}, httpapi.Malformed("lookup", resp.StatusCode, "malformed entry")
		}
		got := text(e.Values[c.fields.Number])
		if !httpapi.EqualFoldASCII(got, number) {
			continue // not the ticket asked for: proves nothing
		}
		return c.ticket(got, e.Values, raw), nil
	}
	return ticketing.Ticket{}, httpapi.NotFound(number)
}

// qualification is 'Number Field'="number"; number has passed safeNumber
// and the field name checkFieldName, so neither can close its quotes.
func (c *Client) qualification(number string) string {
	return "'" + c.fields.Number + `'="` + number + `"`
}

// ticket builds the Ticket of a matching entry.
func (c *Client) ticket(number string, v map[string]json.RawMessage, raw json.RawMessage) ticketing.Ticket {
	status := strings.TrimSpace(text(v[c.fields.Status]))
	t := ticketing.Ticket{
		Number:    number,
		ID:        text(v[c.fields.RequestID]),
		Status:    status,
		Open:      status != "" && !c.isClosed(status),
		Assignee:  text(v[c.fields.Assignee]),
		Requester: strings.TrimSpace(text(v[c.fields.FirstName]) + " " + text(v[c.fields.LastName])),
		Summary:   text(v[c.fields.Summary]),
		Start:     date(v[c.fields.Start]),
		End:       date(v[c.fields.End]),
		URL:       c.ticketLink(number),
		Raw:       slices.Clone(raw),
	}
	return t
}

func (c *Client) isClosed(status string) bool {
	for _, s := range c.closed {
		if strings.EqualFold(s, status) {
			return true
		}
	}
	return false
}

// text reads a field value as text: a string as it is, a number in its
// JSON spelling, anything else (null, objects, absent) as "".
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
	}
	return ""
}

// date reads an AR date/time value: "2022-06-21T16:23:14.000+0000" (the
// REST API's form), RFC 3339, or a number of seconds since 1970. Anything
// else is the zero time: a missing window, not a broken answer.
func date(raw json.RawMessage) time.Time {
	s := text(raw)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil && secs > 0 {
		return time.Unix(secs, 0).UTC()
	}
	return time.Time{}
}
