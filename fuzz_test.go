package ticketing_test

// Fuzz targets for Validate, ResolveURL and ParseRequirementMode. Each
// checks its output against reference rules written independently of the
// package, so a fuzzer finds wrong answers, not only panics.
//
//	go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 10s .

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// fuzzSentinels are the errors a Validate or ResolveURL failure may wrap.
var fuzzSentinels = []error{
	ticketing.ErrTicketRequired, ticketing.ErrReasonRequired, ticketing.ErrTicketOrReasonRequired,
	ticketing.ErrTicketFormat, ticketing.ErrMalformed, ticketing.ErrPatternTimeout,
}

type fuzzSystem struct {
	sys                  ticketing.TicketSystem
	re2                  bool
	maxTicket, maxReason int
}

// fuzzSystems are fixed: the fuzzer picks one by index. Their patterns are
// free of catastrophic backtracking so each input runs fast.
var fuzzSystems = []fuzzSystem{
	{sys: ticketing.TicketSystem{Label: "Incident number", Mode: ticketing.TicketAndReasonRequired,
		Pattern: `^INC[\d]{7}$`, ErrorMessage: "Use the INC0000000 format.", URLTemplate: serviceNowTmpl}},
	{sys: ticketing.TicketSystem{Label: "Issue key", Mode: ticketing.TicketOrReasonRequired,
		Pattern: `^(?<project>[A-Z][A-Z0-9]{1,9})-(?<num>\d{1,7})$`, URLTemplate: "https://jira.example.com/browse/$TICKETID"}},
	{sys: ticketing.TicketSystem{Mode: ticketing.ReasonRequired,
		URLTemplate: "http://tickets.internal:8080/t/$TICKETID?id=$TICKETID#$TICKETID"}, maxTicket: 16, maxReason: 64},
	{sys: ticketing.TicketSystem{Label: "Change", Mode: ticketing.TicketRequired,
		Pattern: `(?i)^(?:CHG|PRB)(?!0{7})\d{7}$`}},
	{sys: ticketing.TicketSystem{Mode: ticketing.TicketOrReasonRequired,
		Pattern: `^\w+(?:-\w+)*$`, URLTemplate: "https://[2001:db8::1]:8443/t#$TICKETID"}, re2: true},
	{sys: ticketing.TicketSystem{Label: "Remedy ID", Mode: ticketing.TicketRequired,
		Pattern: `(?<=#)\d+`, URLTemplate: bmcTmpl}},
}

func (fs fuzzSystem) options() []ticketing.Option {
	var opts []ticketing.Option
	if fs.re2 {
		opts = append(opts, ticketing.WithRE2())
	}
	if fs.maxTicket > 0 {
		opts = append(opts, ticketing.WithMaxTicketLength(fs.maxTicket))
	}
	if fs.maxReason > 0 {
		opts = append(opts, ticketing.WithMaxReasonLength(fs.maxReason))
	}
	return opts
}

func (fs fuzzSystem) limits() (ticket, reason int) {
	ticket, reason = ticketing.DefaultMaxTicketLength, ticketing.DefaultMaxReasonLength
	if fs.maxTicket > 0 {
		ticket = fs.maxTicket
	}
	if fs.maxReason > 0 {
		reason = fs.maxReason
	}
	return ticket, reason
}

// refReasonOK is the reference for reason hygiene on trimmed text: valid
// UTF-8, tabs and line breaks allowed, other controls and bidi controls
// not, at most max runes.
func refReasonOK(s string, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
		if r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return false
		}
		n++
	}
	return n <= max
}

// refUnmet is DESIGN.md's requirement table: the errors allowed for a
// submission, or nil when the requirement is met.
func refUnmet(m ticketing.RequirementMode, hasTicket, hasReason bool) []error {
	switch {
	case hasTicket && hasReason:
		return nil
	case m == ticketing.ReasonRequired && !hasReason:
		return []error{ticketing.ErrReasonRequired}
	case m == ticketing.TicketAndReasonRequired && !hasTicket && !hasReason:
		return []error{ticketing.ErrTicketRequired, ticketing.ErrReasonRequired}
	case m == ticketing.TicketAndReasonRequired && !hasTicket:
		return []error{ticketing.ErrTicketRequired}
	case m == ticketing.TicketAndReasonRequired && !hasReason:
		return []error{ticketing.ErrReasonRequired}
	case m == ticketing.TicketOrReasonRequired && !hasTicket && !hasReason:
		return []error{ticketing.ErrTicketOrReasonRequired}
	case m == ticketing.TicketRequired && !hasTicket:
		return []error{ticketing.ErrTicketRequired}
	}
	return nil
}

// distinctive reports whether s holds something no error message of ours
// contains, so finding it in an error text means the input was echoed.
func distinctive(s string) bool {
	if len(s) < 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || strings.IndexByte(`<>"%$&@/\#{}`, s[i]) >= 0 {
			return true
		}
	}
	return false
}

func requireOneOf(t *testing.T, err error, allowed []error) {
	t.Helper()
	for _, a := range allowed {
		if errors.Is(err, a) {
			return
		}
	}
	t.Fatalf("error %v is none of %v", err, allowed)
}

// requireKeepsSchemeAndHost parses a resolved link and compares it with
// the template's scheme and host.
func requireKeepsSchemeAndHost(t *testing.T, tmpl, got string) {
	t.Helper()
	base, err := url.Parse(tmpl)
	require.NoError(t, err)
	u, err := url.Parse(got)
	require.NoError(t, err, "resolved URL %q does not parse", got)
	require.Equal(t, base.Scheme, u.Scheme, "scheme changed: %q -> %q", tmpl, got)
	require.Equal(t, base.Host, u.Host, "host changed: %q -> %q", tmpl, got)
	require.Nil(t, u.User, "user info appeared: %q", got)
	require.Empty(t, u.Opaque, "became opaque: %q", got)
}

func FuzzValidate(f *testing.F) {
	tickets := []string{
		"INC0000001", " INC0000001\t", "OPS-42", "CHG0000042", "prb1234567", "#12345", "5125-242",
		"", "   ", "\u3000", "Straße-1", "INC٠١٢٣٤٥٦",
		"INC\u202e1000", "INC\u2066", "\u200bINC0000001", "INC\ufeff", "INC\x000000001", "INC\r\n0000001",
		"INC0000001\r\nX-Injected: 1", `"><script>alert(1)</script>`, "../../etc/passwd", "%00", "%2F",
		"@evil.com", "user@evil.com/x", "$TICKETID", "javascript:alert(1)", "\xff\xfe", "INC\x7f",
		"\u0085INC0000001\u0085", "INC\u2028", strings.Repeat("A", 128), strings.Repeat("A", 129),
		strings.Repeat("票", 40),
	}
	// System 2 has small limits (16 and 64), so short seeds reach the
	// length checks; long seeds would only slow the fuzzer's minimizer.
	reasons := []string{"", " ", "Quarterly patching", "line 1\r\nline 2\tend", "\u202eevil", "nul\x00", strings.Repeat("r", 65)}
	for i, tk := range tickets {
		f.Add(uint8(i), tk, reasons[i%len(reasons)])
		f.Add(uint8(i+1), tk, "because")
	}

	validators := make([]*ticketing.Validator, len(fuzzSystems))
	oracles := make([]*regexp2.Regexp, len(fuzzSystems))
	for i, fs := range fuzzSystems {
		v, err := ticketing.NewValidator(fs.sys, fs.options()...)
		require.NoError(f, err)
		validators[i] = v
		if fs.sys.Pattern != "" {
			opt := regexp2.None
			if fs.re2 {
				opt = regexp2.RE2
			}
			re, err := regexp2.Compile(fs.sys.Pattern, opt)
			require.NoError(f, err)
			re.MatchTimeout = time.Second
			oracles[i] = re
		}
	}

	f.Fuzz(func(t *testing.T, idx uint8, rawTicket, rawReason string) {
		if len(rawTicket) > 1024 || len(rawReason) > 1024 {
			// Unit tests cover the default limits; huge inputs here only
			// make minimization crawl.
			t.Skip()
		}
		i := int(idx) % len(fuzzSystems)
		fs, v := fuzzSystems[i], validators[i]
		maxTicket, maxReason := fs.limits()
		ticket, reason := refTrim(rawTicket), refTrim(rawReason)
		ticketOK, reasonOK := refTicketOK(ticket, maxTicket), refReasonOK(reason, maxReason)

		res, err := v.Validate(context.Background(), ticketing.Submission{TicketNumber: rawTicket, Reason: rawReason})

		if err != nil {
			require.Equal(t, ticketing.Result{}, res, "a rejection returns the zero Result")
			var ve *ticketing.ValidationError
			require.ErrorAs(t, err, &ve, "%T %v", err, err)
			requireOneOf(t, ve.Err, fuzzSentinels)
			require.ErrorIs(t, err, ve.Err)
			require.NotEmpty(t, ve.Message)
			text := err.Error()
			require.True(t, utf8.ValidString(text))
			if distinctive(ticket) {
				require.NotContains(t, text, ticket, "error text echoes the ticket number")
			}
			if distinctive(reason) {
				require.NotContains(t, text, reason, "error text echoes the reason")
			}
		}

		// Hygiene comes first.
		if !ticketOK || !reasonOK {
			require.ErrorIs(t, err, ticketing.ErrMalformed, "ticket %q reason %q", rawTicket, rawReason)
			var ve *ticketing.ValidationError
			require.ErrorAs(t, err, &ve)
			if ve.Field == ticketing.FieldTicketNumber {
				require.False(t, ticketOK, "ticket %q blamed but clean", ticket)
			} else {
				require.Equal(t, ticketing.FieldReason, ve.Field)
				require.False(t, reasonOK, "reason %q blamed but clean", reason)
			}
			return
		}
		// Then the requirement.
		if unmet := refUnmet(fs.sys.Mode, ticket != "", reason != ""); unmet != nil {
			require.Error(t, err, "mode %v ticket %q reason %q", fs.sys.Mode, ticket, reason)
			requireOneOf(t, err, unmet)
			return
		}
		// Then the pattern, on any ticket number entered.
		if ticket != "" && oracles[i] != nil {
			match, oerr := oracles[i].MatchString(ticket)
			switch {
			case oerr != nil:
				require.ErrorIs(t, err, ticketing.ErrPatternTimeout, "oracle: %v", oerr)
				return
			case !match:
				require.ErrorIs(t, err, ticketing.ErrTicketFormat, "ticket %q pattern %q", ticket, fs.sys.Pattern)
				if fs.sys.ErrorMessage != "" {
					var ve *ticketing.ValidationError
					require.ErrorAs(t, err, &ve)
					require.Equal(t, fs.sys.ErrorMessage, ve.Message)
				}
				return
			}
		}

		require.NoError(t, err, "ticket %q reason %q", rawTicket, rawReason)
		require.Equal(t, ticket, res.TicketNumber)
		require.Equal(t, reason, res.Reason)
		if ticket == "" || fs.sys.URLTemplate == "" {
			require.Empty(t, res.URL)
			return
		}
		require.Equal(t, strings.ReplaceAll(fs.sys.URLTemplate, ticketing.TicketIDPlaceholder, refEncode(ticket)), res.URL)
		requireKeepsSchemeAndHost(t, fs.sys.URLTemplate, res.URL)
		link, err := v.ResolveURL(rawTicket)
		require.NoError(t, err)
		require.Equal(t, res.URL, link, "Validate and ResolveURL agree")
	})
}

// isUnreservedOrEscape reports whether s is only RFC 3986 unreserved
// characters and upper-case %XX escapes.
func isUnreservedOrEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~", c) >= 0:
		case c == '%' && i+2 < len(s) && strings.IndexByte("0123456789ABCDEF", s[i+1]) >= 0 &&
			strings.IndexByte("0123456789ABCDEF", s[i+2]) >= 0:
			i += 2
		default:
			return false
		}
	}
	return true
}

func FuzzResolveURL(f *testing.F) {
	templates := []string{
		ssTemplate, serviceNowTmpl, bmcTmpl,
		"https://jira.example.com/browse/$TICKETID",
		"http://tickets.internal:8080/$TICKETID?x=$TICKETID#$TICKETID",
		"https://[2001:db8::1]:8443/t?id=$TICKETID",
		"https://t.example.com?$TICKETID", "https://t.example.com#$TICKETID", "HTTPS://T.example.com/$TICKETID@x",
		"", "javascript:alert('$TICKETID')", "ftp://t.example.com/$TICKETID", "//t.example.com/$TICKETID",
		"https://$TICKETID.example.com/", "https://u:p@t.example.com/$TICKETID", "https://t.example.com:$TICKETID/",
		"https://t.example.com/$ticketid", "https://t.example.com/ $TICKETID", "http:$TICKETID", "http:///$TICKETID",
		"https://t.example.com\\@evil.com/$TICKETID", "https://@t.example.com/$TICKETID",
	}
	tickets := []string{
		"5125-242", " INC0000001 ", "", "  ", "a b/c?d#e&f=g%h@i:j", "é票🎫", "INC\u202e1", "INC\x00",
		"INC\r\nX: 1", `"><script>alert(1)</script>`, "../../admin", "%00", "@evil.com", "//evil.com",
		"$TICKETID", "\xff", strings.Repeat("9", 128), strings.Repeat("9", 129),
	}
	for i, tmpl := range templates {
		f.Add(tmpl, tickets[i%len(tickets)])
	}
	for i, tk := range tickets {
		f.Add(templates[i%len(templates)], tk)
	}

	f.Fuzz(func(t *testing.T, tmpl, rawTicket string) {
		if len(tmpl) > 1024 || len(rawTicket) > 1024 {
			t.Skip() // unit tests cover the length limits
		}
		v, err := ticketing.NewValidator(ticketing.TicketSystem{URLTemplate: tmpl})
		if err != nil {
			require.ErrorIs(t, err, ticketing.ErrInvalidTemplate)
			require.NotEmpty(t, tmpl, "the empty template means no link and is valid")
			requireSafeErrorText(t, err)
			return
		}
		if tmpl == "" {
			got, err := v.ResolveURL(rawTicket)
			require.NoError(t, err)
			require.Empty(t, got)
			return
		}
		// The template as the Validator uses it: trimmed, spaces as %20.
		tmpl = strings.ReplaceAll(strings.TrimSpace(tmpl), " ", "%20")

		// An accepted template follows the rules.
		for i := 0; i < len(tmpl); i++ {
			c := tmpl[i]
			require.True(t, c > ' ' && c < 0x7f && strings.IndexByte(`"<>`, c) < 0, "accepted template %q holds byte %#x", tmpl, c)
		}
		require.Contains(t, tmpl, ticketing.TicketIDPlaceholder)
		base, err := url.Parse(tmpl)
		require.NoError(t, err, "accepted template %q does not parse", tmpl)
		require.Contains(t, []string{"http", "https"}, base.Scheme)
		require.NotEmpty(t, base.Host)
		require.Nil(t, base.User)
		require.Empty(t, base.Opaque)
		require.NotContains(t, base.Host, ticketing.TicketIDPlaceholder)
		// The placeholder is outside the authority: replacing it with
		// anything encoded leaves scheme and host as they were.
		for _, stand := range []string{"X", "%2F%40%3A", ""} {
			requireKeepsSchemeAndHost(t, tmpl, strings.ReplaceAll(tmpl, ticketing.TicketIDPlaceholder, stand))
		}

		got, err := v.ResolveURL(rawTicket)
		ticket := refTrim(rawTicket)
		switch {
		case ticket == "":
			require.ErrorIs(t, err, ticketing.ErrTicketRequired)
			return
		case !refTicketOK(ticket, ticketing.DefaultMaxTicketLength):
			require.ErrorIs(t, err, ticketing.ErrMalformed, "%q", rawTicket)
			return
		}
		require.NoError(t, err, "%q", rawTicket)
		requireKeepsSchemeAndHost(t, tmpl, got)

		// got is the template's literal parts with one encoded chunk in
		// place of each placeholder; every chunk decodes to the ticket.
		parts := strings.Split(tmpl, ticketing.TicketIDPlaceholder)
		fixed := len(tmpl) - (len(parts)-1)*len(ticketing.TicketIDPlaceholder)
		extra := len(got) - fixed
		require.Zero(t, extra%(len(parts)-1), "%q", got)
		chunkLen := extra / (len(parts) - 1)
		rest := got
		for k, p := range parts {
			require.True(t, strings.HasPrefix(rest, p), "literal part %q missing from %q", p, got)
			rest = rest[len(p):]
			if k == len(parts)-1 {
				break
			}
			chunk := rest[:chunkLen]
			rest = rest[chunkLen:]
			require.True(t, isUnreservedOrEscape(chunk), "chunk %q is not fully encoded", chunk)
			decoded, err := url.PathUnescape(chunk)
			require.NoError(t, err)
			require.Equal(t, ticket, decoded)
		}
		require.Empty(t, rest)
	})
}

// refModeNames is every accepted name per mode: the API name and the UI
// labels from the reference (old and new UI).
var refModeNames = map[ticketing.RequirementMode][]string{
	ticketing.ReasonRequired:          {"ReasonOnlyRequired", "Reason Only Required", "Only Require Reason"},
	ticketing.TicketAndReasonRequired: {"BothRequired", "Both Required", "Require Both Ticket Number and Reason"},
	ticketing.TicketOrReasonRequired:  {"TicketNumberOrReasonRequired", "Ticket Number or Reason Required"},
	ticketing.TicketRequired:          {"TicketNumberOnlyRequired", "Ticket Number Only Required", "Only Require Ticket Number"},
}

func FuzzParseRequirementMode(f *testing.F) {
	for _, names := range refModeNames {
		for _, n := range names {
			f.Add(n)
			f.Add(" " + strings.ToUpper(n) + "\t")
		}
	}
	for _, s := range []string{"", "0", "3", "-1", "RequirementMode(1)", "Both", "Both\x00Required", "\u202eBothRequired", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ticketing.ParseRequirementMode(s)
		var u ticketing.RequirementMode
		uerr := u.UnmarshalText([]byte(s))
		want, known := ticketing.RequirementMode(-1), false
		for mode, names := range refModeNames {
			for _, n := range names {
				if strings.EqualFold(strings.TrimSpace(s), n) {
					want, known = mode, true
				}
			}
		}
		if err != nil {
			require.ErrorIs(t, err, ticketing.ErrInvalidMode)
			require.ErrorIs(t, uerr, ticketing.ErrInvalidMode)
			require.False(t, known, "%q names %v but was rejected", s, want)
			requireSafeErrorText(t, err)
			return
		}
		require.NoError(t, uerr)
		require.True(t, known, "%q accepted as %v", s, m)
		require.Equal(t, want, m)
		require.Equal(t, m, u)
		require.True(t, m.Valid())
		back, err := ticketing.ParseRequirementMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, back)
		text, err := m.MarshalText()
		require.NoError(t, err)
		require.Equal(t, m.String(), string(text))
	})
}
