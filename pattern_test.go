package ticketing_test

// Pattern tests: the .NET dialect by default, the RE2 option, IsMatch-style
// searching, invalid patterns, and the limits that keep a hostile pattern
// from hanging a request.

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// validateTicket runs a ticket number alone through a TicketRequired
// system with the given pattern.
func validateTicket(t *testing.T, pattern, ticket string, opts ...ticketing.Option) error {
	t.Helper()
	v, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: pattern}, opts...)
	require.NoError(t, err, "pattern %q", pattern)
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: ticket})
	return err
}

func TestPatternDialect(t *testing.T) {
	const (
		arabicIndic = "٠١٢٣٤٥٦" // U+0660..U+0666
		devanagari  = "०१२३४५६" // U+0966..U+096C
	)
	tests := []struct {
		name    string
		pattern string
		ticket  string
		dotnet  bool // matches in the default (.NET) dialect
		re2     bool // matches with WithRE2
	}{
		// Secret Server's own samples, pasted unchanged.
		{"SS sample", `^INC[\d]{7}$`, "INC0000001", true, true},
		{"SS sample too short", `^INC[\d]{7}$`, "INC000001", false, false},
		{"SS sample too long", `^INC[\d]{7}$`, "INC00000012", false, false},
		{"SS sample is case-sensitive", `^INC[\d]{7}$`, "inc0000001", false, false},
		{"SS sample, Arabic-Indic digits", `^INC[\d]{7}$`, "INC" + arabicIndic, true, false},
		{"BMC sample", `^INC_CAL_[\d]{7}$`, "INC_CAL_0000001", true, true},

		// Unicode classes by default, ASCII with RE2.
		{`\d Arabic-Indic`, `^INC\d{7}$`, "INC" + arabicIndic, true, false},
		{`\d Devanagari`, `^INC\d{7}$`, "INC" + devanagari, true, false},
		{`\d ASCII`, `^INC\d{7}$`, "INC0123456", true, true},
		{`\w Unicode letters`, `^\w+$`, "Straße", true, false},
		{`\w ASCII`, `^\w+$`, "Strasse_1", true, true},
		{`\s ideographic space`, `^A\sB$`, "A\u3000B", true, false},
		{`\s ASCII space`, `^A\sB$`, "A B", true, true},
		{`\p{Lu}`, `^\p{Lu}{3}-\d+$`, "ÄÖÜ-1", true, true},

		// Named groups, .NET syntax.
		{"named group", `^(?<prefix>INC|CHG)-(?<num>\d{4})$`, "CHG-0042", true, true},
		{"named group no match", `^(?<prefix>INC|CHG)-(?<num>\d{4})$`, "PRB-0042", false, false},
		{"named backreference", `^(?<c>[A-Z])\k<c>\d+$`, "AA1", true, true},
		{"named backreference no match", `^(?<c>[A-Z])\k<c>\d+$`, "AB1", false, false},

		// Backreferences.
		{"backreference", `^(\w)\1-\d+$`, "aa-1", true, true},
		{"backreference no match", `^(\w)\1-\d+$`, "ab-1", false, false},

		// Lookaround.
		{"lookahead", `^(?=.*\d)[A-Z0-9]{4,}$`, "ABC1", true, true},
		{"lookahead no match", `^(?=.*\d)[A-Z0-9]{4,}$`, "ABCD", false, false},
		{"negative lookahead", `^(?!TEST-)[A-Z]+-\d+$`, "PROD-1", true, true},
		{"negative lookahead no match", `^(?!TEST-)[A-Z]+-\d+$`, "TEST-1", false, false},
		{"lookbehind", `(?<=^INC)\d{7}$`, "INC0000001", true, true},
		{"lookbehind no match", `(?<=^INC)\d{7}$`, "CHG0000001", false, false},
		{"negative lookbehind", `^\d+(?<!000)$`, "1234", true, true},
		{"negative lookbehind no match", `^\d+(?<!000)$`, "1000", false, false},

		// Inline options.
		{"(?i) upper", `(?i)^inc\d{3}$`, "INC123", true, true},
		{"(?i) lower", `(?i)^inc\d{3}$`, "inc123", true, true},
		{"no (?i)", `^inc\d{3}$`, "INC123", false, false},
		{"scoped (?i:)", `^(?i:inc)-[A-Z]+$`, "iNc-ABC", true, true},
		{"scoped (?i:) ends", `^(?i:inc)-[A-Z]+$`, "inc-abc", false, false},

		// Other .NET constructs admins paste.
		{"class subtraction", `^[A-Z-[IO]]{3}$`, "ABC", true, true},
		{"class subtraction no match", `^[A-Z-[IO]]{3}$`, "AIC", false, false},
		{"atomic group", `^(?>a+)b$`, "aab", true, true},
		{"conditional", `^(<)?\w+(?(1)>)$`, "<abc>", true, true},
		{"conditional no match", `^(<)?\w+(?(1)>)$`, "<abc", false, false},

		// Matching searches, like .NET's IsMatch: anchors are the admin's job.
		{"unanchored substring", `INC\d{3}`, "my-INC123-x", true, true},
		{"unanchored digit anywhere", `\d`, "abc1def", true, true},
		{"start anchor only", `^INC`, "INC-anything", true, true},
		{"end anchor only", `INC\d{3}$`, "xINC123", true, true},
		{"anchored rejects substring", `^INC\d{3}$`, "my-INC123-x", false, false},
		{"empty pattern accepts anything", ``, "anything gøes ✓", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, dialect := range []struct {
				name  string
				opts  []ticketing.Option
				match bool
			}{{".NET", nil, tt.dotnet}, {"RE2", []ticketing.Option{ticketing.WithRE2()}, tt.re2}} {
				err := validateTicket(t, tt.pattern, tt.ticket, dialect.opts...)
				if dialect.match {
					assert.NoError(t, err, "%s: %q should match %q", dialect.name, tt.pattern, tt.ticket)
				} else {
					assert.ErrorIs(t, err, ticketing.ErrTicketFormat, "%s: %q should not match %q", dialect.name, tt.pattern, tt.ticket)
				}
			}
		})
	}
}

func TestPatternRE2Syntax(t *testing.T) {
	// (?P<name>...) is RE2/Python syntax: .NET rejects it, the RE2 option
	// accepts it.
	_, err := ticketing.NewValidator(ticketing.TicketSystem{Pattern: `^(?P<n>INC)\d+$`})
	assert.ErrorIs(t, err, ticketing.ErrInvalidPattern)
	assert.NoError(t, validateTicket(t, `^(?P<n>INC)\d+$`, "INC1", ticketing.WithRE2()))
}

func TestInvalidPatterns(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		re2     bool
	}{
		{"unclosed group", `^(INC\d{7}$`, false},
		{"unclosed group RE2", `^(INC\d{7}$`, true},
		{"unopened group", `INC)`, false},
		{"unterminated set", `[a-`, false},
		{"trailing backslash", `INC\`, false},
		{"unknown escape", `^INC\q$`, false},
		{"reversed repeat", `a{2,1}`, false},
		{"nothing to repeat", `*INC`, false},
		{"bad group name", `(?<1a>x)`, false},
		{"undefined named backreference", `\k<nope>`, false},
		{"reversed range", `[z-a]`, false},
		{"unknown property", `\p{Foo}`, false},
		{"unknown inline option", `(?z)INC`, false},
		{"RE2 named group in .NET", `(?P<n>INC)`, false},
		{"control characters", "(\n\x1b[31mEVIL\u202e", false},
		{"invalid UTF-8", "(\xff\xfe", false},
		{"over 4096 bytes", strings.Repeat("a", 4097), false},
		{"over 4096 bytes RE2", strings.Repeat("a", 4097), true},
		{"long and broken", "(" + strings.Repeat("b", 4000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []ticketing.Option
			if tt.re2 {
				opts = append(opts, ticketing.WithRE2())
			}
			v, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: tt.pattern}, opts...)
			require.ErrorIs(t, err, ticketing.ErrInvalidPattern)
			assert.Nil(t, v)
			requireSafeErrorText(t, err)
		})
	}

	// The length limit is "over 4096 bytes": 4096 itself compiles and works.
	padded := func(n int) string { return "^(?:" + strings.Repeat("x", n-15) + `)?INC\d{7}$` }
	require.Len(t, padded(4096), 4096)
	assert.NoError(t, validateTicket(t, padded(4096), "INC0000001"), "a 4096-byte pattern is within the limit")
	_, err := ticketing.NewValidator(ticketing.TicketSystem{Pattern: padded(4097)})
	assert.ErrorIs(t, err, ticketing.ErrInvalidPattern, "a 4097-byte pattern is over the limit")
}

// requireSafeErrorText checks that an error text quotes rather than trusts
// the configuration it complains about: valid UTF-8, no raw control, format
// or line-breaking characters, and cut short.
func requireSafeErrorText(t *testing.T, err error) {
	t.Helper()
	text := err.Error()
	assert.True(t, utf8.ValidString(text), "error text is not valid UTF-8: %q", text)
	for _, r := range text {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x061c ||
			(r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
			r == 0xfeff || r == 0x2028 || r == 0x2029 {
			t.Errorf("error text holds raw %U: %q", r, text)
			break
		}
	}
	assert.LessOrEqual(t, len(text), 512, "error text should quote a bounded excerpt, not the whole input")
}

// The classic catastrophic-backtracking pattern must be denied quickly.
func TestPatternReDoSDenied(t *testing.T) {
	tests := []struct {
		name, pattern, ticket string
	}{
		{"nested plus", `^(a+)+$`, strings.Repeat("a", 40) + "!"},
		{"alternation overlap", `^(a|aa)+$`, strings.Repeat("a", 60) + "!"},
		{"star of star", `^(a*)*$`, strings.Repeat("a", 40) + "!"},
		{"words and spaces", `^(\w+\s?)*$`, strings.Repeat("ticket", 8) + "!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := ticketing.NewValidator(ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: tt.pattern})
			require.NoError(t, err)
			err = validateWithin(t, 2*time.Second, v, ticketing.Submission{TicketNumber: tt.ticket})
			requireDenied(t, err)
		})
	}
}

// requireDenied accepts a timeout (what a backtracking engine should give)
// or a plain mismatch (should the engine answer quickly), never success.
func requireDenied(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err, "a catastrophic pattern must deny")
	var ve *ticketing.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ticketing.FieldTicketNumber, ve.Field)
	if !errors.Is(err, ticketing.ErrPatternTimeout) {
		require.ErrorIs(t, err, ticketing.ErrTicketFormat)
		t.Logf("engine answered without timing out: %v", err)
		return
	}
	assert.Contains(t, ve.Message, ticketing.DefaultLabel)
}

// validateWithin runs Validate and fails the test if it has not returned
// after limit: the only timing assertion here, a generous bound against
// hangs.
func validateWithin(t *testing.T, limit time.Duration, v *ticketing.Validator, s ticketing.Submission) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := v.Validate(context.Background(), s)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		t.Fatalf("Validate did not return within %v", limit)
		return nil
	}
}

func TestWithMatchTimeout(t *testing.T) {
	redos := ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: `^(a+)+$`}
	evil := ticketing.Submission{TicketNumber: strings.Repeat("a", 40) + "!"}

	t.Run("tiny timeout denies", func(t *testing.T) {
		v, err := ticketing.NewValidator(redos, ticketing.WithMatchTimeout(time.Nanosecond))
		require.NoError(t, err)
		err = validateWithin(t, 2*time.Second, v, evil)
		require.ErrorIs(t, err, ticketing.ErrPatternTimeout)
	})

	// A non-positive timeout must keep a bound, not remove it.
	for _, d := range []time.Duration{0, -time.Second} {
		t.Run("non-positive keeps the default "+d.String(), func(t *testing.T) {
			v, err := ticketing.NewValidator(redos, ticketing.WithMatchTimeout(d))
			require.NoError(t, err)
			err = validateWithin(t, 2*time.Second, v, evil)
			require.ErrorIs(t, err, ticketing.ErrPatternTimeout)
		})
	}

	t.Run("a longer timeout lets a slow match finish", func(t *testing.T) {
		if testing.Short() || raceDetectorOn() {
			t.Skip("runs a deliberately slow match (about 20x slower under -race)")
		}
		// 2^24 steps: a few hundred milliseconds, more than the default
		// allows on most machines. Only when the default times out does
		// the comparison say something, so calibrate first.
		slow := ticketing.Submission{TicketNumber: strings.Repeat("a", 24) + "!"}
		def, err := ticketing.NewValidator(redos)
		require.NoError(t, err)
		err = validateWithin(t, 2*time.Second, def, slow)
		if !errors.Is(err, ticketing.ErrPatternTimeout) {
			t.Skipf("this machine finishes the match within the default timeout (%v)", err)
		}
		long, err := ticketing.NewValidator(redos, ticketing.WithMatchTimeout(time.Minute))
		require.NoError(t, err)
		err = validateWithin(t, 90*time.Second, long, slow)
		require.ErrorIs(t, err, ticketing.ErrTicketFormat, "with a minute to run, the match completes and simply fails")
	})
}

func TestWithBacktrackLimit(t *testing.T) {
	t.Run("tiny limit denies an ordinary match", func(t *testing.T) {
		sys := ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: `^INC\d{7}$`}
		ok := ticketing.Submission{TicketNumber: "INC0000001"}
		def, err := ticketing.NewValidator(sys)
		require.NoError(t, err)
		_, err = def.Validate(context.Background(), ok)
		require.NoError(t, err)

		tiny, err := ticketing.NewValidator(sys, ticketing.WithBacktrackLimit(1))
		require.NoError(t, err)
		_, err = tiny.Validate(context.Background(), ok)
		require.ErrorIs(t, err, ticketing.ErrPatternTimeout)
	})

	// ^(\w)+$ pushes a capture per character: 100,000 characters need more
	// than the default stack.
	sys := ticketing.TicketSystem{Mode: ticketing.TicketRequired, Pattern: `^(\w)+$`}
	long := ticketing.Submission{TicketNumber: strings.Repeat("a", 100_000)}
	tests := []struct {
		name string
		opts []ticketing.Option
		want error
	}{
		{"default limit", nil, ticketing.ErrPatternTimeout},
		{"zero keeps the default", []ticketing.Option{ticketing.WithBacktrackLimit(0)}, ticketing.ErrPatternTimeout},
		{"negative keeps the default", []ticketing.Option{ticketing.WithBacktrackLimit(-1)}, ticketing.ErrPatternTimeout},
		{"raised limit", []ticketing.Option{ticketing.WithBacktrackLimit(10_000_000)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]ticketing.Option{ticketing.WithMaxTicketLength(200_000)}, tt.opts...)
			v, err := ticketing.NewValidator(sys, opts...)
			require.NoError(t, err)
			err = validateWithin(t, 10*time.Second, v, long)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

// One Validator, compiled once, used from many goroutines: run with -race.
func TestValidatorConcurrentValidate(t *testing.T) {
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Label:       "Incident number",
		Mode:        ticketing.TicketAndReasonRequired,
		Pattern:     `^(?<kind>INC|CHG)(?=\d{7}$)\d+$`,
		URLTemplate: "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	})
	require.NoError(t, err)
	cases := []struct {
		s       ticketing.Submission
		want    ticketing.Result
		wantErr error
	}{
		{ticketing.Submission{TicketNumber: " INC0000001 ", Reason: "patch"}, ticketing.Result{
			TicketNumber: "INC0000001", Reason: "patch",
			URL: "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=INC0000001",
		}, nil},
		{ticketing.Submission{TicketNumber: "CHG0000002", Reason: "r"}, ticketing.Result{
			TicketNumber: "CHG0000002", Reason: "r",
			URL: "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=CHG0000002",
		}, nil},
		{ticketing.Submission{TicketNumber: "PRB0000001", Reason: "r"}, ticketing.Result{}, ticketing.ErrTicketFormat},
		{ticketing.Submission{TicketNumber: "INC0000001"}, ticketing.Result{}, ticketing.ErrReasonRequired},
		{ticketing.Submission{TicketNumber: "INC\x000000001", Reason: "r"}, ticketing.Result{}, ticketing.ErrMalformed},
	}
	const goroutines, rounds = 100, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				c := cases[(g+i)%len(cases)]
				res, err := v.Validate(context.Background(), c.s)
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Errorf("goroutine %d: Validate(%q) = %v, want %v", g, c.s.TicketNumber, err, c.wantErr)
					}
					continue
				}
				if err != nil || res != c.want {
					t.Errorf("goroutine %d: Validate(%q) = %+v, %v; want %+v", g, c.s.TicketNumber, res, err, c.want)
				}
			}
		}()
	}
	wg.Wait()
}

// raceDetectorOn reports whether the test binary was built with -race,
// which slows matching and makes sync.Pool drop entries.
func raceDetectorOn() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
