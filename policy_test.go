package ticketing

// Internal tests: the requirement table, input hygiene, the ValidationError
// texts, RequirementMode's text forms and the printableASCII fast path.

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// policySentinels is every sentinel Validate may put in a
// *ValidationError; a Validate error must match exactly one of them.
var policySentinels = []error{
	ErrTicketRequired, ErrReasonRequired, ErrTicketOrReasonRequired,
	ErrTicketFormat, ErrMalformed, ErrPatternTimeout,
}

func policyValidator(t *testing.T, sys TicketSystem, opts ...Option) *Validator {
	t.Helper()
	v, err := NewValidator(sys, opts...)
	require.NoError(t, err)
	return v
}

// requireValidationError checks that err is a *ValidationError for field
// whose Err is want and that it matches no other sentinel, and returns it.
func requireValidationError(t *testing.T, err error, want error, field Field) *ValidationError {
	t.Helper()
	require.Error(t, err)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.ErrorIs(t, err, want)
	for _, s := range policySentinels {
		assert.Equal(t, s == want, errors.Is(err, s), "errors.Is(%v, %v)", err, s)
	}
	assert.Equal(t, want, ve.Err, "ValidationError.Err")
	if field != "" {
		assert.Equal(t, field, ve.Field, "ValidationError.Field")
	}
	assert.NotEmpty(t, ve.Message)
	return ve
}

// whitespaceOnly are ways of entering nothing: each must count as absent.
var whitespaceOnly = []string{"", " ", "\t\r\n", "\u00a0\u3000", " \u2028\u2029\u0085\v\f "}

func TestRequirementModeTable(t *testing.T) {
	const (
		label   = "Incident number"
		ticket  = "INC0000001"
		reason  = "Quarterly patching"
		linkFor = "https://tickets.example.com/browse/INC0000001"
	)
	type cell struct {
		ticket, reason bool    // what is entered
		want           []error // nil: accepted; otherwise any one of these
	}
	ok := []error(nil)
	tReq := []error{ErrTicketRequired}
	rReq := []error{ErrReasonRequired}
	table := []struct {
		mode  RequirementMode
		cells [4]cell // ticket+reason, ticket only, reason only, neither
	}{
		{ReasonRequired, [4]cell{{true, true, ok}, {true, false, rReq}, {false, true, ok}, {false, false, rReq}}},
		{TicketAndReasonRequired, [4]cell{{true, true, ok}, {true, false, rReq}, {false, true, tReq},
			{false, false, []error{ErrTicketRequired, ErrReasonRequired}}}},
		{TicketOrReasonRequired, [4]cell{{true, true, ok}, {true, false, ok}, {false, true, ok},
			{false, false, []error{ErrTicketOrReasonRequired}}}},
		{TicketRequired, [4]cell{{true, true, ok}, {true, false, ok}, {false, true, tReq}, {false, false, tReq}}},
	}
	columns := [4]string{"ticket+reason", "ticket only", "reason only", "neither"}
	for _, row := range table {
		v := policyValidator(t, TicketSystem{
			Label: label, Mode: row.mode, Pattern: `^INC[\d]{7}$`,
			URLTemplate: "https://tickets.example.com/browse/$TICKETID",
		})
		for col, c := range row.cells {
			// Every way of leaving a field empty must behave the same.
			for _, blank := range whitespaceOnly {
				s := Submission{TicketNumber: blank, Reason: blank}
				if c.ticket {
					s.TicketNumber = " " + ticket + "\t"
				}
				if c.reason {
					s.Reason = "\u3000" + reason + "\n"
				}
				t.Run(row.mode.String()+"/"+columns[col]+"/blank="+blankName(blank), func(t *testing.T) {
					res, err := v.Validate(context.Background(), s)
					if c.want == nil {
						require.NoError(t, err)
						want := Result{}
						if c.ticket {
							want.TicketNumber, want.URL = ticket, linkFor
						}
						if c.reason {
							want.Reason = reason
						}
						if d := cmp.Diff(want, res); d != "" {
							t.Errorf("Result mismatch (-want +got):\n%s", d)
						}
						return
					}
					var ve *ValidationError
					require.ErrorAs(t, err, &ve)
					require.Contains(t, c.want, ve.Err, "error %v not in the table's cell", err)
					requireValidationError(t, err, ve.Err, "")
					assert.Equal(t, Result{}, res, "a rejected submission returns the zero Result")
					switch ve.Err {
					case ErrTicketRequired:
						assert.Equal(t, FieldTicketNumber, ve.Field)
						assert.Equal(t, label+" is required", ve.Message)
					case ErrReasonRequired:
						assert.Equal(t, FieldReason, ve.Field)
						assert.Contains(t, strings.ToLower(ve.Message), "reason")
					case ErrTicketOrReasonRequired:
						assert.Contains(t, []Field{FieldTicketNumber, FieldReason}, ve.Field)
						assert.Contains(t, ve.Message, label)
						assert.Contains(t, strings.ToLower(ve.Message), "reason")
					}
				})
			}
		}
	}
}

// blankName names a blank string readably in a subtest name.
func blankName(s string) string {
	if s == "" {
		return "empty"
	}
	return strings.Trim(quote(s), `"`)
}

// A ticket number that is entered is always checked against Pattern, even
// when the mode makes it optional; the requirement is checked first.
func TestPresentTicketAlwaysCheckedAgainstPattern(t *testing.T) {
	const bad = "CHG0000001"
	tests := []struct {
		mode       RequirementMode
		withReason error // bad ticket + reason
		ticketOnly error // bad ticket, no reason
	}{
		{ReasonRequired, ErrTicketFormat, ErrReasonRequired},
		{TicketAndReasonRequired, ErrTicketFormat, ErrReasonRequired},
		{TicketOrReasonRequired, ErrTicketFormat, ErrTicketFormat},
		{TicketRequired, ErrTicketFormat, ErrTicketFormat},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			v := policyValidator(t, TicketSystem{Mode: tt.mode, Pattern: `^INC[\d]{7}$`, ErrorMessage: "Use INC and 7 digits."})
			_, err := v.Validate(context.Background(), Submission{TicketNumber: bad, Reason: "because"})
			ve := requireValidationError(t, err, tt.withReason, FieldTicketNumber)
			assert.Equal(t, "Use INC and 7 digits.", ve.Message)

			_, err = v.Validate(context.Background(), Submission{TicketNumber: bad})
			field := FieldTicketNumber
			if tt.ticketOnly == ErrReasonRequired {
				field = FieldReason
			}
			requireValidationError(t, err, tt.ticketOnly, field)
		})
	}
}

func TestValidationErrorMessages(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		sys       TicketSystem
		opts      []Option
		sub       Submission
		wantErr   error
		wantField Field
		wantMsg   string // exact, when set
		contains  string // substring, when set
	}{
		{name: "ticket required names the label",
			sys: TicketSystem{Label: "Incident number", Mode: TicketRequired}, sub: Submission{Reason: "x"},
			wantErr: ErrTicketRequired, wantField: FieldTicketNumber, wantMsg: "Incident number is required"},
		{name: "default label",
			sys: TicketSystem{Mode: TicketRequired}, sub: Submission{},
			wantErr: ErrTicketRequired, wantField: FieldTicketNumber, wantMsg: "Ticket Number is required"},
		{name: "whitespace-only label is the default label",
			sys: TicketSystem{Label: " \t ", Mode: TicketRequired}, sub: Submission{},
			wantErr: ErrTicketRequired, wantField: FieldTicketNumber, wantMsg: "Ticket Number is required"},
		{name: "label is trimmed",
			sys: TicketSystem{Label: "  Change ID ", Mode: TicketAndReasonRequired}, sub: Submission{Reason: "x"},
			wantErr: ErrTicketRequired, wantField: FieldTicketNumber, wantMsg: "Change ID is required"},
		{name: "ticket or reason names the label",
			sys: TicketSystem{Label: "Incident number", Mode: TicketOrReasonRequired}, sub: Submission{},
			wantErr: ErrTicketOrReasonRequired, contains: "Incident number"},
		{name: "pattern mismatch uses ErrorMessage verbatim",
			sys: TicketSystem{Label: "Incident number", Mode: TicketRequired, Pattern: `^INC\d{7}$`,
				ErrorMessage: "Incident numbers look like INC0001234."},
			sub:     Submission{TicketNumber: "INC12"},
			wantErr: ErrTicketFormat, wantField: FieldTicketNumber, wantMsg: "Incident numbers look like INC0001234."},
		{name: "pattern mismatch without ErrorMessage names the label",
			sys:     TicketSystem{Label: "Incident number", Mode: TicketRequired, Pattern: `^INC\d{7}$`},
			sub:     Submission{TicketNumber: "INC12"},
			wantErr: ErrTicketFormat, wantField: FieldTicketNumber, contains: "Incident number"},
		{name: "pattern mismatch with whitespace-only ErrorMessage names the label",
			sys:     TicketSystem{Mode: TicketRequired, Pattern: `^INC\d{7}$`, ErrorMessage: "  "},
			sub:     Submission{TicketNumber: "INC12"},
			wantErr: ErrTicketFormat, wantField: FieldTicketNumber, contains: DefaultLabel},
		{name: "malformed ticket names the label",
			sys: TicketSystem{Label: "Incident number", Mode: TicketRequired}, sub: Submission{TicketNumber: "INC\x001"},
			wantErr: ErrMalformed, wantField: FieldTicketNumber, contains: "Incident number"},
		{name: "over-long ticket names the label",
			sys: TicketSystem{Label: "Incident number", Mode: TicketRequired}, sub: Submission{TicketNumber: strings.Repeat("9", 129)},
			wantErr: ErrMalformed, wantField: FieldTicketNumber, contains: "Incident number"},
		{name: "malformed reason",
			sys: TicketSystem{Mode: ReasonRequired}, sub: Submission{Reason: "ok\x1b[2J"},
			wantErr: ErrMalformed, wantField: FieldReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := policyValidator(t, tt.sys, tt.opts...)
			_, err := v.Validate(ctx, tt.sub)
			ve := requireValidationError(t, err, tt.wantErr, tt.wantField)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, ve.Message)
			}
			if tt.contains != "" {
				assert.Contains(t, ve.Message, tt.contains)
			}
		})
	}
}

// The error text must not echo what the user typed: it ends up in logs.
func TestValidationErrorDoesNotEchoInput(t *testing.T) {
	v := policyValidator(t, TicketSystem{Mode: TicketAndReasonRequired, Pattern: `^INC\d{7}$`})
	tests := []Submission{
		{TicketNumber: `"><script>alert(1)</script>`, Reason: "r"},
		{TicketNumber: "SECRET-hunter2\x00", Reason: "r"},
		{TicketNumber: "SECRET-\u202ehunter2", Reason: "r"},
		{TicketNumber: strings.Repeat("SECRET", 30), Reason: "r"},
		{TicketNumber: "INC0000001", Reason: "SECRET-hunter2\x07"},
	}
	for _, s := range tests {
		_, err := v.Validate(context.Background(), s)
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "SECRET")
		assert.NotContains(t, err.Error(), "<script>")
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestRequirementModeString(t *testing.T) {
	tests := []struct {
		mode       RequirementMode
		api, label string
	}{
		{ReasonRequired, "ReasonOnlyRequired", "Reason Only Required"},
		{TicketAndReasonRequired, "BothRequired", "Both Required"},
		{TicketOrReasonRequired, "TicketNumberOrReasonRequired", "Ticket Number or Reason Required"},
		{TicketRequired, "TicketNumberOnlyRequired", "Ticket Number Only Required"},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			assert.True(t, tt.mode.Valid())
			assert.Equal(t, tt.api, tt.mode.String())
			assert.Equal(t, tt.label, tt.mode.Label())
			text, err := tt.mode.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tt.api, string(text))
		})
	}
	var zero RequirementMode
	assert.Equal(t, ReasonRequired, zero, "the zero value is ReasonRequired")

	for _, m := range []RequirementMode{-1, 4, 100} {
		assert.False(t, m.Valid(), "%d", int(m))
		assert.Equal(t, "RequirementMode("+strconv.Itoa(int(m))+")", m.String())
		_, err := m.MarshalText()
		assert.ErrorIs(t, err, ErrInvalidMode, "MarshalText(%d)", int(m))
		_, err = NewValidator(TicketSystem{Mode: m})
		assert.ErrorIs(t, err, ErrInvalidMode, "NewValidator with mode %d", int(m))
	}
}

func TestParseRequirementMode(t *testing.T) {
	valid := []struct {
		in   string
		want RequirementMode
	}{
		// API names.
		{"ReasonOnlyRequired", ReasonRequired},
		{"BothRequired", TicketAndReasonRequired},
		{"TicketNumberOrReasonRequired", TicketOrReasonRequired},
		{"TicketNumberOnlyRequired", TicketRequired},
		// Old UI labels.
		{"Reason Only Required", ReasonRequired},
		{"Both Required", TicketAndReasonRequired},
		{"Ticket Number or Reason Required", TicketOrReasonRequired},
		{"Ticket Number Only Required", TicketRequired},
		// New UI labels.
		{"Only Require Reason", ReasonRequired},
		{"Require Both Ticket Number and Reason", TicketAndReasonRequired},
		{"Only Require Ticket Number", TicketRequired},
		// Case-insensitive, surrounding white space ignored.
		{"bothrequired", TicketAndReasonRequired},
		{"BOTHREQUIRED", TicketAndReasonRequired},
		{"tIcKeTnUmBeRoNlYrEqUiReD", TicketRequired},
		{"reason only required", ReasonRequired},
		{"TICKET NUMBER OR REASON REQUIRED", TicketOrReasonRequired},
		{"  BothRequired\t\n", TicketAndReasonRequired},
		{"\u00a0Only Require Ticket Number\u3000", TicketRequired},
	}
	for _, tt := range valid {
		t.Run("valid/"+tt.in, func(t *testing.T) {
			got, err := ParseRequirementMode(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			m := RequirementMode(99)
			require.NoError(t, m.UnmarshalText([]byte(tt.in)))
			assert.Equal(t, tt.want, m)

			back, err := ParseRequirementMode(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, back, "String round trip")
		})
	}

	invalid := []string{
		"", " ", "\t\n",
		"0", "1", "2", "3", "4", "-1", "+1", "01", "1.0", "1e0", "0x1", "99999999999999999999",
		"RequirementMode(1)", "null", `"BothRequired"`,
		"Both", "Required", "Reason Only", "TicketNumberOrReason", "Both_Required", "Both  Required",
		"BothRequired.", "BothRequired,ReasonOnlyRequired", "Both\u00a0Required", "BothRequired\x00",
		"\u202eBothRequired", "Both\u200bRequired", "BothRequired\xff",
	}
	for _, in := range invalid {
		t.Run("invalid/"+in, func(t *testing.T) {
			_, err := ParseRequirementMode(in)
			require.ErrorIs(t, err, ErrInvalidMode)
			assertQuotedErrorText(t, err)

			m := TicketRequired
			require.ErrorIs(t, m.UnmarshalText([]byte(in)), ErrInvalidMode)
		})
	}
}

// assertQuotedErrorText checks that an error text is safe to log: valid
// UTF-8 with no control or format characters, whatever the input was.
func assertQuotedErrorText(t *testing.T, err error) {
	t.Helper()
	text := err.Error()
	assert.True(t, utf8.ValidString(text), "error text is not valid UTF-8: %q", text)
	for _, r := range text {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x061c ||
			(r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
			r == 0xfeff || r == 0x2028 || r == 0x2029 {
			t.Errorf("error text holds raw %U: %q", r, text)
			return
		}
	}
}

func TestRequirementModeJSON(t *testing.T) {
	for _, m := range []RequirementMode{ReasonRequired, TicketAndReasonRequired, TicketOrReasonRequired, TicketRequired} {
		t.Run(m.String(), func(t *testing.T) {
			in := TicketSystem{ID: "sn", Name: "ServiceNow", Active: true, Mode: m, Pattern: `^INC\d{7}$`}
			data, err := json.Marshal(in)
			require.NoError(t, err)
			assert.Contains(t, string(data), `"mode":"`+m.String()+`"`)
			var out TicketSystem
			require.NoError(t, json.Unmarshal(data, &out))
			if d := cmp.Diff(in, out); d != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", d)
			}
		})
	}

	tests := []struct {
		json    string
		want    RequirementMode
		wantErr bool
	}{
		{`{"mode":"Only Require Ticket Number"}`, TicketRequired, false},
		{`{"mode":" bothrequired "}`, TicketAndReasonRequired, false},
		{`{}`, ReasonRequired, false},
		{`{"mode":"3"}`, 0, true},
		{`{"mode":""}`, 0, true},
		{`{"mode":"Sometimes"}`, 0, true},
		{`{"mode":3}`, 0, true}, // numbers are not a documented form
		{`{"mode":true}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var sys TicketSystem
			err := json.Unmarshal([]byte(tt.json), &sys)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, sys.Mode)
		})
	}
	var sys TicketSystem
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"mode":"Sometimes"}`), &sys), ErrInvalidMode)

	_, err := json.Marshal(TicketSystem{Mode: 7})
	assert.ErrorIs(t, err, ErrInvalidMode, "an invalid mode must not be written")
}

func TestTicketHygiene(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // accepted, trimmed; "" with bad=true means rejected
		bad  bool
	}{
		{"plain", "INC0000001", "INC0000001", false},
		{"spaces", "  INC0000001  ", "INC0000001", false},
		{"tabs and newlines around", "\t\r\nINC0000001\n\t", "INC0000001", false},
		{"NBSP and ideographic space", "\u00a0INC0000001\u3000", "INC0000001", false},
		{"NEL, LS, PS, en quad around", "\u0085\u2028\u2000INC0000001\u2029", "INC0000001", false},
		{"space inside is kept", "INC 0000001", "INC 0000001", false},
		{"ideographic space inside is kept", "INC\u30000000001", "INC\u30000000001", false},
		{"non-ASCII letters", "Änderung-42", "Änderung-42", false},
		{"CJK", "票-42", "票-42", false},
		{"emoji", "🎫42", "🎫42", false},
		{"hostile but printable", `"><script>../%00@evil.com`, `"><script>../%00@evil.com`, false},

		{"invalid UTF-8", "INC\xff0001", "", true},
		{"invalid UTF-8 leading", "\xffINC", "", true},
		{"truncated sequence", "INC\xe2\x82", "", true},
		{"overlong encoding", "INC\xc0\xaf", "", true},
		{"UTF-8 surrogate", "INC\xed\xa0\x80", "", true},
		{"NUL inside", "INC\x000001", "", true},
		{"NUL trailing", "INC0001\x00", "", true},
		{"CR inside", "INC\r0001", "", true},
		{"LF inside", "INC\n0001", "", true},
		{"CRLF inside", "INC0001\r\nX-Injected: 1", "", true},
		{"tab inside", "INC\t0001", "", true},
		{"ESC", "INC\x1b[31m", "", true},
		{"DEL", "INC\x7f0001", "", true},
		{"C1 U+0080", "INC\u00800001", "", true},
		{"C1 CSI U+009B", "INC\u009b0001", "", true},
		{"NEL inside", "INC\u00850001", "", true},
		{"RLO U+202E", "INC\u202e1000", "", true},
		{"LRI U+2066", "INC\u20661000", "", true},
		{"PDI U+2069", "INC1000\u2069", "", true},
		{"LRM U+200E", "INC\u200e1000", "", true},
		{"ALM U+061C", "INC\u061c1000", "", true},
		{"ZWSP U+200B", "INC\u200b1000", "", true},
		{"ZWSP leading is not white space", "\u200bINC1000", "", true},
		{"ZWJ U+200D", "INC\u200d1000", "", true},
		{"BOM U+FEFF", "\ufeffINC1000", "", true},
		{"word joiner U+2060", "INC\u20601000", "", true},
		{"soft hyphen U+00AD", "INC\u00ad1000", "", true},
		{"Mongolian vowel separator U+180E", "\u180eINC1000", "", true},
		{"tag character U+E0041", "INC\U000e00411000", "", true},
		{"line separator U+2028 inside", "INC\u20281000", "", true},
		{"paragraph separator U+2029 inside", "INC\u20291000", "", true},
	}
	v := policyValidator(t, TicketSystem{Label: "Incident number", Mode: TicketOrReasonRequired})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Validate(context.Background(), Submission{TicketNumber: tt.in, Reason: "r"})
			if tt.bad {
				requireValidationError(t, err, ErrMalformed, FieldTicketNumber)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, res.TicketNumber)
			assert.Equal(t, "r", res.Reason)
		})
	}
}

func TestReasonHygiene(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		bad  bool
	}{
		{"plain", "Patch window CHG0001", "Patch window CHG0001", false},
		{"trimmed", " \t\u3000Patch\u00a0\r\n", "Patch", false},
		{"tab inside", "step 1:\tpatch", "step 1:\tpatch", false},
		{"LF inside", "line 1\nline 2", "line 1\nline 2", false},
		{"CRLF inside", "line 1\r\nline 2", "line 1\r\nline 2", false},
		{"line separator inside", "line 1\u2028line 2", "line 1\u2028line 2", false},
		{"non-ASCII", "Wartung für Kunde 日本", "Wartung für Kunde 日本", false},

		{"NUL", "patch\x00now", "", true},
		{"BEL", "patch\x07", "", true},
		{"ESC", "patch \x1b[2J", "", true},
		{"vertical tab inside", "a\vb", "", true},
		{"form feed inside", "a\fb", "", true},
		{"DEL", "patch\x7f", "", true},
		{"C1 CSI", "patch\u009b2J", "", true},
		{"RLO U+202E", "patch \u202eevil", "", true},
		{"LRE U+202A", "patch \u202aevil", "", true},
		{"LRI U+2066", "patch \u2066evil", "", true},
		{"RLI U+2067", "patch \u2067evil", "", true},
		{"FSI U+2068", "patch \u2068evil", "", true},
		{"PDI U+2069", "patch \u2069evil", "", true},
		{"LRM U+200E", "patch \u200eevil", "", true},
		{"RLM U+200F", "patch \u200fevil", "", true},
		{"ALM U+061C", "patch \u061cevil", "", true},
		{"invalid UTF-8", "patch \xfe\xff", "", true},
		{"truncated UTF-8", "patch \xe6\x97", "", true},
	}
	v := policyValidator(t, TicketSystem{Mode: TicketOrReasonRequired})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Validate(context.Background(), Submission{Reason: tt.in})
			if tt.bad {
				requireValidationError(t, err, ErrMalformed, FieldReason)
				return
			}
			require.NoError(t, err)
			if d := cmp.Diff(Result{Reason: tt.want}, res); d != "" {
				t.Errorf("Result (-want +got):\n%s", d)
			}
		})
	}
}

func TestHygieneLengthLimits(t *testing.T) {
	ticket := func(v *Validator, s string) error {
		res, err := v.Validate(context.Background(), Submission{TicketNumber: s, Reason: "r"})
		if err == nil && res.TicketNumber != strings.TrimSpace(s) {
			t.Errorf("ticket not returned trimmed: %q", res.TicketNumber)
		}
		return err
	}
	reason := func(v *Validator, s string) error {
		_, err := v.Validate(context.Background(), Submission{TicketNumber: "T1", Reason: s})
		return err
	}
	def := policyValidator(t, TicketSystem{Mode: TicketOrReasonRequired})
	small := policyValidator(t, TicketSystem{Mode: TicketOrReasonRequired}, WithMaxTicketLength(10), WithMaxReasonLength(5))
	big := policyValidator(t, TicketSystem{Mode: TicketOrReasonRequired}, WithMaxTicketLength(300), WithMaxReasonLength(5000))
	zero := policyValidator(t, TicketSystem{Mode: TicketOrReasonRequired}, WithMaxTicketLength(0), WithMaxReasonLength(-1))

	tests := []struct {
		name  string
		check func(*Validator, string) error
		v     *Validator
		in    string
		field Field
		ok    bool
	}{
		{"ticket 128 ASCII", ticket, def, strings.Repeat("a", 128), "", true},
		{"ticket 129 ASCII", ticket, def, strings.Repeat("a", 129), FieldTicketNumber, false},
		{"ticket 128 two-byte runes", ticket, def, strings.Repeat("é", 128), "", true},
		{"ticket 129 two-byte runes", ticket, def, strings.Repeat("é", 129), FieldTicketNumber, false},
		{"ticket 128 three-byte runes", ticket, def, strings.Repeat("票", 128), "", true},
		{"ticket 128 four-byte runes", ticket, def, strings.Repeat("🎫", 128), "", true},
		{"ticket 129 four-byte runes", ticket, def, strings.Repeat("🎫", 129), FieldTicketNumber, false},
		{"ticket 128 plus surrounding space", ticket, def, "   " + strings.Repeat("a", 128) + "\u3000\u3000", "", true},
		{"ticket limit option 10", ticket, small, strings.Repeat("a", 10), "", true},
		{"ticket limit option 11", ticket, small, strings.Repeat("a", 11), FieldTicketNumber, false},
		{"ticket limit option 10 runes", ticket, small, strings.Repeat("ß", 10), "", true},
		{"ticket limit option 11 runes", ticket, small, strings.Repeat("ß", 11), FieldTicketNumber, false},
		{"ticket limit raised 300", ticket, big, strings.Repeat("a", 300), "", true},
		{"ticket limit raised 301", ticket, big, strings.Repeat("a", 301), FieldTicketNumber, false},
		{"ticket limit 0 keeps default 128", ticket, zero, strings.Repeat("a", 128), "", true},
		{"ticket limit 0 keeps default 129", ticket, zero, strings.Repeat("a", 129), FieldTicketNumber, false},

		{"reason 4096 ASCII", reason, def, strings.Repeat("r", 4096), "", true},
		{"reason 4097 ASCII", reason, def, strings.Repeat("r", 4097), FieldReason, false},
		{"reason 4096 runes", reason, def, strings.Repeat("ü", 4096), "", true},
		{"reason 4097 runes", reason, def, strings.Repeat("ü", 4097), FieldReason, false},
		{"reason 4096 with line breaks", reason, def, strings.Repeat("ab\r\n", 1024), "", true},
		{"reason limit option 5", reason, small, "abcde", "", true},
		{"reason limit option 6", reason, small, "abcdef", FieldReason, false},
		{"reason limit option 5 runes", reason, small, "日本語日本", "", true},
		{"reason limit option 6 runes", reason, small, "日本語日本語", FieldReason, false},
		{"reason limit raised 5000", reason, big, strings.Repeat("r", 5000), "", true},
		{"reason limit raised 5001", reason, big, strings.Repeat("r", 5001), FieldReason, false},
		{"reason limit -1 keeps default 4096", reason, zero, strings.Repeat("r", 4096), "", true},
		{"reason limit -1 keeps default 4097", reason, zero, strings.Repeat("r", 4097), FieldReason, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.v, tt.in)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			ve := requireValidationError(t, err, ErrMalformed, tt.field)
			assert.Contains(t, ve.Message, "too long")
		})
	}
}

// Order of checks: hygiene -> requirement -> Pattern.
func TestValidateCheckOrder(t *testing.T) {
	tests := []struct {
		name    string
		mode    RequirementMode
		sub     Submission
		wantErr error
		field   Field
	}{
		{"malformed ticket before missing reason", TicketAndReasonRequired,
			Submission{TicketNumber: "INC\x00"}, ErrMalformed, FieldTicketNumber},
		{"malformed reason before missing ticket", TicketRequired,
			Submission{Reason: "why\x1b"}, ErrMalformed, FieldReason},
		{"malformed reason before pattern", TicketAndReasonRequired,
			Submission{TicketNumber: "nope", Reason: "why\u202e"}, ErrMalformed, FieldReason},
		{"malformed ticket before pattern", TicketRequired,
			Submission{TicketNumber: "nope\u200b"}, ErrMalformed, FieldTicketNumber},
		{"over-long ticket before pattern", TicketRequired,
			Submission{TicketNumber: strings.Repeat("x", 200)}, ErrMalformed, FieldTicketNumber},
		{"missing reason before pattern", TicketAndReasonRequired,
			Submission{TicketNumber: "nope"}, ErrReasonRequired, FieldReason},
		{"missing reason before pattern (reason only mode)", ReasonRequired,
			Submission{TicketNumber: "nope", Reason: " "}, ErrReasonRequired, FieldReason},
		{"pattern last", TicketAndReasonRequired,
			Submission{TicketNumber: "nope", Reason: "why"}, ErrTicketFormat, FieldTicketNumber},
		{"whitespace-only ticket is absent, not malformed", TicketRequired,
			Submission{TicketNumber: "\u3000\t\r\n"}, ErrTicketRequired, FieldTicketNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := policyValidator(t, TicketSystem{Mode: tt.mode, Pattern: `^INC\d{7}$`})
			_, err := v.Validate(context.Background(), tt.sub)
			requireValidationError(t, err, tt.wantErr, tt.field)
		})
	}
}

func printableASCIIReference(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// printableASCII works eight bytes at a time; compare it with the plain
// loop for every byte value at every position of short strings, so each
// lane of the word and the tail loop are covered.
func TestPrintableASCIIMatchesByteLoop(t *testing.T) {
	for _, fill := range []byte{' ', 'a', '~', '!'} {
		for n := 0; n <= 20; n++ {
			base := []byte(strings.Repeat(string(fill), n))
			require.True(t, printableASCII(string(base)), "fill %q len %d", fill, n)
			for pos := 0; pos < n; pos++ {
				for b := 0; b < 256; b++ {
					buf := append([]byte(nil), base...)
					buf[pos] = byte(b)
					s := string(buf)
					if got, want := printableASCII(s), printableASCIIReference(s); got != want {
						t.Fatalf("printableASCII(%q) = %v, want %v", s, got, want)
					}
				}
			}
		}
	}
	// Two bad bytes at once, and random strings biased to the boundaries,
	// catch borrows that travel between lanes.
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0x81, 0x9f, 0xa0, 0xfe, 0xff, 'a'}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200_000; i++ {
		buf := make([]byte, rng.IntN(33))
		for j := range buf {
			if rng.IntN(3) == 0 {
				buf[j] = edges[rng.IntN(len(edges))]
			} else {
				buf[j] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		s := string(buf)
		if got, want := printableASCII(s), printableASCIIReference(s); got != want {
			t.Fatalf("printableASCII(%q) = %v, want %v", s, got, want)
		}
	}
}
