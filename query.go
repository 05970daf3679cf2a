package ticketing

import (
	"context"
	"encoding/base64"
	"errors"
	"iter"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidQuery: an AuditQuery a store cannot run: a negative or too
// large Limit, a cursor this package did not make (or made for the other
// order), or Until not after Since.
var ErrInvalidQuery = errors.New("ticketing: invalid audit query")

// Audit page sizes.
const (
	DefaultAuditPageSize = 100
	MaxAuditPageSize     = 1000
)

// AuditQuery selects audit records. Every filter that is set must match
// (AND); the zero value selects every record, oldest first, in pages of
// DefaultAuditPageSize. Text filters compare exactly (case-sensitive);
// records are ordered by Seq, the order they were appended.
type AuditQuery struct {
	TicketNumber   string  // equal to
	TicketPrefix   string  // TicketNumber starts with it
	TicketSystemID string  // equal to
	SecretID       string  // equal to
	User           string  // equal to
	Action         Action  // equal to
	Outcome        Outcome // equal to
	// DenialCode matches the record's DenialCode ("ticket_format", ...).
	DenialCode string
	// Since and Until bound Time: Since <= Time < Until. A zero value is no
	// bound.
	Since, Until time.Time
	// NewestFirst returns the newest records first; the default is oldest
	// first.
	NewestFirst bool
	// Limit is the page size: 0 means DefaultAuditPageSize; at most
	// MaxAuditPageSize.
	Limit int
	// Cursor continues a listing: pass the Next of the previous page. ""
	// starts at the beginning.
	Cursor string
}

// AuditPage is one page of a query's results.
type AuditPage struct {
	Records []AuditRecord
	// Next is the cursor of the following page, "" when there is none.
	Next string
}

// Check reports whether a store can run q (ErrInvalidQuery otherwise).
func (q AuditQuery) Check() error {
	if q.Limit < 0 || q.Limit > MaxAuditPageSize {
		return configErrorf(ErrInvalidQuery, "Limit must be between 0 and "+strconv.Itoa(MaxAuditPageSize))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return configErrorf(ErrInvalidQuery, "Until must be after Since")
	}
	_, err := q.CursorSeq()
	return err
}

// PageSize returns the page size q asks for.
func (q AuditQuery) PageSize() int {
	if q.Limit == 0 {
		return DefaultAuditPageSize
	}
	return q.Limit
}

// A cursor is the order and the Seq of the last record returned, so that
// pages stay exact under concurrent appends (keyset pagination). It is
// opaque to callers.
const cursorPrefix = "c1"

// CursorSeq returns the Seq after which the page starts (in q's order), or
// 0 for the first page. Store implementations use it with CursorAfter.
func (q AuditQuery) CursorSeq() (int64, error) {
	if q.Cursor == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil {
		return 0, configErrorf(ErrInvalidQuery, "malformed cursor")
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[0] != cursorPrefix || parts[1] != q.order() {
		return 0, configErrorf(ErrInvalidQuery, "cursor does not belong to a query in this order")
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq < 1 {
		return 0, configErrorf(ErrInvalidQuery, "malformed cursor")
	}
	return seq, nil
}

// CursorAfter returns the cursor of the page that follows the record seq.
func (q AuditQuery) CursorAfter(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + ":" + q.order() + ":" + strconv.FormatInt(seq, 10)))
}

func (q AuditQuery) order() string {
	if q.NewestFirst {
		return "desc"
	}
	return "asc"
}

// Matches reports whether rec passes q's filters (paging aside). It is the
// reference for what every store must return.
func (q AuditQuery) Matches(rec AuditRecord) bool {
	return (q.TicketNumber == "" || rec.TicketNumber == q.TicketNumber) &&
		strings.HasPrefix(rec.TicketNumber, q.TicketPrefix) &&
		(q.TicketSystemID == "" || rec.TicketSystemID == q.TicketSystemID) &&
		(q.SecretID == "" || rec.SecretID == q.SecretID) &&
		(q.User == "" || rec.User == q.User) &&
		(q.Action == "" || rec.Action == q.Action) &&
		(q.Outcome == "" || rec.Outcome == q.Outcome) &&
		(q.DenialCode == "" || rec.DenialCode == q.DenialCode) &&
		(q.Since.IsZero() || !rec.Time.Before(q.Since)) &&
		(q.Until.IsZero() || rec.Time.Before(q.Until))
}

// AuditRecords returns every record q selects, in q's order, fetching page
// after page from s; q.Cursor and q.Limit set where it starts and the page
// size. A failure is yielded once, as the last pair. Records appended while
// it runs appear if they sort after the current page.
func AuditRecords(ctx context.Context, s AuditStore, q AuditQuery) iter.Seq2[AuditRecord, error] {
	return func(yield func(AuditRecord, error) bool) {
		for {
			page, err := s.QueryAudit(ctx, q)
			if err != nil {
				yield(AuditRecord{}, err)
				return
			}
			for _, rec := range page.Records {
				if !yield(rec, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			q.Cursor = page.Next
		}
	}
}
