package ticketing_test

// View Ticket URL template tests: which templates are accepted, how the
// ticket number is encoded, and that resolving can never move the link to
// another scheme or host.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

const (
	ssTemplate        = "http://myticketingsystem/ticket.aspx?ticketid=$TICKETID"
	serviceNowTmpl    = "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID"
	serviceNowChgTmpl = "https://acme.service-now.com/nav_to.do?uri=change_request.do?sysparm_query=number=$TICKETID"
	// Secret Server's BMC sample with <midtier> and <server> filled in and
	// the space in 'Incident Number' percent-encoded (the sample as printed,
	// with the space, is accepted too: see TestResolveURLAcceptedTemplates).
	bmcTmpl    = "https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Incident%20Number'%3D%22$TICKETID%22"
	bmcChgTmpl = "https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Change+Number'%3D%22$TICKETID%22"
)

func templateValidator(t testing.TB, tmpl string, opts ...ticketing.Option) *ticketing.Validator {
	t.Helper()
	v, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.TicketRequired, URLTemplate: tmpl}, opts...)
	require.NoError(t, err, "template %q", tmpl)
	return v
}

func TestResolveURLAcceptedTemplates(t *testing.T) {
	tests := []struct {
		name, tmpl, ticket, want string
	}{
		{"Secret Server example", ssTemplate, "5125-242", "http://myticketingsystem/ticket.aspx?ticketid=5125-242"},
		{"ServiceNow incident", serviceNowTmpl, "INC0010001",
			"https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=INC0010001"},
		{"ServiceNow change", serviceNowChgTmpl, "CHG0000042",
			"https://acme.service-now.com/nav_to.do?uri=change_request.do?sysparm_query=number=CHG0000042"},
		{"BMC incident", bmcTmpl, "INC_CAL_0000001",
			"https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Incident%20Number'%3D%22INC_CAL_0000001%22"},
		{"BMC change", bmcChgTmpl, "CRQ_CAL_0000001",
			"https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Change+Number'%3D%22CRQ_CAL_0000001%22"},
		{"path", "https://jira.example.com/browse/$TICKETID", "OPS-42", "https://jira.example.com/browse/OPS-42"},
		{"port", "http://tickets.internal:8080/t/$TICKETID", "7", "http://tickets.internal:8080/t/7"},
		{"IPv6 host", "https://[2001:db8::1]:8443/t/$TICKETID", "7", "https://[2001:db8::1]:8443/t/7"},
		{"query without path", "https://tickets.example.com?id=$TICKETID", "7", "https://tickets.example.com?id=7"},
		{"fragment", "https://tickets.example.com/#/ticket/$TICKETID", "7", "https://tickets.example.com/#/ticket/7"},
		{"upper-case scheme", "HTTPS://Tickets.Example.com/t/$TICKETID", "7", "HTTPS://Tickets.Example.com/t/7"},
		{"every occurrence", "https://t.example.com/$TICKETID/view?id=$TICKETID#$TICKETID", "A 1",
			"https://t.example.com/A%201/view?id=A%201#A%201"},
		{"adjacent occurrences", "https://t.example.com/$TICKETID$TICKETID", "ab", "https://t.example.com/abab"},
		{"placeholder followed by text", "https://t.example.com/?q=$TICKETIDX", "7", "https://t.example.com/?q=7X"},
		{"dollar before placeholder", "https://t.example.com/?q=$$TICKETID", "7", "https://t.example.com/?q=$7"},
		{"lower-case $ticketid is literal text", "https://t.example.com/$ticketid/$TICKETID", "7",
			"https://t.example.com/$ticketid/7"},
		{"at sign in path is not user info", "https://t.example.com/$TICKETID@other.example", "7",
			"https://t.example.com/7@other.example"},
		{"ticket number is trimmed", ssTemplate, " \t5125-242\u3000", "http://myticketingsystem/ticket.aspx?ticketid=5125-242"},
		// Secret Server prints its BMC sample with a space; the space is
		// taken as %20 so it can be pasted unchanged.
		{"BMC sample as printed, with a space",
			"https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Incident Number'%3D%22$TICKETID%22",
			"INC_CAL_0000001",
			"https://midtier.example.com//arsys/forms/remedy/SHR%3ALandingConsole/Default+AdmSearchTicketWithQual&F304255610='Incident%20Number'%3D%22INC_CAL_0000001%22"},
		{"space in the path", "https://t.example.com/view ticket/$TICKETID", "7", "https://t.example.com/view%20ticket/7"},
		{"surrounding white space trimmed", " https://t.example.com/$TICKETID\n", "7", "https://t.example.com/7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := templateValidator(t, tt.tmpl)
			got, err := v.ResolveURL(tt.ticket)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			// Validate puts the same link in the Result.
			res, err := v.Validate(context.Background(), ticketing.Submission{TicketNumber: tt.ticket})
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.URL)
		})
	}
}

func TestResolveURLPercentEncoding(t *testing.T) {
	v := templateValidator(t, "https://t.example.com/view?id=$TICKETID")
	tests := []struct {
		ticket, want string
	}{
		{"ABCXYZabcxyz0189-._~", "ABCXYZabcxyz0189-._~"},
		{"a b", "a%20b"},
		{"a/b", "a%2Fb"},
		{"a?b", "a%3Fb"},
		{"a#b", "a%23b"},
		{"a&b=c", "a%26b%3Dc"},
		{"100%", "100%25"},
		{"%00", "%2500"},
		{"%2F", "%252F"},
		{"user@evil.com", "user%40evil.com"},
		{"@evil.com", "%40evil.com"},
		{"a:b", "a%3Ab"},
		{"a+b", "a%2Bb"},
		{"a;b,c", "a%3Bb%2Cc"},
		{`"><script>alert(1)</script>`, "%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"},
		{"'`\\^|{}[]!*$", "%27%60%5C%5E%7C%7B%7D%5B%5D%21%2A%24"},
		{"../../admin", "..%2F..%2Fadmin"},
		{"$TICKETID", "%24TICKETID"},
		{"javascript:alert(1)", "javascript%3Aalert%281%29"},
		{"//evil.com", "%2F%2Fevil.com"},
		{"é", "%C3%A9"},
		{"票", "%E7%A5%A8"},
		{"🎫", "%F0%9F%8E%AB"},
		{"a\u00a0b", "a%C2%A0b"},
		{"a\u3000b", "a%E3%80%80b"},
	}
	for _, tt := range tests {
		t.Run(tt.ticket, func(t *testing.T) {
			got, err := v.ResolveURL(tt.ticket)
			require.NoError(t, err)
			assert.Equal(t, "https://t.example.com/view?id="+tt.want, got)
			u, err := url.Parse(got)
			require.NoError(t, err)
			assert.Equal(t, "t.example.com", u.Host)
			assert.Equal(t, tt.ticket, u.Query().Get("id"), "the query decodes back to the ticket number")
		})
	}
}

func TestTemplateRejected(t *testing.T) {
	tests := []struct {
		name, tmpl string
	}{
		{"javascript scheme", "javascript:alert('$TICKETID')"},
		{"javascript scheme with slashes", "javascript://t.example.com/%0Aalert($TICKETID)"},
		{"ftp scheme", "ftp://t.example.com/$TICKETID"},
		{"data scheme", "data:text/html,$TICKETID"},
		{"file scheme", "file:///etc/$TICKETID"},
		{"mailto scheme", "mailto:$TICKETID@example.com"},
		{"relative path", "/ticket.aspx?ticketid=$TICKETID"},
		{"relative file", "ticket.aspx?ticketid=$TICKETID"},
		{"scheme-relative", "//t.example.com/$TICKETID"},
		{"no host", "http:///ticket/$TICKETID"},
		{"no slashes", "http:/ticket/$TICKETID"},
		{"opaque", "http:$TICKETID"},
		{"query only", "http:?id=$TICKETID"},
		{"no placeholder", "https://t.example.com/ticket"},
		{"lower-case placeholder only", "https://t.example.com/?id=$ticketid"},
		{"mixed-case placeholder only", "https://t.example.com/?id=$TicketId"},
		{"braced placeholder only", "https://t.example.com/?id=${TICKETID}"},
		{"placeholder as scheme", "$TICKETID://t.example.com/x"},
		{"placeholder in scheme", "http$TICKETID://t.example.com/x"},
		{"placeholder as host", "https://$TICKETID/x"},
		{"placeholder in host", "https://$TICKETID.example.com/x"},
		{"placeholder ends host", "https://example.com$TICKETID/x"},
		{"placeholder in host, also in path", "https://$TICKETID.example.com/$TICKETID"},
		{"placeholder in port", "https://t.example.com:$TICKETID/x"},
		{"placeholder in user info", "https://$TICKETID@t.example.com/x"},
		{"placeholder in password", "https://u:$TICKETID@t.example.com/x"},
		{"user info", "https://user@t.example.com/$TICKETID"},
		{"user and password", "https://user:secret@t.example.com/$TICKETID"},
		{"empty user info", "https://@t.example.com/$TICKETID"},
		{"space in the host", "https://t.exa mple.com/$TICKETID"},
		{"newline inside", "https://t.example.com/\n$TICKETID"},
		{"tab", "https://t.example.com/\t$TICKETID"},
		{"NUL", "https://t.example.com/\x00$TICKETID"},
		{"CRLF", "https://t.example.com/$TICKETID\r\nX-Injected: 1"},
		{"DEL", "https://t.example.com/\x7f$TICKETID"},
		{"non-ASCII host", "https://tïckets.example.com/$TICKETID"},
		{"non-ASCII path", "https://t.example.com/tïcket/$TICKETID"},
		{"bidi override", "https://t.example.com/\u202e$TICKETID"},
		{"invalid UTF-8", "https://t.example.com/\xff$TICKETID"},
		{"double quote", `https://t.example.com/"$TICKETID"`},
		{"angle brackets", "https://t.example.com/<$TICKETID>"},
		{"script", `https://t.example.com/"><script>$TICKETID`},
		{"backslash", `https://t.example.com\@evil.com/$TICKETID`},
		{"backquote", "https://t.example.com/`$TICKETID`"},
		{"braces", "https://t.example.com/{$TICKETID}"},
		{"bad percent-encoding", "https://t.example.com/%zz/$TICKETID"},
		{"bad port", "https://t.example.com:80x/$TICKETID"},
		{"too long", "https://t.example.com/$TICKETID?pad=" + strings.Repeat("a", 8192)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ticketing.NewValidator(ticketing.TicketSystem{URLTemplate: tt.tmpl})
			require.ErrorIs(t, err, ticketing.ErrInvalidTemplate)
			assert.Nil(t, v)
			requireSafeErrorText(t, err)
		})
	}

	// A long template that is otherwise fine is accepted: the limit is
	// about hostile sizes, not real ones.
	templateValidator(t, "https://t.example.com/$TICKETID?pad="+strings.Repeat("a", 1000))
}

func TestResolveURLErrors(t *testing.T) {
	t.Run("no template", func(t *testing.T) {
		v, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.TicketRequired})
		require.NoError(t, err)
		got, err := v.ResolveURL("INC0000001")
		require.NoError(t, err)
		assert.Empty(t, got)
		res, err := v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC0000001"})
		require.NoError(t, err)
		assert.Empty(t, res.URL)
	})

	v := templateValidator(t, ssTemplate)
	tests := []struct {
		name, ticket string
		want         error
	}{
		{"empty", "", ticketing.ErrTicketRequired},
		{"white space only", " \t\u3000\r\n", ticketing.ErrTicketRequired},
		{"NUL", "5125\x00242", ticketing.ErrMalformed},
		{"CRLF", "5125\r\n242", ticketing.ErrMalformed},
		{"bidi override", "5125\u202e242", ticketing.ErrMalformed},
		{"zero-width space", "5125\u200b242", ticketing.ErrMalformed},
		{"invalid UTF-8", "5125\xff", ticketing.ErrMalformed},
		{"too long", strings.Repeat("9", 129), ticketing.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.ResolveURL(tt.ticket)
			require.ErrorIs(t, err, tt.want)
			var ve *ticketing.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, ticketing.FieldTicketNumber, ve.Field)
			assert.Empty(t, got)
		})
	}

	// ResolveURL uses the Validator's limits.
	small := templateValidator(t, ssTemplate, ticketing.WithMaxTicketLength(4))
	_, err := small.ResolveURL("12345")
	assert.ErrorIs(t, err, ticketing.ErrMalformed)

	// A reason-only submission has no ticket number, so no link.
	ro, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.ReasonRequired, URLTemplate: ssTemplate})
	require.NoError(t, err)
	res, err := ro.Validate(context.Background(), ticketing.Submission{Reason: "because"})
	require.NoError(t, err)
	if d := cmp.Diff(ticketing.Result{Reason: "because"}, res); d != "" {
		t.Errorf("Result (-want +got):\n%s", d)
	}
}

// ResolveURL deliberately does not apply Pattern: it links ticket numbers
// already in the audit trail, some recorded under an older pattern, and a
// link is a display concern, not an access decision. Running the admin's
// regex here would also expose link rendering to pattern timeouts. The
// encoding keeps any such ticket number from changing the link's target.
func TestResolveURLDoesNotApplyPattern(t *testing.T) {
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Mode: ticketing.TicketRequired, Pattern: `^INC\d{7}$`, URLTemplate: ssTemplate,
	})
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "CHG-1"})
	require.ErrorIs(t, err, ticketing.ErrTicketFormat, "Validate applies the pattern")

	got, err := v.ResolveURL("CHG-1")
	require.NoError(t, err, "ResolveURL does not")
	assert.Equal(t, "http://myticketingsystem/ticket.aspx?ticketid=CHG-1", got)

	// Not even a catastrophic pattern is run.
	redos, err := ticketing.NewValidator(ticketing.TicketSystem{Pattern: `^(a+)+$`, URLTemplate: ssTemplate})
	require.NoError(t, err)
	got, err = redos.ResolveURL(strings.Repeat("a", 40) + "!")
	require.NoError(t, err)
	assert.Equal(t, "http://myticketingsystem/ticket.aspx?ticketid="+strings.Repeat("a", 40)+"%21", got)
}

// refTrim is the reference for trimming: surrounding Unicode white space.
func refTrim(s string) string { return strings.TrimFunc(s, unicode.IsSpace) }

// refEncode is the reference percent-encoding, written independently of
// the package: unreserved ASCII stays, every other byte becomes %XX.
func refEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) || strings.IndexByte("-._~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// refTicketOK is the reference for ticket-number hygiene on trimmed text:
// valid UTF-8, no control, format or line/paragraph separator characters,
// at most max runes.
func refTicketOK(s string, max int) bool {
	if !utf8.ValidString(s) {
		return false
	}
	n := 0
	for _, r := range s {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
		n++
	}
	return n <= max
}

// hostileRunes are pieces the random ticket numbers are built from.
var hostileRunes = []string{
	"/", "?", "#", "@", ":", "%", "&", "=", "+", ";", "\\", "..", " ", "\"", "'", "<", ">", "`",
	"\u00a0", "\u3000", "é", "票", "🎫", "$TICKETID", "%2F", "%00", "\u202e", "\u200b", "\x00", "\r\n",
	"\t", "javascript:", "//evil.com", "@evil.com", "http://", "[", "]", "\x7f", "\u0085", "\u2028",
}

func randomTicket(rng *rand.Rand) string {
	var b strings.Builder
	for n := rng.IntN(24); n > 0; n-- {
		switch k := rng.IntN(10); {
		case k == 0:
			b.WriteByte(byte(rng.IntN(256))) // any byte, invalid UTF-8 included
		case k < 5:
			b.WriteByte(byte(0x21 + rng.IntN(0x5e))) // printable ASCII
		default:
			b.WriteString(hostileRunes[rng.IntN(len(hostileRunes))])
		}
	}
	return b.String()
}

// Property: whatever the ticket number, a resolved URL parses, keeps the
// template's scheme and host, has no user info, and is exactly the template
// with the encoded ticket number in place of each $TICKETID.
func TestResolveURLKeepsSchemeAndHost(t *testing.T) {
	templates := []string{
		ssTemplate,
		serviceNowTmpl,
		bmcTmpl,
		"https://jira.example.com/browse/$TICKETID",
		"http://tickets.internal:8080/$TICKETID?x=$TICKETID#$TICKETID",
		"https://[2001:db8::1]:8443/t?id=$TICKETID",
		"https://t.example.com?$TICKETID",
		"https://t.example.com#$TICKETID",
		"HTTPS://T.Example.com/$TICKETID@x",
	}
	rng := rand.New(rand.NewPCG(20240601, 42))
	for _, tmpl := range templates {
		t.Run(tmpl, func(t *testing.T) {
			v := templateValidator(t, tmpl)
			base, err := url.Parse(tmpl)
			require.NoError(t, err)
			resolved := 0
			for range 5000 {
				in := randomTicket(rng)
				got, err := v.ResolveURL(in)
				ticket := refTrim(in)
				switch {
				case ticket == "":
					require.ErrorIs(t, err, ticketing.ErrTicketRequired, "%q", in)
					continue
				case !refTicketOK(ticket, ticketing.DefaultMaxTicketLength):
					require.ErrorIs(t, err, ticketing.ErrMalformed, "%q", in)
					continue
				}
				require.NoError(t, err, "%q", in)
				resolved++
				require.Equal(t, strings.ReplaceAll(tmpl, ticketing.TicketIDPlaceholder, refEncode(ticket)), got, "%q", in)
				u, err := url.Parse(got)
				require.NoError(t, err, "%q -> %q", in, got)
				require.Equal(t, base.Scheme, u.Scheme, "%q -> %q", in, got)
				require.Equal(t, base.Host, u.Host, "%q -> %q", in, got)
				require.Nil(t, u.User, "%q -> %q", in, got)
				require.Empty(t, u.Opaque, "%q -> %q", in, got)
			}
			require.Greater(t, resolved, 1000, "too few random ticket numbers passed hygiene for the property to mean much")
		})
	}
}

func TestResolveURLAllocations(t *testing.T) {
	v := templateValidator(t, "https://t.example.com/$TICKETID?id=$TICKETID")
	for _, ticket := range []string{"INC0000001", "  needs trimming\t", "a b/é?#票"} {
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := v.ResolveURL(ticket); err != nil {
				panic(err)
			}
		})
		assert.LessOrEqual(t, allocs, 1.0, "ResolveURL(%q)", ticket)
	}

	none, err := ticketing.NewValidator(ticketing.TicketSystem{})
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := none.ResolveURL("INC0000001"); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "ResolveURL without a template")
}

func TestValidateAllocations(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		sys    ticketing.TicketSystem
		sub    ticketing.Submission
		max    float64
		noRace bool // regexp2 keeps its runners in a sync.Pool, which -race drains at random
	}{
		{"no pattern", ticketing.TicketSystem{Mode: ticketing.TicketAndReasonRequired},
			ticketing.Submission{TicketNumber: "INC0000001", Reason: "patching"}, 0, false},
		{"no pattern, non-ASCII and trimming", ticketing.TicketSystem{Mode: ticketing.TicketAndReasonRequired},
			ticketing.Submission{TicketNumber: "\u3000Änderung-42 ", Reason: " line 1\nline 2 "}, 0, false},
		{"reason only", ticketing.TicketSystem{Mode: ticketing.ReasonRequired},
			ticketing.Submission{Reason: "patching"}, 0, false},
		{"pattern", ticketing.TicketSystem{Mode: ticketing.TicketAndReasonRequired, Pattern: `^INC[\d]{7}$`},
			ticketing.Submission{TicketNumber: "INC0000001", Reason: "patching"}, 0, true},
		{"pattern and template", ticketing.TicketSystem{Mode: ticketing.TicketAndReasonRequired,
			Pattern: `^INC[\d]{7}$`, URLTemplate: serviceNowTmpl},
			ticketing.Submission{TicketNumber: "INC0000001", Reason: "patching"}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.noRace && raceDetectorOn() {
				t.Skip("sync.Pool drops entries at random under -race")
			}
			v, err := ticketing.NewValidator(tt.sys)
			require.NoError(t, err)
			allocs := testing.AllocsPerRun(200, func() {
				if _, err := v.Validate(ctx, tt.sub); err != nil {
					panic(err)
				}
			})
			assert.LessOrEqual(t, allocs, tt.max)
		})
	}
}
