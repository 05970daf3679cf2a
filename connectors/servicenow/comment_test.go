package servicenow_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/servicenow"
)

const (
	incidentSysID = "a9e30c7dc61122760116894de7bcc7bd"
	noteText      = "alice viewed secret \"prod-db <root>\" (s-101).\nReason: restart & check\nCorrelation ID: 0f1e2d3c4b5a69788796a5b4"
)

func comment() ticketing.Comment {
	return ticketing.Comment{Text: noteText, CorrelationID: "0f1e2d3c4b5a69788796a5b4", Action: ticketing.ActionView,
		SecretID: "s-101", SecretName: "prod-db <root>", User: "alice", Reason: "restart & check"}
}

// requirePatch asserts one work-note PATCH with the exact path, query,
// headers and body.
func requirePatch(t *testing.T, c call, path string) {
	t.Helper()
	require.Equal(t, http.MethodPatch, c.Method)
	require.Equal(t, path, c.Path)
	require.Equal(t, url.Values{"sysparm_fields": {"sys_id"}}, c.Query)
	requireBasic(t, c)
	require.Equal(t, "application/json", c.Header.Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.Body), &body), "body %q", c.Body)
	if d := cmp.Diff(map[string]any{"work_notes": noteText}, body); d != "" {
		t.Errorf("PATCH body (-want +got):\n%s", d)
	}
}

func TestAddCommentAfterLookup(t *testing.T) {
	for _, version := range []string{"", "v1", "v2"} {
		t.Run("version="+version, func(t *testing.T) {
			in := newInstance(t, map[string][]map[string]any{"incident": {stateRecord("incident", "INC0010001", "2", "In Progress", "true")}})
			c := newClient(t, in.srv.URL, func(cfg *servicenow.Config) { cfg.APIVersion = version })
			tk, err := c.LookupTicket(context.Background(), "INC0010001")
			require.NoError(t, err)
			require.NoError(t, c.AddComment(context.Background(), tk, comment()))

			prefix := "/api/now"
			if version != "" {
				prefix += "/" + version
			}
			calls := in.Calls()
			require.Len(t, calls, 2, "one lookup, one PATCH")
			requirePatch(t, calls[1], prefix+"/table/incident/0123456789abcdef0123456789abcdef")
			assert.Equal(t, []string{noteText}, in.Notes("0123456789abcdef0123456789abcdef"))
		})
	}
}

// A Ticket without its sys_id (built by hand, or kept from elsewhere) is
// looked up first.
func TestAddCommentLooksUpMissingSysID(t *testing.T) {
	in := newInstance(t, map[string][]map[string]any{"incident": {stateRecord("incident", "INC0010001", "2", "In Progress", "true")}})
	c := newClient(t, in.srv.URL, nil)
	require.NoError(t, c.AddComment(context.Background(), ticketing.Ticket{Number: "INC0010001"}, comment()))
	calls := in.Calls()
	require.Len(t, calls, 2)
	requireLookup(t, calls[0], "/api/now/table/incident", "INC0010001")
	requirePatch(t, calls[1], "/api/now/table/incident/0123456789abcdef0123456789abcdef")

	// An unknown ticket: no PATCH.
	err := c.AddComment(context.Background(), ticketing.Ticket{Number: "INC0099999"}, comment())
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	var ce *ticketing.CheckerError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "comment", ce.Op)
	assert.Len(t, in.Calls(), 3, "only the lookup")

	// A number that is never sent.
	err = c.AddComment(context.Background(), ticketing.Ticket{Number: "INC001^ORnumber=INC002"}, comment())
	require.Error(t, err)
	assert.Len(t, in.Calls(), 3, "nothing sent")
}

// Through the task table, the note goes to the record's own class.
func TestAddCommentTaskTableUsesClass(t *testing.T) {
	in := newInstance(t, map[string][]map[string]any{
		"sc_req_item": {stateRecord("sc_req_item", "RITM0010001", "2", "Work in Progress", "true")},
		"incident":    {stateRecord("incident", "INC0010001", "2", "In Progress", "true")},
	})
	c := newClient(t, in.srv.URL, func(cfg *servicenow.Config) { cfg.Table = "task" })
	tk, err := c.LookupTicket(context.Background(), "RITM0010001")
	require.NoError(t, err)
	require.NoError(t, c.AddComment(context.Background(), tk, comment()))
	calls := in.Calls()
	require.Len(t, calls, 2)
	requireLookup(t, calls[0], "/api/now/table/task", "RITM0010001")
	requirePatch(t, calls[1], "/api/now/table/sc_req_item/0123456789abcdef0123456789abcdef")

	// Without Raw the configured table is used.
	require.NoError(t, c.AddComment(context.Background(), ticketing.Ticket{Number: "INC0010001", ID: incidentSysID}, comment()))
	calls = in.Calls()
	require.Len(t, calls, 3)
	requirePatch(t, calls[2], "/api/now/table/task/"+incidentSysID)
}

func TestAddCommentFailures(t *testing.T) {
	tk := ticketing.Ticket{Number: "INC0010001", ID: incidentSysID,
		Raw: json.RawMessage(`{"sys_class_name":{"display_value":"Incident","value":"incident"}}`)}
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		ok        bool
		kind      error
		temporary bool
	}{
		{name: "200", status: http.StatusOK, body: `{"result":{"sys_id":"` + incidentSysID + `","work_notes":""}}`, ok: true},
		{name: "204 no body", status: http.StatusNoContent, ok: true},
		{name: "200 with an odd body is still written", status: http.StatusOK, body: `not json`, ok: true},
		{name: "401", status: http.StatusUnauthorized, body: `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`,
			kind: ticketing.ErrCheckerAuth},
		{name: "403 ACL", status: http.StatusForbidden, body: `{"error":{"message":"Operation Failed","detail":"ACL Exception Update Failed due to security constraints"},"status":"failure"}`,
			kind: ticketing.ErrCheckerUnavailable},
		{name: "400 data policy", status: http.StatusBadRequest, body: `{"error":{"message":"Operation Failed","detail":"Data Policy Exception: Close notes is mandatory"},"status":"failure"}`,
			kind: ticketing.ErrCheckerUnavailable},
		{name: "404 gone", status: http.StatusNotFound, body: `{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}`,
			kind: ticketing.ErrCheckerUnavailable},
		{name: "429", status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "2"}, kind: ticketing.ErrCheckerUnavailable, temporary: true},
		{name: "500", status: http.StatusInternalServerError, kind: ticketing.ErrCheckerUnavailable},
		{name: "503", status: http.StatusServiceUnavailable, kind: ticketing.ErrCheckerUnavailable, temporary: true},
		{name: "oversized", status: http.StatusOK, body: string(make([]byte, 1<<20+1)), kind: ticketing.ErrCheckerUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scripted(t, tt.status, tt.header, tt.body)
			c := newClient(t, f.srv.URL, nil)
			err := c.AddComment(context.Background(), tk, comment())
			calls := f.Calls()
			require.Len(t, calls, 1)
			requirePatch(t, calls[0], "/api/now/table/incident/"+incidentSysID)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.kind)
			if tt.kind != ticketing.ErrCheckerAuth {
				require.NotErrorIs(t, err, ticketing.ErrCheckerAuth, "a refused write is not refused credentials")
			}
			var ce *ticketing.CheckerError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, "comment", ce.Op)
			assert.Equal(t, tt.status, ce.StatusCode)
			assert.Equal(t, tt.temporary, ce.Temporary)
			for _, s := range []string{testPassword, "ACL Exception", "Close notes", noteText} {
				assert.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestAddCommentRefusesWhatItCannotSend(t *testing.T) {
	tests := []struct {
		name string
		t    ticketing.Ticket
		c    ticketing.Comment
	}{
		{"sys_id with a path", ticketing.Ticket{Number: "INC0010001", ID: "../sys_user/6816f79cc0a8016401c5a33be04be441"}, comment()},
		{"sys_id with a query", ticketing.Ticket{Number: "INC0010001", ID: "a9e3?sysparm_query=x"}, comment()},
		{"empty note", ticketing.Ticket{Number: "INC0010001", ID: incidentSysID}, ticketing.Comment{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := scripted(t, http.StatusOK, nil, `{}`)
			c := newClient(t, f.srv.URL, nil)
			err := c.AddComment(context.Background(), tt.t, tt.c)
			require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
			var ce *ticketing.CheckerError
			require.ErrorAs(t, err, &ce)
			assert.False(t, ce.Temporary)
			assert.Empty(t, f.Calls())
		})
	}
	// A sys_class_name in Raw that is not a table name is not used in the path.
	f := scripted(t, http.StatusOK, nil, `{}`)
	c := newClient(t, f.srv.URL, nil)
	bad := ticketing.Ticket{Number: "INC0010001", ID: incidentSysID, Raw: json.RawMessage(`{"sys_class_name":"../sys_user"}`)}
	require.NoError(t, c.AddComment(context.Background(), bad, comment()))
	calls := f.Calls()
	require.Len(t, calls, 1)
	requirePatch(t, calls[0], "/api/now/table/incident/"+incidentSysID)
}
