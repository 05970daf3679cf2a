package ticketing

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RequirementMode says what a user must enter: Secret Server's "Ticket
// Number and Reason Options". The zero value is ReasonRequired.
//
// A ticket number that is entered is always checked against the system's
// Pattern, even when the mode makes it optional.
type RequirementMode int

// The four requirement modes, in Secret Server's order.
const (
	ReasonRequired          RequirementMode = iota // "Reason Only Required"
	TicketAndReasonRequired                        // "Both Required"
	TicketOrReasonRequired                         // "Ticket Number or Reason Required"
	TicketRequired                                 // "Ticket Number Only Required"
)

// modeNames holds, per mode, Secret Server's API name first, then the UI
// labels that ParseRequirementMode also accepts (old UI, then new UI).
var modeNames = [...][]string{
	ReasonRequired:          {"ReasonOnlyRequired", "Reason Only Required", "Only Require Reason"},
	TicketAndReasonRequired: {"BothRequired", "Both Required", "Require Both Ticket Number and Reason"},
	TicketOrReasonRequired:  {"TicketNumberOrReasonRequired", "Ticket Number or Reason Required"},
	TicketRequired:          {"TicketNumberOnlyRequired", "Ticket Number Only Required", "Only Require Ticket Number"},
}

// Valid reports whether m is one of the four defined modes.
func (m RequirementMode) Valid() bool { return m >= 0 && int(m) < len(modeNames) }

// String returns Secret Server's API name ("ReasonOnlyRequired",
// "BothRequired", "TicketNumberOrReasonRequired", "TicketNumberOnlyRequired"),
// or "RequirementMode(n)" for an invalid mode.
func (m RequirementMode) String() string {
	if !m.Valid() {
		return "RequirementMode(" + strconv.Itoa(int(m)) + ")"
	}
	return modeNames[m][0]
}

// Label returns the Secret Server UI label, such as "Both Required".
func (m RequirementMode) Label() string {
	if !m.Valid() {
		return m.String()
	}
	return modeNames[m][1]
}

// MarshalText returns the API name; an invalid mode is an error wrapping
// ErrInvalidMode.
func (m RequirementMode) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, configErrorf(ErrInvalidMode, m.String())
	}
	return []byte(modeNames[m][0]), nil
}

// UnmarshalText accepts what ParseRequirementMode accepts.
func (m *RequirementMode) UnmarshalText(text []byte) error {
	parsed, err := ParseRequirementMode(string(text))
	if err != nil {
		return err
	}
	*m = parsed
	return nil
}

// ParseRequirementMode parses a Secret Server API name ("BothRequired") or
// a UI label ("Both Required", "Require Both Ticket Number and Reason"),
// case-insensitively and ignoring surrounding white space. Anything else,
// the empty string included, is an error wrapping ErrInvalidMode.
func ParseRequirementMode(s string) (RequirementMode, error) {
	t := strings.TrimSpace(s)
	for m, names := range modeNames {
		for _, name := range names {
			if strings.EqualFold(t, name) {
				return RequirementMode(m), nil
			}
		}
	}
	return 0, configErrorf(ErrInvalidMode, quote(s))
}

// Submission is what the user typed on the Comment or Request Access
// screen, raw. The zero value is an empty submission.
type Submission struct {
	TicketNumber string
	Reason       string
}

// Result is what Validate accepted, normalised: surrounding white space
// trimmed. URL is the resolved ticket link, "" when the system has no
// URLTemplate or no ticket number was entered. The zero value is an empty
// result (nothing entered, no link).
type Result struct {
	TicketNumber string
	Reason       string
	URL          string
	// Ticket is what the ticket system said, when a live check ran and it
	// answered; nil otherwise.
	Ticket *Ticket
	// LiveCheck says whether the ticket number was verified live, or let
	// through unverified because the system was down and fails open.
	LiveCheck LiveCheck
	// FromCache is set when the live answer was not fetched for this
	// request: it came from the cache, or from a concurrent lookup of the
	// same ticket that this one joined.
	FromCache bool
}

// Secret is what the access check needs to know about the secret being
// opened: its ID and its two Security-tab settings. A ticket number can be
// entered only when RequireComment or RequiresApproval is on; with both off
// the secret needs nothing and takes no ticket number. The zero value is a
// secret without an ID, which the access check rejects.
type Secret struct {
	ID   string
	Name string // optional; recorded in the audit trail for readability
	// RequireComment is Secret Server's "Require Comment" setting.
	RequireComment bool
	// RequiresApproval is "Requires Approval for Access".
	RequiresApproval bool
}

// takesTicket reports whether the secret prompts for a reason and ticket
// number at all. When it does, both the Comment screen and the Request
// Access screen apply the chosen system's RequirementMode.
func (s Secret) takesTicket() bool { return s.RequireComment || s.RequiresApproval }

// Default input limits, in characters (runes).
const (
	DefaultMaxTicketLength = 128
	DefaultMaxReasonLength = 4096
)

// inputProblem says why input failed hygiene.
type inputProblem uint8

const (
	inputOK inputProblem = iota
	inputInvalidUTF8
	inputForbiddenChar
	inputTooLong
)

// trimSpace removes surrounding Unicode white space. It does not allocate,
// and returns at once when s starts and ends with a printable ASCII
// character, as nearly all input does.
func trimSpace(s string) string {
	if len(s) > 0 && (s[0]-'!' > '~'-'!' || s[len(s)-1]-'!' > '~'-'!') {
		return trimSpaceSlow(s)
	}
	return s
}

//go:noinline
func trimSpaceSlow(s string) string { return strings.TrimFunc(s, unicode.IsSpace) }

// cleanASCII reports whether s needs neither trimming nor the full hygiene
// check: at most max bytes, all printable ASCII, no space at either end.
func cleanASCII(s string, max int) bool {
	n := len(s)
	return n == 0 || n <= max && s[0] != ' ' && s[n-1] != ' ' && printableASCII(s)
}

// printableASCII reports whether every byte of s is in ' '..'~'. It looks
// at sixteen bytes per step and checks the accumulated result once (the
// last word may overlap the one before): this runs on every Validate, and a
// byte loop cost three times as much.
func printableASCII(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if s[i]-' ' > '~'-' ' {
				return false
			}
		}
		return true
	}
	var bad uint64
	for t := s; len(t) >= 8; {
		if len(t) >= 16 {
			bad |= nonPrintable(load64(t[:8])) | nonPrintable(load64(t[8:16]))
			t = t[16:]
		} else {
			bad |= nonPrintable(load64(t[:8]))
			t = t[8:]
		}
	}
	return bad|nonPrintable(load64(s[n-8:])) == 0
}

// nonPrintable returns the high bit of every byte of x outside ' '..'~'
// (and possibly of bytes next to one; only zero versus non-zero counts).
func nonPrintable(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// A byte >= 0x80 has its high bit set; a byte < 0x20 borrows into its
	// high bit in x - 0x20; a byte == 0x7f is a zero byte of y.
	y := x ^ 0x7f*ones
	return (x | (x - 0x20*ones) | (y-ones)&^y) & highs
}

// load64 reads s[0:8] little-endian; the compiler turns it into one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// checkTicketNumber applies ticket-number hygiene to already-trimmed text:
// valid UTF-8, no control (Cc), format (Cf) or line/paragraph separator
// (Zl, Zp) characters, at most max runes. Printable ASCII, the common case,
// is settled in one pass without decoding.
func checkTicketNumber(s string, max int) inputProblem {
	if len(s) <= max && printableASCII(s) {
		return inputOK
	}
	return checkText(s, max, forbiddenInTicket)
}

// checkReason applies reason hygiene: valid UTF-8, tabs and line breaks
// allowed, other controls and bidi controls not, at most max runes.
func checkReason(s string, max int) inputProblem {
	if len(s) <= max && printableASCII(s) {
		return inputOK
	}
	return checkText(s, max, forbiddenInReason)
}

// checkText is the full hygiene check: valid UTF-8, no rune forbidden says
// is forbidden, at most max runes.
func checkText(s string, max int, forbidden func(rune) bool) inputProblem {
	n := 0
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		switch {
		case r >= ' ' && r < 0x7f:
			// Printable ASCII is never forbidden: skip the decoding and the
			// table lookups.
		case r < utf8.RuneSelf:
			if forbidden(r) {
				return inputForbiddenChar
			}
		default:
			r, size = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return inputInvalidUTF8
			}
			if forbidden(r) {
				return inputForbiddenChar
			}
		}
		i += size
		n++
		if n > max {
			return inputTooLong
		}
	}
	return inputOK
}

// forbiddenInReason: controls other than tab and line breaks, and the bidi
// controls.
func forbiddenInReason(r rune) bool {
	return unicode.Is(unicode.Cc, r) && r != '\t' && r != '\n' && r != '\r' || isBidiControl(r)
}

// forbiddenInTicket: control (Cc), format (Cf) and line or paragraph
// separator (Zl, Zp) characters.
func forbiddenInTicket(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// isBidiControl reports the Unicode bidirectional formatting characters
// (the "Trojan Source" set): ALM, LRM, RLM, LRE..RLO, LRI..PDI.
func isBidiControl(r rune) bool {
	switch {
	case r == 0x061C, r == 0x200E, r == 0x200F:
		return true
	case r >= 0x202A && r <= 0x202E:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// unmet applies the requirement table of the mode to what was entered
// (after trimming) and returns the field and sentinel of the first unmet
// requirement, or a nil error. For TicketAndReasonRequired with nothing
// entered it reports the ticket number first, as the screen shows it first.
func (m RequirementMode) unmet(hasTicket, hasReason bool) (Field, error) {
	switch m {
	case ReasonRequired:
		if !hasReason {
			return FieldReason, ErrReasonRequired
		}
	case TicketAndReasonRequired:
		if !hasTicket {
			return FieldTicketNumber, ErrTicketRequired
		}
		if !hasReason {
			return FieldReason, ErrReasonRequired
		}
	case TicketOrReasonRequired:
		if !hasTicket && !hasReason {
			return FieldTicketNumber, ErrTicketOrReasonRequired
		}
	case TicketRequired:
		if !hasTicket {
			return FieldTicketNumber, ErrTicketRequired
		}
	default:
		return "", ErrInvalidMode
	}
	return "", nil
}
