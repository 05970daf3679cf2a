package ticketing_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ticketgate/ticketing"
)

func ExampleNewValidator() {
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name:         "ServiceNow",
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC[\d]{7}$`, // pasted unchanged from Secret Server
		ErrorMessage: "Enter an incident number such as INC0012345.",
		URLTemplate:  "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	})
	if err != nil {
		fmt.Println("configuration error:", err)
		return
	}
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: " INC0012345 ", Reason: "Restart the payment service"})
	fmt.Printf("%q %v\n", res.TicketNumber, err)
	fmt.Println(res.URL)

	for _, s := range []ticketing.Submission{
		{TicketNumber: "INC0012345"},
		{TicketNumber: "12345", Reason: "Restart"},
		{Reason: "Restart"},
	} {
		_, err := v.Validate(ctx, s)
		var ve *ticketing.ValidationError
		if errors.As(err, &ve) {
			fmt.Printf("%s: %s\n", ve.Field, ve.Message)
		}
	}
	// Output:
	// "INC0012345" <nil>
	// https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=INC0012345
	// reason: Reason is required
	// ticketNumber: Enter an incident number such as INC0012345.
	// ticketNumber: Incident number is required
}

func ExampleValidator_ResolveURL() {
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		URLTemplate: "http://myticketingsystem/ticket.aspx?ticketid=$TICKETID",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ticket := range []string{"5125-242", "CHG 42/7&x=1"} {
		u, err := v.ResolveURL(ticket)
		fmt.Println(u, err)
	}
	// Output:
	// http://myticketingsystem/ticket.aspx?ticketid=5125-242 <nil>
	// http://myticketingsystem/ticket.aspx?ticketid=CHG%2042%2F7%26x%3D1 <nil>
}

func ExampleRegistry() {
	ctx := context.Background()
	reg := ticketing.NewRegistry(ticketing.NewMemoryStore())

	sn, _ := reg.Add(ctx, ticketing.TicketSystem{ID: "servicenow", Name: "ServiceNow", Active: true, Pattern: `^INC\d{7}$`})
	jira, _ := reg.Add(ctx, ticketing.TicketSystem{ID: "jira", Name: "Jira", Active: true, Pattern: `^[A-Z]+-\d+$`})
	fmt.Println("first active is the default:", sn.Default, jira.Default)

	_, err := reg.Retire(ctx, "servicenow")
	fmt.Println(errors.Is(err, ticketing.ErrDefaultSystem))

	_, _ = reg.SetDefault(ctx, "jira")
	retired, _ := reg.Retire(ctx, "servicenow")
	def, _ := reg.Default(ctx)
	fmt.Println("retired:", !retired.Active, "default:", def.Name)

	// A retired system can still be tested, but not chosen.
	_, err = reg.Test(ctx, "servicenow", "INC0012345")
	fmt.Println("test:", err)
	_, err = reg.Validator(ctx, "servicenow")
	fmt.Println(errors.Is(err, ticketing.ErrInactive))
	// Output:
	// first active is the default: true false
	// true
	// retired: true default: Jira
	// test: <nil>
	// true
}

func ExampleRegistry_CheckAccess() {
	ctx := context.Background()
	clock := func() time.Time { return time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC) }
	reg := ticketing.NewRegistry(ticketing.NewMemoryStore(), ticketing.WithClock(clock))
	_, err := reg.Add(ctx, ticketing.TicketSystem{
		ID:           "servicenow",
		Name:         "ServiceNow",
		Active:       true,
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Enter an incident number such as INC0012345.",
		URLTemplate:  "https://example.service-now.com/incident.do?sysparm_query=number=$TICKETID",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	secret := ticketing.Secret{ID: "db-prod-root", Name: "Production DB root", RequireComment: true}

	rec, err := reg.CheckAccess(ctx, ticketing.AccessRequest{
		User:       "alice",
		Secret:     secret,
		Action:     ticketing.ActionView,
		Submission: ticketing.Submission{TicketNumber: "INC0012345", Reason: "Rotate after incident"},
	})
	fmt.Println(rec.Seq, rec.Outcome, rec.TicketNumber, rec.URL, err)

	rec, err = reg.CheckAccess(ctx, ticketing.AccessRequest{
		User:       "bob",
		Secret:     secret,
		Action:     ticketing.ActionView,
		Submission: ticketing.Submission{TicketNumber: "12345", Reason: "just looking"},
	})
	fmt.Println(rec.Seq, rec.Outcome, rec.DenialCode, errors.Is(err, ticketing.ErrTicketFormat))
	fmt.Println(rec.DenialMessage)
	// Output:
	// 1 granted INC0012345 https://example.service-now.com/incident.do?sysparm_query=number=INC0012345 <nil>
	// 2 denied ticket_format true
	// Enter an incident number such as INC0012345.
}
