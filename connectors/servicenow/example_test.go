package servicenow_test

import (
	"context"
	"log"
	"os"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/servicenow"
)

// Wiring the connector into a Registry: the ticket system names it in
// Connector, and incident numbers are then checked against the instance
// (see examples/servicenow for a run against a fake instance).
func ExampleNew() {
	client, err := servicenow.New(servicenow.Config{
		BaseURL:  "https://acme.service-now.com",
		Username: "svc-ticketgate",
		Password: os.Getenv("SERVICENOW_PASSWORD"),
		Table:    "incident",
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := ticketing.NewRegistry(ticketing.NewMemoryStore(), ticketing.WithConnector("servicenow", client))
	_, err = reg.Add(context.Background(), ticketing.TicketSystem{
		Name:                "ServiceNow",
		Active:              true,
		Label:               "Incident number",
		Mode:                ticketing.TicketAndReasonRequired,
		Pattern:             `^INC\d{7}$`,
		Connector:           "servicenow",
		AddCommentsToTicket: true,
		URLTemplate:         "https://acme.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	})
	if err != nil {
		log.Fatal(err)
	}
}
