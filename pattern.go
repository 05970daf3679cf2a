package ticketing

import (
	"errors"
	"fmt"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dlclark/regexp2/v2/syntax"
)

// Pattern limits and defaults.
const (
	// DefaultMatchTimeout bounds one pattern match.
	DefaultMatchTimeout = 250 * time.Millisecond
	// DefaultBacktrackLimit is regexp2's own default bound on the
	// backtracking stack, in stack slots.
	DefaultBacktrackLimit = 100_000
	// maxPatternLength keeps compile time and memory bounded; real ticket
	// patterns are a few dozen characters.
	maxPatternLength = 4096
)

// pattern is the one place that talks to regexp2. A zero pattern (nil re)
// accepts everything, as an empty Pattern does in Secret Server.
type pattern struct {
	re *regexp2.Regexp
}

// compilePattern compiles expr in the .NET dialect (no options), or with
// regexp2's RE2 flag when re2 is set. The compiled Regexp is private to one
// Validator, so setting its MatchTimeout is safe; the package-global
// regexp2.SetTimeoutCheckPeriod is never touched.
func compilePattern(expr string, re2 bool, timeout time.Duration, backtrackLimit int) (p pattern, err error) {
	if expr == "" {
		return pattern{}, nil
	}
	if len(expr) > maxPatternLength {
		return pattern{}, configErrorf(ErrInvalidPattern, fmt.Sprintf("longer than %d bytes", maxPatternLength))
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = pattern{}, configErrorf(ErrInvalidPattern, quote(expr)+": regex engine failed to compile it")
		}
	}()
	opts := regexp2.None
	if re2 {
		opts = regexp2.RE2
	}
	re, err := regexp2.Compile(expr, opts, regexp2.OptionMaxBacktrackingStackSize(backtrackLimit))
	if err != nil {
		return pattern{}, configErrorf(ErrInvalidPattern, quote(expr)+": "+parseProblem(err))
	}
	re.MatchTimeout = timeout
	return pattern{re: re}, nil
}

// match reports whether s matches anywhere (like .NET's IsMatch: anchors
// are the pattern's business). A timeout, the backtracking limit, any other
// engine error or a panic inside the engine all become ErrPatternTimeout,
// so the caller denies.
func (p pattern) match(s string) (matched bool, err error) {
	if p.re == nil {
		return true, nil
	}
	defer func() {
		if r := recover(); r != nil {
			matched, err = false, errPatternPanic
		}
	}()
	matched, err = p.re.MatchString(s)
	if err != nil {
		if errors.Is(err, regexp2.ErrMatchTimeout) || errors.Is(err, regexp2.ErrBacktrackingStackLimit) {
			return false, ErrPatternTimeout
		}
		return false, fmt.Errorf("%w: %v", ErrPatternTimeout, err)
	}
	return matched, nil
}

// parseProblem describes a compile error without regexp2's copy of the
// whole pattern, which would put unbounded, unescaped input in the text.
func parseProblem(err error) string {
	msg := err.Error()
	var se *syntax.Error
	if errors.As(err, &se) {
		msg = string(se.Code)
		if len(se.Args) > 0 {
			msg = fmt.Sprintf(msg, se.Args...)
		}
	}
	return escapeInput(msg, 200)
}

var errPatternPanic = fmt.Errorf("%w: regex engine failed during the match", ErrPatternTimeout)
