// Command auditreport plays one working day of secret access through a
// Registry held in memory (three ticket systems and a retired one, six
// users, five secrets, mostly granted, some denied), verifies the audit
// chain, and writes the day's audit trail as an HTML report with ticket
// links and as a CSV file, in the current directory:
//
//	go run ./examples/auditreport
//
// The clock is fixed, so every run writes the same bytes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/ticketgate/ticketing"
)

// The files the report goes to, in the current directory.
const (
	htmlFile = "audit-report.html"
	csvFile  = "audit-report.csv"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// day is the working day the example plays.
var day = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

// at returns the time "15:04" on day.
func at(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err) // the table below is fixed
	}
	return day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute)
}

func run(ctx context.Context) error {
	store := ticketing.NewMemoryStore()
	now := day
	reg := ticketing.NewRegistry(store, ticketing.WithClock(func() time.Time { return now }))

	for _, sys := range []ticketing.TicketSystem{
		{
			ID: "servicenow", Name: "ServiceNow", Active: true, // the first active system: the default
			Label:        "Incident number",
			Mode:         ticketing.TicketAndReasonRequired,
			Pattern:      `^INC\d{7}$`,
			ErrorMessage: "Enter a ServiceNow incident number such as INC0012345.",
			URLTemplate:  "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
		},
		{
			ID: "jira", Name: "Jira", Active: true,
			Label:        "Jira issue key",
			Mode:         ticketing.TicketOrReasonRequired,
			Pattern:      `^[A-Z][A-Z0-9]+-\d+$`,
			ErrorMessage: "Enter a Jira issue key such as OPS-42.",
			URLTemplate:  "https://example.atlassian.net/browse/$TICKETID",
		},
		{
			// A change board kept in a spreadsheet: no View Ticket template,
			// so its numbers are recorded but not linked.
			ID: "cab", Name: "Change Advisory Board", Active: true,
			Label:        "Change number",
			Mode:         ticketing.TicketRequired,
			Pattern:      `^CHG-\d{4}$`,
			ErrorMessage: "Enter an approved change such as CHG-0042.",
		},
		{ID: "remedy", Name: "BMC Remedy (old)", Active: true},
	} {
		if _, err := reg.Add(ctx, sys); err != nil {
			return err
		}
	}
	if _, err := reg.Retire(ctx, "remedy"); err != nil {
		return err
	}

	var (
		dbRoot  = ticketing.Secret{ID: "s-101", Name: "prod-db root", RequireComment: true}
		awsKey  = ticketing.Secret{ID: "s-202", Name: "AWS deploy key", RequiresApproval: true}
		payroll = ticketing.Secret{ID: "s-303", Name: "Payroll API token", RequireComment: true}
		router  = ticketing.Secret{ID: "s-404", Name: "Core router enable", RequireComment: true}
		wiki    = ticketing.Secret{ID: "s-505", Name: "Team wiki login"} // asks for nothing
	)
	view, request := ticketing.ActionView, ticketing.ActionRequestAccess
	attempts := []struct {
		at     string
		user   string
		secret ticketing.Secret
		action ticketing.Action
		system string // "" = the default
		ticket string
		reason string
	}{
		{"07:42", "bob", dbRoot, view, "", "INC0012345", "Disk full on db-prod-3: clear the WAL archive"},
		{"07:58", "bob", dbRoot, view, "", "INC0012345", ""}, // reason missing
		{"08:03", "bob", dbRoot, view, "", "INC0012345", "Restart the replica after the cleanup"},
		{"08:30", "alice", payroll, view, "", "INC0012360", "Payroll export failing: rotate the token"},
		{"09:05", "carol", awsKey, request, "jira", "REL-218", ""},
		{"09:07", "carol", awsKey, request, "jira", "rel-219", "Hotfix"}, // not a Jira key
		{"09:15", "dave", router, view, "cab", "CHG-0042", "Planned BGP change, window 09:15-10:00"},
		{"09:16", "dave", router, view, "cab", "42", "Second session"}, // not a change number
		{"10:02", "erin", wiki, view, "", "", ""},
		{"10:20", "alice", dbRoot, view, "", "INC12345", "Slow queries on the orders table"}, // too short
		{"10:21", "alice", dbRoot, view, "", "INC0012377", "Slow queries on the orders table"},
		{"11:00", "mallory", dbRoot, view, "remedy", "INC0012345", "need it"}, // retired system
		{"11:01", "mallory", dbRoot, view, "", "INC00\u202e12345", "need it"}, // hidden bidi override
		{"11:03", "mallory", payroll, view, "", `=HYPERLINK("http://evil.example/","INC0012345")`, "<script>alert(1)</script>"},
		{"12:30", "carol", awsKey, request, "jira", "REL-218", "Deploy 4.2.1 to production"},
		{"13:45", "bob", dbRoot, view, "", "INC0012391", "Failover test"},
		{"14:10", "alice", payroll, view, "", "INC0012360", "Check the rotated token"},
		{"15:20", "dave", router, view, "cab", "CHG-0042", "Roll back the BGP change"},
		{"16:05", "carol", awsKey, request, "jira", "OPS-77", "Hotfix 4.2.2"},
		{"16:40", "erin", dbRoot, view, "", "", "Just looking"}, // incident number missing
		{"17:55", "bob", dbRoot, view, "", "INC0012391", "Close out the failover test"},
	}
	for _, a := range attempts {
		now = at(a.at)
		_, err := reg.CheckAccess(ctx, ticketing.AccessRequest{
			User: a.user, Secret: a.secret, Action: a.action, TicketSystemID: a.system,
			Submission: ticketing.Submission{TicketNumber: a.ticket, Reason: a.reason},
		})
		// A denial is part of the day; only a failure to record it is not.
		if errors.Is(err, ticketing.ErrAuditFailed) {
			return err
		}
	}

	all := ticketing.AuditQuery{}
	total, err := store.CountAudit(ctx, all)
	if err != nil {
		return err
	}
	denied, err := store.CountAudit(ctx, ticketing.AuditQuery{Outcome: ticketing.OutcomeDenied})
	if err != nil {
		return err
	}
	head, err := ticketing.Verify(ctx, store)
	if err != nil {
		return err
	}
	fmt.Printf("Audit trail of %s\n", day.Format("Monday 2 January 2006"))
	fmt.Printf("  records   %d (%d granted, %d denied)\n", total, total-denied, denied)
	fmt.Printf("  chain     verified, head record %d\n", head.Seq)
	fmt.Printf("  head hash %s\n", head.Hash)

	opts := ticketing.ReportOptions{
		Title: "Secret access on " + day.Format("2 January 2006"),
		Now:   func() time.Time { return at("18:00") },
	}
	if err := writeFile(htmlFile, func(w io.Writer) error {
		return ticketing.WriteAuditHTML(ctx, w, store, all, opts)
	}); err != nil {
		return err
	}
	if err := writeFile(csvFile, func(w io.Writer) error {
		return ticketing.WriteAuditCSV(ctx, w, store, all)
	}); err != nil {
		return err
	}
	fmt.Printf("\nWrote ./%s (open it in a browser) and ./%s\n", htmlFile, csvFile)

	// The CSV holds every field exactly: appended to a new store, its
	// records rebuild the same chain, to the same head hash.
	again, err := readBack(ctx, csvFile)
	if err != nil {
		return err
	}
	if again != head {
		return fmt.Errorf("%s read back to head %d %s, want %d %s", csvFile, again.Seq, again.Hash, head.Seq, head.Hash)
	}
	fmt.Printf("./%s reads back to the same %d records and the same head hash\n", csvFile, again.Seq)
	return nil
}

// writeFile creates name, writes it with write and closes it. If anything
// fails, the file is removed and the error returned.
func writeFile(name string, write func(io.Writer) error) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(name)
		}
	}()
	return write(f)
}

// readBack reads the audit CSV in name into a new store and verifies it.
func readBack(ctx context.Context, name string) (ticketing.AuditHead, error) {
	f, err := os.Open(name)
	if err != nil {
		return ticketing.AuditHead{}, err
	}
	defer f.Close()
	copyStore := ticketing.NewMemoryStore()
	for rec, err := range ticketing.ReadAuditCSV(f) {
		if err != nil {
			return ticketing.AuditHead{}, fmt.Errorf("%s: %w", name, err)
		}
		if _, err := copyStore.AppendAudit(ctx, rec); err != nil {
			return ticketing.AuditHead{}, err
		}
	}
	return ticketing.Verify(ctx, copyStore)
}
