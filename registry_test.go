package ticketing_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// ---------------------------------------------------------------------------
// helpers

// checkedStore wraps a MemoryStore and watches every write the Registry
// makes: each written system must carry its stored Version plus one (1 when
// new), and the state after every write must keep the registry's rules. It
// also counts writes per system and audit appends.
type checkedStore struct {
	*ticketing.MemoryStore

	mu       sync.Mutex
	writes   map[string]int64 // successful writes per system ID
	problems []string

	updates, appends atomic.Int64
}

func newCheckedStore() *checkedStore {
	return &checkedStore{MemoryStore: ticketing.NewMemoryStore(), writes: make(map[string]int64)}
}

func (s *checkedStore) UpdateSystems(ctx context.Context, fn func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error)) error {
	var (
		changed  []ticketing.TicketSystem
		problems []string
	)
	err := s.MemoryStore.UpdateSystems(ctx, func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		before := make(map[string]int64, len(cur))
		for _, c := range cur {
			before[c.ID] = c.Version
		}
		ch, err := fn(cur)
		changed, problems = ch, nil
		if err != nil {
			return ch, err
		}
		next := append([]ticketing.TicketSystem(nil), cur...)
		for _, c := range ch {
			if want := before[c.ID] + 1; c.Version != want {
				problems = append(problems, fmt.Sprintf("system %s written with Version %d, want %d", c.ID, c.Version, want))
			}
			if i := indexOf(next, c.ID); i >= 0 {
				next[i] = c
			} else {
				next = append(next, c)
			}
		}
		problems = append(problems, ruleViolations(next)...)
		return ch, nil
	})
	if err == nil {
		s.updates.Add(1)
		s.mu.Lock()
		for _, c := range changed {
			s.writes[c.ID]++
		}
		s.problems = append(s.problems, problems...)
		s.mu.Unlock()
	}
	return err
}

func (s *checkedStore) AppendAudit(ctx context.Context, rec ticketing.AuditRecord) (ticketing.AuditRecord, error) {
	s.appends.Add(1)
	return s.MemoryStore.AppendAudit(ctx, rec)
}

// requireClean asserts that every write kept the rules and that each
// system's Version counts its writes.
func (s *checkedStore) requireClean(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(t, s.problems, "rules or versions broken by some write")
	all, err := s.MemoryStore.ListSystems(context.Background())
	require.NoError(t, err)
	for _, sys := range all {
		assert.Equal(t, s.writes[sys.ID], sys.Version, "Version of %s (%q) must equal its number of writes", sys.ID, sys.Name)
	}
}

func indexOf(all []ticketing.TicketSystem, id string) int {
	for i, s := range all {
		if s.ID == id {
			return i
		}
	}
	return -1
}

// ruleViolations lists how systems break the registry's rules: a retired
// default, not exactly one default while any system is active, two active
// systems with the same trimmed, case-insensitive name, a Version below 1.
func ruleViolations(all []ticketing.TicketSystem) []string {
	var out []string
	activeCount, defaults := 0, 0
	for i, s := range all {
		if s.Version < 1 {
			out = append(out, fmt.Sprintf("system %s has Version %d", s.ID, s.Version))
		}
		if s.Default {
			defaults++
			if !s.Active {
				out = append(out, fmt.Sprintf("retired system %s is the default", s.ID))
			}
		}
		if !s.Active {
			continue
		}
		activeCount++
		for _, o := range all[:i] {
			if o.Active && strings.EqualFold(strings.TrimSpace(o.Name), strings.TrimSpace(s.Name)) {
				out = append(out, fmt.Sprintf("active systems %s and %s share the name %q", o.ID, s.ID, s.Name))
			}
		}
	}
	switch {
	case activeCount > 0 && defaults != 1:
		out = append(out, fmt.Sprintf("%d active systems and %d defaults, want exactly 1", activeCount, defaults))
	case activeCount == 0 && defaults != 0:
		out = append(out, fmt.Sprintf("no active system but %d defaults", defaults))
	}
	return out
}

func requireRules(t *testing.T, r *ticketing.Registry) []ticketing.TicketSystem {
	t.Helper()
	all, err := r.List(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, ruleViolations(all))
	return all
}

func newTestRegistry(t *testing.T) (*ticketing.Registry, *checkedStore) {
	t.Helper()
	s := newCheckedStore()
	t.Cleanup(func() { s.requireClean(t) })
	return ticketing.NewRegistry(s), s
}

func activeSys(name string) ticketing.TicketSystem {
	return ticketing.TicketSystem{Name: name, Active: true}
}

func retiredSys(name string) ticketing.TicketSystem {
	return ticketing.TicketSystem{Name: name}
}

func mustAdd(t *testing.T, r *ticketing.Registry, sys ticketing.TicketSystem) ticketing.TicketSystem {
	t.Helper()
	got, err := r.Add(context.Background(), sys)
	require.NoError(t, err, "Add(%q)", sys.Name)
	return got
}

func mustGet(t *testing.T, r *ticketing.Registry, id string) ticketing.TicketSystem {
	t.Helper()
	got, err := r.Get(context.Background(), id)
	require.NoError(t, err, "Get(%q)", id)
	return got
}

func listAll(t *testing.T, r *ticketing.Registry) []ticketing.TicketSystem {
	t.Helper()
	all, err := r.List(context.Background(), true)
	require.NoError(t, err)
	return all
}

func names(systems []ticketing.TicketSystem) []string {
	out := []string{}
	for _, s := range systems {
		out = append(out, s.Name)
	}
	return out
}

func defaultName(t *testing.T, r *ticketing.Registry) string {
	t.Helper()
	d, err := r.Default(context.Background())
	if errors.Is(err, ticketing.ErrNoDefault) {
		return ""
	}
	require.NoError(t, err)
	return d.Name
}

// byName finds a system by name in all.
func byName(t *testing.T, all []ticketing.TicketSystem, name string) ticketing.TicketSystem {
	t.Helper()
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	require.Failf(t, "system not found", "no system named %q in %q", name, names(all))
	return ticketing.TicketSystem{}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// ---------------------------------------------------------------------------
// Add

func TestRegistryAdd(t *testing.T) {
	tests := []struct {
		name    string
		setup   []ticketing.TicketSystem // added first
		in      ticketing.TicketSystem
		wantErr error
		check   func(t *testing.T, got ticketing.TicketSystem) // replaces the field-by-field comparison
	}{
		{
			name: "empty ID is generated",
			in:   activeSys("ServiceNow"),
			check: func(t *testing.T, got ticketing.TicketSystem) {
				assert.Regexp(t, idPattern, got.ID)
			},
		},
		{
			name: "given ID is kept",
			in:   ticketing.TicketSystem{ID: "svc-now.1:prod_A", Name: "ServiceNow", Active: true},
			check: func(t *testing.T, got ticketing.TicketSystem) {
				assert.Equal(t, "svc-now.1:prod_A", got.ID)
			},
		},
		{
			name: "ID of 64 characters",
			in:   ticketing.TicketSystem{ID: strings.Repeat("a", 64), Name: "Long ID"},
		},
		{name: "ID of 65 characters", in: ticketing.TicketSystem{ID: strings.Repeat("a", 65), Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with a space", in: ticketing.TicketSystem{ID: "a b", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with a slash", in: ticketing.TicketSystem{ID: "a/b", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with a tilde", in: ticketing.TicketSystem{ID: "a~b", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with a percent", in: ticketing.TicketSystem{ID: "a%20", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with non-ASCII", in: ticketing.TicketSystem{ID: "système", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID with NUL", in: ticketing.TicketSystem{ID: "a\x00", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "ID that is only spaces", in: ticketing.TicketSystem{ID: "  ", Name: "X"}, wantErr: ticketing.ErrInvalidSystem},
		{
			name:    "ID taken by an active system",
			setup:   []ticketing.TicketSystem{{ID: "sn", Name: "ServiceNow", Active: true}},
			in:      ticketing.TicketSystem{ID: "sn", Name: "Other", Active: true},
			wantErr: ticketing.ErrDuplicateID,
		},
		{
			name:    "ID taken by a retired system",
			setup:   []ticketing.TicketSystem{{ID: "sn", Name: "ServiceNow"}},
			in:      ticketing.TicketSystem{ID: "sn", Name: "Other"},
			wantErr: ticketing.ErrDuplicateID,
		},
		{name: "empty name", in: activeSys(""), wantErr: ticketing.ErrInvalidSystem},
		{name: "blank name", in: activeSys(" \t\u00a0\u2003 "), wantErr: ticketing.ErrInvalidSystem},
		{name: "name with NUL", in: activeSys("Service\x00Now"), wantErr: ticketing.ErrInvalidSystem},
		{name: "name with a line break", in: activeSys("Service\nNow"), wantErr: ticketing.ErrInvalidSystem},
		{name: "name with a bidi override", in: activeSys("Service\u202eNow"), wantErr: ticketing.ErrInvalidSystem},
		{name: "name with invalid UTF-8", in: activeSys("Service\xffNow"), wantErr: ticketing.ErrInvalidSystem},
		{name: "name of 257 characters", in: activeSys(strings.Repeat("n", 257)), wantErr: ticketing.ErrInvalidSystem},
		{name: "name of 256 two-byte characters", in: activeSys(strings.Repeat("é", 256))},
		{
			name: "name and label are trimmed",
			in:   ticketing.TicketSystem{Name: "\u00a0 ServiceNow \t", Label: "  Incident number\u2003", Active: true},
			check: func(t *testing.T, got ticketing.TicketSystem) {
				assert.Equal(t, "ServiceNow", got.Name)
				assert.Equal(t, "Incident number", got.Label)
			},
		},
		{name: "description with NUL", in: ticketing.TicketSystem{Name: "X", Description: "a\x00b"}, wantErr: ticketing.ErrInvalidSystem},
		{name: "description with line breaks", in: ticketing.TicketSystem{Name: "X", Description: "line 1\nline 2\ttab"}},
		{
			name:    "active name taken by an active system",
			setup:   []ticketing.TicketSystem{activeSys("ServiceNow")},
			in:      activeSys("ServiceNow"),
			wantErr: ticketing.ErrDuplicateName,
		},
		{
			name:    "active name taken, other case and spaces",
			setup:   []ticketing.TicketSystem{activeSys("ServiceNow")},
			in:      activeSys("  SERVICEnow\u00a0"),
			wantErr: ticketing.ErrDuplicateName,
		},
		{
			name:    "active name taken by a later active system",
			setup:   []ticketing.TicketSystem{activeSys("Jira"), activeSys("ServiceNow")},
			in:      activeSys("servicenow"),
			wantErr: ticketing.ErrDuplicateName,
		},
		{
			name:  "retired system may share an active name",
			setup: []ticketing.TicketSystem{activeSys("ServiceNow")},
			in:    retiredSys("servicenow"),
		},
		{
			name:  "active system may share a retired name",
			setup: []ticketing.TicketSystem{retiredSys("Jira")},
			in:    activeSys("JIRA"),
		},
		{
			name:  "similar but different names",
			setup: []ticketing.TicketSystem{activeSys("ServiceNow")},
			in:    activeSys("ServiceNow 2"),
		},
		{name: "invalid pattern", in: ticketing.TicketSystem{Name: "X", Active: true, Pattern: `^INC[`}, wantErr: ticketing.ErrInvalidPattern},
		{name: "invalid pattern group", in: ticketing.TicketSystem{Name: "X", Active: true, Pattern: `(?<name`}, wantErr: ticketing.ErrInvalidPattern},
		{
			name: ".NET pattern",
			in:   ticketing.TicketSystem{Name: "X", Active: true, Pattern: `(?i)^(?<p>INC)[\d]{7}(?!\d)$`},
		},
		{name: "template not http", in: ticketing.TicketSystem{Name: "X", URLTemplate: "ftp://tickets.example.com/$TICKETID"}, wantErr: ticketing.ErrInvalidTemplate},
		{name: "template without placeholder", in: ticketing.TicketSystem{Name: "X", URLTemplate: "https://tickets.example.com/view"}, wantErr: ticketing.ErrInvalidTemplate},
		{name: "template placeholder in host", in: ticketing.TicketSystem{Name: "X", URLTemplate: "https://$TICKETID.example.com/"}, wantErr: ticketing.ErrInvalidTemplate},
		{name: "template javascript", in: ticketing.TicketSystem{Name: "X", URLTemplate: "javascript:alert(1)//$TICKETID"}, wantErr: ticketing.ErrInvalidTemplate},
		{
			name: "valid template",
			in:   ticketing.TicketSystem{Name: "X", URLTemplate: "http://myticketingsystem/ticket.aspx?ticketid=$TICKETID"},
		},
		{name: "mode too large", in: ticketing.TicketSystem{Name: "X", Mode: ticketing.TicketRequired + 1}, wantErr: ticketing.ErrInvalidMode},
		{name: "negative mode", in: ticketing.TicketSystem{Name: "X", Mode: -1}, wantErr: ticketing.ErrInvalidMode},
		{
			name:    "default on a retired system",
			in:      ticketing.TicketSystem{Name: "X", Default: true},
			wantErr: ticketing.ErrInactive,
		},
		{
			name:    "default on a retired system, with others",
			setup:   []ticketing.TicketSystem{activeSys("A")},
			in:      ticketing.TicketSystem{Name: "X", Default: true},
			wantErr: ticketing.ErrInactive,
		},
		{
			name: "Version given is ignored",
			in:   ticketing.TicketSystem{Name: "X", Active: true, Version: 99},
		},
		{
			name: "every field stored",
			in: ticketing.TicketSystem{
				ID: "full", Name: "Full", Description: "All fields", Active: true, Label: "Change",
				Mode: ticketing.TicketOrReasonRequired, Pattern: `^CHG\d+$`, ErrorMessage: "Use CHG and digits",
				URLTemplate: "https://t.example.com/$TICKETID", HideComment: true,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := context.Background()
			for _, s := range tc.setup {
				mustAdd(t, r, s)
			}
			before := listAll(t, r)

			got, err := r.Add(ctx, tc.in)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, ticketing.TicketSystem{}, got)
				if diff := cmp.Diff(before, listAll(t, r)); diff != "" {
					t.Errorf("a failed Add changed the store (-before +after):\n%s", diff)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(1), got.Version)
			if diff := cmp.Diff(mustGet(t, r, got.ID), got); diff != "" {
				t.Errorf("Add returned something else than it stored (-stored +returned):\n%s", diff)
			}
			// Apart from ID, Version, Default and trimming, what was given is
			// what is stored.
			want := tc.in
			want.ID, want.Version, want.Default = got.ID, 1, got.Default
			want.Name, want.Label = strings.TrimSpace(want.Name), strings.TrimSpace(want.Label)
			if tc.check == nil {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("stored system (-want +got):\n%s", diff)
				}
			} else {
				tc.check(t, got)
			}
			after := listAll(t, r)
			require.Len(t, after, len(before)+1)
			assert.Equal(t, got.ID, after[len(after)-1].ID, "a new system is listed last")
			requireRules(t, r)
		})
	}
}

func TestRegistryAddGeneratesDistinctIDs(t *testing.T) {
	r, _ := newTestRegistry(t)
	seen := make(map[string]bool)
	for i := range 20 {
		got := mustAdd(t, r, activeSys(fmt.Sprintf("S%d", i)))
		require.Regexp(t, idPattern, got.ID)
		require.False(t, seen[got.ID], "ID %q generated twice", got.ID)
		seen[got.ID] = true
	}
}

func TestRegistryAddDefault(t *testing.T) {
	type step struct {
		add         ticketing.TicketSystem
		wantDefault string // name of the default afterwards; "" for none
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first active becomes default", []step{
			{activeSys("A"), "A"},
			{activeSys("B"), "A"},
		}},
		{"retired systems do not become default", []step{
			{retiredSys("R1"), ""},
			{retiredSys("R2"), ""},
			{activeSys("A"), "A"},
			{retiredSys("R3"), "A"},
		}},
		{"Default=true on the first active", []step{
			{ticketing.TicketSystem{Name: "A", Active: true, Default: true}, "A"},
		}},
		{"Default=true moves the default", []step{
			{activeSys("A"), "A"},
			{activeSys("B"), "A"},
			{ticketing.TicketSystem{Name: "C", Active: true, Default: true}, "C"},
			{activeSys("D"), "C"},
			{ticketing.TicketSystem{Name: "E", Active: true, Default: true}, "E"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			for i, st := range tc.steps {
				got := mustAdd(t, r, st.add)
				assert.Equal(t, st.wantDefault == got.Name, got.Default, "step %d: Default of the returned system", i)
				assert.Equal(t, st.wantDefault, defaultName(t, r), "step %d: default after adding %q", i, st.add.Name)
				requireRules(t, r)
			}
		})
	}
}

// Moving the default with Add is a write to the old default too.
func TestRegistryAddDefaultBumpsOldDefaultVersion(t *testing.T) {
	r, _ := newTestRegistry(t)
	a := mustAdd(t, r, activeSys("A"))
	b := mustAdd(t, r, ticketing.TicketSystem{Name: "B", Active: true, Default: true})
	a2 := mustGet(t, r, a.ID)
	assert.False(t, a2.Default)
	assert.Equal(t, int64(2), a2.Version)
	assert.True(t, b.Default)
	assert.Equal(t, int64(1), b.Version)
}

// ---------------------------------------------------------------------------
// Update

func TestRegistryUpdate(t *testing.T) {
	tests := []struct {
		name    string
		target  string // name of the system to change: A (default), B (active), C (retired)
		change  func(s *ticketing.TicketSystem)
		wantErr error
	}{
		{
			name:   "every configuration field",
			target: "A",
			change: func(s *ticketing.TicketSystem) {
				s.Name, s.Description, s.Label = "A2", "new description", "Change number"
				s.Mode, s.Pattern, s.ErrorMessage = ticketing.TicketRequired, `^CHG\d+$`, "Use CHG"
				s.URLTemplate, s.HideComment = "https://t.example.com/c/$TICKETID", true
			},
		},
		{name: "rename to own name in another case", target: "A", change: func(s *ticketing.TicketSystem) { s.Name = " a " }},
		{name: "retired system", target: "C", change: func(s *ticketing.TicketSystem) { s.Pattern = `^C\d+$` }},
		{name: "retired system may take an active name", target: "C", change: func(s *ticketing.TicketSystem) { s.Name = "b" }},
		{name: "stale version", target: "B", change: func(s *ticketing.TicketSystem) { s.Version--; s.Name = "B2" }, wantErr: ticketing.ErrVersionConflict},
		{name: "version zero", target: "B", change: func(s *ticketing.TicketSystem) { s.Version = 0 }, wantErr: ticketing.ErrVersionConflict},
		{name: "future version", target: "B", change: func(s *ticketing.TicketSystem) { s.Version++ }, wantErr: ticketing.ErrVersionConflict},
		{name: "retire through Update", target: "B", change: func(s *ticketing.TicketSystem) { s.Active = false }, wantErr: ticketing.ErrInvalidSystem},
		{name: "activate through Update", target: "C", change: func(s *ticketing.TicketSystem) { s.Active = true }, wantErr: ticketing.ErrInvalidSystem},
		{name: "make default through Update", target: "B", change: func(s *ticketing.TicketSystem) { s.Default = true }, wantErr: ticketing.ErrInvalidSystem},
		{name: "drop default through Update", target: "A", change: func(s *ticketing.TicketSystem) { s.Default = false }, wantErr: ticketing.ErrInvalidSystem},
		{name: "missing system", target: "B", change: func(s *ticketing.TicketSystem) { s.ID = "missing" }, wantErr: ticketing.ErrNotFound},
		{name: "no ID", target: "B", change: func(s *ticketing.TicketSystem) { s.ID = "" }, wantErr: ticketing.ErrInvalidSystem},
		{name: "empty name", target: "B", change: func(s *ticketing.TicketSystem) { s.Name = "  " }, wantErr: ticketing.ErrInvalidSystem},
		{name: "name with control character", target: "B", change: func(s *ticketing.TicketSystem) { s.Name = "B\x07" }, wantErr: ticketing.ErrInvalidSystem},
		{name: "invalid pattern", target: "B", change: func(s *ticketing.TicketSystem) { s.Pattern = `(` }, wantErr: ticketing.ErrInvalidPattern},
		{name: "invalid template", target: "B", change: func(s *ticketing.TicketSystem) { s.URLTemplate = "https://t.example.com/" }, wantErr: ticketing.ErrInvalidTemplate},
		{name: "invalid mode", target: "B", change: func(s *ticketing.TicketSystem) { s.Mode = 9 }, wantErr: ticketing.ErrInvalidMode},
		{name: "invalid pattern on a retired system", target: "C", change: func(s *ticketing.TicketSystem) { s.Pattern = `[` }, wantErr: ticketing.ErrInvalidPattern},
		{name: "active name taken", target: "B", change: func(s *ticketing.TicketSystem) { s.Name = "\tA " }, wantErr: ticketing.ErrDuplicateName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := context.Background()
			mustAdd(t, r, activeSys("A"))
			mustAdd(t, r, ticketing.TicketSystem{Name: "B", Active: true, Pattern: `^B\d+$`})
			mustAdd(t, r, retiredSys("C"))
			// B has been edited once, so it is at Version 2.
			b := byName(t, listAll(t, r), "B")
			b.Description = "edited"
			_, err := r.Update(ctx, b)
			require.NoError(t, err)
			before := listAll(t, r)
			orig := byName(t, before, tc.target)

			in := orig
			tc.change(&in)
			got, err := r.Update(ctx, in)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if diff := cmp.Diff(before, listAll(t, r)); diff != "" {
					t.Errorf("a failed Update changed the store (-before +after):\n%s", diff)
				}
				return
			}
			require.NoError(t, err)
			want := in
			want.Name, want.Label = strings.TrimSpace(in.Name), strings.TrimSpace(in.Label)
			want.Version = orig.Version + 1
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Update returned (-want +got):\n%s", diff)
			}
			// Only the target changed, and it is stored as returned.
			wantAll := append([]ticketing.TicketSystem(nil), before...)
			wantAll[indexOf(wantAll, orig.ID)] = want
			if diff := cmp.Diff(wantAll, listAll(t, r)); diff != "" {
				t.Errorf("store after Update (-want +got):\n%s", diff)
			}
			requireRules(t, r)
		})
	}
}

// Two admins edit the same system: the second edit is refused, not lost
// silently, and the first one stays.
func TestRegistryUpdateLostEditRefused(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	a := mustAdd(t, r, activeSys("A"))
	first, second := a, a
	first.Description = "first admin"
	second.Description = "second admin"
	updated, err := r.Update(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, int64(2), updated.Version)
	_, err = r.Update(ctx, second)
	require.ErrorIs(t, err, ticketing.ErrVersionConflict)
	assert.Equal(t, "first admin", mustGet(t, r, a.ID).Description)

	// Based on the new version, the second edit goes through.
	second.Version = updated.Version
	updated, err = r.Update(ctx, second)
	require.NoError(t, err)
	assert.Equal(t, int64(3), updated.Version)
	assert.Equal(t, "second admin", mustGet(t, r, a.ID).Description)
}

// ---------------------------------------------------------------------------
// Get and List

func TestRegistryGet(t *testing.T) {
	r, _ := newTestRegistry(t)
	a := mustAdd(t, r, ticketing.TicketSystem{ID: "sys-a", Name: "A", Active: true})
	c := mustAdd(t, r, retiredSys("C"))
	tests := []struct {
		name    string
		id      string
		want    ticketing.TicketSystem
		wantErr error
	}{
		{name: "active", id: a.ID, want: a},
		{name: "retired", id: c.ID, want: c},
		{name: "missing", id: "missing", wantErr: ticketing.ErrNotFound},
		{name: "empty ID", id: "", wantErr: ticketing.ErrNotFound},
		{name: "ID in another case", id: "SYS-A", wantErr: ticketing.ErrNotFound},
		{name: "ID prefix", id: "sys", wantErr: ticketing.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Get(context.Background(), tc.id)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistryList(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRegistry(t)

	all, err := r.List(ctx, true)
	require.NoError(t, err)
	assert.Empty(t, all)
	active, err := r.List(ctx, false)
	require.NoError(t, err)
	assert.Empty(t, active)

	ids := map[string]string{}
	for _, s := range []ticketing.TicketSystem{activeSys("A"), retiredSys("B"), activeSys("C"), activeSys("D")} {
		ids[s.Name] = mustAdd(t, r, s).ID
	}
	_, err = r.Retire(ctx, ids["C"])
	require.NoError(t, err)

	tests := []struct {
		name            string
		includeInactive bool
		want            []string
	}{
		{"active only", false, []string{"A", "D"}},
		{"all, in the order added", true, []string{"A", "B", "C", "D"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.List(ctx, tc.includeInactive)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("List(%v) names (-want +got):\n%s", tc.includeInactive, diff)
			}
			for _, s := range got {
				if diff := cmp.Diff(mustGet(t, r, s.ID), s); diff != "" {
					t.Errorf("List entry %q differs from Get (-get +list):\n%s", s.Name, diff)
				}
			}
		})
	}

	// Activating keeps the original place; so does an Update.
	_, err = r.Activate(ctx, ids["B"])
	require.NoError(t, err)
	a := mustGet(t, r, ids["A"])
	a.Description = "edited"
	_, err = r.Update(ctx, a)
	require.NoError(t, err)
	active, err = r.List(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "B", "D"}, names(active))
}

// ---------------------------------------------------------------------------
// SetDefault and Default

func TestRegistrySetDefault(t *testing.T) {
	tests := []struct {
		name        string
		target      string // A (default), B (active), C (retired), or an ID
		wantErr     error
		wantDefault string
		wantChanged []string // systems whose Version went up
	}{
		{name: "another active system", target: "B", wantDefault: "B", wantChanged: []string{"A", "B"}},
		{name: "the default already", target: "A", wantDefault: "A"},
		{name: "retired system", target: "C", wantErr: ticketing.ErrInactive, wantDefault: "A"},
		{name: "missing system", target: "missing", wantErr: ticketing.ErrNotFound, wantDefault: "A"},
		{name: "empty ID", target: "", wantErr: ticketing.ErrNotFound, wantDefault: "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ids := map[string]string{"missing": "missing", "": ""}
			for _, s := range []ticketing.TicketSystem{activeSys("A"), activeSys("B"), retiredSys("C")} {
				ids[s.Name] = mustAdd(t, r, s).ID
			}
			before := listAll(t, r)

			got, err := r.SetDefault(context.Background(), ids[tc.target])
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if diff := cmp.Diff(before, listAll(t, r)); diff != "" {
					t.Errorf("a failed SetDefault changed the store (-before +after):\n%s", diff)
				}
			} else {
				require.NoError(t, err)
				assert.True(t, got.Default)
				assert.True(t, got.Active)
				if diff := cmp.Diff(mustGet(t, r, got.ID), got); diff != "" {
					t.Errorf("SetDefault returned something else than it stored (-stored +returned):\n%s", diff)
				}
			}
			assert.Equal(t, tc.wantDefault, defaultName(t, r))
			after := requireRules(t, r)
			var changed []string
			for i := range after {
				if after[i].Version != before[i].Version {
					changed = append(changed, after[i].Name)
				}
			}
			assert.Equal(t, tc.wantChanged, changed, "systems written")
		})
	}
}

func TestRegistryDefault(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T, r *ticketing.Registry)
		want    string
		wantErr error
	}{
		{name: "no systems", setup: func(*testing.T, *ticketing.Registry) {}, wantErr: ticketing.ErrNoDefault},
		{name: "only retired systems", setup: func(t *testing.T, r *ticketing.Registry) {
			mustAdd(t, r, retiredSys("R1"))
			mustAdd(t, r, retiredSys("R2"))
		}, wantErr: ticketing.ErrNoDefault},
		{name: "every system retired", setup: func(t *testing.T, r *ticketing.Registry) {
			a := mustAdd(t, r, activeSys("A"))
			_, err := r.Retire(ctx, a.ID)
			require.NoError(t, err)
		}, wantErr: ticketing.ErrNoDefault},
		{name: "first active", setup: func(t *testing.T, r *ticketing.Registry) {
			mustAdd(t, r, retiredSys("R"))
			mustAdd(t, r, activeSys("A"))
			mustAdd(t, r, activeSys("B"))
		}, want: "A"},
		{name: "after SetDefault", setup: func(t *testing.T, r *ticketing.Registry) {
			mustAdd(t, r, activeSys("A"))
			b := mustAdd(t, r, activeSys("B"))
			_, err := r.SetDefault(ctx, b.ID)
			require.NoError(t, err)
		}, want: "B"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			tc.setup(t, r)
			got, err := r.Default(ctx)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Name)
			assert.True(t, got.Default && got.Active)
		})
	}
}

// ---------------------------------------------------------------------------
// Retire and Activate

func TestRegistryRetire(t *testing.T) {
	tests := []struct {
		name        string
		systems     []ticketing.TicketSystem // A is the first active, so the default
		target      string
		wantErr     error
		wantActive  []string
		wantDefault string
	}{
		{
			name:    "an ordinary active system",
			systems: []ticketing.TicketSystem{activeSys("A"), activeSys("B")},
			target:  "B", wantActive: []string{"A"}, wantDefault: "A",
		},
		{
			name:    "a retired system: nothing happens",
			systems: []ticketing.TicketSystem{activeSys("A"), retiredSys("C")},
			target:  "C", wantActive: []string{"A"}, wantDefault: "A",
		},
		{
			name:    "the default while another is active",
			systems: []ticketing.TicketSystem{activeSys("A"), activeSys("B")},
			target:  "A", wantErr: ticketing.ErrDefaultSystem, wantActive: []string{"A", "B"}, wantDefault: "A",
		},
		{
			name:    "the default, last active system",
			systems: []ticketing.TicketSystem{activeSys("A"), retiredSys("C")},
			target:  "A", wantActive: []string{}, wantDefault: "",
		},
		{
			name:    "missing system",
			systems: []ticketing.TicketSystem{activeSys("A")},
			target:  "missing", wantErr: ticketing.ErrNotFound, wantActive: []string{"A"}, wantDefault: "A",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := context.Background()
			ids := map[string]string{"missing": "missing"}
			for _, s := range tc.systems {
				ids[s.Name] = mustAdd(t, r, s).ID
			}
			before := listAll(t, r)
			orig := ticketing.TicketSystem{}
			if i := indexOf(before, ids[tc.target]); i >= 0 {
				orig = before[i]
			}

			got, err := r.Retire(ctx, ids[tc.target])
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if diff := cmp.Diff(before, listAll(t, r)); diff != "" {
					t.Errorf("a failed Retire changed the store (-before +after):\n%s", diff)
				}
			} else {
				require.NoError(t, err)
				assert.False(t, got.Active)
				assert.False(t, got.Default)
				wantVersion := orig.Version
				if orig.Active {
					wantVersion++
				}
				assert.Equal(t, wantVersion, got.Version, "Version goes up only when something changed")
				if diff := cmp.Diff(mustGet(t, r, got.ID), got); diff != "" {
					t.Errorf("Retire returned something else than it stored (-stored +returned):\n%s", diff)
				}
				// Retiring again changes nothing.
				again, err := r.Retire(ctx, got.ID)
				require.NoError(t, err)
				if diff := cmp.Diff(got, again); diff != "" {
					t.Errorf("second Retire (-first +second):\n%s", diff)
				}
			}
			active, err := r.List(ctx, false)
			require.NoError(t, err)
			assert.Equal(t, tc.wantActive, names(active))
			assert.Equal(t, tc.wantDefault, defaultName(t, r))
			requireRules(t, r)
		})
	}
}

// Retiring the default works once another system is the default, and the
// retired system can still be tested but not chosen.
func TestRegistryRetireDefaultAfterSetDefault(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	a := mustAdd(t, r, ticketing.TicketSystem{Name: "A", Active: true, Pattern: `^A\d$`})
	b := mustAdd(t, r, activeSys("B"))
	_, err := r.Retire(ctx, a.ID)
	require.ErrorIs(t, err, ticketing.ErrDefaultSystem)
	_, err = r.SetDefault(ctx, b.ID)
	require.NoError(t, err)
	_, err = r.Retire(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "B", defaultName(t, r))

	_, err = r.Validator(ctx, a.ID)
	require.ErrorIs(t, err, ticketing.ErrInactive)
	res, err := r.Test(ctx, a.ID, "A1")
	require.NoError(t, err)
	assert.Equal(t, "A1", res.TicketNumber)
}

func TestRegistryActivate(t *testing.T) {
	tests := []struct {
		name        string
		systems     []ticketing.TicketSystem
		retire      []string // retired after adding, in order
		target      string
		wantErr     error
		wantDefault string
		wantVersion int64
	}{
		{
			name:    "becomes default when no system is active",
			systems: []ticketing.TicketSystem{activeSys("A"), retiredSys("C")},
			retire:  []string{"A"},
			target:  "C", wantDefault: "C", wantVersion: 2,
		},
		{
			name:    "previously default system, when none is active",
			systems: []ticketing.TicketSystem{activeSys("A")},
			retire:  []string{"A"},
			target:  "A", wantDefault: "A", wantVersion: 3, // add, retire, activate
		},
		{
			name:    "does not take the default from an active one",
			systems: []ticketing.TicketSystem{activeSys("A"), retiredSys("C")},
			target:  "C", wantDefault: "A", wantVersion: 2,
		},
		{
			name:    "an active system: nothing happens",
			systems: []ticketing.TicketSystem{activeSys("A"), activeSys("B")},
			target:  "B", wantDefault: "A", wantVersion: 1,
		},
		{
			name:    "name taken by an active system meanwhile",
			systems: []ticketing.TicketSystem{activeSys("Jira"), retiredSys(" JIRA ")},
			target:  "JIRA", wantErr: ticketing.ErrDuplicateName, wantDefault: "Jira",
		},
		{
			name:    "missing system",
			systems: []ticketing.TicketSystem{activeSys("A")},
			target:  "missing", wantErr: ticketing.ErrNotFound, wantDefault: "A",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newTestRegistry(t)
			ctx := context.Background()
			ids := map[string]string{"missing": "missing"}
			for _, s := range tc.systems {
				got := mustAdd(t, r, s)
				ids[got.Name] = got.ID
			}
			for _, name := range tc.retire {
				_, err := r.Retire(ctx, ids[name])
				require.NoError(t, err)
			}
			before := listAll(t, r)

			got, err := r.Activate(ctx, ids[tc.target])
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				if diff := cmp.Diff(before, listAll(t, r)); diff != "" {
					t.Errorf("a failed Activate changed the store (-before +after):\n%s", diff)
				}
			} else {
				require.NoError(t, err)
				assert.True(t, got.Active)
				assert.Equal(t, tc.wantDefault == got.Name, got.Default)
				assert.Equal(t, tc.wantVersion, got.Version)
				if diff := cmp.Diff(mustGet(t, r, got.ID), got); diff != "" {
					t.Errorf("Activate returned something else than it stored (-stored +returned):\n%s", diff)
				}
			}
			assert.Equal(t, tc.wantDefault, defaultName(t, r))
			requireRules(t, r)
		})
	}
}

// ---------------------------------------------------------------------------
// Validator

func TestRegistryValidatorSelection(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRegistry(t)
	_, err := r.Validator(ctx, "")
	require.ErrorIs(t, err, ticketing.ErrNoDefault, "no systems at all")

	a := mustAdd(t, r, ticketing.TicketSystem{Name: "A", Active: true, Mode: ticketing.TicketRequired, Pattern: `^A\d+$`})
	b := mustAdd(t, r, ticketing.TicketSystem{Name: "B", Active: true, Mode: ticketing.TicketRequired, Pattern: `^B\d+$`})
	c := mustAdd(t, r, ticketing.TicketSystem{Name: "C", Mode: ticketing.TicketRequired})

	tests := []struct {
		name    string
		id      string
		want    string // system ID
		wantErr error
		ticket  string // a ticket number the chosen system accepts
	}{
		{name: "empty ID is the default", id: "", want: a.ID, ticket: "A1"},
		{name: "the default by ID", id: a.ID, want: a.ID, ticket: "A1"},
		{name: "another active system", id: b.ID, want: b.ID, ticket: "B1"},
		{name: "retired system", id: c.ID, wantErr: ticketing.ErrInactive},
		{name: "missing system", id: "missing", wantErr: ticketing.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := r.Validator(ctx, tc.id)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, v)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, v.System().ID)
			_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: tc.ticket})
			require.NoError(t, err)
		})
	}

	// Once every system is retired there is no default to select.
	_, err = r.SetDefault(ctx, b.ID)
	require.NoError(t, err)
	_, err = r.Retire(ctx, a.ID)
	require.NoError(t, err)
	_, err = r.Retire(ctx, b.ID)
	require.NoError(t, err)
	_, err = r.Validator(ctx, "")
	require.ErrorIs(t, err, ticketing.ErrNoDefault)
}

func TestRegistryValidatorCache(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRegistry(t)
	a := mustAdd(t, r, ticketing.TicketSystem{Name: "A", Active: true, Mode: ticketing.TicketRequired, Pattern: `^A\d+$`})
	b := mustAdd(t, r, ticketing.TicketSystem{Name: "B", Active: true, Mode: ticketing.TicketRequired})

	v1, err := r.Validator(ctx, a.ID)
	require.NoError(t, err)
	v2, err := r.Validator(ctx, a.ID)
	require.NoError(t, err)
	v3, err := r.Validator(ctx, "")
	require.NoError(t, err)
	assert.Same(t, v1, v2, "same Version: same Validator")
	assert.Same(t, v1, v3, "the default by ID and by \"\" share a Validator")
	vb, err := r.Validator(ctx, b.ID)
	require.NoError(t, err)
	assert.NotSame(t, v1, vb)

	// Update: a new Validator with the new pattern.
	edit := mustGet(t, r, a.ID)
	edit.Pattern = `^AA\d+$`
	_, err = r.Update(ctx, edit)
	require.NoError(t, err)
	v4, err := r.Validator(ctx, a.ID)
	require.NoError(t, err)
	assert.NotSame(t, v1, v4)
	assert.Equal(t, int64(2), v4.System().Version)
	assert.Equal(t, `^AA\d+$`, v4.System().Pattern)
	_, err = v4.Validate(ctx, ticketing.Submission{TicketNumber: "AA1"})
	require.NoError(t, err)
	_, err = v4.Validate(ctx, ticketing.Submission{TicketNumber: "A1"})
	require.ErrorIs(t, err, ticketing.ErrTicketFormat)
	v5, err := r.Validator(ctx, "")
	require.NoError(t, err)
	assert.Same(t, v4, v5)
	// The old Validator is unchanged: Validators are immutable.
	_, err = v1.Validate(ctx, ticketing.Submission{TicketNumber: "A1"})
	require.NoError(t, err)

	// SetDefault writes both systems: both get new Validators.
	_, err = r.SetDefault(ctx, b.ID)
	require.NoError(t, err)
	v6, err := r.Validator(ctx, a.ID)
	require.NoError(t, err)
	assert.NotSame(t, v4, v6)
	assert.False(t, v6.System().Default)
	vd, err := r.Validator(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, b.ID, vd.System().ID)
	assert.True(t, vd.System().Default)
	assert.NotSame(t, vb, vd)
	vb2, err := r.Validator(ctx, b.ID)
	require.NoError(t, err)
	assert.Same(t, vd, vb2)
}

// Two Registries on one Store (two processes): a change made through one
// is seen by the other's cache, since the cache follows the stored Version.
func TestRegistryValidatorCacheAcrossRegistries(t *testing.T) {
	ctx := context.Background()
	s := ticketing.NewMemoryStore()
	r1, r2 := ticketing.NewRegistry(s), ticketing.NewRegistry(s)
	a := mustAdd(t, r1, ticketing.TicketSystem{Name: "A", Active: true, Mode: ticketing.TicketRequired, Pattern: `^A\d+$`})
	v1, err := r1.Validator(ctx, "")
	require.NoError(t, err)

	edit := mustGet(t, r2, a.ID)
	edit.Pattern = `^Z\d+$`
	_, err = r2.Update(ctx, edit)
	require.NoError(t, err)

	v2, err := r1.Validator(ctx, "")
	require.NoError(t, err)
	assert.NotSame(t, v1, v2)
	_, err = v2.Validate(ctx, ticketing.Submission{TicketNumber: "Z1"})
	require.NoError(t, err)
	_, err = v2.Validate(ctx, ticketing.Submission{TicketNumber: "A1"})
	require.ErrorIs(t, err, ticketing.ErrTicketFormat)

	// And the rules hold across them: r2 moves the default, r1 sees it.
	b := mustAdd(t, r2, ticketing.TicketSystem{Name: "B", Active: true, Default: true})
	d, err := r1.Default(ctx)
	require.NoError(t, err)
	assert.Equal(t, b.ID, d.ID)
	_, err = r1.Retire(ctx, b.ID)
	require.ErrorIs(t, err, ticketing.ErrDefaultSystem)
}

// ---------------------------------------------------------------------------
// Test

func TestRegistryTest(t *testing.T) {
	ctx := context.Background()
	r, store := newTestRegistry(t)
	sn := mustAdd(t, r, ticketing.TicketSystem{
		ID: "sn", Name: "ServiceNow", Active: true, Mode: ticketing.ReasonRequired,
		Pattern: `^INC\d{7}$`, ErrorMessage: "Use INC and seven digits",
		URLTemplate: "https://sn.example.com/ticket?id=$TICKETID",
	})
	old := mustAdd(t, r, ticketing.TicketSystem{ID: "old", Name: "Old", Mode: ticketing.TicketRequired, Pattern: `^OLD-\d+$`, Label: "Old ticket"})
	free := mustAdd(t, r, ticketing.TicketSystem{ID: "free", Name: "Free", Active: true})
	updatesBefore := store.updates.Load()
	systemsBefore := listAll(t, r)

	tests := []struct {
		name      string
		id        string
		ticket    string
		want      ticketing.Result
		wantErr   error
		wantField ticketing.Field
		wantMsg   string
	}{
		{
			name: "matching ticket, reason mode does not apply", id: sn.ID, ticket: "INC0001234",
			want: ticketing.Result{TicketNumber: "INC0001234", URL: "https://sn.example.com/ticket?id=INC0001234"},
		},
		{
			name: "surrounding white space trimmed", id: sn.ID, ticket: " \tINC0001234\u00a0",
			want: ticketing.Result{TicketNumber: "INC0001234", URL: "https://sn.example.com/ticket?id=INC0001234"},
		},
		{
			name: "pattern mismatch", id: sn.ID, ticket: "INC123",
			wantErr: ticketing.ErrTicketFormat, wantField: ticketing.FieldTicketNumber, wantMsg: "Use INC and seven digits",
		},
		{name: "pattern searches, anchors are the admin's", id: sn.ID, ticket: "xINC0001234", wantErr: ticketing.ErrTicketFormat},
		{name: "retired system, matching", id: old.ID, ticket: "OLD-7", want: ticketing.Result{TicketNumber: "OLD-7"}},
		{name: "retired system, mismatch", id: old.ID, ticket: "NEW-7", wantErr: ticketing.ErrTicketFormat, wantMsg: "Old ticket is not in the required format"},
		{name: "empty", id: sn.ID, ticket: "", wantErr: ticketing.ErrTicketRequired, wantField: ticketing.FieldTicketNumber},
		{name: "blank", id: sn.ID, ticket: " \t\n ", wantErr: ticketing.ErrTicketRequired},
		{name: "empty on a system without pattern", id: free.ID, ticket: "", wantErr: ticketing.ErrTicketRequired},
		{name: "NUL inside", id: free.ID, ticket: "INC\x001", wantErr: ticketing.ErrMalformed, wantField: ticketing.FieldTicketNumber},
		{name: "line break inside", id: free.ID, ticket: "INC1\nINC2", wantErr: ticketing.ErrMalformed},
		{name: "bidi override", id: free.ID, ticket: "INC1\u202e", wantErr: ticketing.ErrMalformed},
		{name: "zero-width space", id: free.ID, ticket: "\u200b", wantErr: ticketing.ErrMalformed},
		{name: "invalid UTF-8", id: free.ID, ticket: "INC\xff", wantErr: ticketing.ErrMalformed},
		{name: "129 characters", id: free.ID, ticket: strings.Repeat("1", 129), wantErr: ticketing.ErrMalformed},
		{name: "128 characters", id: free.ID, ticket: strings.Repeat("1", 128), want: ticketing.Result{TicketNumber: strings.Repeat("1", 128)}},
		{name: "hygiene before pattern", id: sn.ID, ticket: "INC000\x001234", wantErr: ticketing.ErrMalformed},
		{name: "missing system", id: "missing", ticket: "INC0001234", wantErr: ticketing.ErrNotFound},
		{name: "empty ID is the default", id: "", ticket: "INC123", wantErr: ticketing.ErrTicketFormat, wantMsg: "Use INC and seven digits"},
		{
			name: "empty ID is the default, matching", id: "", ticket: "INC0001234",
			want: ticketing.Result{TicketNumber: "INC0001234", URL: "https://sn.example.com/ticket?id=INC0001234"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Test(ctx, tc.id, tc.ticket)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				var ve *ticketing.ValidationError
				if tc.wantField != "" || tc.wantMsg != "" {
					require.ErrorAs(t, err, &ve)
				}
				if tc.wantField != "" {
					assert.Equal(t, tc.wantField, ve.Field)
				}
				if tc.wantMsg != "" {
					assert.Equal(t, tc.wantMsg, ve.Message)
				}
				return
			}
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Test result (-want +got):\n%s", diff)
			}
		})
	}
	// Test stores nothing: no audit record, no system write.
	assert.Zero(t, store.appends.Load(), "Test appended audit records")
	assert.Equal(t, updatesBefore, store.updates.Load(), "Test wrote systems")
	if diff := cmp.Diff(systemsBefore, listAll(t, r)); diff != "" {
		t.Errorf("Test changed the systems (-before +after):\n%s", diff)
	}
	recs, err := auditByTicket(ctx, store, "INC0001234")
	require.NoError(t, err)
	assert.Empty(t, recs)
}

// ---------------------------------------------------------------------------
// concurrency

// allowed reports whether err is nil or matches one of the sentinels.
func allowed(err error, sentinels ...error) bool {
	if err == nil {
		return true
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestRegistryConcurrentRules has 50 goroutines, split over two Registries
// sharing one Store (two processes), add systems (some retired, some asking
// to be the default, some with clashing names) and call SetDefault, Retire,
// Activate, Update and Validator on each other's systems, all at once. Every
// write must keep the rules and bump Versions by one (checkedStore), and
// the end state must have exactly one default among active systems and no
// duplicate active names.
func TestRegistryConcurrentRules(t *testing.T) {
	const goroutines, opsPerGoroutine, rounds = 50, 30, 5
	for round := range rounds {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			ctx := context.Background()
			store := newCheckedStore()
			regs := []*ticketing.Registry{ticketing.NewRegistry(store), ticketing.NewRegistry(store)}
			var (
				mu    sync.Mutex
				ids   []string
				added atomic.Int64
				wg    sync.WaitGroup
			)
			pick := func() string {
				mu.Lock()
				defer mu.Unlock()
				if len(ids) == 0 {
					return "missing"
				}
				return ids[rand.IntN(len(ids))]
			}
			start := make(chan struct{})
			for g := range goroutines {
				wg.Go(func() {
					r := regs[g%2]
					<-start
					sys := ticketing.TicketSystem{
						Name:    fmt.Sprintf("System %d", g%35), // some names clash
						Active:  g%4 != 0,
						Default: g%3 == 0 && g%4 != 0,
						Pattern: `^T\d+$`,
					}
					if g%7 == 0 {
						sys.Name = strings.ToUpper(sys.Name) + " "
					}
					got, err := r.Add(ctx, sys)
					switch {
					case err == nil:
						added.Add(1)
						if got.Active != sys.Active || got.Version != 1 || (sys.Default && !got.Default) {
							t.Errorf("Add(%+v) returned %+v", sys, got)
						}
						mu.Lock()
						ids = append(ids, got.ID)
						mu.Unlock()
					case !errors.Is(err, ticketing.ErrDuplicateName):
						t.Errorf("Add(%q): %v", sys.Name, err)
					}
					for range opsPerGoroutine {
						id := pick()
						switch op := rand.IntN(6); op {
						case 0:
							s, err := r.SetDefault(ctx, id)
							if err == nil && !(s.Default && s.Active) {
								t.Errorf("SetDefault returned %+v", s)
							}
							if !allowed(err, ticketing.ErrInactive, ticketing.ErrNotFound) {
								t.Errorf("SetDefault: %v", err)
							}
						case 1:
							s, err := r.Retire(ctx, id)
							if err == nil && (s.Active || s.Default) {
								t.Errorf("Retire returned %+v", s)
							}
							if !allowed(err, ticketing.ErrDefaultSystem, ticketing.ErrNotFound) {
								t.Errorf("Retire: %v", err)
							}
						case 2:
							s, err := r.Activate(ctx, id)
							if err == nil && !s.Active {
								t.Errorf("Activate returned %+v", s)
							}
							if !allowed(err, ticketing.ErrDuplicateName, ticketing.ErrNotFound) {
								t.Errorf("Activate: %v", err)
							}
						case 3:
							s, err := r.Get(ctx, id)
							if err != nil {
								if !errors.Is(err, ticketing.ErrNotFound) {
									t.Errorf("Get: %v", err)
								}
								break
							}
							s.Description = fmt.Sprintf("edited by %d", g)
							u, err := r.Update(ctx, s)
							if err == nil && u.Version != s.Version+1 {
								t.Errorf("Update from Version %d returned Version %d", s.Version, u.Version)
							}
							if !allowed(err, ticketing.ErrVersionConflict) {
								t.Errorf("Update: %v", err)
							}
						case 4:
							v, err := r.Validator(ctx, "")
							if err == nil && !v.System().Default {
								t.Errorf("Validator(\"\") gave a non-default system %+v", v.System())
							}
							if !allowed(err, ticketing.ErrNoDefault) {
								t.Errorf("Validator(\"\"): %v", err)
							}
						case 5:
							v, err := r.Validator(ctx, id)
							if err == nil && !v.System().Active {
								t.Errorf("Validator(%q) gave a retired system", id)
							}
							if !allowed(err, ticketing.ErrInactive, ticketing.ErrNotFound) {
								t.Errorf("Validator(%q): %v", id, err)
							}
						}
					}
				})
			}
			close(start)
			wg.Wait()

			all := requireRules(t, regs[0])
			assert.Len(t, all, int(added.Load()), "every successful Add is stored, once")
			store.requireClean(t)
		})
	}
}

// TestRegistryDuplicateNameRaces has many goroutines race to give an active
// system the same name, through Add, Activate and Update: exactly one wins,
// the others get ErrDuplicateName.
func TestRegistryDuplicateNameRaces(t *testing.T) {
	const goroutines, rounds = 50, 5
	variants := []string{"Jira", "jira", " JIRA", "Jira\t", "\u00a0jIrA"}
	tests := []struct {
		name string
		// setup prepares the registry and returns what goroutine g calls.
		setup func(t *testing.T, r *ticketing.Registry) func(g int) error
	}{
		{"Add", func(_ *testing.T, r *ticketing.Registry) func(int) error {
			return func(g int) error {
				_, err := r.Add(context.Background(), activeSys(variants[g%len(variants)]))
				return err
			}
		}},
		{"Activate", func(t *testing.T, r *ticketing.Registry) func(int) error {
			ids := make([]string, goroutines)
			for g := range goroutines {
				ids[g] = mustAdd(t, r, retiredSys(variants[g%len(variants)])).ID
			}
			return func(g int) error {
				_, err := r.Activate(context.Background(), ids[g])
				return err
			}
		}},
		{"Update", func(t *testing.T, r *ticketing.Registry) func(int) error {
			systems := make([]ticketing.TicketSystem, goroutines)
			for g := range goroutines {
				systems[g] = mustAdd(t, r, activeSys(fmt.Sprintf("S%d", g)))
			}
			return func(g int) error {
				s := systems[g]
				s.Name = variants[g%len(variants)]
				_, err := r.Update(context.Background(), s)
				return err
			}
		}},
		{"Add and Activate mixed", func(t *testing.T, r *ticketing.Registry) func(int) error {
			ids := make([]string, goroutines)
			for g := 1; g < goroutines; g += 2 {
				ids[g] = mustAdd(t, r, retiredSys(variants[g%len(variants)])).ID
			}
			return func(g int) error {
				if g%2 == 1 {
					_, err := r.Activate(context.Background(), ids[g])
					return err
				}
				_, err := r.Add(context.Background(), activeSys(variants[g%len(variants)]))
				return err
			}
		}},
	}
	for _, tc := range tests {
		for round := range rounds {
			t.Run(fmt.Sprintf("%s round %d", tc.name, round), func(t *testing.T) {
				r, _ := newTestRegistry(t)
				call := tc.setup(t, r)
				var (
					wg        sync.WaitGroup
					successes atomic.Int64
				)
				start := make(chan struct{})
				for g := range goroutines {
					wg.Go(func() {
						<-start
						err := call(g)
						switch {
						case err == nil:
							successes.Add(1)
						case !errors.Is(err, ticketing.ErrDuplicateName):
							t.Errorf("goroutine %d: %v, want nil or ErrDuplicateName", g, err)
						}
					})
				}
				close(start)
				wg.Wait()
				assert.Equal(t, int64(1), successes.Load(), "exactly one goroutine may win the name")
				active, err := r.List(context.Background(), false)
				require.NoError(t, err)
				jiras := 0
				for _, s := range active {
					if strings.EqualFold(s.Name, "jira") {
						jiras++
					}
				}
				assert.Equal(t, 1, jiras, "active systems named jira: %q", names(active))
				requireRules(t, r)
			})
		}
	}
}
