package ticketing

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TicketSystem is the configuration of one ticket system, as on Secret
// Server's Ticket System tab. The zero value is an inactive system with no
// name, ReasonRequired, no pattern (any ticket number) and no link; Add
// rejects it until it has a Name.
//
// A TicketSystem is a plain value: copying it is safe, and the Registry
// hands out copies.
type TicketSystem struct {
	// ID identifies the system. Add assigns a random one when it is empty;
	// a given ID must be 1 to 64 characters of [A-Za-z0-9._:-].
	ID string `json:"id"`
	// Name is shown to users picking a system; unique among active systems
	// (trimmed, case-insensitive). Required.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Active systems can be chosen for access; retired (inactive) ones can
	// only be tested. Change it with Retire and Activate.
	Active bool `json:"active"`
	// Default marks the one active system used when the host does not choose
	// one. Change it with SetDefault.
	Default bool `json:"default"`
	// Label is the "Ticket Number Label" shown next to the ticket number box
	// and used in messages ("Incident number is required"). "" means
	// DefaultLabel.
	Label string `json:"label,omitempty"`
	// Mode is the "Ticket Number and Reason Options" requirement.
	Mode RequirementMode `json:"mode"`
	// Pattern is the "Ticket Number Format Pattern (Regex)", .NET dialect.
	// It searches (like .NET's IsMatch), so anchor it with ^ and $. "" accepts
	// any ticket number.
	Pattern string `json:"pattern,omitempty"`
	// ErrorMessage is shown when Pattern does not match. "" means a default
	// message that names the Label.
	ErrorMessage string `json:"errorMessage,omitempty"`
	// URLTemplate is the "View Ticket URL Template" with $TICKETID; "" means
	// ticket numbers are not linked.
	URLTemplate string `json:"urlTemplate,omitempty"`
	// HideComment asks the host to hide the comment (reason) box on the
	// Request Access screen, as Secret Server's hideComment does. It is
	// advisory: the requirement Mode still applies.
	HideComment bool `json:"hideComment,omitempty"`
	// Connector names the live ticket check, a Checker registered with
	// WithConnector; "" means no live check (the Pattern only). The
	// connector's own settings (base URL, credentials, table) live in its
	// Config in the host's code, never in the Store.
	Connector string `json:"connector,omitempty"`
	// AllowedStatuses lists the ticket statuses that allow access,
	// matched case-insensitively against the status label or code the
	// ticket system returns ("In Progress", "2"). When empty, the
	// connector's judgement of open versus closed decides.
	AllowedStatuses []string `json:"allowedStatuses,omitempty"`
	// AddCommentsToTicket writes a note (secret, user, reason, correlation
	// id) to the ticket after access is granted, when the connector can.
	AddCommentsToTicket bool `json:"addCommentsToTicket,omitempty"`
	// StrictComments denies access when that note cannot be written. By
	// default a failed note is recorded in the audit record and access
	// stands.
	StrictComments bool `json:"strictComments,omitempty"`
	// LookupTimeout bounds one live lookup, retries included; 0 means
	// DefaultLookupTimeout.
	LookupTimeout time.Duration `json:"lookupTimeout,omitempty"`
	// LookupRetries is how often a temporary failure (429, 502, 503, 504,
	// connection error) is retried within LookupTimeout; 0 means
	// DefaultLookupRetries, a negative value means never.
	LookupRetries int `json:"lookupRetries,omitempty"`
	// FailOpen grants access, marked LiveCheckFailedOpen in the Result and
	// the audit record, when the ticket system is unavailable. By default
	// the check fails closed. Refused credentials (ErrCheckerAuth) always
	// fail closed.
	FailOpen bool `json:"failOpen,omitempty"`
	// Version counts the stored revisions of the system, starting at 1.
	// The Registry sets it; Update refuses a system whose Version is not the
	// stored one (ErrVersionConflict), so concurrent edits are never lost.
	Version int64 `json:"version"`
}

// clone returns a copy of s that shares no slice with it.
func (s TicketSystem) clone() TicketSystem {
	s.AllowedStatuses = slices.Clone(s.AllowedStatuses)
	return s
}

// Field limits for a TicketSystem, in characters.
const (
	maxIDLength           = 64
	maxNameLength         = 256
	maxLabelLength        = 256
	maxDescriptionLength  = 4096
	maxErrorMessageLength = 1024
)

// RegistryOption configures a Registry. A nil RegistryOption is ignored.
type RegistryOption func(*Registry)

// WithValidatorOptions applies opts to every Validator the Registry builds.
func WithValidatorOptions(opts ...Option) RegistryOption {
	return func(r *Registry) { r.validatorOpts = append(r.validatorOpts, opts...) }
}

// WithConnector registers a live ticket checker under name, for the
// systems whose Connector field says name. If c also implements Commenter,
// those systems can write comments back (AddCommentsToTicket). name follows
// the rules of a system ID; registering the same name twice keeps the last.
// Connectors are registered in code, so their credentials never reach the
// Store.
func WithConnector(name string, c Checker) RegistryOption {
	return func(r *Registry) {
		if c != nil {
			r.connectors[name] = c
		}
	}
}

// WithClock sets the clock that stamps audit records and ages cached
// ticket lookups (default time.Now). Times are recorded in UTC.
func WithClock(now func() time.Time) RegistryOption {
	return func(r *Registry) {
		if now != nil {
			r.now = now
		}
	}
}

// Registry manages the ticket systems kept in a Store and enforces their
// rules: no delete (retire instead); names unique among active systems;
// exactly one default while any system is active, the first active system
// becoming it; the default cannot be retired while another active system
// could replace it; a retired system cannot be default or chosen for access
// but can be tested; every system is compiled before it is stored.
//
// The rules are checked inside the Store's atomic read-modify-write, so they
// hold with many goroutines, and many processes sharing one Store, calling
// at once. A Registry is safe for concurrent use. The zero value is not
// usable; call NewRegistry.
type Registry struct {
	store         Store
	validatorOpts []Option
	inputLimits   validatorConfig // what validatorOpts give, for escaping denied input
	now           func() time.Time
	connectors    map[string]Checker
	cache         *ticketCache // shared by the Validators

	mu         sync.RWMutex
	validators map[string]*Validator // by system ID; stale when Version differs
}

// NewRegistry returns a Registry over s.
func NewRegistry(s Store, opts ...RegistryOption) *Registry {
	r := &Registry{store: s, now: time.Now, validators: make(map[string]*Validator), connectors: make(map[string]Checker)}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	r.inputLimits = defaultValidatorConfig()
	for _, o := range r.validatorOpts {
		if o != nil {
			o(&r.inputLimits)
		}
	}
	r.cache = newTicketCache(r.inputLimits.cacheConfig, r.now)
	return r
}

// Add validates sys and stores it as a new system, returning the stored
// copy with its ID and Version. sys.Default may be set only on an active
// system (ErrInactive); the first active system becomes the default
// whatever sys.Default says. Errors: ErrInvalidSystem, ErrInvalidMode,
// ErrInvalidPattern, ErrInvalidTemplate, ErrDuplicateID, ErrDuplicateName.
func (r *Registry) Add(ctx context.Context, sys TicketSystem) (TicketSystem, error) {
	sys, err := r.checkSystem(sys)
	if err != nil {
		return TicketSystem{}, err
	}
	if sys.Default && !sys.Active {
		return TicketSystem{}, configErrorf(ErrInactive, "an inactive system cannot be the default")
	}
	generated := sys.ID == ""
	var added TicketSystem
	err = r.store.UpdateSystems(ctx, func(all []TicketSystem) ([]TicketSystem, error) {
		added = sys
		if generated {
			added.ID = newSystemID()
		}
		if indexByID(all, added.ID) >= 0 {
			return nil, configErrorf(ErrDuplicateID, quote(added.ID))
		}
		if added.Active && activeNameTaken(all, added.Name, added.ID) {
			return nil, configErrorf(ErrDuplicateName, quote(added.Name))
		}
		added.Version = 1
		var changed []TicketSystem
		if added.Active {
			d := indexDefault(all)
			switch {
			case added.Default && d >= 0:
				changed = append(changed, withDefault(all[d], false))
			case d < 0:
				added.Default = true
			}
		}
		return append(changed, added), nil
	})
	if err != nil {
		return TicketSystem{}, err
	}
	return added, nil
}

// Update replaces the configuration of the stored system with sys.ID by
// sys, after validating it, and returns the stored copy. sys.Version must
// equal the stored Version (ErrVersionConflict): Get, change, Update.
// Active and Default cannot change here (ErrInvalidSystem): use Retire,
// Activate and SetDefault, which keep the registry's rules.
func (r *Registry) Update(ctx context.Context, sys TicketSystem) (TicketSystem, error) {
	if sys.ID == "" {
		return TicketSystem{}, configErrorf(ErrInvalidSystem, "Update needs an ID")
	}
	sys, err := r.checkSystem(sys)
	if err != nil {
		return TicketSystem{}, err
	}
	var updated TicketSystem
	err = r.store.UpdateSystems(ctx, func(all []TicketSystem) ([]TicketSystem, error) {
		i := indexByID(all, sys.ID)
		if i < 0 {
			return nil, configErrorf(ErrNotFound, quote(sys.ID))
		}
		cur := all[i]
		if sys.Version != cur.Version {
			return nil, configErrorf(ErrVersionConflict, "stored version is "+strconv.FormatInt(cur.Version, 10)+", update is based on "+strconv.FormatInt(sys.Version, 10))
		}
		if sys.Active != cur.Active || sys.Default != cur.Default {
			return nil, configErrorf(ErrInvalidSystem, "Update cannot change Active or Default; use Retire, Activate or SetDefault")
		}
		if sys.Active && activeNameTaken(all, sys.Name, sys.ID) {
			return nil, configErrorf(ErrDuplicateName, quote(sys.Name))
		}
		updated = sys
		updated.Version = cur.Version + 1
		return []TicketSystem{updated}, nil
	})
	if err != nil {
		return TicketSystem{}, err
	}
	return updated, nil
}

// Get returns the system with that ID, active or not (ErrNotFound).
func (r *Registry) Get(ctx context.Context, id string) (TicketSystem, error) {
	return r.store.GetSystem(ctx, id)
}

// List returns the active systems, or all of them when includeInactive is
// set, in the order they were added.
func (r *Registry) List(ctx context.Context, includeInactive bool) ([]TicketSystem, error) {
	all, err := r.store.ListSystems(ctx)
	if err != nil {
		return nil, err
	}
	if includeInactive {
		return all, nil
	}
	var active []TicketSystem
	for _, s := range all {
		if s.Active {
			active = append(active, s)
		}
	}
	return active, nil
}

// Default returns the default system, or ErrNoDefault when no system is
// active.
func (r *Registry) Default(ctx context.Context) (TicketSystem, error) {
	all, err := r.store.ListSystems(ctx)
	if err != nil {
		return TicketSystem{}, err
	}
	if i := indexDefault(all); i >= 0 {
		return all[i], nil
	}
	return TicketSystem{}, ErrNoDefault
}

// SetDefault makes the active system id the default, and the previous
// default an ordinary active system. Errors: ErrNotFound, ErrInactive.
func (r *Registry) SetDefault(ctx context.Context, id string) (TicketSystem, error) {
	return r.modify(ctx, id, func(all []TicketSystem, i int) ([]TicketSystem, error) {
		target := all[i]
		if !target.Active {
			return nil, configErrorf(ErrInactive, quote(id)+" cannot be the default")
		}
		if target.Default {
			return nil, nil
		}
		var changed []TicketSystem
		if d := indexDefault(all); d >= 0 {
			changed = append(changed, withDefault(all[d], false))
		}
		return append(changed, withDefault(target, true)), nil
	})
}

// Retire makes the system inactive: it stays stored (and testable) but
// can no longer be chosen for access. Retiring a retired system does
// nothing. The default cannot be retired while another active system
// exists (ErrDefaultSystem): make that one the default first. The last
// active system can be retired; then there is no default (ErrNoDefault).
func (r *Registry) Retire(ctx context.Context, id string) (TicketSystem, error) {
	return r.modify(ctx, id, func(all []TicketSystem, i int) ([]TicketSystem, error) {
		target := all[i]
		if !target.Active {
			return nil, nil
		}
		if target.Default {
			for j, s := range all {
				if j != i && s.Active {
					return nil, configErrorf(ErrDefaultSystem, quote(id)+": make another system the default first")
				}
			}
		}
		target.Active, target.Default = false, false
		target.Version++
		return []TicketSystem{target}, nil
	})
}

// Activate makes a retired system active again; it becomes the default
// when no other system is active. Activating an active system does
// nothing. Errors: ErrNotFound, ErrDuplicateName (an active system took
// its name meanwhile).
func (r *Registry) Activate(ctx context.Context, id string) (TicketSystem, error) {
	return r.modify(ctx, id, func(all []TicketSystem, i int) ([]TicketSystem, error) {
		target := all[i]
		if target.Active {
			return nil, nil
		}
		if activeNameTaken(all, target.Name, target.ID) {
			return nil, configErrorf(ErrDuplicateName, quote(target.Name))
		}
		target.Active = true
		target.Default = indexDefault(all) < 0
		target.Version++
		return []TicketSystem{target}, nil
	})
}

// modify runs change on the system id inside the Store's atomic update and
// returns that system as stored afterwards. change returns the systems to
// write; none means nothing changes.
func (r *Registry) modify(ctx context.Context, id string, change func(all []TicketSystem, i int) ([]TicketSystem, error)) (TicketSystem, error) {
	var result TicketSystem
	err := r.store.UpdateSystems(ctx, func(all []TicketSystem) ([]TicketSystem, error) {
		i := indexByID(all, id)
		if i < 0 {
			return nil, configErrorf(ErrNotFound, quote(id))
		}
		changed, err := change(all, i)
		if err != nil {
			return nil, err
		}
		result = all[i]
		for _, s := range changed {
			if s.ID == id {
				result = s
			}
		}
		return changed, nil
	})
	if err != nil {
		return TicketSystem{}, err
	}
	return result, nil
}

// Validator returns the compiled Validator of the active system id, or of
// the default system when id is "". Validators are cached per system
// Version, so a system is compiled once per revision. Errors: ErrNotFound,
// ErrInactive, ErrNoDefault.
func (r *Registry) Validator(ctx context.Context, id string) (*Validator, error) {
	sys, err := r.selectSystem(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.compiled(sys)
}

// Test checks ticketNumber against system id ("" = the default) as an
// admin's "Test Validation" does: hygiene and Pattern (and, once
// connectors exist, the live lookup), on active and retired systems alike.
// The reason requirement does not apply and nothing is stored.
func (r *Registry) Test(ctx context.Context, id, ticketNumber string) (Result, error) {
	var sys TicketSystem
	var err error
	if id == "" {
		sys, err = r.Default(ctx)
	} else {
		sys, err = r.store.GetSystem(ctx, id)
	}
	if err != nil {
		return Result{}, err
	}
	v, err := r.compiled(sys)
	if err != nil {
		return Result{}, err
	}
	return v.CheckTicketNumber(ctx, ticketNumber)
}

// selectSystem returns the active system id, or the default for "". A
// retired system is returned with ErrInactive, so the caller can record
// which one was refused.
func (r *Registry) selectSystem(ctx context.Context, id string) (TicketSystem, error) {
	if id == "" {
		return r.Default(ctx)
	}
	sys, err := r.store.GetSystem(ctx, id)
	if err != nil {
		return TicketSystem{}, err
	}
	if !sys.Active {
		return sys, configErrorf(ErrInactive, quote(id)+" cannot be chosen")
	}
	return sys, nil
}

func (r *Registry) compiled(sys TicketSystem) (*Validator, error) {
	r.mu.RLock()
	v := r.validators[sys.ID]
	r.mu.RUnlock()
	if v != nil && v.sys.Version == sys.Version {
		return v, nil
	}
	v, err := NewValidator(sys, r.optionsFor(sys)...)
	if err != nil {
		// Stored systems were compiled before they were stored; this happens
		// only if the store was edited behind the Registry's back or the
		// options changed.
		return nil, err
	}
	r.mu.Lock()
	if old := r.validators[sys.ID]; old == nil || old.sys.Version <= sys.Version {
		r.validators[sys.ID] = v
	}
	r.mu.Unlock()
	return v, nil
}

// optionsFor returns the Validator options for sys: the Registry's own, its
// connector, and the shared cache scoped to this revision of sys (so an
// Update never serves answers of the old configuration).
func (r *Registry) optionsFor(sys TicketSystem) []Option {
	// WithChecker comes last, so a checker passed through
	// WithValidatorOptions cannot apply to a system without a Connector.
	return append(slices.Clip(r.validatorOpts),
		WithChecker(r.connectors[sys.Connector]),
		withSharedCache(r.cache, sys.ID+"\x00"+strconv.FormatInt(sys.Version, 10)))
}

// checkSystem normalises (trims Name and Label) and validates the fields
// of sys, and compiles it, before anything is stored.
func (r *Registry) checkSystem(sys TicketSystem) (TicketSystem, error) {
	sys.Name = trimSpace(sys.Name)
	sys.Label = trimSpace(sys.Label)
	if sys.ID != "" && !validID(sys.ID) {
		return sys, configErrorf(ErrInvalidSystem, "ID "+quote(sys.ID)+" must be 1 to 64 characters of [A-Za-z0-9._:-]")
	}
	if sys.Name == "" {
		return sys, configErrorf(ErrInvalidSystem, "Name is required")
	}
	for _, f := range []struct {
		name, value string
		max         int
		check       func(string, int) inputProblem
	}{
		{"Name", sys.Name, maxNameLength, checkTicketNumber},
		{"Label", sys.Label, maxLabelLength, checkTicketNumber},
		{"Description", sys.Description, maxDescriptionLength, checkReason},
		{"ErrorMessage", sys.ErrorMessage, maxErrorMessageLength, checkReason},
	} {
		if f.check(f.value, f.max) != inputOK {
			return sys, configErrorf(ErrInvalidSystem, f.name+" must be valid text without control characters, at most "+strconv.Itoa(f.max)+" characters")
		}
	}
	if sys.Connector != "" && r.connectors[sys.Connector] == nil {
		return sys, configErrorf(ErrInvalidSystem, "Connector "+quote(sys.Connector)+" is not registered (WithConnector)")
	}
	if sys.Connector == "" && (sys.AddCommentsToTicket || sys.FailOpen) {
		return sys, configErrorf(ErrInvalidSystem, "AddCommentsToTicket and FailOpen need a Connector")
	}
	if sys.LookupTimeout < 0 {
		return sys, configErrorf(ErrInvalidSystem, "LookupTimeout must not be negative")
	}
	var err error
	if sys.AllowedStatuses, err = cleanStatuses(sys.AllowedStatuses); err != nil {
		return sys, err
	}
	if _, err := NewValidator(sys, r.optionsFor(sys)...); err != nil {
		return sys, err
	}
	return sys, nil
}

// cleanStatuses trims the AllowedStatuses entries and refuses empty ones
// and ones with control characters; it returns a new slice (nil when
// empty), never the caller's.
func cleanStatuses(in []string) ([]string, error) {
	var out []string
	for _, st := range in {
		st = trimSpace(st)
		if st == "" || checkTicketNumber(st, maxLabelLength) != inputOK {
			return nil, configErrorf(ErrInvalidSystem, "AllowedStatuses entry "+quote(st)+" must be non-empty text without control characters")
		}
		out = append(out, st)
	}
	return out, nil
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !unreserved(c) && c != ':' || c == '~' {
			return false
		}
	}
	return true
}

func newSystemID() string { return randomHex(8) }

func indexByID(all []TicketSystem, id string) int {
	for i, s := range all {
		if s.ID == id {
			return i
		}
	}
	return -1
}

func indexDefault(all []TicketSystem) int {
	for i, s := range all {
		if s.Active && s.Default {
			return i
		}
	}
	return -1
}

// activeNameTaken reports whether an active system other than exceptID
// has name, compared trimmed and case-insensitively.
func activeNameTaken(all []TicketSystem, name, exceptID string) bool {
	name = trimSpace(name)
	for _, s := range all {
		if s.Active && s.ID != exceptID && strings.EqualFold(trimSpace(s.Name), name) {
			return true
		}
	}
	return false
}

func withDefault(s TicketSystem, def bool) TicketSystem {
	s.Default = def
	s.Version++
	return s
}
