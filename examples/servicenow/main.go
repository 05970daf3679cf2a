// Command servicenow shows a live ticket check against ServiceNow, offline:
// it starts a fake ServiceNow instance in the process (two incidents),
// wires the servicenow connector into a Registry, lets a few users open a
// secret with an incident number, and prints what they were told, the
// audit trail and the work notes the instance received.
//
//	go run ./examples/servicenow
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/servicenow"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	instance := newFakeServiceNow(
		incident{"INC0010001", "2", "In Progress", true, "Payment service is down"},
		incident{"INC0010002", "6", "Resolved", true, "Disk full on db-2"}, // resolved, still active
	)
	srv := httptest.NewServer(instance)
	defer srv.Close()

	// The connector: where the instance is and how to log in.
	client, err := servicenow.New(servicenow.Config{
		BaseURL:  srv.URL,
		Username: "svc-ticketgate",
		Password: "example-only",
		Table:    "incident",
	})
	if err != nil {
		return err
	}

	// The ticket system, as an admin would set it up; it names the connector.
	store := ticketing.NewMemoryStore()
	reg := ticketing.NewRegistry(store, ticketing.WithConnector("servicenow", client))
	if _, err := reg.Add(ctx, ticketing.TicketSystem{
		ID:                  "servicenow",
		Name:                "ServiceNow",
		Active:              true,
		Label:               "Incident number",
		Mode:                ticketing.TicketAndReasonRequired,
		Pattern:             `^INC\d{7}$`,
		ErrorMessage:        "Enter a ServiceNow incident number such as INC0012345.",
		Connector:           "servicenow",
		AddCommentsToTicket: true,
		URLTemplate:         srv.URL + "/nav_to.do?uri=incident.do?sysparm_query=number=$TICKETID",
	}); err != nil {
		return err
	}

	secret := ticketing.Secret{ID: "s-101", Name: "payments-db root", RequireComment: true}
	attempts := []struct{ user, ticket, reason string }{
		{"alice", "INC0010001", "Restart the payment service"},
		{"bob", "INC0010002", "Check the disk again"},
		{"carol", "INC0099999", "Routine check"},
		{"alice", "INC0010001", "Verify the restart"}, // same incident: answered from the cache
	}

	fmt.Println("Access attempts")
	var trail []ticketing.AuditRecord
	for _, a := range attempts {
		rec, err := reg.CheckAccess(ctx, ticketing.AccessRequest{
			User: a.user, Secret: secret, Action: ticketing.ActionView,
			Submission: ticketing.Submission{TicketNumber: a.ticket, Reason: a.reason},
		})
		trail = append(trail, rec)
		var ve *ticketing.ValidationError
		switch {
		case err == nil:
			fmt.Printf("  %-6s %s  granted\n", a.user, a.ticket)
		case errors.As(err, &ve):
			fmt.Printf("  %-6s %s  denied: %s\n", a.user, a.ticket, ve.Message)
		default:
			return err
		}
	}

	fmt.Println("\nAudit trail")
	w := tabwriter.NewWriter(os.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "  #\tuser\tticket\toutcome\tdenial code\tlive check\tfrom cache\tticket status\tcomment")
	for _, r := range trail {
		fmt.Fprintf(w, "  %d\t%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\n", r.Seq, r.User, r.TicketNumber, r.Outcome,
			dash(r.DenialCode), dash(string(r.LiveCheck)), r.FromCache, dash(r.TicketStatus), dash(string(r.Comment)))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Println("\nWork notes ServiceNow received")
	for _, n := range instance.Notes() {
		text := n.text
		// The correlation id is random; it links the note to its audit record.
		for _, r := range trail {
			if r.CorrelationID != "" && strings.Contains(text, r.CorrelationID) {
				text = strings.ReplaceAll(text, r.CorrelationID, fmt.Sprintf("<the CorrelationID of audit record #%d>", r.Seq))
			}
		}
		fmt.Printf("  on %s:\n    %s\n", n.number, strings.ReplaceAll(text, "\n", "\n    "))
	}
	fmt.Printf("\nLookups ServiceNow answered: %d (the repeated incident came from the cache)\n", instance.Lookups())
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// incident is one record of the fake instance.
type incident struct {
	number, state, stateLabel string
	active                    bool
	summary                   string
}

type note struct{ number, text string }

// fakeServiceNow answers the two Table API calls the connector makes, in
// the shapes ServiceNow uses: a lookup by number and a work-note PATCH.
type fakeServiceNow struct {
	incidents map[string]incident // by sys_id

	mu      sync.Mutex
	notes   []note
	lookups int
}

func newFakeServiceNow(incs ...incident) *fakeServiceNow {
	f := &fakeServiceNow{incidents: map[string]incident{}}
	for i, inc := range incs {
		f.incidents[fmt.Sprintf("%032x", i+1)] = inc
	}
	return f
}

func (f *fakeServiceNow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	if u, p, ok := r.BasicAuth(); !ok || u != "svc-ticketgate" || p != "example-only" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}`)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/now/table/incident":
		f.mu.Lock()
		f.lookups++
		f.mu.Unlock()
		number := strings.TrimPrefix(r.URL.Query().Get("sysparm_query"), "number=")
		result := []any{}
		for id, inc := range f.incidents {
			if strings.EqualFold(inc.number, number) {
				result = append(result, inc.record(id))
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"result": result})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/now/table/incident/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/now/table/incident/")
		inc, ok := f.incidents[id]
		var body struct {
			WorkNotes string `json:"work_notes"`
		}
		if !ok || json.NewDecoder(r.Body).Decode(&body) != nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"No Record found"},"status":"failure"}`)
			return
		}
		f.mu.Lock()
		f.notes = append(f.notes, note{inc.number, body.WorkNotes})
		f.mu.Unlock()
		fmt.Fprintf(w, `{"result":{"sys_id":%q,"work_notes":""}}`, id)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"message":"Requested URI does not represent any resource"},"status":"failure"}`)
	}
}

// record is the incident as sysparm_display_value=all returns it.
func (inc incident) record(sysID string) map[string]any {
	both := func(display, value string) map[string]string {
		return map[string]string{"display_value": display, "value": value}
	}
	active := fmt.Sprint(inc.active)
	return map[string]any{
		"sys_id":            both(sysID, sysID),
		"number":            both(inc.number, inc.number),
		"state":             both(inc.stateLabel, inc.state),
		"active":            both(active, active),
		"assigned_to":       both("Beth Anglin", "46d44a23a9fe19810012d100cca80666"),
		"caller_id":         both("Abel Tuter", "62826bf03710200044e0bfc8bcbe5df1"),
		"short_description": both(inc.summary, inc.summary),
		"sys_class_name":    both("Incident", "incident"),
	}
}

func (f *fakeServiceNow) Notes() []note {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]note(nil), f.notes...)
}

func (f *fakeServiceNow) Lookups() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups
}
