package ticketing_test

import (
	"context"

	"github.com/ticketgate/ticketing"
)

// auditByTicket returns every record of one ticket number, oldest first.
func auditByTicket(ctx context.Context, s ticketing.AuditStore, ticket string) ([]ticketing.AuditRecord, error) {
	var out []ticketing.AuditRecord
	for rec, err := range ticketing.AuditRecords(ctx, s, ticketing.AuditQuery{TicketNumber: ticket}) {
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}
