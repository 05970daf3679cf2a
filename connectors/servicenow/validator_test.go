package servicenow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
)

// End to end through the core: the Validator's live check with this
// connector.
func TestValidatorEndToEnd(t *testing.T) {
	in := newInstance(t, map[string][]map[string]any{"incident": {
		stateRecord("incident", "INC0010001", "2", "In Progress", "true"),
		stateRecord("incident", "INC0010002", "6", "Resolved", "true"),
		stateRecord("incident", "INC0010003", "7", "Closed", "false"),
	}})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name:    "ServiceNow",
		Pattern: `^INC\d{7}$`,
		Mode:    ticketing.TicketRequired,
	}, ticketing.WithChecker(newClient(t, in.srv.URL, nil)))
	require.NoError(t, err)
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: "INC0010001"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "In Progress", res.Ticket.Status)

	for _, closed := range []struct{ number, status string }{{"INC0010002", "Resolved"}, {"INC0010003", "Closed"}} {
		_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: closed.number})
		require.ErrorIs(t, err, ticketing.ErrTicketClosed, closed.number)
		var ve *ticketing.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.Contains(t, ve.Message, closed.status)
	}

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "INC0099999"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	// The pattern stops an injection before the connector is asked.
	before := len(in.Calls())
	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "INC0010001^ORnumber=INC0010002"})
	require.ErrorIs(t, err, ticketing.ErrTicketFormat)
	assert.Len(t, in.Calls(), before)

	for _, c := range in.Calls() {
		assert.False(t, strings.Contains(c.Query.Get("sysparm_query"), "^"), "query %q", c.Query.Get("sysparm_query"))
	}
}

// AllowedStatuses overrides the connector's judgement, by label or code.
func TestValidatorAllowedStatuses(t *testing.T) {
	in := newInstance(t, map[string][]map[string]any{"incident": {
		stateRecord("incident", "INC0010002", "6", "Resolved", "true"),
		stateRecord("incident", "INC0010004", "3", "On Hold", "true"),
	}})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name: "ServiceNow", Mode: ticketing.TicketRequired, AllowedStatuses: []string{"resolved", "2"},
	}, ticketing.WithChecker(newClient(t, in.srv.URL, nil)))
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC0010002"})
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "INC0010004"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
}
