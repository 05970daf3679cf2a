package ticketing

import "context"

// auditByTicket returns every record of one ticket number, oldest first.
func auditByTicket(ctx context.Context, s AuditStore, ticket string) ([]AuditRecord, error) {
	var out []AuditRecord
	for rec, err := range AuditRecords(ctx, s, AuditQuery{TicketNumber: ticket}) {
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}
