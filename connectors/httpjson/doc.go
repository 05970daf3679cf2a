// Package httpjson checks ticket numbers against any HTTP API that answers
// with JSON, for ticket systems without a connector of their own. It needs
// two settings: a URL template with {ticket} where the ticket number goes,
// and an RFC 6901 JSON Pointer to the status in the answer.
//
// # The request
//
// Each lookup is one GET of Config.URLTemplate with {ticket} replaced by the
// ticket number, escaped once, by its position: url.PathEscape in the path
// (so that "/", "?", "#" and "%" stay inside the one segment) and
// url.QueryEscape in the query (so that "&", "=", "+" and "#" stay inside
// the one value). The number `1/../../admin?x=1#y` becomes
// `1%2F..%2F..%2Fadmin%3Fx=1%23y` in a path and `1%2F..%2F..%2Fadmin%3Fx%3D1%23y`
// in a query. {ticket} may appear only in the path or the query, never in
// the scheme, host or port, so the ticket number can never change where
// the request goes; the rest of the template is sent exactly as written
// (it must already be percent-encoded). The numbers "", "." and ".." are
// never sent: they are not found. The placeholder is {ticket}, not the
// core's $TICKETID, which belongs to the ticket system's View Ticket URL
// Template (the link shown to users).
//
// Authentication is a bearer token (BearerToken), HTTP basic (Username,
// Password) or any header (Header, such as "X-API-Key"); all are optional,
// for APIs on a trusted network. The client follows redirects only within
// the template's scheme and host, reads at most 1 MiB of an answer, and
// never retries: the ticket system's outage policy in the core does.
//
// # The answer
//
//   - a status listed in NotFoundStatus (default 404): ticketing.ErrTicketNotFound;
//   - 401 and 403: ticketing.ErrCheckerAuth;
//   - 429, 502, 503 and 504: a temporary ticketing.ErrCheckerUnavailable,
//     with the server's Retry-After;
//   - any other status that is not 2xx: ticketing.ErrCheckerUnavailable;
//   - 2xx: the body must be one JSON value in which StatusPointer finds a
//     string (Ticket.Status) or a number (Ticket.StatusCode); a body that is
//     not JSON, a pointer that finds nothing, or a value of another type
//     (object, array, boolean, null) is an unavailable answer.
//
// The Ticket carries the number asked for, the status, the summary,
// assignee and requester when their pointers are set, and the whole body
// as Raw.
//
// # Open or closed
//
// With OpenStatuses, a ticket is open when its status is one of them; with
// ClosedStatuses (and no OpenStatuses), when it is none of them; both
// compare case-insensitively. With neither, every status counts as open,
// and the ticket system's AllowedStatuses (matched against Status or
// StatusCode) decide; with neither of those either, every ticket that
// exists allows access.
//
// # JSON Pointer
//
// StatusPointer and the other pointers follow RFC 6901: "/" separates the
// reference tokens, "~1" stands for "/" and "~0" for "~" inside a token,
// and a token selects an object member by name or an array element by its
// decimal index (no leading zeros; "-" is never found). "/fields/status/name"
// reads {"fields": {"status": {"name": "Open"}}}; "/items/0/state" reads
// the first element of "items"; "/a~1b" reads the member "a/b". When an
// object has the same member twice, the last one counts.
//
// # Using it
//
//	checker, err := httpjson.New(httpjson.Config{
//		URLTemplate:    "https://tickets.example.com/api/v2/tickets/{ticket}",
//		StatusPointer:  "/ticket/status",
//		ClosedStatuses: []string{"solved", "closed"},
//		SummaryPointer: "/ticket/subject",
//		BearerToken:    token,
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("tickets", checker))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name: "Tickets", Active: true, Mode: ticketing.TicketRequired,
//		Pattern: `^\d+$`, Connector: "tickets",
//	})
//
// The Client writes no comments: it does not implement ticketing.Commenter,
// so AddCommentsToTicket records the note as skipped.
package httpjson
