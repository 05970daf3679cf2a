// Command sqlite is the quickstart's flow on a SQLite file, through the
// SQL store: two ticket systems, a handful of access attempts with the
// messages a user would see, and the audit trail with its ticket links.
// Everything is kept in the file, so run it twice:
//
//	cd examples/sqlite && go run . && go run .
//
// The first run creates the schema and adds the ticket systems; the second
// finds them already there, appends the records of its own attempts, and
// shows the trail holding the records of both runs, its hash chain still
// verified. -db names the file (default ./ticketing-example.db); delete it
// to start over. The SQLite driver is modernc.org/sqlite (pure Go, no cgo);
// sqlstore itself imports no driver.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"text/tabwriter"

	_ "modernc.org/sqlite"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/sqlstore"
)

func main() {
	dbPath := flag.String("db", "./ticketing-example.db", "the SQLite file that keeps the ticket systems and the audit trail")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// systems are the ticket systems of the example: the first active one
// becomes the default; remedy was used once and is retired.
var systems = []struct {
	sys     ticketing.TicketSystem
	retired bool
}{
	{sys: ticketing.TicketSystem{
		ID:           "servicenow",
		Name:         "ServiceNow",
		Active:       true,
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Enter a ServiceNow incident number such as INC0012345.",
		URLTemplate:  "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	}},
	{sys: ticketing.TicketSystem{
		ID:           "jira",
		Name:         "Jira",
		Active:       true,
		Label:        "Jira issue key",
		Mode:         ticketing.TicketOrReasonRequired,
		Pattern:      `^[A-Z][A-Z0-9]+-\d+$`,
		ErrorMessage: "Enter a Jira issue key such as OPS-42.",
		URLTemplate:  "https://example.atlassian.net/browse/$TICKETID",
	}},
	{sys: ticketing.TicketSystem{ID: "remedy", Name: "BMC Remedy (old)", Active: true}, retired: true},
}

// maxShown bounds the records printed: the trail grows by one run's worth
// every run.
const maxShown = 21

func run(ctx context.Context, dbPath string, out io.Writer) error {
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.SQLite)
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	reg := ticketing.NewRegistry(store)

	// What earlier runs left.
	before, err := store.CountAudit(ctx, ticketing.AuditQuery{})
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "Ticket systems in %s\n", dbPath)
	for _, s := range systems {
		found, err := reg.Get(ctx, s.sys.ID)
		switch {
		case err == nil:
			fmt.Fprintf(out, "  %-18s already there (%s)\n", found.Name, state(found))
			continue
		case !errors.Is(err, ticketing.ErrNotFound):
			return err
		}
		added, err := reg.Add(ctx, s.sys)
		if err != nil {
			return err
		}
		if s.retired {
			if added, err = reg.Retire(ctx, added.ID); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "  %-18s added (%s)\n", added.Name, state(added))
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

	fmt.Fprintln(out, "\nAccess attempts")
	var first ticketing.AuditRecord
	for i, a := range attempts {
		rec, err := reg.CheckAccess(ctx, a.req)
		if errors.Is(err, ticketing.ErrAuditFailed) {
			return err // nothing is granted without a record, and this example needs the records
		}
		if i == 0 {
			first = rec
		}
		var ve *ticketing.ValidationError
		switch {
		case err == nil:
			fmt.Fprintf(out, "  %-30s granted\n", a.what)
		case errors.As(err, &ve):
			fmt.Fprintf(out, "  %-30s denied: %s\n", a.what, ve.Message)
		default:
			fmt.Fprintf(out, "  %-30s denied: %v\n", a.what, err)
		}
	}

	// The whole trail, read back from the file: the records of the earlier
	// runs, then this run's.
	total, err := store.CountAudit(ctx, ticketing.AuditQuery{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nAudit trail: %d records, %d from earlier runs and %d from this one\n", total, before, total-before)
	q := ticketing.AuditQuery{}
	if total > maxShown {
		fmt.Fprintf(out, "  (the %d records before these are not shown)\n", total-maxShown)
		// Start after the record that precedes the last maxShown.
		q.Cursor = q.CursorAfter(total - maxShown)
	}
	w := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  #\trun\ttime\tuser\taction\tsecret\tsystem\tticket\toutcome\tlink")
	for r, err := range ticketing.AuditRecords(ctx, store, q) {
		if err != nil {
			return err
		}
		run := "this"
		if r.Seq <= before {
			run = "earlier"
		}
		outcome := string(r.Outcome)
		if r.DenialCode != "" {
			outcome += " (" + r.DenialCode + ")"
		}
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, run, r.Time.Local().Format("15:04:05"),
			r.User, r.Action, r.SecretName, dash(r.TicketSystemName), dash(r.TicketNumber), outcome, dash(r.URL))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(out, "\nAs HTML in an audit page, this run's first record's ticket is a safe link:")
	fmt.Fprintln(out, " ", first.TicketLinkHTML())

	n, err := store.CountAudit(ctx, ticketing.AuditQuery{TicketNumber: "INC0012345"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nRecords for INC0012345 in the file (all runs): %d\n", n)
	head, err := ticketing.Verify(ctx, store)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Audit chain verified: %d records, head %s…\n", head.Seq, head.Hash[:16])
	if before == 0 {
		fmt.Fprintln(out, "\nRun it again: the systems are found in the file, and the trail keeps both runs.")
	}
	return nil
}

func state(s ticketing.TicketSystem) string {
	switch {
	case s.Default:
		return "active, default"
	case s.Active:
		return "active"
	}
	return "retired"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
