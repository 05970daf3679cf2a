package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketgate/ticketing"
)

const auditColumns = `seq, time_us, action, secret_id, secret_name, user_name, system_id, system_name,
	ticket_number, reason, url, outcome, denial_code, denial_message, live_check, from_cache,
	ticket_status, comment, comment_detail, correlation_id, prev_hash, hash`

// AppendAudit implements ticketing.AuditStore: in one transaction under the
// "audit" writer lock it reads the last record, seals rec after it
// (ticketing.ChainRecord) and inserts it, so the chain stays whole with
// many writers in many processes. If the commit goes unanswered (the
// connection died), the record is looked up by its append key: found, it
// is returned; not found, the append is run again. A record is therefore
// never written twice, and never reported written when it was not.
func (s *Store) AppendAudit(ctx context.Context, rec ticketing.AuditRecord) (ticketing.AuditRecord, error) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	key := hex.EncodeToString(b[:])
	const maxUncertain = 3
	for attempt := 1; ; attempt++ {
		var stored ticketing.AuditRecord
		err := s.inTx(ctx, lockAudit, func(ctx context.Context, q querier) error {
			var last ticketing.AuditRecord
			err := q.QueryRowContext(ctx, "SELECT seq, hash FROM ticketing_audit ORDER BY seq DESC LIMIT 1").Scan(&last.Seq, &last.Hash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			stored = ticketing.ChainRecord(last, rec)
			return s.insertAudit(ctx, q, stored, key)
		})
		switch {
		case err == nil:
			return stored, nil
		case !errors.Is(err, errCommitUncertain):
			// Rolled back (or never begun): nothing was stored.
			return ticketing.AuditRecord{}, fmt.Errorf("sqlstore: audit record not stored: %w", err)
		}
		found, ok, lerr := s.auditByKey(key)
		switch {
		case lerr != nil:
			return ticketing.AuditRecord{}, fmt.Errorf("sqlstore: audit record outcome unknown (the commit went unanswered and the lookup failed: %v): %w", lerr, err)
		case ok:
			return found, nil
		case attempt >= maxUncertain:
			return ticketing.AuditRecord{}, fmt.Errorf("sqlstore: audit record not stored (%d commits went unanswered): %w", attempt, err)
		}
		// Not committed: safe to run again.
	}
}

// auditByKey finds the record an append wrote, with a fresh context: the
// caller's may be what ended the commit.
func (s *Store) auditByKey(key string) (ticketing.AuditRecord, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rec ticketing.AuditRecord
	err := s.read(ctx, func() error {
		var err error
		rec, err = scanAudit(s.db.QueryRowContext(ctx, s.rebind("SELECT "+auditColumns+" FROM ticketing_audit WHERE append_key = ?"), key))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return rec, false, nil
	}
	return rec, err == nil, err
}

func (s *Store) insertAudit(ctx context.Context, q querier, r ticketing.AuditRecord, key string) error {
	_, err := q.ExecContext(ctx, s.rebind(`INSERT INTO ticketing_audit (`+auditColumns+`, append_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.Seq, r.Time.UnixMicro(), string(r.Action), r.SecretID, r.SecretName, r.User, r.TicketSystemID, r.TicketSystemName,
		r.TicketNumber, r.Reason, r.URL, string(r.Outcome), r.DenialCode, r.DenialMessage, string(r.LiveCheck), r.FromCache,
		r.TicketStatus, string(r.Comment), r.CommentDetail, r.CorrelationID, r.PrevHash, r.Hash, key)
	return err
}

type scanner interface{ Scan(dest ...any) error }

func scanAudit(row scanner) (ticketing.AuditRecord, error) {
	var r ticketing.AuditRecord
	var micros int64
	var action, outcome, live, comment string
	err := row.Scan(&r.Seq, &micros, &action, &r.SecretID, &r.SecretName, &r.User, &r.TicketSystemID, &r.TicketSystemName,
		&r.TicketNumber, &r.Reason, &r.URL, &outcome, &r.DenialCode, &r.DenialMessage, &live, &r.FromCache,
		&r.TicketStatus, &comment, &r.CommentDetail, &r.CorrelationID, &r.PrevHash, &r.Hash)
	r.Time = time.UnixMicro(micros).UTC()
	r.Action, r.Outcome = ticketing.Action(action), ticketing.Outcome(outcome)
	r.LiveCheck, r.Comment = ticketing.LiveCheck(live), ticketing.CommentOutcome(comment)
	return r, err
}

// QueryAudit implements ticketing.AuditStore with keyset pagination on
// seq, using the indexes on ticket number, secret, user, system and time.
func (s *Store) QueryAudit(ctx context.Context, q ticketing.AuditQuery) (ticketing.AuditPage, error) {
	if err := q.Check(); err != nil {
		return ticketing.AuditPage{}, err
	}
	if !s.representable(q) {
		return ticketing.AuditPage{}, nil
	}
	after, _ := q.CursorSeq()
	where, args := s.where(q)
	order := "ASC"
	if q.NewestFirst {
		order = "DESC"
	}
	if after > 0 {
		if q.NewestFirst {
			where = append(where, "seq < ?")
		} else {
			where = append(where, "seq > ?")
		}
		args = append(args, after)
	}
	limit := q.PageSize()
	query := "SELECT " + auditColumns + " FROM ticketing_audit" + whereClause(where) +
		" ORDER BY seq " + order + fmt.Sprintf(" LIMIT %d", limit+1)
	var page ticketing.AuditPage
	err := s.read(ctx, func() error {
		page = ticketing.AuditPage{}
		rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			rec, err := scanAudit(rows)
			if err != nil {
				return err
			}
			page.Records = append(page.Records, rec)
		}
		return rows.Err()
	})
	if err != nil {
		return ticketing.AuditPage{}, err
	}
	if len(page.Records) > limit {
		page.Records = page.Records[:limit]
		page.Next = q.CursorAfter(page.Records[limit-1].Seq)
	}
	return page, nil
}

// CountAudit implements ticketing.AuditStore.
func (s *Store) CountAudit(ctx context.Context, q ticketing.AuditQuery) (int64, error) {
	q.Cursor, q.Limit = "", 0
	if err := q.Check(); err != nil {
		return 0, err
	}
	if !s.representable(q) {
		return 0, nil
	}
	where, args := s.where(q)
	var n int64
	err := s.read(ctx, func() error {
		return s.db.QueryRowContext(ctx, s.rebind("SELECT COUNT(*) FROM ticketing_audit"+whereClause(where)), args...).Scan(&n)
	})
	return n, err
}

// representable reports whether the database can even hold the text q
// looks for. PostgreSQL text cannot hold NUL or invalid UTF-8 (and refuses
// them as parameters), so no stored record matches such a filter.
func (s *Store) representable(q ticketing.AuditQuery) bool {
	if s.dialect != PostgreSQL {
		return true
	}
	for _, v := range [...]string{q.TicketNumber, q.TicketPrefix, q.TicketSystemID, q.SecretID, q.User,
		string(q.Action), string(q.Outcome), q.DenialCode} {
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return false
		}
	}
	return true
}

// where turns q's filters into SQL conditions with ? placeholders.
func (s *Store) where(q ticketing.AuditQuery) ([]string, []any) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	eq("ticket_number", q.TicketNumber)
	eq("system_id", q.TicketSystemID)
	eq("secret_id", q.SecretID)
	eq("user_name", q.User)
	eq("action", string(q.Action))
	eq("outcome", string(q.Outcome))
	eq("denial_code", q.DenialCode)
	if q.TicketPrefix != "" {
		// A range on the index: [prefix, the prefix with its last
		// character incremented), in byte (code point) order.
		where, args = append(where, "ticket_number >= ?"), append(args, q.TicketPrefix)
		if upper, ok := prefixUpperBound(q.TicketPrefix); ok {
			where, args = append(where, "ticket_number < ?"), append(args, upper)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time_us >= ?"), append(args, ceilMicros(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time_us < ?"), append(args, ceilMicros(q.Until))
	}
	return where, args
}

func whereClause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

// ceilMicros is t in microseconds, rounded up: records are kept to the
// microsecond, so Time >= t holds exactly for time_us >= ceilMicros(t).
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Truncate(time.Microsecond).Before(t) {
		us++
	}
	return us
}

// prefixUpperBound returns the smallest string greater than every string
// that starts with prefix: prefix with its last character incremented
// (dropping trailing characters that cannot be). ok is false when there is
// none.
func prefixUpperBound(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		next := r + 1
		if next == 0xD800 {
			next = 0xE000 // skip the surrogates, which UTF-8 cannot hold
		}
		if r != utf8.RuneError && next <= utf8.MaxRune {
			return prefix + string(next), true
		}
	}
	return "", false
}
