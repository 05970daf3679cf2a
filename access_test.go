package ticketing_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// accessClock is the fixed clock of every access test. It is deliberately
// not in UTC: records must be stamped in UTC.
var accessClock = time.Date(2025, 3, 14, 16, 9, 26, 535897932, time.FixedZone("CET", 3600))

// The ticket systems of the standard access fixture.
var (
	accessSnow = ticketing.TicketSystem{
		ID:           "snow",
		Name:         "ServiceNow",
		Active:       true,
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Enter an incident number such as INC0001234.",
		URLTemplate:  "https://snow.example.com/incident?number=$TICKETID",
	}
	accessJira = ticketing.TicketSystem{
		ID:          "jira",
		Name:        "Jira",
		Active:      true,
		Mode:        ticketing.TicketRequired,
		Pattern:     `^[A-Z][A-Z0-9]+-\d+$`,
		URLTemplate: "https://jira.example.com/browse/$TICKETID",
	}
	// accessLegacy is added active and then retired.
	accessLegacy = ticketing.TicketSystem{
		ID:     "legacy",
		Name:   "Legacy desk",
		Active: true,
		Mode:   ticketing.TicketOrReasonRequired,
	}
)

// The secrets of the access tests, one per Security-tab combination.
var (
	accessCommentSecret  = ticketing.Secret{ID: "sec-comment", Name: "prod-db root", RequireComment: true}
	accessApprovalSecret = ticketing.Secret{ID: "sec-approval", Name: "payroll admin", RequiresApproval: true}
	accessBothSecret     = ticketing.Secret{ID: "sec-both", RequireComment: true, RequiresApproval: true}
	accessPlainSecret    = ticketing.Secret{ID: "sec-plain", Name: "wiki bot"}
)

// accessSpyStore is a Store that keeps ticket systems in one MemoryStore and
// audit records in another, and also keeps, in order, every record
// AppendAudit stored (MemoryStore can list records only by ticket number).
// With failWith set, AppendAudit stores nothing and returns that error;
// with failSystems set, GetSystem and ListSystems return that error.
// resetAudit starts a new, empty audit trail over the same systems.
type accessSpyStore struct {
	systems *ticketing.MemoryStore

	mu       sync.Mutex
	audit    *ticketing.MemoryStore
	stored   []ticketing.AuditRecord
	attempts int
	failWith error

	failSystems error
}

var _ ticketing.Store = (*accessSpyStore)(nil)

func newAccessSpyStore() *accessSpyStore {
	return &accessSpyStore{systems: ticketing.NewMemoryStore(), audit: ticketing.NewMemoryStore()}
}

func (s *accessSpyStore) GetSystem(ctx context.Context, id string) (ticketing.TicketSystem, error) {
	if err := s.systemsError(); err != nil {
		return ticketing.TicketSystem{}, err
	}
	return s.systems.GetSystem(ctx, id)
}

func (s *accessSpyStore) ListSystems(ctx context.Context) ([]ticketing.TicketSystem, error) {
	if err := s.systemsError(); err != nil {
		return nil, err
	}
	return s.systems.ListSystems(ctx)
}

func (s *accessSpyStore) systemsError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failSystems
}

func (s *accessSpyStore) UpdateSystems(ctx context.Context, fn func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error)) error {
	return s.systems.UpdateSystems(ctx, fn)
}

// AppendAudit does not hold s.mu while the MemoryStore appends, so
// concurrent appends reach the MemoryStore concurrently.
func (s *accessSpyStore) AppendAudit(ctx context.Context, rec ticketing.AuditRecord) (ticketing.AuditRecord, error) {
	s.mu.Lock()
	s.attempts++
	audit, fail := s.audit, s.failWith
	s.mu.Unlock()
	if fail != nil {
		return ticketing.AuditRecord{}, fail
	}
	stored, err := audit.AppendAudit(ctx, rec)
	if err != nil {
		return stored, err
	}
	s.mu.Lock()
	s.stored = append(s.stored, stored)
	s.mu.Unlock()
	return stored, nil
}

func (s *accessSpyStore) QueryAudit(ctx context.Context, q ticketing.AuditQuery) (ticketing.AuditPage, error) {
	s.mu.Lock()
	audit := s.audit
	s.mu.Unlock()
	return audit.QueryAudit(ctx, q)
}

func (s *accessSpyStore) CountAudit(ctx context.Context, q ticketing.AuditQuery) (int64, error) {
	s.mu.Lock()
	audit := s.audit
	s.mu.Unlock()
	return audit.CountAudit(ctx, q)
}

func (s *accessSpyStore) resetAudit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit, s.stored, s.attempts = ticketing.NewMemoryStore(), nil, 0
}

func (s *accessSpyStore) records() []ticketing.AuditRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ticketing.AuditRecord(nil), s.stored...)
}

func (s *accessSpyStore) appendAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// accessFixture names the registries the tests start from.
type accessFixture int

const (
	// fixtureStandard: snow (the default), jira, and legacy (retired).
	fixtureStandard accessFixture = iota
	// fixtureEmpty: no ticket system at all.
	fixtureEmpty
	// fixtureRetiredOnly: one system, retired, so there is no default.
	fixtureRetiredOnly
)

func newAccessRegistry(t testing.TB, fx accessFixture, opts ...ticketing.RegistryOption) (*ticketing.Registry, *accessSpyStore) {
	t.Helper()
	store := newAccessSpyStore()
	opts = append([]ticketing.RegistryOption{ticketing.WithClock(func() time.Time { return accessClock })}, opts...)
	reg := ticketing.NewRegistry(store, opts...)
	ctx := context.Background()
	var systems []ticketing.TicketSystem
	switch fx {
	case fixtureStandard:
		systems = []ticketing.TicketSystem{accessSnow, accessJira, accessLegacy}
	case fixtureRetiredOnly:
		systems = []ticketing.TicketSystem{accessLegacy}
	}
	for _, sys := range systems {
		_, err := reg.Add(ctx, sys)
		require.NoError(t, err, "Add %s", sys.ID)
	}
	if len(systems) > 0 {
		_, err := reg.Retire(ctx, accessLegacy.ID)
		require.NoError(t, err, "Retire legacy")
	}
	require.Zero(t, store.appendAttempts(), "setting up systems must not write audit records")
	return reg, store
}

// checkAccessOnce calls CheckAccess and checks what holds for every call:
// exactly one record was appended and it is the one returned; the error is
// nil exactly when access was granted; the record's DenialCode is
// DenialCode(err); a *ValidationError's Message is the DenialMessage; a
// denied record holds no raw control or format character.
func checkAccessOnce(t testing.TB, ctx context.Context, reg *ticketing.Registry, store *accessSpyStore, req ticketing.AccessRequest) (ticketing.AuditRecord, error) {
	t.Helper()
	before := store.records()
	rec, err := reg.CheckAccess(ctx, req)
	after := store.records()
	require.Len(t, after, len(before)+1, "CheckAccess must append exactly one record")
	stored := after[len(after)-1]
	require.Empty(t, cmp.Diff(stored, rec), "returned record differs from the stored one (-stored +returned)")
	assert.Equal(t, int64(len(after)), rec.Seq, "Seq")
	assert.Equal(t, time.UTC, rec.Time.Location(), "record time must be in UTC")
	if rec.TicketNumber != "" {
		byTicket, qerr := auditByTicket(context.Background(), store, rec.TicketNumber)
		require.NoError(t, qerr)
		require.NotEmpty(t, byTicket, "AuditByTicket(%q) must find the record", rec.TicketNumber)
		assert.Empty(t, cmp.Diff(rec, byTicket[len(byTicket)-1]), "AuditByTicket's newest record differs (-returned +queried)")
	}
	checkErrorMatchesRecord(t, rec, err)
	return rec, err
}

// checkErrorMatchesRecord checks the relation between a CheckAccess error
// and its record.
func checkErrorMatchesRecord(t testing.TB, rec ticketing.AuditRecord, err error) {
	t.Helper()
	if err == nil {
		assert.Equal(t, ticketing.OutcomeGranted, rec.Outcome, "nil error but record not granted")
		assert.Empty(t, rec.DenialCode, "granted record has a DenialCode")
		assert.Empty(t, rec.DenialMessage, "granted record has a DenialMessage")
		return
	}
	assert.Equal(t, ticketing.OutcomeDenied, rec.Outcome, "error %v but record not denied", err)
	assert.Equal(t, ticketing.DenialCode(err), rec.DenialCode, "DenialCode")
	assert.NotEmpty(t, rec.DenialMessage, "denied record needs a DenialMessage")
	assert.Empty(t, rec.URL, "denied record must not carry a ticket link")
	var ve *ticketing.ValidationError
	if errors.As(err, &ve) {
		assert.Equal(t, ve.Message, rec.DenialMessage, "DenialMessage must be the user-facing Message")
	}
	assertDeniedRecordClean(t, rec)
}

// assertDeniedRecordClean checks that every string field of a denied
// record is valid UTF-8 without control (Cc) or format (Cf) characters.
func assertDeniedRecordClean(t testing.TB, rec ticketing.AuditRecord) {
	t.Helper()
	v := reflect.ValueOf(rec)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.String {
			continue
		}
		name, s := v.Type().Field(i).Name, f.String()
		if !utf8.ValidString(s) {
			t.Errorf("denied record field %s is not valid UTF-8: %q", name, s)
		}
		if i := strings.IndexFunc(s, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf) }); i >= 0 {
			t.Errorf("denied record field %s holds a raw control or format character at byte %d: %q", name, i, s)
		}
	}
}

// The user-facing messages of a failed ticket system selection.
const (
	accessMsgUnavailable = "The chosen ticket system is not available; choose another"
	accessMsgNoSystem    = "No ticket system is available; contact your administrator"
)

func TestCheckAccess(t *testing.T) {
	snowURL := "https://snow.example.com/incident?number="
	for _, tc := range []struct {
		name    string
		fixture accessFixture
		req     ticketing.AccessRequest
		// wantErr is the sentinel of the denial; nil means granted.
		wantErr error
		// wantField is the *ValidationError's Field; "" means the error is
		// not a *ValidationError and DenialMessage is err.Error().
		wantField ticketing.Field
		// want is the record without Seq and Time (always 1 and the clock).
		want ticketing.AuditRecord
	}{
		{
			name: "granted with the default system, input trimmed, link resolved",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: " INC0001234\t", Reason: "  restart the stuck job \n"}},
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC0001234",
				Reason: "restart the stuck job", URL: snowURL + "INC0001234", Outcome: ticketing.OutcomeGranted},
		},
		{
			name: "granted with a chosen system on the Request Access screen",
			req: ticketing.AccessRequest{User: "bob", Secret: accessApprovalSecret, Action: ticketing.ActionRequestAccess,
				TicketSystemID: "jira", Submission: ticketing.Submission{TicketNumber: "OPS-42"}},
			want: ticketing.AuditRecord{Action: ticketing.ActionRequestAccess, SecretID: "sec-approval", SecretName: "payroll admin",
				User: "bob", TicketSystemID: "jira", TicketSystemName: "Jira", TicketNumber: "OPS-42",
				URL: "https://jira.example.com/browse/OPS-42", Outcome: ticketing.OutcomeGranted},
		},
		{
			name: "granted reason keeps inner line breaks",
			req: ticketing.AccessRequest{User: "alice", Secret: accessBothSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC7654321", Reason: "line one\r\nline two"}},
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-both", User: "alice",
				TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC7654321",
				Reason: "line one\r\nline two", URL: snowURL + "INC7654321", Outcome: ticketing.OutcomeGranted},
		},
		{
			name: "missing reason",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234"}},
			wantErr: ticketing.ErrReasonRequired, wantField: ticketing.FieldReason,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC0001234",
				Outcome: ticketing.OutcomeDenied, DenialCode: "reason_required", DenialMessage: "Reason is required"},
		},
		{
			name: "white-space-only reason counts as missing",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: " \t\n\u00a0 "}},
			wantErr: ticketing.ErrReasonRequired, wantField: ticketing.FieldReason,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC0001234",
				Outcome: ticketing.OutcomeDenied, DenialCode: "reason_required", DenialMessage: "Reason is required"},
		},
		{
			name: "missing ticket number names the Label",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{Reason: "db is down"}},
			wantErr: ticketing.ErrTicketRequired, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", Reason: "db is down",
				Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_required", DenialMessage: "Incident number is required"},
		},
		{
			name: "badly formed ticket number gives the admin's ErrorMessage",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC123", Reason: "db is down"}},
			wantErr: ticketing.ErrTicketFormat, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC123",
				Reason: "db is down", Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_format",
				DenialMessage: "Enter an incident number such as INC0001234."},
		},
		{
			name: "badly formed ticket number without ErrorMessage names the default Label",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				TicketSystemID: "jira", Submission: ticketing.Submission{TicketNumber: "ops 42"}},
			wantErr: ticketing.ErrTicketFormat, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "jira", TicketSystemName: "Jira", TicketNumber: "ops 42",
				Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_format",
				DenialMessage: "Ticket Number is not in the required format"},
		},
		{
			name: "malformed ticket number with a bidi override",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234\u202e", Reason: "db is down"}},
			wantErr: ticketing.ErrMalformed, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: `INC0001234\u{202E}`,
				Reason: "db is down", Outcome: ticketing.OutcomeDenied, DenialCode: "malformed",
				DenialMessage: "Incident number contains characters that are not allowed"},
		},
		{
			name: "malformed reason with NUL",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "ok\x00"}},
			wantErr: ticketing.ErrMalformed, wantField: ticketing.FieldReason,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow", TicketNumber: "INC0001234",
				Reason: `ok\u{0000}`, Outcome: ticketing.OutcomeDenied, DenialCode: "malformed",
				DenialMessage: "Reason contains characters that are not allowed"},
		},
		{
			name: "too long ticket number",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: strings.Repeat("9", 129), Reason: "x"}},
			wantErr: ticketing.ErrMalformed, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "snow", TicketSystemName: "ServiceNow",
				TicketNumber: strings.Repeat("9", 128) + "…", Reason: "x", Outcome: ticketing.OutcomeDenied,
				DenialCode: "malformed", DenialMessage: "Incident number is too long (at most 128 characters)"},
		},
		{
			name: "retired system chosen",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				TicketSystemID: "legacy", Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInactive, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "legacy", TicketSystemName: "Legacy desk", TicketNumber: "INC0001234", Reason: "x",
				Outcome: ticketing.OutcomeDenied, DenialCode: "inactive", DenialMessage: accessMsgUnavailable},
		},
		{
			name: "unknown system chosen",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				TicketSystemID: "nope", Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrNotFound, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: "nope", TicketNumber: "INC0001234", Reason: "x",
				Outcome: ticketing.OutcomeDenied, DenialCode: "not_found", DenialMessage: accessMsgUnavailable},
		},
		{
			name: "unknown system with control characters is recorded escaped",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				TicketSystemID: "snow\u202e\x00\xff", Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrNotFound, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", TicketSystemID: `snow\u{202E}\u{0000}\x{FF}`, TicketNumber: "INC0001234", Reason: "x",
				Outcome: ticketing.OutcomeDenied, DenialCode: "not_found", DenialMessage: accessMsgUnavailable},
		},
		{
			name:    "no active system, so no default",
			fixture: fixtureRetiredOnly,
			req: ticketing.AccessRequest{User: "alice", Secret: accessApprovalSecret, Action: ticketing.ActionRequestAccess,
				Submission: ticketing.Submission{Reason: "x"}},
			wantErr: ticketing.ErrNoDefault, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionRequestAccess, SecretID: "sec-approval", SecretName: "payroll admin",
				User: "alice", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "no_default", DenialMessage: accessMsgNoSystem},
		},
		{
			name:    "no system at all",
			fixture: fixtureEmpty,
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{Reason: "x"}},
			wantErr: ticketing.ErrNoDefault, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: "alice", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "no_default", DenialMessage: accessMsgNoSystem},
		},
		{
			name: "invalid request: empty user",
			req: ticketing.AccessRequest{Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: white-space user",
			req: ticketing.AccessRequest{User: " \t ", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: ` \t `, TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: empty secret ID",
			req: ticketing.AccessRequest{User: "alice", Secret: ticketing.Secret{Name: "nameless", RequireComment: true},
				Action: ticketing.ActionView, Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretName: "nameless", User: "alice",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: zero action",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{SecretID: "sec-comment", SecretName: "prod-db root", User: "alice",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: unknown action",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: "delete",
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: "delete", SecretID: "sec-comment", SecretName: "prod-db root", User: "alice",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: action with a line break is recorded escaped",
			req: ticketing.AccessRequest{User: "alice", Secret: accessCommentSecret, Action: "view\n",
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: `view\n`, SecretID: "sec-comment", SecretName: "prod-db root", User: "alice",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: user with NUL",
			req: ticketing.AccessRequest{User: "bob\x00", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: `bob\u{0000}`, TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: user with a bidi override",
			req: ticketing.AccessRequest{User: "admin\u202enimda", Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: `admin\u{202E}nimda`, TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: user too long",
			req: ticketing.AccessRequest{User: strings.Repeat("u", 257), Secret: accessCommentSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-comment", SecretName: "prod-db root",
				User: strings.Repeat("u", 256) + "…", TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name: "invalid request: secret name with CR LF",
			req: ticketing.AccessRequest{User: "alice", Secret: ticketing.Secret{ID: "s", Name: "db\r\nforged: line", RequireComment: true},
				Action: ticketing.ActionView, Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}},
			wantErr: ticketing.ErrInvalidRequest,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "s", SecretName: `db\r\nforged: line`, User: "alice",
				TicketNumber: "INC0001234", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "invalid_request"},
		},
		{
			name:    "secret without prompts: granted with no ticket system at all",
			fixture: fixtureEmpty,
			req:     ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView},
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", Outcome: ticketing.OutcomeGranted},
		},
		{
			name:    "secret without prompts: optional reason is recorded trimmed",
			fixture: fixtureEmpty,
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionRequestAccess,
				Submission: ticketing.Submission{Reason: "  curious  "}},
			want: ticketing.AuditRecord{Action: ticketing.ActionRequestAccess, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", Reason: "curious", Outcome: ticketing.OutcomeGranted},
		},
		{
			name:    "secret without prompts: granted although no system is active",
			fixture: fixtureRetiredOnly,
			req:     ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView},
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", Outcome: ticketing.OutcomeGranted},
		},
		{
			name: "secret without prompts: a chosen active system is recorded",
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView,
				TicketSystemID: "jira", Submission: ticketing.Submission{Reason: "x"}},
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", TicketSystemID: "jira", TicketSystemName: "Jira", Reason: "x", Outcome: ticketing.OutcomeGranted},
		},
		{
			name: "secret without prompts: a ticket number is not accepted",
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{TicketNumber: " INC0001234 "}},
			wantErr: ticketing.ErrTicketNotAccepted, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", TicketNumber: "INC0001234", Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_not_accepted",
				DenialMessage: "This secret does not take a ticket number"},
		},
		{
			name:    "secret without prompts: a ticket number is not accepted without systems either",
			fixture: fixtureEmpty,
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionRequestAccess,
				Submission: ticketing.Submission{TicketNumber: "X-1", Reason: "x"}},
			wantErr: ticketing.ErrTicketNotAccepted, wantField: ticketing.FieldTicketNumber,
			want: ticketing.AuditRecord{Action: ticketing.ActionRequestAccess, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", TicketNumber: "X-1", Reason: "x", Outcome: ticketing.OutcomeDenied, DenialCode: "ticket_not_accepted",
				DenialMessage: "This secret does not take a ticket number"},
		},
		{
			name: "secret without prompts: a chosen retired system",
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView,
				TicketSystemID: "legacy"},
			wantErr: ticketing.ErrInactive, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", TicketSystemID: "legacy", TicketSystemName: "Legacy desk",
				Outcome: ticketing.OutcomeDenied, DenialCode: "inactive", DenialMessage: accessMsgUnavailable},
		},
		{
			name:    "secret without prompts: a chosen unknown system",
			fixture: fixtureEmpty,
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView,
				TicketSystemID: "nope"},
			wantErr: ticketing.ErrNotFound, wantField: ticketing.FieldTicketSystem,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", TicketSystemID: "nope", Outcome: ticketing.OutcomeDenied, DenialCode: "not_found",
				DenialMessage: accessMsgUnavailable},
		},
		{
			name:    "secret without prompts: malformed reason",
			fixture: fixtureEmpty,
			req: ticketing.AccessRequest{User: "alice", Secret: accessPlainSecret, Action: ticketing.ActionView,
				Submission: ticketing.Submission{Reason: "see \u2066hidden\u2069"}},
			wantErr: ticketing.ErrMalformed, wantField: ticketing.FieldReason,
			want: ticketing.AuditRecord{Action: ticketing.ActionView, SecretID: "sec-plain", SecretName: "wiki bot",
				User: "alice", Reason: `see \u{2066}hidden\u{2069}`, Outcome: ticketing.OutcomeDenied, DenialCode: "malformed",
				DenialMessage: "Reason contains characters that are not allowed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, store := newAccessRegistry(t, tc.fixture)
			rec, err := checkAccessOnce(t, context.Background(), reg, store, tc.req)

			want := tc.want
			want.Time = accessClock
			if tc.wantErr != nil && tc.wantField == "" {
				// Not user input: the record carries the error text.
				require.Error(t, err)
				want.DenialMessage = err.Error()
			}
			// The first record of the trail: Seq 1, the time to the
			// microsecond in UTC, chained.
			want = ticketing.ChainRecord(ticketing.AuditRecord{}, want)
			assert.Empty(t, cmp.Diff(want, rec), "record (-want +got)")
			assert.Equal(t, "2025-03-14T15:09:26.535897Z", rec.Time.Format(time.RFC3339Nano), "record time")

			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.wantErr)
			var ve *ticketing.ValidationError
			if tc.wantField == "" {
				assert.False(t, errors.As(err, &ve), "a %v is not a user-input error", tc.wantErr)
				return
			}
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, tc.wantField, ve.Field, "Field")
			assert.Equal(t, tc.want.DenialMessage, ve.Message, "Message")
			assert.ErrorIs(t, ve.Err, tc.wantErr, "ValidationError.Err")
		})
	}
}

// TestCheckAccessModeOnBothScreens checks that Require Comment and Requires
// Approval each make both screens apply the system's requirement mode.
func TestCheckAccessModeOnBothScreens(t *testing.T) {
	for _, secret := range []ticketing.Secret{accessCommentSecret, accessApprovalSecret, accessBothSecret} {
		for _, action := range []ticketing.Action{ticketing.ActionView, ticketing.ActionRequestAccess} {
			for _, tc := range []struct {
				name    string
				sub     ticketing.Submission
				wantErr error
			}{
				{"both entered", ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}, nil},
				{"reason only", ticketing.Submission{Reason: "x"}, ticketing.ErrTicketRequired},
				{"ticket only", ticketing.Submission{TicketNumber: "INC0001234"}, ticketing.ErrReasonRequired},
				{"bad format", ticketing.Submission{TicketNumber: "INC1", Reason: "x"}, ticketing.ErrTicketFormat},
			} {
				t.Run(fmt.Sprintf("%s/%s/%s", secret.ID, action, tc.name), func(t *testing.T) {
					reg, store := newAccessRegistry(t, fixtureStandard)
					rec, err := checkAccessOnce(t, context.Background(), reg, store, ticketing.AccessRequest{
						User: "alice", Secret: secret, Action: action, Submission: tc.sub})
					assert.Equal(t, action, rec.Action)
					assert.Equal(t, "snow", rec.TicketSystemID)
					if tc.wantErr == nil {
						require.NoError(t, err)
						assert.Equal(t, "https://snow.example.com/incident?number=INC0001234", rec.URL)
						return
					}
					require.ErrorIs(t, err, tc.wantErr)
					assert.Equal(t, ticketing.DenialCode(tc.wantErr), rec.DenialCode)
				})
			}
		}
	}
}

// TestCheckAccessDefaultSystem checks that TicketSystemID "" follows the
// current default, while a chosen system stays the chosen one.
func TestCheckAccessDefaultSystem(t *testing.T) {
	ctx := context.Background()
	reg, store := newAccessRegistry(t, fixtureStandard)
	jiraTicket := ticketing.Submission{TicketNumber: "OPS-7"}
	req := func(systemID string, sub ticketing.Submission) ticketing.AccessRequest {
		return ticketing.AccessRequest{User: "alice", Secret: accessApprovalSecret, Action: ticketing.ActionRequestAccess,
			TicketSystemID: systemID, Submission: sub}
	}

	rec, err := checkAccessOnce(t, ctx, reg, store, req("", jiraTicket))
	require.ErrorIs(t, err, ticketing.ErrReasonRequired, "snow is the default and needs a reason")
	assert.Equal(t, "snow", rec.TicketSystemID)

	_, err = reg.SetDefault(ctx, "jira")
	require.NoError(t, err)

	rec, err = checkAccessOnce(t, ctx, reg, store, req("", jiraTicket))
	require.NoError(t, err, "jira is now the default and needs only a ticket number")
	assert.Equal(t, "jira", rec.TicketSystemID)
	assert.Equal(t, "Jira", rec.TicketSystemName)
	assert.Equal(t, "https://jira.example.com/browse/OPS-7", rec.URL)

	rec, err = checkAccessOnce(t, ctx, reg, store, req("", ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}))
	require.ErrorIs(t, err, ticketing.ErrTicketFormat, "the default's pattern applies")
	assert.Equal(t, "jira", rec.TicketSystemID)

	rec, err = checkAccessOnce(t, ctx, reg, store, req("snow", ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}))
	require.NoError(t, err, "a chosen system is used even when it is not the default")
	assert.Equal(t, "snow", rec.TicketSystemID)

	recs := store.records()
	require.Len(t, recs, 4)
	for i, r := range recs {
		assert.Equal(t, int64(i+1), r.Seq)
	}
}

// TestCheckAccessEscapesRejectedInput checks that rejected input is kept in
// the denied record only in escaped form, capped at the configured limit.
func TestCheckAccessEscapesRejectedInput(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []ticketing.Option
		sub        ticketing.Submission
		wantErr    error
		wantTicket string
		wantReason string
	}{
		{
			name:       "bidi override in ticket number",
			sub:        ticketing.Submission{TicketNumber: "INC\u202e4321000", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC\u{202E}4321000`, wantReason: "x",
		},
		{
			name:       "NUL in ticket number",
			sub:        ticketing.Submission{TicketNumber: "INC\x000001234", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC\u{0000}0001234`, wantReason: "x",
		},
		{
			name:       "CR LF inside the ticket number",
			sub:        ticketing.Submission{TicketNumber: "INC0001234\r\nX-Forged: 1", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC0001234\r\nX-Forged: 1`, wantReason: "x",
		},
		{
			name:       "invalid UTF-8 byte",
			sub:        ticketing.Submission{TicketNumber: "INC\xff0001234", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC\x{FF}0001234`, wantReason: "x",
		},
		{
			name:       "truncated UTF-8 sequence",
			sub:        ticketing.Submission{TicketNumber: "INC\xe2\x80", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC\x{E2}\x{80}`, wantReason: "x",
		},
		{
			name:       "zero-width space, byte order mark and line separator",
			sub:        ticketing.Submission{TicketNumber: "\ufeffINC\u200b00\u20280001", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `\u{FEFF}INC\u{200B}00\u{2028}0001`, wantReason: "x",
		},
		{
			name:       "tab inside the ticket number",
			sub:        ticketing.Submission{TicketNumber: "INC\t0001234", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: `INC\t0001234`, wantReason: "x",
		},
		{
			name:       "over-long ticket number capped at the default limit",
			sub:        ticketing.Submission{TicketNumber: strings.Repeat("A", 200), Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: strings.Repeat("A", 128) + "…", wantReason: "x",
		},
		{
			name:       "over-long control characters capped by characters, not bytes",
			sub:        ticketing.Submission{TicketNumber: strings.Repeat("\x01", 200), Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: strings.Repeat(`\u{0001}`, 128) + "…", wantReason: "x",
		},
		{
			name:       "over-long ticket number capped at a configured limit",
			opts:       []ticketing.Option{ticketing.WithMaxTicketLength(10)},
			sub:        ticketing.Submission{TicketNumber: "INC00012345678", Reason: "x"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: "INC0001234…", wantReason: "x",
		},
		{
			name:       "clean but rejected markup is kept unchanged",
			sub:        ticketing.Submission{TicketNumber: `"><script>alert(1)</script>`, Reason: "x"},
			wantErr:    ticketing.ErrTicketFormat,
			wantTicket: `"><script>alert(1)</script>`, wantReason: "x",
		},
		{
			name:       "clean rejected text is trimmed and unchanged",
			sub:        ticketing.Submission{TicketNumber: "  INC12  ", Reason: " x "},
			wantErr:    ticketing.ErrTicketFormat,
			wantTicket: "INC12", wantReason: "x",
		},
		{
			name:       "NUL in reason",
			sub:        ticketing.Submission{TicketNumber: "INC0001234", Reason: "why\x00not"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: "INC0001234", wantReason: `why\u{0000}not`,
		},
		{
			name:       "line breaks of a reason are escaped in a denied record",
			sub:        ticketing.Submission{Reason: "first\r\n\tsecond"},
			wantErr:    ticketing.ErrTicketRequired,
			wantReason: `first\r\n\tsecond`,
		},
		{
			name:       "over-long reason capped by characters",
			sub:        ticketing.Submission{TicketNumber: "INC0001234", Reason: strings.Repeat("é", 4097)},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: "INC0001234", wantReason: strings.Repeat("é", 4096) + "…",
		},
		{
			name:       "over-long reason capped at a configured limit",
			opts:       []ticketing.Option{ticketing.WithMaxReasonLength(5)},
			sub:        ticketing.Submission{TicketNumber: "INC0001234", Reason: "abcdefgh"},
			wantErr:    ticketing.ErrMalformed,
			wantTicket: "INC0001234", wantReason: "abcde…",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, store := newAccessRegistry(t, fixtureStandard, ticketing.WithValidatorOptions(tc.opts...))
			rec, err := checkAccessOnce(t, context.Background(), reg, store, ticketing.AccessRequest{
				User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView, Submission: tc.sub})
			require.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, ticketing.OutcomeDenied, rec.Outcome)
			assert.Equal(t, tc.wantTicket, rec.TicketNumber, "TicketNumber")
			assert.Equal(t, tc.wantReason, rec.Reason, "Reason")
			assertDeniedRecordClean(t, rec)
		})
	}
}

// TestCheckAccessContext checks that a cancelled or expired context denies
// access and that the denial is still recorded.
func TestCheckAccessContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		secret   ticketing.Secret
		wantErr  error
		wantCode string
	}{
		{"cancelled, ticket system needed", cancelled, accessCommentSecret, context.Canceled, "canceled"},
		{"cancelled, no ticket system needed", cancelled, accessPlainSecret, context.Canceled, "canceled"},
		{"deadline exceeded", expired, accessCommentSecret, context.DeadlineExceeded, "deadline_exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, store := newAccessRegistry(t, fixtureStandard)
			sub := ticketing.Submission{Reason: "x"}
			if tc.secret.RequireComment {
				sub.TicketNumber = "INC0001234"
			}
			rec, err := checkAccessOnce(t, tc.ctx, reg, store, ticketing.AccessRequest{
				User: "alice", Secret: tc.secret, Action: ticketing.ActionView, Submission: sub})
			require.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, ticketing.OutcomeDenied, rec.Outcome)
			assert.Equal(t, tc.wantCode, rec.DenialCode)
			assert.Equal(t, "The request was cancelled before access was checked", rec.DenialMessage)
			assert.Equal(t, int64(1), rec.Seq, "the denial is recorded")
		})
	}
}

// TestCheckAccessAuditFailure checks that nothing is granted without a
// record: when AppendAudit fails, access is denied with ErrAuditFailed.
func TestCheckAccessAuditFailure(t *testing.T) {
	errDiskFull := errors.New("disk full")
	for _, tc := range []struct {
		name     string
		secret   ticketing.Secret
		sub      ticketing.Submission
		alsoErr  error // the original denial, nil when the input was valid
		wantCode string
	}{
		{"valid input", accessCommentSecret, ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}, nil, "audit_failed"},
		{"valid input, secret without prompts", accessPlainSecret, ticketing.Submission{}, nil, "audit_failed"},
		// The audit failure's code wins, so a host alerting on audit_failed
		// sees every failed write; the user still gets the actionable message.
		{"already denied: missing reason", accessCommentSecret, ticketing.Submission{TicketNumber: "INC0001234"},
			ticketing.ErrReasonRequired, "audit_failed"},
		{"already denied: malformed ticket number", accessCommentSecret, ticketing.Submission{TicketNumber: "INC\u202e1", Reason: "x"},
			ticketing.ErrMalformed, "audit_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, store := newAccessRegistry(t, fixtureStandard)
			store.failWith = errDiskFull
			rec, err := reg.CheckAccess(context.Background(), ticketing.AccessRequest{
				User: "alice", Secret: tc.secret, Action: ticketing.ActionView, Submission: tc.sub})
			require.Error(t, err, "access must be denied when the record cannot be stored")
			assert.ErrorIs(t, err, ticketing.ErrAuditFailed)
			assert.ErrorIs(t, err, errDiskFull, "the store's error is kept")
			if tc.alsoErr != nil {
				assert.ErrorIs(t, err, tc.alsoErr, "the original denial is kept")
				var ve *ticketing.ValidationError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, ve.Message, rec.DenialMessage)
			}
			assert.Equal(t, 1, store.appendAttempts(), "exactly one append is attempted")
			assert.Empty(t, store.records())
			assert.Equal(t, ticketing.OutcomeDenied, rec.Outcome)
			assert.Equal(t, tc.wantCode, rec.DenialCode)
			assert.Equal(t, ticketing.DenialCode(err), rec.DenialCode)
			assert.Zero(t, rec.Seq, "an unstored record has no Seq")
			assert.Empty(t, rec.URL, "a denied record has no link")
			assertDeniedRecordClean(t, rec)
		})
	}
}

// TestCheckAccessStoreErrors checks denials caused by the Store rather than
// the user: they are denied and recorded like any other, the Store's error
// is kept for errors.Is, and the record stays free of raw control and
// format characters even when the Store's error text holds some (a store
// may quote what it was given, such as the chosen system ID).
func TestCheckAccessStoreErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		systemsErr  error
		appendErr   error
		systemID    string
		wantCode    string
		wantRecords int
	}{
		{name: "systems unavailable", systemsErr: errors.New("connection refused"),
			wantCode: "error", wantRecords: 1},
		{name: "systems unavailable, chosen system", systemsErr: errors.New("connection refused"), systemID: "jira",
			wantCode: "error", wantRecords: 1},
		{name: "systems error text with a line break and a bidi override",
			systemsErr: errors.New("lookup of \"jira\u202e\" failed:\nsecond line"), systemID: "jira\u202e",
			wantCode: "error", wantRecords: 1},
		{name: "audit error text with a line break",
			appendErr: errors.New("insert failed:\r\nDETAIL: \x00"),
			wantCode:  "audit_failed", wantRecords: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, store := newAccessRegistry(t, fixtureStandard)
			store.failSystems, store.failWith = tc.systemsErr, tc.appendErr
			rec, err := reg.CheckAccess(context.Background(), ticketing.AccessRequest{
				User: "alice", Secret: accessCommentSecret, Action: ticketing.ActionView, TicketSystemID: tc.systemID,
				Submission: ticketing.Submission{TicketNumber: "INC0001234", Reason: "x"}})
			require.Error(t, err)
			for _, e := range []error{tc.systemsErr, tc.appendErr} {
				if e != nil {
					assert.ErrorIs(t, err, e, "the Store's error is kept")
				}
			}
			assert.Equal(t, 1, store.appendAttempts(), "exactly one append is attempted")
			require.Len(t, store.records(), tc.wantRecords)
			if tc.wantRecords == 1 {
				assert.Empty(t, cmp.Diff(store.records()[0], rec), "returned record differs from the stored one")
			}
			assert.Equal(t, ticketing.OutcomeDenied, rec.Outcome)
			assert.Equal(t, tc.wantCode, rec.DenialCode)
			assert.NotEmpty(t, rec.DenialMessage)
			assertDeniedRecordClean(t, rec)
		})
	}
}

// TestCheckAccessConcurrent runs many access checks at once: every one is
// recorded exactly once, with Seqs 1..n each used once.
func TestCheckAccessConcurrent(t *testing.T) {
	const goroutines, calls = 100, 20
	reg, store := newAccessRegistry(t, fixtureStandard)

	type result struct {
		rec ticketing.AuditRecord
		err error
	}
	kinds := []struct {
		secret  ticketing.Secret
		sub     func(n int) ticketing.Submission
		wantErr error
	}{
		{accessCommentSecret, func(n int) ticketing.Submission {
			return ticketing.Submission{TicketNumber: fmt.Sprintf("INC%07d", n), Reason: "x"}
		}, nil},
		{accessCommentSecret, func(n int) ticketing.Submission {
			return ticketing.Submission{TicketNumber: fmt.Sprintf("INC%07d", n)}
		}, ticketing.ErrReasonRequired},
		{accessPlainSecret, func(int) ticketing.Submission { return ticketing.Submission{} }, nil},
		{accessApprovalSecret, func(n int) ticketing.Submission {
			return ticketing.Submission{TicketNumber: fmt.Sprintf("BAD-%d", n), Reason: "x"}
		}, ticketing.ErrTicketFormat},
	}
	results := make([]result, goroutines*calls)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				n := g*calls + i
				k := kinds[n%len(kinds)]
				rec, err := reg.CheckAccess(context.Background(), ticketing.AccessRequest{
					User: fmt.Sprintf("user-%d", g), Secret: k.secret, Action: ticketing.ActionView, Submission: k.sub(n)})
				results[n] = result{rec, err}
			}
		})
	}
	wg.Wait()

	stored := store.records()
	require.Len(t, stored, goroutines*calls, "every call appends exactly one record")
	bySeq := make(map[int64]ticketing.AuditRecord, len(stored))
	for _, r := range stored {
		bySeq[r.Seq] = r
	}
	require.Len(t, bySeq, goroutines*calls, "no Seq is used twice")
	for seq := int64(1); seq <= goroutines*calls; seq++ {
		require.Contains(t, bySeq, seq, "Seq %d missing", seq)
	}
	for n, res := range results {
		k := kinds[n%len(kinds)]
		if k.wantErr == nil {
			require.NoError(t, res.err, "call %d", n)
		} else {
			require.ErrorIs(t, res.err, k.wantErr, "call %d", n)
		}
		checkErrorMatchesRecord(t, res.rec, res.err)
		require.Empty(t, cmp.Diff(bySeq[res.rec.Seq], res.rec), "call %d: returned record differs from the stored one", n)
		require.Equal(t, fmt.Sprintf("user-%d", n/calls), res.rec.User, "call %d", n)
	}
}

// accessFuzzTemplateHosts are the link prefixes a granted record may carry.
var accessFuzzTemplateHosts = []string{"https://snow.example.com/", "https://jira.example.com/"}

func FuzzCheckAccess(f *testing.F) {
	// Just over the limits: longer seeds only slow the minimizer down.
	longTicket := strings.Repeat("A", ticketing.DefaultMaxTicketLength+1)
	longReason := strings.Repeat("r", ticketing.DefaultMaxReasonLength+1)
	longUser := strings.Repeat("u", 257)
	for _, s := range []struct {
		ticket, reason, user string
		sel                  uint8
	}{
		{"INC0001234", "restart the job", "alice", 0},
		{"OPS-42", "", "bob", 2 << 3},
		{"", "", "carol", 3},
		{"INC0001234\u202e", "x", "alice", 0},
		{"INC\x000001234", "why\x00", "eve\x00", 1},
		{"INC0001234\r\nX-Forged: 1", "a\r\nb", "alice\r\n", 2},
		{`"><script>alert(1)</script>`, `"><script>alert(1)</script>`, `"><script>`, 0},
		{"\xff\xfe", "\xc3\x28", "\xe2\x82", 5},
		{longTicket, longReason, longUser, 6},
		{strings.Repeat("é", 129), strings.Repeat("\u202e", 10), "alice", 7},
		{"\ufeffINC\u200b0001234", "\u2066hidden\u2069", "admin\u202enimda", 8},
		{" \t\u00a0 ", "\u2028", "  ", 3 << 3},
		{"INC0001234", "x", "alice", 0xff},
	} {
		f.Add(s.ticket, s.reason, s.user, s.sel)
	}
	secrets := []ticketing.Secret{accessCommentSecret, accessApprovalSecret, accessBothSecret, accessPlainSecret}
	actions := []ticketing.Action{ticketing.ActionView, ticketing.ActionRequestAccess}
	systems := []string{"", "snow", "jira", "legacy"}

	// One registry for every input this process runs (they run one at a
	// time); each input gets a fresh audit trail.
	reg, store := newAccessRegistry(f, fixtureStandard)
	f.Fuzz(func(t *testing.T, ticket, reason, user string, sel uint8) {
		store.resetAudit()
		req := ticketing.AccessRequest{
			User:           user,
			Secret:         secrets[sel%4],
			Action:         actions[sel>>2%2],
			TicketSystemID: systems[sel>>3%4],
			Submission:     ticketing.Submission{TicketNumber: ticket, Reason: reason},
		}
		if sel&0x20 != 0 {
			// Hostile text as the chosen system too: it is recorded.
			req.TicketSystemID = user
		}
		rec, err := checkAccessOnce(t, context.Background(), reg, store, req)
		_ = rec.TicketLinkHTML()

		trimmedTicket := strings.TrimFunc(ticket, unicode.IsSpace)
		trimmedReason := strings.TrimFunc(reason, unicode.IsSpace)
		if err == nil {
			assert.Equal(t, trimmedTicket, rec.TicketNumber, "granted ticket number is the trimmed input")
			assert.Equal(t, trimmedReason, rec.Reason, "granted reason is the trimmed input")
			assert.Equal(t, user, rec.User)
			if rec.URL != "" {
				ok := false
				for _, p := range accessFuzzTemplateHosts {
					ok = ok || strings.HasPrefix(rec.URL, p)
				}
				assert.True(t, ok, "granted link %q leaves the template's scheme and host", rec.URL)
			}
			return
		}
		// Clean text is kept unchanged; anything else is escaped.
		cleanTicket := utf8.ValidString(trimmedTicket) && utf8.RuneCountInString(trimmedTicket) <= ticketing.DefaultMaxTicketLength &&
			!strings.ContainsFunc(trimmedTicket, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) })
		if cleanTicket {
			assert.Equal(t, trimmedTicket, rec.TicketNumber, "clean ticket number is recorded unchanged")
		} else {
			assert.NotEqual(t, trimmedTicket, rec.TicketNumber, "unclean ticket number is recorded escaped")
		}
		if utf8.RuneCountInString(trimmedTicket) > ticketing.DefaultMaxTicketLength {
			assert.True(t, strings.HasSuffix(rec.TicketNumber, "…"), "over-long ticket number is capped")
		}
		if utf8.RuneCountInString(trimmedReason) > ticketing.DefaultMaxReasonLength {
			assert.True(t, strings.HasSuffix(rec.Reason, "…"), "over-long reason is capped")
		}
	})
}
