// Command quickstart shows the whole flow of package ticketing in memory:
// two ticket systems, a handful of access attempts, the messages a user
// would see, and the audit trail with its ticket links.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"text/tabwriter"

	"github.com/ticketgate/ticketing"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	store := ticketing.NewMemoryStore()
	reg := ticketing.NewRegistry(store)

	// The first active system becomes the default.
	if _, err := reg.Add(ctx, ticketing.TicketSystem{
		ID:           "servicenow",
		Name:         "ServiceNow",
		Active:       true,
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Enter a ServiceNow incident number such as INC0012345.",
		URLTemplate:  "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	}); err != nil {
		return err
	}
	if _, err := reg.Add(ctx, ticketing.TicketSystem{
		ID:           "jira",
		Name:         "Jira",
		Active:       true,
		Label:        "Jira issue key",
		Mode:         ticketing.TicketOrReasonRequired,
		Pattern:      `^[A-Z][A-Z0-9]+-\d+$`,
		ErrorMessage: "Enter a Jira issue key such as OPS-42.",
		URLTemplate:  "https://example.atlassian.net/browse/$TICKETID",
	}); err != nil {
		return err
	}
	// A system that was used once and has been retired since.
	if _, err := reg.Add(ctx, ticketing.TicketSystem{ID: "remedy", Name: "BMC Remedy (old)", Active: true}); err != nil {
		return err
	}
	if _, err := reg.Retire(ctx, "remedy"); err != nil {
		return err
	}

	dbRoot := ticketing.Secret{ID: "s-101", Name: "prod-db root", RequireComment: true}
	awsKey := ticketing.Secret{ID: "s-202", Name: "AWS deploy key", RequiresApproval: true}
	wiki := ticketing.Secret{ID: "s-303", Name: "Team wiki login"} // asks for nothing

	attempts := []struct {
		what string
		req  ticketing.AccessRequest
	}{
		{"valid incident and reason", ticketing.AccessRequest{User: "alice", Secret: dbRoot, Action: ticketing.ActionView,
			Submission: ticketing.Submission{TicketNumber: "INC0012345", Reason: "Restart the payment service"}}},
		{"reason missing", ticketing.AccessRequest{User: "bob", Secret: dbRoot, Action: ticketing.ActionView,
			Submission: ticketing.Submission{TicketNumber: "INC0012345"}}},
		{"badly formed incident number", ticketing.AccessRequest{User: "bob", Secret: dbRoot, Action: ticketing.ActionView,
			Submission: ticketing.Submission{TicketNumber: "12345", Reason: "Restart the payment service"}}},
		{"Jira key, request access", ticketing.AccessRequest{User: "carol", Secret: awsKey, Action: ticketing.ActionRequestAccess,
			TicketSystemID: "jira", Submission: ticketing.Submission{TicketNumber: " OPS-42 "}}},
		{"retired system chosen", ticketing.AccessRequest{User: "dave", Secret: awsKey, Action: ticketing.ActionRequestAccess,
			TicketSystemID: "remedy", Submission: ticketing.Submission{TicketNumber: "INC0012345", Reason: "Deploy"}}},
		{"hidden bidi override", ticketing.AccessRequest{User: "mallory", Secret: dbRoot, Action: ticketing.ActionView,
			Submission: ticketing.Submission{TicketNumber: "INC00\u202e12345", Reason: "Deploy"}}},
		{"secret that asks for nothing", ticketing.AccessRequest{User: "erin", Secret: wiki, Action: ticketing.ActionView}},
	}

	fmt.Println("Access attempts")
	var trail []ticketing.AuditRecord
	for _, a := range attempts {
		rec, err := reg.CheckAccess(ctx, a.req)
		trail = append(trail, rec)
		var ve *ticketing.ValidationError
		switch {
		case err == nil:
			fmt.Printf("  %-30s granted\n", a.what)
		case errors.As(err, &ve):
			fmt.Printf("  %-30s denied: %s\n", a.what, ve.Message)
		default:
			fmt.Printf("  %-30s denied: %v\n", a.what, err)
		}
	}

	fmt.Println("\nAudit trail")
	w := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  #\tuser\taction\tsecret\tsystem\tticket\toutcome\tlink")
	for _, r := range trail {
		outcome := string(r.Outcome)
		if r.DenialCode != "" {
			outcome += " (" + r.DenialCode + ")"
		}
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Seq, r.User, r.Action, r.SecretName, dash(r.TicketSystemName), dash(r.TicketNumber), outcome, dash(r.URL))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Println("\nAs HTML in an audit page, the first record's ticket is a safe link:")
	fmt.Println(" ", trail[0].TicketLinkHTML())

	n, err := store.CountAudit(ctx, ticketing.AuditQuery{TicketNumber: "INC0012345"})
	if err != nil {
		return err
	}
	fmt.Printf("\nRecords for INC0012345 in the store: %d\n", n)
	head, err := ticketing.Verify(ctx, store)
	if err != nil {
		return err
	}
	fmt.Printf("Audit chain verified: %d records, head %s…\n", head.Seq, head.Hash[:16])
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
