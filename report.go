package ticketing

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash"
	"html/template"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Reports export the audit trail for auditors: CSV for spreadsheets,
// JSON Lines for tools, and a self-contained HTML page for people. All of
// them stream: they read the trail through AuditRecords one page at a time
// and write each record as they go, so their memory does not grow with the
// number of records (the HTML report's summary grows with the number of
// distinct tickets and users, see WriteAuditHTML).

// AuditCSVError reports input that ReadAuditCSV cannot read as a file
// written by WriteAuditCSV: a wrong header, a row with the wrong number of
// cells, a cell that is not a valid value for its column, broken CSV
// quoting, or a row that is too long. Match it with errors.As. It never
// quotes the input, which may hold reasons and ticket numbers.
type AuditCSVError struct {
	// Line is the line of the input where the row at fault starts, from 1
	// (the header); 0 for empty input.
	Line int
	// Column is the header name of the column at fault ("seq", "time",
	// ...), or "" when the problem is not in one cell.
	Column string
	// Reason says what is wrong.
	Reason string
}

// Error describes the problem without quoting the input.
func (e *AuditCSVError) Error() string {
	msg := "ticketing: invalid audit CSV"
	if e.Line > 0 {
		msg += " at line " + strconv.Itoa(e.Line)
	}
	if e.Column != "" {
		msg += ", column " + e.Column
	}
	return msg + ": " + e.Reason
}

// csvError returns an *AuditCSVError.
func csvError(line int, column, reason string) error {
	return &AuditCSVError{Line: line, Column: column, Reason: reason}
}

// reportPageSize is the page size the reports read with when the query
// leaves Limit at 0.
const reportPageSize = MaxAuditPageSize

// reportBufferSize is the size of the buffer between a report and its
// writer.
const reportBufferSize = 32 << 10

// maxCSVRecordBytes bounds one row read by ReadAuditCSV, so that hostile
// input cannot make it hold an unbounded row in memory.
const maxCSVRecordBytes = 16 << 20

// reportQuery returns q with the reports' page size when q leaves it open.
func reportQuery(q AuditQuery) AuditQuery {
	if q.Limit == 0 {
		q.Limit = reportPageSize
	}
	return q
}

// auditColumn is one CSV column: its header and how a record's field is
// written to and read from a cell.
type auditColumn struct {
	name string
	get  func(*AuditRecord) string
	set  func(*AuditRecord, string) error
}

// textColumn is a column holding one string field as it is.
func textColumn(name string, field func(*AuditRecord) *string) auditColumn {
	return auditColumn{
		name: name,
		get:  func(r *AuditRecord) string { return *field(r) },
		set:  func(r *AuditRecord, s string) error { *field(r) = s; return nil },
	}
}

// auditColumns lists every AuditRecord field, in the order of the struct,
// under its JSON name.
var auditColumns = [...]auditColumn{
	{
		name: "seq",
		get:  func(r *AuditRecord) string { return strconv.FormatInt(r.Seq, 10) },
		set: func(r *AuditRecord, s string) (err error) {
			r.Seq, err = strconv.ParseInt(s, 10, 64)
			return err
		},
	},
	{
		name: "time",
		get:  func(r *AuditRecord) string { return r.Time.UTC().Format(time.RFC3339Nano) },
		set: func(r *AuditRecord, s string) error {
			t, err := time.Parse(time.RFC3339Nano, s)
			r.Time = t.UTC()
			return err
		},
	},
	textColumn("action", func(r *AuditRecord) *string { return (*string)(&r.Action) }),
	textColumn("secretId", func(r *AuditRecord) *string { return &r.SecretID }),
	textColumn("secretName", func(r *AuditRecord) *string { return &r.SecretName }),
	textColumn("user", func(r *AuditRecord) *string { return &r.User }),
	textColumn("ticketSystemId", func(r *AuditRecord) *string { return &r.TicketSystemID }),
	textColumn("ticketSystemName", func(r *AuditRecord) *string { return &r.TicketSystemName }),
	textColumn("ticketNumber", func(r *AuditRecord) *string { return &r.TicketNumber }),
	textColumn("reason", func(r *AuditRecord) *string { return &r.Reason }),
	textColumn("url", func(r *AuditRecord) *string { return &r.URL }),
	textColumn("outcome", func(r *AuditRecord) *string { return (*string)(&r.Outcome) }),
	textColumn("denialCode", func(r *AuditRecord) *string { return &r.DenialCode }),
	textColumn("denialMessage", func(r *AuditRecord) *string { return &r.DenialMessage }),
	textColumn("liveCheck", func(r *AuditRecord) *string { return (*string)(&r.LiveCheck) }),
	{
		name: "fromCache",
		get:  func(r *AuditRecord) string { return strconv.FormatBool(r.FromCache) },
		set: func(r *AuditRecord, s string) (err error) {
			r.FromCache, err = strconv.ParseBool(s)
			return err
		},
	},
	textColumn("ticketStatus", func(r *AuditRecord) *string { return &r.TicketStatus }),
	textColumn("comment", func(r *AuditRecord) *string { return (*string)(&r.Comment) }),
	textColumn("commentDetail", func(r *AuditRecord) *string { return &r.CommentDetail }),
	textColumn("correlationId", func(r *AuditRecord) *string { return &r.CorrelationID }),
	textColumn("prevHash", func(r *AuditRecord) *string { return &r.PrevHash }),
	textColumn("hash", func(r *AuditRecord) *string { return &r.Hash }),
}

// auditCSVHeader returns the header row of WriteAuditCSV: the JSON names of
// every AuditRecord field, in the order of the struct.
func auditCSVHeader() []string {
	h := make([]string, len(auditColumns))
	for i, c := range auditColumns {
		h[i] = c.name
	}
	return h
}

// formulaTriggers are the first characters that make a spreadsheet treat a
// cell as a formula (= + - @), or that it strips before looking (tab, CR),
// and the quote that marks a neutralised cell.
const formulaTriggers = "=+-@\t\r'"

// neutraliseCSVCell returns the text WriteAuditCSV writes for a cell
// holding s: s with one "'" in front when s starts with one of
// formulaTriggers, s unchanged otherwise.
func neutraliseCSVCell(s string) string {
	if s != "" && strings.IndexByte(formulaTriggers, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// restoreCSVCell undoes neutraliseCSVCell.
func restoreCSVCell(s string) string {
	return strings.TrimPrefix(s, "'")
}

// WriteAuditCSV writes the records q selects to w as CSV (RFC 4180, comma
// separated, "\n" line ends, through encoding/csv): a header row, then one
// row per record, in q's order, with every field of AuditRecord under its
// JSON name: seq, time, action, secretId, secretName, user, ticketSystemId,
// ticketSystemName, ticketNumber, reason, url, outcome, denialCode,
// denialMessage, liveCheck, fromCache, ticketStatus, comment,
// commentDetail, correlationId, prevHash, hash. Seq is in decimal, Time in
// RFC 3339 with nanoseconds in UTC, FromCache true or false, the rest as
// stored.
//
// Spreadsheet formula injection is neutralised: every cell that starts with
// "=", "+", "-", "@", a tab or a carriage return, which a spreadsheet would
// evaluate as a formula, is written with one "'" in front, so a hostile
// ticket number or reason such as =HYPERLINK(...) is shown as text. A cell
// that starts with "'" gets one too, so the rule is reversed without
// ambiguity by removing one leading "'" from every cell that has one, which
// is what ReadAuditCSV does: the file parses back to exactly the stored
// records.
//
// It reads the trail page by page (q.Limit is the page size, 0 meaning
// MaxAuditPageSize) and writes as it goes, in memory that does not grow with
// the number of records. It stops at the first error from the store, from
// w or from ctx, and returns it; the output then ends early (rows still in
// its buffer are not written). It is safe for concurrent use with anything
// but other writes to w.
func WriteAuditCSV(ctx context.Context, w io.Writer, s AuditStore, q AuditQuery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	row := auditCSVHeader()
	if err := cw.Write(row); err != nil {
		return err
	}
	for rec, err := range AuditRecords(ctx, s, reportQuery(q)) {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, c := range auditColumns {
			row[i] = neutraliseCSVCell(c.get(&rec))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadAuditCSV parses a file written by WriteAuditCSV back into its
// records, in file order: it checks the header, removes the one "'" that
// WriteAuditCSV put in front of a cell (see WriteAuditCSV), and parses
// each cell for its field, so that the records come back exactly as they
// were stored (Time in UTC). A UTF-8 byte order mark before the header,
// blank lines and "\r\n" line ends (as a spreadsheet may save) are accepted.
//
// Malformed input (a wrong header, a row with the wrong number of cells, a
// value that does not parse, broken quoting, a row over 16 MiB) ends the
// sequence with an *AuditCSVError that names the line and the column but
// never quotes the content; a read error from r ends it too. The error is
// yielded once, as the last pair; nothing panics.
//
// The CSV is parsed by a strict RFC 4180 reader of this package rather
// than encoding/csv's Reader, which turns "\r\n" inside a quoted cell into
// "\n" (golang/go#22746) and so cannot give back a reason holding one.
//
// The sequence reads r as it is ranged over; range over it once. It does
// not hold more than one row in memory.
func ReadAuditCSV(r io.Reader) iter.Seq2[AuditRecord, error] {
	return func(yield func(AuditRecord, error) bool) {
		sc := csvScanner{r: bufio.NewReader(r), line: 1}
		cells, line, err := sc.next()
		if err == io.EOF {
			yield(AuditRecord{}, csvError(0, "", "empty input: no header row"))
			return
		}
		if err != nil {
			if ce, ok := err.(*AuditCSVError); ok {
				ce.Column = "" // the header has no columns yet
			}
			yield(AuditRecord{}, err)
			return
		}
		if len(cells) > 0 {
			cells[0] = strings.TrimPrefix(cells[0], "\uFEFF")
		}
		if !slices.Equal(cells, auditCSVHeader()) {
			yield(AuditRecord{}, csvError(line, "", "the header row is not the one WriteAuditCSV writes"))
			return
		}
		for {
			cells, line, err = sc.next()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(AuditRecord{}, err)
				return
			}
			if len(cells) != len(auditColumns) {
				yield(AuditRecord{}, csvError(line, "", fmt.Sprintf("%d cells, want %d", len(cells), len(auditColumns))))
				return
			}
			var rec AuditRecord
			for i, c := range auditColumns {
				if err := c.set(&rec, restoreCSVCell(cells[i])); err != nil {
					yield(AuditRecord{}, csvError(line, c.name, "not a valid value"))
					return
				}
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// csvScanner reads RFC 4180 records strictly, keeping every byte of a
// quoted cell (CR and LF included).
type csvScanner struct {
	r     *bufio.Reader
	line  int // line of the next byte, from 1
	start int // line where the current record starts
	cell  bytes.Buffer
	cells []string
}

// next returns the cells of the next record and the line it starts on, or
// io.EOF when the input ends before a record starts. Blank lines are
// skipped.
func (s *csvScanner) next() ([]string, int, error) {
	s.cells = s.cells[:0]
	// Skip blank lines.
	for {
		p, err := s.r.Peek(2)
		if len(p) == 0 {
			return nil, s.line, s.readErr(err)
		}
		switch {
		case p[0] == '\n':
			_, _ = s.r.Discard(1)
		case p[0] == '\r' && len(p) == 2 && p[1] == '\n':
			_, _ = s.r.Discard(2)
		default:
			start := s.line
			s.start = start
			return s.readRecord(start)
		}
		s.line++
	}
}

// readRecord reads the cells of the record that starts on line start.
func (s *csvScanner) readRecord(start int) ([]string, int, error) {
	size := 0
	for {
		end, err := s.readCell()
		if err != nil {
			return nil, start, err
		}
		size += s.cell.Len()
		if size > maxCSVRecordBytes {
			return nil, start, csvError(start, "", fmt.Sprintf("row longer than %d bytes", maxCSVRecordBytes))
		}
		s.cells = append(s.cells, s.cell.String())
		if end {
			return s.cells, start, nil
		}
	}
}

// readCell reads one cell into s.cell and the separator after it; end
// reports that the record ended (line end or end of input). It copies runs
// of plain bytes at once, straight from the reader's buffer.
func (s *csvScanner) readCell() (end bool, err error) {
	s.cell.Reset()
	first, err := s.r.Peek(1)
	if len(first) == 0 {
		if err == io.EOF {
			return true, nil // an empty last cell without a line end
		}
		return false, s.readErr(err)
	}
	if first[0] != '"' {
		// Unquoted: up to ',' or the line end; no quotes, no bare CR.
		for {
			buf, err := s.buffered()
			if err == io.EOF {
				return true, nil
			}
			if err != nil {
				return false, s.readErr(err)
			}
			i := indexUnquotedEnd(buf)
			if i < 0 {
				if err := s.take(buf, len(buf)); err != nil {
					return false, err
				}
				continue
			}
			b := buf[i]
			if err := s.take(buf[:i], i+1); err != nil {
				return false, err
			}
			switch b {
			case ',':
				return false, nil
			case '\n':
				s.line++
				return true, nil
			case '\r':
				if s.skipLF() {
					return true, nil
				}
				return false, s.malformed("carriage return outside quotes")
			default:
				return false, s.malformed("quote inside an unquoted cell")
			}
		}
	}
	// Quoted: up to the closing quote; "" is one quote.
	_, _ = s.r.Discard(1)
	for {
		buf, err := s.buffered()
		if err == io.EOF {
			return false, s.malformed("quoted cell not closed")
		}
		if err != nil {
			return false, s.readErr(err)
		}
		i := bytes.IndexByte(buf, '"')
		if i < 0 {
			s.line += bytes.Count(buf, []byte{'\n'})
			if err := s.take(buf, len(buf)); err != nil {
				return false, err
			}
			continue
		}
		s.line += bytes.Count(buf[:i], []byte{'\n'})
		if err := s.take(buf[:i], i+1); err != nil {
			return false, err
		}
		b, err := s.r.ReadByte()
		switch {
		case err == io.EOF:
			return true, nil
		case err != nil:
			return false, s.readErr(err)
		case b == '"':
			s.cell.WriteByte('"')
		case b == ',':
			return false, nil
		case b == '\n':
			s.line++
			return true, nil
		case b == '\r':
			if s.skipLF() {
				return true, nil
			}
			return false, s.malformed("carriage return after a closing quote")
		default:
			return false, s.malformed("text after a closing quote")
		}
	}
}

// indexUnquotedEnd returns the index of the first byte in buf that ends
// an unquoted cell or is not allowed in one (',', '\n', '\r', '"'), or -1.
func indexUnquotedEnd(buf []byte) int {
	end := len(buf)
	for _, c := range [...]byte{',', '\n', '\r', '"'} {
		if i := bytes.IndexByte(buf[:end], c); i >= 0 {
			end = i
		}
	}
	if end == len(buf) {
		return -1
	}
	return end
}

// buffered returns the bytes the reader holds, reading more when it holds
// none; the error is io.EOF at the end of the input.
func (s *csvScanner) buffered() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return nil, err
		}
	}
	return s.r.Peek(s.r.Buffered())
}

// take appends data to the cell and consumes n bytes of input (data and
// what follows it), refusing a cell over maxCSVRecordBytes.
func (s *csvScanner) take(data []byte, n int) error {
	if s.cell.Len()+len(data) > maxCSVRecordBytes {
		return csvError(s.start, "", fmt.Sprintf("row longer than %d bytes", maxCSVRecordBytes))
	}
	s.cell.Write(data)
	_, err := s.r.Discard(n)
	return err
}

// skipLF consumes a '\n' that follows a '\r' just read, and reports
// whether there was one; it then counts the line.
func (s *csvScanner) skipLF() bool {
	if next, _ := s.r.Peek(1); len(next) == 1 && next[0] == '\n' {
		_, _ = s.r.Discard(1)
		s.line++
		return true
	}
	return false
}

// malformed reports broken CSV syntax in the cell being read.
func (s *csvScanner) malformed(what string) error {
	column := ""
	if i := len(s.cells); i < len(auditColumns) {
		column = auditColumns[i].name
	}
	return csvError(s.start, column, what)
}

// readErr passes io.EOF through and wraps any other read error.
func (s *csvScanner) readErr(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	return fmt.Errorf("ticketing: reading audit CSV: %w", err)
}

// WriteAuditJSONL writes the records q selects to w as JSON Lines: one
// JSON object per line, in q's order, with the field names of AuditRecord's
// JSON encoding (encoding/json, with HTML escaping, so <, > and & appear
// as \u003c, \u003e and \u0026). json.Decoder reads the records back
// exactly, except that encoding/json replaces invalid UTF-8 with U+FFFD (the
// access check never stores invalid UTF-8: it escapes it).
//
// It streams like WriteAuditCSV (q.Limit is the page size, 0 meaning
// MaxAuditPageSize), stops at the first error from the store, from w or
// from ctx, and returns it (rows still in its buffer are then not
// written). It is safe for concurrent use with anything but other writes
// to w.
func WriteAuditJSONL(ctx context.Context, w io.Writer, s AuditStore, q AuditQuery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, reportBufferSize)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(true)
	for rec, err := range AuditRecords(ctx, s, reportQuery(q)) {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := enc.Encode(rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// DefaultMaxSummaryValues is how many secrets or users the HTML report
// lists for one ticket when ReportOptions.MaxSummaryValues is 0.
const DefaultMaxSummaryValues = 5

// ReportOptions configures WriteAuditHTML. The zero value is usable: the
// title "Audit report", the current time, and DefaultMaxSummaryValues.
type ReportOptions struct {
	// Title heads the page; "" means "Audit report".
	Title string
	// Now gives the "generated at" time, called once per report; nil means
	// time.Now. Set it for a report that is the same byte for byte on every
	// run.
	Now func() time.Time
	// MaxSummaryValues caps the secrets and users (and a user's denial
	// codes) listed in one cell of the summaries; the rest are counted as
	// "and N more". 0 or less means DefaultMaxSummaryValues.
	MaxSummaryValues int
}

// WriteAuditHTML writes the records q selects to w as one self-contained
// HTML page: no scripts, no external style sheets, images or fonts (a
// Content-Security-Policy forbids them), and no links but ticket links. The
// page holds a title, the query described, totals, a summary per ticket
// (ticket number linked, secrets, users, first and last access, granted
// and denied attempts), the denied attempts per user, and then every
// record (time, user, action, secret, system, ticket linked, reason,
// outcome, denial code and message, live check, comment), in q's order.
//
// A ticket number links only through the record's URL, resolved with its
// system's View Ticket template, and only when that is an absolute http or
// https URL without user info; in the summary, the URL of any record of
// that ticket that has one. Anything else is shown as text. Every value
// is escaped by html/template, and control, format and bidi characters and
// invalid UTF-8 are shown as escapes (\u{202E}), so that a hostile ticket
// number or reason can neither inject markup nor hide or reorder text; the
// CSV and JSON Lines reports keep the exact values.
//
// The summaries come first, so the trail is read twice: the first pass
// aggregates per ticket (tickets are told apart by system and number) and
// per user, the second writes the rows as it reads them. Memory grows with
// the number of distinct tickets and users (and the distinct secrets and
// users of each ticket), never with the number of records. Records that
// are appended between the two passes are left out of both, so the totals
// always match the rows; if the second pass finds other records than the
// first (a record removed or changed in place: both passes fingerprint
// every field), it returns an error after the rows.
//
// q.Limit is the page size (0 means MaxAuditPageSize). It stops at the
// first error from the store, from w or from ctx, and returns it; the page
// then ends early (rows still in its buffer are not written). It is safe
// for concurrent use with anything but other writes to w.
func WriteAuditHTML(ctx context.Context, w io.Writer, s AuditStore, q AuditQuery, opts ReportOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q = reportQuery(q)
	maxValues := opts.MaxSummaryValues
	if maxValues <= 0 {
		maxValues = DefaultMaxSummaryValues
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	// Pass 1: aggregates.
	agg := newReportAggregate()
	for rec, err := range AuditRecords(ctx, s, q) {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		agg.add(&rec)
	}

	title := opts.Title
	if title == "" {
		title = "Audit report"
	}
	head := agg.head(title, now(), q, maxValues)

	bw := bufio.NewWriterSize(w, reportBufferSize)
	tmpl := reportTemplate()
	if err := tmpl.ExecuteTemplate(bw, "head", head); err != nil {
		return err
	}

	// Pass 2: the rows, only those pass 1 saw.
	if agg.records > 0 {
		var n int64
		seen := newTrailDigest()
		for rec, err := range AuditRecords(ctx, s, q) {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if rec.Seq > agg.maxSeq {
				if q.NewestFirst {
					continue // appended after pass 1 started
				}
				break
			}
			n++
			seen.add(&rec)
			if err := tmpl.ExecuteTemplate(bw, "row", newRecordRow(&rec)); err != nil {
				return err
			}
		}
		if n != agg.records || !seen.equal(agg.digest) {
			return fmt.Errorf("ticketing: the audit trail changed while the report was written: the table does not hold the %d records the summary counted", agg.records)
		}
	}
	if err := tmpl.ExecuteTemplate(bw, "foot", head); err != nil {
		return err
	}
	return bw.Flush()
}

// trailDigest fingerprints a sequence of records, every field of each, so
// that WriteAuditHTML can tell that its two passes read the same records.
type trailDigest struct{ h hash.Hash }

func newTrailDigest() trailDigest { return trailDigest{sha256.New()} }

func (d trailDigest) add(r *AuditRecord) {
	d.h.Write([]byte(recordHash(*r))) // every field but Hash
	d.h.Write([]byte(r.Hash))
}

func (d trailDigest) equal(o trailDigest) bool {
	return bytes.Equal(d.h.Sum(nil), o.h.Sum(nil))
}

// reportAggregate is what pass 1 of WriteAuditHTML learns.
type reportAggregate struct {
	digest                   trailDigest
	records, granted, denied int64
	first, last              time.Time
	maxSeq                   int64
	maxHash                  string
	tickets                  map[ticketKey]*ticketAggregate
	users                    map[string]*userAggregate
}

type ticketKey struct{ systemID, number string }

type ticketAggregate struct {
	systemName      string
	url             string
	secrets         map[string]string // ID -> shown as
	users           map[string]struct{}
	first, last     time.Time
	granted, denied int64
}

type userAggregate struct {
	attempts, denied        int64
	firstDenied, lastDenied time.Time
	codes                   map[string]int64
}

func newReportAggregate() *reportAggregate {
	return &reportAggregate{digest: newTrailDigest(), tickets: make(map[ticketKey]*ticketAggregate), users: make(map[string]*userAggregate)}
}

func (a *reportAggregate) add(r *AuditRecord) {
	a.digest.add(r)
	a.records++
	switch r.Outcome {
	case OutcomeGranted:
		a.granted++
	case OutcomeDenied:
		a.denied++
	}
	if a.records == 1 || r.Time.Before(a.first) {
		a.first = r.Time
	}
	if a.records == 1 || r.Time.After(a.last) {
		a.last = r.Time
	}
	if a.records == 1 || r.Seq > a.maxSeq {
		a.maxSeq, a.maxHash = r.Seq, r.Hash
	}

	if r.TicketNumber != "" {
		k := ticketKey{r.TicketSystemID, r.TicketNumber}
		t := a.tickets[k]
		if t == nil {
			t = &ticketAggregate{secrets: make(map[string]string), users: make(map[string]struct{}), first: r.Time, last: r.Time}
			a.tickets[k] = t
		}
		if t.systemName == "" {
			t.systemName = r.TicketSystemName
		}
		if t.url == "" && isWebURL(r.URL) {
			t.url = r.URL
		}
		if _, ok := t.secrets[r.SecretID]; !ok {
			t.secrets[r.SecretID] = secretLabel(r.SecretID, r.SecretName)
		}
		t.users[r.User] = struct{}{}
		if r.Time.Before(t.first) {
			t.first = r.Time
		}
		if r.Time.After(t.last) {
			t.last = r.Time
		}
		switch r.Outcome {
		case OutcomeGranted:
			t.granted++
		case OutcomeDenied:
			t.denied++
		}
	}

	u := a.users[r.User]
	if u == nil {
		u = &userAggregate{}
		a.users[r.User] = u
	}
	u.attempts++
	if r.Outcome == OutcomeDenied {
		if u.denied == 0 || r.Time.Before(u.firstDenied) {
			u.firstDenied = r.Time
		}
		if u.denied == 0 || r.Time.After(u.lastDenied) {
			u.lastDenied = r.Time
		}
		u.denied++
		if u.codes == nil {
			u.codes = make(map[string]int64)
		}
		u.codes[r.DenialCode]++
	}
}

// The values the templates show.
type (
	reportHead struct {
		Title       string
		GeneratedAt timeCell
		Query       []string
		Order       string
		Records     int64
		Granted     int64
		Denied      int64
		First, Last timeCell
		LastSeq     int64
		LastHash    string
		Tickets     []ticketRow
		Users       []userRow
	}
	timeCell struct {
		ISO, Text string
	}
	listCell struct {
		Values []string
		More   int
	}
	ticketRow struct {
		Ticket          template.HTML
		System          string
		Secrets, Users  listCell
		First, Last     timeCell
		Granted, Denied int64
	}
	userRow struct {
		User                    string
		Denied, Attempts        int64
		FirstDenied, LastDenied timeCell
		Codes                   listCell
	}
	recordRow struct {
		Seq           int64
		Time          timeCell
		User          string
		Action        string
		Secret        string
		System        string
		Ticket        template.HTML
		Reason        string
		Outcome       string
		OutcomeClass  string
		DenialCode    string
		DenialMessage string
		LiveCheck     string
		TicketStatus  string
		FromCache     bool
		Comment       string
		CommentDetail string
	}
)

func (a *reportAggregate) head(title string, now time.Time, q AuditQuery, maxValues int) reportHead {
	h := reportHead{
		Title:       title,
		GeneratedAt: newTimeCell(now),
		Query:       describeQuery(q),
		Order:       "oldest first",
		Records:     a.records,
		Granted:     a.granted,
		Denied:      a.denied,
		LastSeq:     a.maxSeq,
		LastHash:    shown(a.maxHash),
	}
	if q.NewestFirst {
		h.Order = "newest first"
	}
	if a.records > 0 {
		h.First, h.Last = newTimeCell(a.first), newTimeCell(a.last)
	}

	keys := make([]ticketKey, 0, len(a.tickets))
	for k := range a.tickets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y ticketKey) int {
		return cmp.Or(strings.Compare(x.number, y.number), strings.Compare(x.systemID, y.systemID))
	})
	h.Tickets = make([]ticketRow, 0, len(keys))
	for _, k := range keys {
		t := a.tickets[k]
		secrets := make([]string, 0, len(t.secrets))
		for _, v := range t.secrets {
			secrets = append(secrets, v)
		}
		h.Tickets = append(h.Tickets, ticketRow{
			Ticket:  AuditRecord{TicketNumber: shown(k.number), URL: t.url}.TicketLinkHTML(),
			System:  shown(cmp.Or(t.systemName, k.systemID)),
			Secrets: newListCell(secrets, maxValues),
			Users:   newListCell(slices.Collect(maps.Keys(t.users)), maxValues),
			First:   newTimeCell(t.first),
			Last:    newTimeCell(t.last),
			Granted: t.granted,
			Denied:  t.denied,
		})
	}

	for name, u := range a.users {
		if u.denied == 0 {
			continue
		}
		codes := make([]string, 0, len(u.codes))
		for c, n := range u.codes {
			codes = append(codes, fmt.Sprintf("%s ×%d", cmp.Or(c, "(none)"), n))
		}
		h.Users = append(h.Users, userRow{
			User:        shown(name),
			Denied:      u.denied,
			Attempts:    u.attempts,
			FirstDenied: newTimeCell(u.firstDenied),
			LastDenied:  newTimeCell(u.lastDenied),
			Codes:       newListCell(codes, maxValues),
		})
	}
	slices.SortFunc(h.Users, func(x, y userRow) int {
		return cmp.Or(cmp.Compare(y.Denied, x.Denied), strings.Compare(x.User, y.User))
	})
	return h
}

func newRecordRow(r *AuditRecord) recordRow {
	row := recordRow{
		Seq:           r.Seq,
		Time:          newTimeCell(r.Time),
		User:          shown(r.User),
		Action:        shown(string(r.Action)),
		Secret:        shown(secretLabel(r.SecretID, r.SecretName)),
		System:        shown(cmp.Or(r.TicketSystemName, r.TicketSystemID)),
		Ticket:        AuditRecord{TicketNumber: shown(r.TicketNumber), URL: r.URL}.TicketLinkHTML(),
		Reason:        shownText(r.Reason),
		Outcome:       shown(string(r.Outcome)),
		DenialCode:    shown(r.DenialCode),
		DenialMessage: shown(r.DenialMessage),
		LiveCheck:     shown(string(r.LiveCheck)),
		TicketStatus:  shown(r.TicketStatus),
		FromCache:     r.FromCache,
		Comment:       shown(string(r.Comment)),
		CommentDetail: shown(r.CommentDetail),
	}
	switch r.Outcome {
	case OutcomeGranted:
		row.OutcomeClass = "granted"
	case OutcomeDenied:
		row.OutcomeClass = "denied"
	}
	return row
}

// secretLabel names a secret for people: "name (id)", or the ID alone.
func secretLabel(id, name string) string {
	if name == "" || name == id {
		return id
	}
	return name + " (" + id + ")"
}

// shown makes s safe to read on a page: control, format and bidi
// characters and invalid UTF-8 become visible escapes (see escapeInput),
// so they can neither hide text nor reorder it.
func shown(s string) string {
	return escapeInput(s, utf8.RuneCountInString(s)+1)
}

// shownText is shown for multi-line text: line feeds are kept as line
// breaks.
func shownText(s string) string {
	if !strings.Contains(s, "\n") {
		return shown(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = shown(l)
	}
	return strings.Join(lines, "\n")
}

func newTimeCell(t time.Time) timeCell {
	if t.IsZero() {
		return timeCell{}
	}
	t = t.UTC()
	return timeCell{ISO: t.Format(time.RFC3339Nano), Text: t.Format("2006-01-02 15:04:05 UTC")}
}

func newListCell(values []string, max int) listCell {
	for i, v := range values {
		values[i] = shown(v)
	}
	slices.Sort(values)
	if len(values) > max {
		return listCell{Values: values[:max], More: len(values) - max}
	}
	return listCell{Values: values}
}

// describeQuery lists q's filters in words, for the report's header.
func describeQuery(q AuditQuery) []string {
	var d []string
	add := func(label, v string) {
		if v != "" {
			d = append(d, label+" "+strconv.Quote(v))
		}
	}
	add("ticket number is", q.TicketNumber)
	add("ticket number starts with", q.TicketPrefix)
	add("ticket system is", q.TicketSystemID)
	add("secret is", q.SecretID)
	add("user is", q.User)
	add("action is", string(q.Action))
	add("outcome is", string(q.Outcome))
	add("denial code is", q.DenialCode)
	if !q.Since.IsZero() {
		d = append(d, "at or after "+q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		d = append(d, "before "+q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Cursor != "" {
		d = append(d, "continuing after a cursor")
	}
	if len(d) == 0 {
		d = append(d, "all records")
	}
	return d
}

var reportTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(reportHTML))
})

// reportHTML is the page. "head" ends inside the records table, "row" is
// one record and "foot" closes the page, so that rows are written as they
// are read.
const reportHTML = `{{define "time"}}{{if .ISO}}<time datetime="{{.ISO}}">{{.Text}}</time>{{else}}—{{end}}{{end}}
{{- define "list"}}{{range $i, $v := .Values}}{{if $i}}, {{end}}{{$v}}{{end}}{{if .More}} and {{.More}} more{{end}}{{end}}
{{- define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.5em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d0d5; padding: .3em .5em; text-align: left; vertical-align: top; unicode-bidi: isolate; }
th { background: #f2f2f5; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.text { white-space: pre-wrap; overflow-wrap: anywhere; }
tr.denied td { background: #fff3f2; }
.denied .outcome { color: #a4161a; font-weight: 600; }
.granted .outcome { color: #1b6e2a; }
.meta { color: #555; margin: .2em 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">Generated {{template "time" .GeneratedAt}}. Records: {{range $i, $d := .Query}}{{if $i}}; {{end}}{{$d}}{{end}}; {{.Order}}.</p>
<p class="meta">{{.Records}} records ({{.Granted}} granted, {{.Denied}} denied){{if .Records}}, from {{template "time" .First}} to {{template "time" .Last}}; the last one is record {{.LastSeq}}, hash <code>{{.LastHash}}</code>{{end}}.</p>

<h2>Tickets</h2>
<table>
<thead><tr><th>Ticket</th><th>System</th><th>Secrets</th><th>Users</th><th>First access</th><th>Last access</th><th>Granted</th><th>Denied</th></tr></thead>
<tbody>
{{- range .Tickets}}
<tr><td>{{.Ticket}}</td><td>{{.System}}</td><td>{{template "list" .Secrets}}</td><td>{{template "list" .Users}}</td><td>{{template "time" .First}}</td><td>{{template "time" .Last}}</td><td class="n">{{.Granted}}</td><td class="n">{{.Denied}}</td></tr>
{{- else}}
<tr><td colspan="8">No record names a ticket.</td></tr>
{{- end}}
</tbody>
</table>

<h2>Denied attempts by user</h2>
<table>
<thead><tr><th>User</th><th>Denied</th><th>Attempts</th><th>First denied</th><th>Last denied</th><th>Denial codes</th></tr></thead>
<tbody>
{{- range .Users}}
<tr><td>{{.User}}</td><td class="n">{{.Denied}}</td><td class="n">{{.Attempts}}</td><td>{{template "time" .FirstDenied}}</td><td>{{template "time" .LastDenied}}</td><td>{{template "list" .Codes}}</td></tr>
{{- else}}
<tr><td colspan="6">No denied attempts.</td></tr>
{{- end}}
</tbody>
</table>

<h2>Records</h2>
<table>
<thead><tr><th>#</th><th>Time</th><th>User</th><th>Action</th><th>Secret</th><th>System</th><th>Ticket</th><th>Reason</th><th>Outcome</th><th>Denial</th><th>Live check</th><th>Comment</th></tr></thead>
<tbody>
{{- if not .Records}}
<tr><td colspan="12">No records.</td></tr>
{{- end}}
{{end}}
{{- define "row"}}<tr class="{{.OutcomeClass}}"><td class="n">{{.Seq}}</td><td>{{template "time" .Time}}</td><td>{{.User}}</td><td>{{.Action}}</td><td>{{.Secret}}</td><td>{{.System}}</td><td>{{.Ticket}}</td><td class="text">{{.Reason}}</td><td class="outcome">{{.Outcome}}</td><td>{{if .DenialCode}}<code>{{.DenialCode}}</code> {{end}}{{.DenialMessage}}</td><td>{{.LiveCheck}}{{if .TicketStatus}} ({{.TicketStatus}}){{end}}{{if .FromCache}}, cached{{end}}</td><td>{{.Comment}}{{if .CommentDetail}}: {{.CommentDetail}}{{end}}</td></tr>
{{end}}
{{- define "foot"}}</tbody>
</table>
</body>
</html>
{{end}}`
