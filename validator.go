package ticketing

import (
	"context"
	"strconv"
	"time"
)

// Option configures a Validator (and, through WithValidatorOptions, every
// Validator a Registry builds). A nil Option is ignored. Options are
// applied once, when the Validator is built.
type Option func(*validatorConfig)

type validatorConfig struct {
	re2             bool
	matchTimeout    time.Duration
	backtrackLimit  int
	maxTicketLength int
	maxReasonLength int
	checker         Checker
	cacheConfig     CacheConfig
	cache           *ticketCache // shared by a Registry; nil = the Validator's own
	cacheScope      string
	now             func() time.Time
}

func defaultValidatorConfig() validatorConfig {
	return validatorConfig{
		matchTimeout:    DefaultMatchTimeout,
		backtrackLimit:  DefaultBacktrackLimit,
		maxTicketLength: DefaultMaxTicketLength,
		maxReasonLength: DefaultMaxReasonLength,
	}
}

// WithRE2 compiles Pattern with regexp2's RE2 flag instead of the default
// .NET dialect: \d, \w and \s match ASCII only and $ matches only at the
// very end. Use it for patterns written for Go's regexp package.
func WithRE2() Option { return func(c *validatorConfig) { c.re2 = true } }

// WithMatchTimeout bounds each pattern match (default DefaultMatchTimeout).
// A match that runs longer is denied with ErrPatternTimeout. regexp2 reads
// a coarse clock that ticks every 100 ms, so a match may run up to about
// 200 ms past d before it is stopped. d <= 0 keeps the default: a match
// without a bound is never what a security check wants.
func WithMatchTimeout(d time.Duration) Option {
	return func(c *validatorConfig) {
		if d > 0 {
			c.matchTimeout = d
		}
	}
}

// WithBacktrackLimit bounds regexp2's backtracking stack, in slots (default
// DefaultBacktrackLimit). A match that needs more is denied with
// ErrPatternTimeout. n <= 0 keeps the default.
func WithBacktrackLimit(n int) Option {
	return func(c *validatorConfig) {
		if n > 0 {
			c.backtrackLimit = n
		}
	}
}

// WithMaxTicketLength sets the longest ticket number accepted, in
// characters (default DefaultMaxTicketLength). n <= 0 keeps the default.
func WithMaxTicketLength(n int) Option {
	return func(c *validatorConfig) {
		if n > 0 {
			c.maxTicketLength = n
		}
	}
}

// WithMaxReasonLength sets the longest reason accepted, in characters
// (default DefaultMaxReasonLength). n <= 0 keeps the default.
func WithMaxReasonLength(n int) Option {
	return func(c *validatorConfig) {
		if n > 0 {
			c.maxReasonLength = n
		}
	}
}

// WithChecker makes the Validator check ticket numbers against a live
// ticket system (a connector) after the Pattern. Registry sets it from
// TicketSystem.Connector; use it directly with NewValidator.
func WithChecker(c Checker) Option { return func(cfg *validatorConfig) { cfg.checker = c } }

// WithCacheConfig sizes the ticket cache in front of the Checker (see
// CacheConfig). Passed to a Registry through WithValidatorOptions, it sizes
// the one cache that all the Registry's Validators share.
func WithCacheConfig(c CacheConfig) Option { return func(cfg *validatorConfig) { cfg.cacheConfig = c } }

// withSharedCache makes the Validator use a Registry's cache, its entries
// scoped to one system revision.
func withSharedCache(c *ticketCache, scope string) Option {
	return func(cfg *validatorConfig) { cfg.cache, cfg.cacheScope = c, scope }
}

// Validator is one ticket system, compiled: its Pattern and URLTemplate are
// parsed once by NewValidator. It is immutable and safe for concurrent use.
// The zero value is not usable; build one with NewValidator or
// Registry.Validator.
type Validator struct {
	sys     TicketSystem
	cfg     validatorConfig
	pattern pattern
	tmpl    urlTemplate
	label   string // the Label, or "Ticket Number"

	checker    Checker // nil: no live check
	cache      *ticketCache
	cacheScope string
}

// DefaultLabel is the Ticket Number Label used when a system has none.
const DefaultLabel = "Ticket Number"

// NewValidator checks and compiles sys: its Mode must be valid
// (ErrInvalidMode), its Pattern must compile (ErrInvalidPattern) and its
// URLTemplate must follow the template rules (ErrInvalidTemplate). Other
// fields (name, ID, active) are the Registry's business and not checked
// here.
func NewValidator(sys TicketSystem, opts ...Option) (*Validator, error) {
	cfg := defaultValidatorConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if !sys.Mode.Valid() {
		return nil, configErrorf(ErrInvalidMode, sys.Mode.String())
	}
	p, err := compilePattern(sys.Pattern, cfg.re2, cfg.matchTimeout, cfg.backtrackLimit)
	if err != nil {
		return nil, err
	}
	t, err := parseTemplate(sys.URLTemplate)
	if err != nil {
		return nil, err
	}
	if sys.AllowedStatuses, err = cleanStatuses(sys.AllowedStatuses); err != nil {
		return nil, err
	}
	label := trimSpace(sys.Label)
	if label == "" {
		label = DefaultLabel
	}
	v := &Validator{sys: sys, cfg: cfg, pattern: p, tmpl: t, label: label, checker: cfg.checker}
	if v.checker != nil {
		v.cache, v.cacheScope = cfg.cache, cfg.cacheScope
		if v.cache == nil {
			v.cache = newTicketCache(cfg.cacheConfig, cfg.now)
		}
	}
	return v, nil
}

// System returns the configuration the Validator was built from.
func (v *Validator) System() TicketSystem { return v.sys }

// Validate checks a Submission against the system, in this order:
// hygiene (both fields), the requirement mode, the Pattern, which is
// applied to any ticket number that was entered, and, with a Checker, the
// live lookup of that number (through the cache, under the system's outage
// policy). On success the Result holds the trimmed input, the resolved
// ticket link and what the live check found.
//
// Every failure is a *ValidationError whose Err is a sentinel
// (ErrMalformed, ErrTicketRequired, ErrReasonRequired,
// ErrTicketOrReasonRequired, ErrTicketFormat, ErrPatternTimeout,
// ErrTicketNotFound, ErrTicketClosed, ErrCheckerUnavailable,
// ErrCheckerAuth) and whose Message can be shown to the user, except that
// a ctx cancelled during the live lookup returns ctx's error. After
// ErrTicketNotFound or ErrTicketClosed the Result still carries the
// lookup's details (TicketNumber, Ticket, FromCache) for the audit trail;
// after any other error it is zero.
//
// Without a live check, Validate does not allocate when it succeeds,
// except for the Result's URL when the system has a URLTemplate (one
// allocation).
func (v *Validator) Validate(ctx context.Context, s Submission) (Result, error) {
	// Nearly all input is short printable ASCII with nothing to trim;
	// cleanASCII proves that in one pass, and only other input takes the
	// full trim and hygiene path.
	ticket, reason := s.TicketNumber, s.Reason
	if !cleanASCII(ticket, v.cfg.maxTicketLength) {
		ticket = trimSpace(ticket)
		if err := ticketHygieneError(v.label, ticket, v.cfg.maxTicketLength); err != nil {
			return Result{}, err
		}
	}
	if !cleanASCII(reason, v.cfg.maxReasonLength) {
		reason = trimSpace(reason)
		if err := reasonHygieneError(reason, v.cfg.maxReasonLength); err != nil {
			return Result{}, err
		}
	}
	if field, err := v.sys.Mode.unmet(ticket != "", reason != ""); err != nil {
		return Result{}, v.requirementError(field, err)
	}
	if ticket == "" {
		return Result{Reason: reason}, nil
	}
	if ok, err := v.pattern.match(ticket); !ok || err != nil {
		return Result{}, v.patternError(err)
	}
	res := Result{TicketNumber: ticket, Reason: reason}
	if v.tmpl.parts != nil {
		res.URL = v.tmpl.resolve(ticket)
	}
	if v.checker != nil {
		return v.checkLive(ctx, res, false)
	}
	return res, nil
}

// CheckTicketNumber checks a ticket number alone, as an admin's "Test
// Validation" does: hygiene, Pattern and the live lookup, no requirement
// mode and no reason. The lookup bypasses the cache and never fails open:
// an admin testing a system wants to see what it answers now. An empty
// ticket number is ErrTicketRequired.
func (v *Validator) CheckTicketNumber(ctx context.Context, ticketNumber string) (Result, error) {
	ticket := trimSpace(ticketNumber)
	if ticket == "" {
		return Result{}, v.requirementError(FieldTicketNumber, ErrTicketRequired)
	}
	if err := v.checkTicketHygiene(ticket); err != nil {
		return Result{}, err
	}
	if err := v.matchPattern(ticket); err != nil {
		return Result{}, err
	}
	res := Result{TicketNumber: ticket, URL: v.resolve(ticket)}
	if v.checker != nil {
		return v.checkLive(ctx, res, true)
	}
	return res, nil
}

// ResolveURL returns the View Ticket link for ticketNumber: the system's
// URLTemplate with every $TICKETID replaced by the trimmed,
// percent-encoded ticket number. It returns "" and no error when the system
// has no template. It applies hygiene (ErrMalformed) and refuses an empty
// ticket number (ErrTicketRequired), but does not apply the Pattern, so it
// can link ticket numbers recorded under an older pattern. The result
// always has the template's scheme and host. It makes at most one
// allocation.
func (v *Validator) ResolveURL(ticketNumber string) (string, error) {
	if v.tmpl.parts == nil {
		return "", nil
	}
	ticket := trimSpace(ticketNumber)
	if ticket == "" {
		return "", v.requirementError(FieldTicketNumber, ErrTicketRequired)
	}
	if err := v.checkTicketHygiene(ticket); err != nil {
		return "", err
	}
	return v.tmpl.resolve(ticket), nil
}

func (v *Validator) resolve(ticket string) string {
	if ticket == "" {
		return ""
	}
	return v.tmpl.resolve(ticket)
}

func (v *Validator) matchPattern(ticket string) error {
	if ok, err := v.pattern.match(ticket); !ok || err != nil {
		return v.patternError(err)
	}
	return nil
}

// patternError is the error for a ticket number that did not match (err
// nil) or could not be matched (err from pattern.match).
func (v *Validator) patternError(err error) error {
	if err != nil {
		return &ValidationError{Field: FieldTicketNumber, Err: err,
			Message: v.label + " could not be checked against the required format; contact your administrator"}
	}
	msg := v.sys.ErrorMessage
	if trimSpace(msg) == "" {
		msg = v.label + " is not in the required format"
	}
	return &ValidationError{Field: FieldTicketNumber, Err: ErrTicketFormat, Message: msg}
}

// checkTicketHygiene applies ticket-number hygiene with the system's label
// and limit.
func (v *Validator) checkTicketHygiene(ticket string) error {
	return ticketHygieneError(v.label, ticket, v.cfg.maxTicketLength)
}

// ticketHygieneError returns the *ValidationError for a ticket number that
// fails hygiene, or nil. label names the field in the message.
func ticketHygieneError(label, ticket string, max int) error {
	switch checkTicketNumber(ticket, max) {
	case inputOK:
		return nil
	case inputTooLong:
		return &ValidationError{Field: FieldTicketNumber, Err: ErrMalformed,
			Message: label + " is too long (at most " + strconv.Itoa(max) + " characters)"}
	default:
		return &ValidationError{Field: FieldTicketNumber, Err: ErrMalformed,
			Message: label + " contains characters that are not allowed"}
	}
}

// reasonHygieneError is ticketHygieneError for the reason.
func reasonHygieneError(reason string, max int) error {
	switch checkReason(reason, max) {
	case inputOK:
		return nil
	case inputTooLong:
		return &ValidationError{Field: FieldReason, Err: ErrMalformed,
			Message: "Reason is too long (at most " + strconv.Itoa(max) + " characters)"}
	default:
		return &ValidationError{Field: FieldReason, Err: ErrMalformed,
			Message: "Reason contains characters that are not allowed"}
	}
}

func (v *Validator) requirementError(field Field, err error) error {
	var msg string
	switch err {
	case ErrTicketRequired:
		msg = v.label + " is required"
	case ErrReasonRequired:
		msg = "Reason is required"
	case ErrTicketOrReasonRequired:
		msg = v.label + " or reason is required"
	default:
		msg = "Invalid requirement mode; contact your administrator"
	}
	return &ValidationError{Field: field, Err: err, Message: msg}
}
