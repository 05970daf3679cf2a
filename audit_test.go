package ticketing_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// parsedTicketLink is what an HTML fragment from TicketLinkHTML holds.
type parsedTicketLink struct {
	Linked bool   // the fragment is one <a> element
	Href   string // its href, entity-decoded
	Rel    string // its rel, entity-decoded
	Text   string // the text content, entity-decoded
}

// ticketLinkShape is the only shape a link may take: one <a> with href and
// rel in this order, and text without markup. Nothing else may be present.
var ticketLinkShape = regexp.MustCompile(`^<a href="([^"<>]*)" rel="noopener noreferrer">([^<>]*)</a>$`)

// parseTicketLink parses out strictly: either text without any markup, or
// exactly one <a href=... rel="noopener noreferrer"> element around text.
// It uses encoding/xml, which accepts no unbalanced tag, unquoted attribute
// or unknown entity, and cross-checks the result with a regular expression
// and html.UnescapeString.
func parseTicketLink(t *testing.T, out string) parsedTicketLink {
	t.Helper()
	var p parsedTicketLink
	dec := xml.NewDecoder(strings.NewReader("<root>" + out + "</root>"))
	dec.Strict = true
	var text strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "output is not well-formed markup: %s", out)
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				require.Equal(t, "root", tok.Name.Local)
				continue
			}
			require.Equal(t, 2, depth, "nested element in %s", out)
			require.False(t, p.Linked, "more than one element in %s", out)
			require.Equal(t, "a", tok.Name.Local, "only <a> may appear in %s", out)
			require.Len(t, tok.Attr, 2, "<a> must have exactly href and rel in %s", out)
			require.Equal(t, "href", tok.Attr[0].Name.Local)
			require.Equal(t, "rel", tok.Attr[1].Name.Local)
			p.Linked, p.Href, p.Rel = true, tok.Attr[0].Value, tok.Attr[1].Value
		case xml.EndElement:
			depth--
		case xml.CharData:
			text.Write(tok)
		default:
			t.Fatalf("unexpected %T in %s", tok, out)
		}
	}
	p.Text = text.String()

	if p.Linked {
		m := ticketLinkShape.FindStringSubmatch(out)
		require.NotNil(t, m, "link not in the one allowed shape: %s", out)
		assert.Equal(t, p.Href, html.UnescapeString(m[1]), "href")
		assert.Equal(t, p.Text, html.UnescapeString(m[2]), "link text")
	} else {
		require.NotContains(t, out, "<", "plain text must not hold markup: %s", out)
		require.NotContains(t, out, ">", "plain text must be escaped: %s", out)
		require.NotContains(t, out, `"`, "plain text must be escaped: %s", out)
		require.NotContains(t, out, "'", "plain text must be escaped: %s", out)
		assert.Equal(t, p.Text, html.UnescapeString(out), "text")
	}
	return p
}

func TestTicketLinkHTML(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ticket string
		url    string
		// want is the exact output; wantHref is the decoded href ("" when
		// the ticket number must not be linked).
		want     string
		wantHref string
	}{
		{
			name:     "https link",
			ticket:   "INC0001234",
			url:      "https://snow.example.com/incident?number=INC0001234",
			want:     `<a href="https://snow.example.com/incident?number=INC0001234" rel="noopener noreferrer">INC0001234</a>`,
			wantHref: "https://snow.example.com/incident?number=INC0001234",
		},
		{
			name:     "http link",
			ticket:   "5125-242",
			url:      "http://myticketingsystem/ticket.aspx?ticketid=5125-242",
			want:     `<a href="http://myticketingsystem/ticket.aspx?ticketid=5125-242" rel="noopener noreferrer">5125-242</a>`,
			wantHref: "http://myticketingsystem/ticket.aspx?ticketid=5125-242",
		},
		{
			name:     "script in ticket number and URL",
			ticket:   "<script>alert(1)</script>",
			url:      "https://x.example/a?x=1&y=<script>",
			want:     `<a href="https://x.example/a?x=1&amp;y=%3cscript%3e" rel="noopener noreferrer">&lt;script&gt;alert(1)&lt;/script&gt;</a>`,
			wantHref: "https://x.example/a?x=1&y=%3cscript%3e",
		},
		{
			name:     "attribute break-out attempt",
			ticket:   `"onmouseover="alert(1)`,
			url:      `https://x.example/a?q="onmouseover=alert(1)`,
			want:     `<a href="https://x.example/a?q=%22onmouseover=alert%281%29" rel="noopener noreferrer">&#34;onmouseover=&#34;alert(1)</a>`,
			wantHref: "https://x.example/a?q=%22onmouseover=alert%281%29",
		},
		{
			name:     "ampersand and apostrophe",
			ticket:   "a&b'c",
			url:      "https://x.example/a?q='x'&r=1",
			want:     `<a href="https://x.example/a?q=%27x%27&amp;r=1" rel="noopener noreferrer">a&amp;b&#39;c</a>`,
			wantHref: "https://x.example/a?q=%27x%27&r=1",
		},
		{name: "javascript URL", ticket: "INC1", url: "javascript:alert(1)", want: "INC1"},
		{name: "javascript URL with a host", ticket: "INC1", url: "JavaScript://evil.com/%0aalert(1)", want: "INC1"},
		{name: "data URL", ticket: "INC1", url: "data:text/html,<script>alert(1)</script>", want: "INC1"},
		{name: "vbscript URL", ticket: "INC1", url: "vbscript:msgbox(1)", want: "INC1"},
		{name: "ftp URL", ticket: "INC1", url: "ftp://files.example.com/INC1", want: "INC1"},
		{name: "mailto URL", ticket: "INC1", url: "mailto:desk@example.com", want: "INC1"},
		{name: "relative URL", ticket: "INC1", url: "/incident?number=INC1", want: "INC1"},
		{name: "schemeless URL", ticket: "INC1", url: "//evil.com/x", want: "INC1"},
		{name: "http without host", ticket: "INC1", url: "https:///path", want: "INC1"},
		{name: "opaque http", ticket: "INC1", url: "http:evil.com", want: "INC1"},
		{name: "empty URL", ticket: "INC1", url: "", want: "INC1"},
		{
			name:   "escaped text when not linked",
			ticket: `<img src=x onerror="alert(1)">&`,
			url:    "javascript:alert(1)",
			want:   `&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;`,
		},
		{name: "no ticket number", ticket: "", url: "https://x.example/a", want: ""},
		{name: "no ticket number and no URL", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := ticketing.AuditRecord{TicketNumber: tc.ticket, URL: tc.url}
			out := string(rec.TicketLinkHTML())
			assert.Equal(t, tc.want, out)
			if tc.ticket == "" {
				return
			}
			p := parseTicketLink(t, out)
			assert.Equal(t, tc.ticket, p.Text, "text content must round-trip to the ticket number")
			require.Equal(t, tc.wantHref != "", p.Linked, "linked")
			if p.Linked {
				assert.Equal(t, tc.wantHref, p.Href)
				assert.Equal(t, "noopener noreferrer", p.Rel)
			}
		})
	}
}

// TestTicketLinkHTMLHostile crosses hostile ticket numbers with hostile and
// harmless URLs: the output always has the one allowed shape, the text is
// the ticket number, and a link goes only to the record's own http(s) URL.
func TestTicketLinkHTMLHostile(t *testing.T) {
	tickets := []string{
		"INC0001234",
		"<script>alert(1)</script>",
		`"><script>alert(1)</script>`,
		`' onclick='alert(1)`,
		`" onmouseover="alert(1)`,
		"</a><a href=javascript:alert(1)>x",
		"&amp;&lt;&#34;",
		"]]><!--",
		"{{.URL}}",
		"a+b=c; d",
		"é€😀",
		`INC\u{202E}1`,
	}
	urls := []struct {
		url  string
		link bool
	}{
		{"https://snow.example.com/incident?number=INC1", true},
		{"http://t.example/browse/OPS-1#top", true},
		{`https://x.example/"><script>alert(1)</script>`, true},
		{"https://x.example/a?q=' onclick='alert(1)", true},
		{"https://x.example/a b?c=d e", true},
		{"javascript:alert(document.cookie)", false},
		{"jAvAsCrIpT:alert(1)", false},
		{" javascript:alert(1)", false},
		{"data:text/html;base64,PHNjcmlwdD4=", false},
		{"vbscript:msgbox", false},
		{"//evil.com/", false},
		{"/local", false},
		{"evil.com", false},
		{"", false},
	}
	for _, ticket := range tickets {
		for _, u := range urls {
			t.Run(fmt.Sprintf("%q/%q", ticket, u.url), func(t *testing.T) {
				out := string(ticketing.AuditRecord{TicketNumber: ticket, URL: u.url}.TicketLinkHTML())
				p := parseTicketLink(t, out)
				assert.Equal(t, ticket, p.Text, "text content must round-trip to the ticket number")
				require.Equal(t, u.link, p.Linked, "linked: %s", out)
				if !p.Linked {
					return
				}
				assert.Equal(t, "noopener noreferrer", p.Rel)
				got, err := url.Parse(p.Href)
				require.NoError(t, err, "href %q", p.Href)
				want, err := url.Parse(u.url)
				require.NoError(t, err)
				assert.Equal(t, want.Scheme, strings.ToLower(got.Scheme), "scheme")
				assert.Equal(t, want.Host, got.Host, "host")
				gotPath, err := url.PathUnescape(got.EscapedPath())
				require.NoError(t, err)
				assert.Equal(t, want.Path, gotPath, "path")
			})
		}
	}
}

// TestTicketLinkHTMLFromAccessCheck renders records the access check wrote:
// a granted one links through its resolved URL, a denied hostile one is
// inert text.
func TestTicketLinkHTMLFromAccessCheck(t *testing.T) {
	reg, _ := newAccessRegistry(t, fixtureStandard)
	ctx := context.Background()

	granted, err := reg.CheckAccess(ctx, ticketing.AccessRequest{User: "alice", Secret: accessApprovalSecret,
		Action: ticketing.ActionRequestAccess, TicketSystemID: "jira", Submission: ticketing.Submission{TicketNumber: "OPS-42"}})
	require.NoError(t, err)
	p := parseTicketLink(t, string(granted.TicketLinkHTML()))
	assert.True(t, p.Linked)
	assert.Equal(t, "https://jira.example.com/browse/OPS-42", p.Href)
	assert.Equal(t, "OPS-42", p.Text)

	for _, hostile := range []string{`"><script>alert(1)</script>`, "OPS-1\u202e<b>", "OPS-\x00<i>"} {
		denied, err := reg.CheckAccess(ctx, ticketing.AccessRequest{User: "alice", Secret: accessApprovalSecret,
			Action: ticketing.ActionRequestAccess, TicketSystemID: "jira", Submission: ticketing.Submission{TicketNumber: hostile}})
		require.Error(t, err)
		require.NotEmpty(t, denied.TicketNumber)
		p := parseTicketLink(t, string(denied.TicketLinkHTML()))
		assert.False(t, p.Linked, "a denied record has no link")
		assert.Equal(t, denied.TicketNumber, p.Text)
	}
}

// accessSentinels lists every exported sentinel error with its stable code.
var accessSentinels = []struct {
	name string
	err  error
	code string
}{
	{"ErrTicketRequired", ticketing.ErrTicketRequired, "ticket_required"},
	{"ErrReasonRequired", ticketing.ErrReasonRequired, "reason_required"},
	{"ErrTicketOrReasonRequired", ticketing.ErrTicketOrReasonRequired, "ticket_or_reason_required"},
	{"ErrTicketNotAccepted", ticketing.ErrTicketNotAccepted, "ticket_not_accepted"},
	{"ErrTicketFormat", ticketing.ErrTicketFormat, "ticket_format"},
	{"ErrMalformed", ticketing.ErrMalformed, "malformed"},
	{"ErrPatternTimeout", ticketing.ErrPatternTimeout, "pattern_timeout"},
	{"ErrInvalidPattern", ticketing.ErrInvalidPattern, "invalid_pattern"},
	{"ErrInvalidTemplate", ticketing.ErrInvalidTemplate, "invalid_template"},
	{"ErrInvalidMode", ticketing.ErrInvalidMode, "invalid_mode"},
	{"ErrInvalidSystem", ticketing.ErrInvalidSystem, "invalid_system"},
	{"ErrNotFound", ticketing.ErrNotFound, "not_found"},
	{"ErrInactive", ticketing.ErrInactive, "inactive"},
	{"ErrNoDefault", ticketing.ErrNoDefault, "no_default"},
	{"ErrInvalidRequest", ticketing.ErrInvalidRequest, "invalid_request"},
	{"ErrAuditFailed", ticketing.ErrAuditFailed, "audit_failed"},
	// Registry errors: not produced by the access check, but a host that
	// reports Registry errors through DenialCode needs them told apart.
	{"ErrDuplicateName", ticketing.ErrDuplicateName, "duplicate_name"},
	{"ErrDuplicateID", ticketing.ErrDuplicateID, "duplicate_id"},
	{"ErrVersionConflict", ticketing.ErrVersionConflict, "version_conflict"},
	{"ErrDefaultSystem", ticketing.ErrDefaultSystem, "default_system"},
	// The live check.
	{"ErrTicketNotFound", ticketing.ErrTicketNotFound, "ticket_not_found"},
	{"ErrTicketClosed", ticketing.ErrTicketClosed, "ticket_closed"},
	{"ErrCheckerUnavailable", ticketing.ErrCheckerUnavailable, "checker_unavailable"},
	{"ErrCheckerAuth", ticketing.ErrCheckerAuth, "checker_auth"},
	{"ErrCommentFailed", ticketing.ErrCommentFailed, "comment_failed"},
	// The audit trail.
	{"ErrInvalidQuery", ticketing.ErrInvalidQuery, "invalid_query"},
	{"ErrChainBroken", ticketing.ErrChainBroken, "chain_broken"},
}

func TestDenialCode(t *testing.T) {
	for _, s := range accessSentinels {
		t.Run(s.name, func(t *testing.T) {
			if !assert.Equal(t, s.code, ticketing.DenialCode(s.err), "bare sentinel") {
				return
			}
			for _, tc := range []struct {
				how string
				err error
			}{
				{"wrapped", fmt.Errorf("checking: %w", s.err)},
				{"wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", s.err))},
				{"in a ValidationError", &ticketing.ValidationError{Field: ticketing.FieldTicketNumber, Message: "m", Err: s.err}},
				{"wrapped ValidationError", fmt.Errorf("x: %w", &ticketing.ValidationError{Err: s.err})},
				{"joined with an unknown error", errors.Join(errors.New("other"), s.err)},
			} {
				assert.Equal(t, s.code, ticketing.DenialCode(tc.err), tc.how)
			}
		})
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"unknown error", errors.New("boom"), "error"},
		{"same text as a sentinel, not wrapping it", errors.New(ticketing.ErrNotFound.Error()), "error"},
		{"ValidationError without a sentinel", &ticketing.ValidationError{Message: "m"}, "error"},
		{"context.Canceled", context.Canceled, "canceled"},
		{"wrapped context.Canceled", fmt.Errorf("store: %w", context.Canceled), "canceled"},
		{"context.DeadlineExceeded", context.DeadlineExceeded, "deadline_exceeded"},
		{"wrapped context.DeadlineExceeded", fmt.Errorf("store: %w", context.DeadlineExceeded), "deadline_exceeded"},
		{"a sentinel wins over a context error", fmt.Errorf("%w: %w", context.Canceled, ticketing.ErrNotFound), "not_found"},
		{"the audit failure wins over the original denial",
			fmt.Errorf("%w: disk full (denied: %w)", ticketing.ErrAuditFailed, ticketing.ErrReasonRequired), "audit_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ticketing.DenialCode(tc.err))
		})
	}
	t.Run("real context errors", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(errors.New("shutting down"))
		assert.Equal(t, "canceled", ticketing.DenialCode(ctx.Err()))
		ctx, cancel2 := context.WithTimeout(context.Background(), -time.Second)
		defer cancel2()
		assert.Equal(t, "deadline_exceeded", ticketing.DenialCode(ctx.Err()))
	})
}

// TestDenialCodesDistinct checks that every exported sentinel has its own
// code, and that accessSentinels lists every exported Err variable of the
// package, so a new sentinel cannot be forgotten.
func TestDenialCodesDistinct(t *testing.T) {
	seen := map[string]string{}
	codeShape := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)
	for _, s := range accessSentinels {
		code := ticketing.DenialCode(s.err)
		assert.NotContains(t, []string{"", "error", "canceled", "deadline_exceeded"}, code, "%s has no code of its own", s.name)
		assert.Regexp(t, codeShape, code, s.name)
		if other, dup := seen[code]; dup && code != "error" {
			t.Errorf("%s and %s share the code %q", s.name, other, code)
		}
		seen[code] = s.name
	}

	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var declared []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		if f.Name.Name != "ticketing" {
			continue
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	require.NotEmpty(t, declared)
	var listed []string
	for _, s := range accessSentinels {
		listed = append(listed, s.name)
	}
	slices.Sort(declared)
	slices.Sort(listed)
	assert.Empty(t, cmp.Diff(declared, listed), "exported sentinels (-declared +listed in accessSentinels)")
}

func TestActionValid(t *testing.T) {
	for _, tc := range []struct {
		a    ticketing.Action
		want bool
	}{
		{ticketing.ActionView, true},
		{ticketing.ActionRequestAccess, true},
		{"view", true},
		{"request_access", true},
		{"", false},
		{"View", false},
		{"VIEW", false},
		{" view", false},
		{"view ", false},
		{"request-access", false},
		{"requestAccess", false},
		{"delete", false},
		{"view\x00", false},
	} {
		assert.Equal(t, tc.want, tc.a.Valid(), "Action(%q).Valid()", string(tc.a))
	}
}

func TestAuditRecordJSON(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	for _, tc := range []struct {
		name   string
		rec    ticketing.AuditRecord
		golden string
	}{
		{
			name: "granted",
			rec: ticketing.AuditRecord{
				Seq: 42, Time: at, Action: ticketing.ActionView,
				SecretID: "sec-1", SecretName: "prod-db root", User: "alice",
				TicketSystemID: "snow", TicketSystemName: "ServiceNow",
				TicketNumber: "INC0001234", Reason: "restart the stuck job",
				URL:     "https://snow.example.com/incident?number=INC0001234",
				Outcome: ticketing.OutcomeGranted,
			},
			golden: `{
  "seq": 42,
  "time": "2025-03-14T15:09:26.535897932Z",
  "action": "view",
  "secretId": "sec-1",
  "secretName": "prod-db root",
  "user": "alice",
  "ticketSystemId": "snow",
  "ticketSystemName": "ServiceNow",
  "ticketNumber": "INC0001234",
  "reason": "restart the stuck job",
  "url": "https://snow.example.com/incident?number=INC0001234",
  "outcome": "granted"
}`,
		},
		{
			name: "denied",
			rec: ticketing.AuditRecord{
				Seq: 43, Time: at, Action: ticketing.ActionRequestAccess,
				SecretID: "sec-2", User: "bob",
				TicketSystemID: "snow", TicketSystemName: "ServiceNow",
				TicketNumber: `"><script>\u{202E}`,
				Outcome:      ticketing.OutcomeDenied,
				DenialCode:   "malformed", DenialMessage: "Incident number contains characters that are not allowed",
			},
			golden: `{
  "seq": 43,
  "time": "2025-03-14T15:09:26.535897932Z",
  "action": "request_access",
  "secretId": "sec-2",
  "user": "bob",
  "ticketSystemId": "snow",
  "ticketSystemName": "ServiceNow",
  "ticketNumber": "\"\u003e\u003cscript\u003e\\u{202E}",
  "outcome": "denied",
  "denialCode": "malformed",
  "denialMessage": "Incident number contains characters that are not allowed"
}`,
		},
		{
			name: "minimal",
			rec:  ticketing.AuditRecord{Seq: 1, Time: at, Action: ticketing.ActionView, SecretID: "s", User: "u", Outcome: ticketing.OutcomeGranted},
			golden: `{
  "seq": 1,
  "time": "2025-03-14T15:09:26.535897932Z",
  "action": "view",
  "secretId": "s",
  "user": "u",
  "outcome": "granted"
}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.MarshalIndent(tc.rec, "", "  ")
			require.NoError(t, err)
			assert.Equal(t, tc.golden, string(got))

			var back ticketing.AuditRecord
			require.NoError(t, json.Unmarshal([]byte(tc.golden), &back))
			assert.Empty(t, cmp.Diff(tc.rec, back), "round trip (-want +got)")
		})
	}
}
