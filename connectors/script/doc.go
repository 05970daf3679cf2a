// Package script checks ticket numbers by running a program that the
// administrator provides, for ticket systems without a connector. It is
// the counterpart of Secret Server's PowerShell ticket integration (the
// "Ticket Status" and "Add Ticket Comment" scripts), with two changes:
// the program is run directly (os/exec, never through a shell), and
// credentials reach it in its environment, never on its command line,
// where every user of the machine could read them (ps, /proc).
//
// # Lookup protocol
//
// For each lookup the program in Config.Path runs with
//
//	argv = [Path, ticketNumber, Args...]
//
// The ticket number is always argv[1] ($1 in sh, $args[0] in PowerShell),
// exactly as the user typed it (after the core's hygiene and Pattern),
// never split or quoted, followed by the configured Args. No "--" is put
// before it, so that argv[1] is the ticket number in every case: a script
// must take $1 as data and never run its arguments through an option
// parser (getopt), and when it hands the number to another command it must
// do so in a way that cannot be read as an option (grep -e "$1", "--"
// before it, or as part of a longer argument). The Pattern of the ticket
// system should, as usual, refuse a leading "-".
//
// Standard input is empty (/dev/null). The exit status decides:
//
//	0      the ticket exists and is valid (open);
//	2      no such ticket: ticketing.ErrTicketNotFound;
//	3      the ticket system is unavailable right now: a temporary
//	       ticketing.ErrCheckerUnavailable, which the core may retry and
//	       which fails open when the ticket system says FailOpen;
//	other  rejected: the Ticket comes back with Open false and Status set to
//	       the first non-blank line of standard error (control and format
//	       characters removed, trimmed, at most 200 characters; "rejected
//	       (exit status N)" when standard error is empty), so the core denies
//	       the access with ticketing.ErrTicketClosed and a message naming it.
//	       This is Secret Server's `throw "message"`.
//
// On exit status 0 the program may print a JSON object on standard output
// to describe the ticket; every member is optional:
//
//	{"status": "In Progress", "statusCode": "2", "open": true,
//	 "assignee": "...", "requester": "...", "summary": "...", "id": "...",
//	 "url": "https://...", "start": "2026-01-02T15:04:05Z", "end": "..."}
//
// "status" and "statusCode" may be strings or numbers; "open" defaults to
// true, and "open": false makes the core deny the access as closed; "start"
// and "end" are RFC 3339 times; "url" is kept only when it is an absolute
// http or https URL. The object is also kept as Ticket.Raw. Output that
// does not start with "{" or is not valid JSON is ignored (the ticket is
// open); a JSON object whose members have the wrong types (say "open":
// "no") is an unavailable answer, not an open ticket, and so is a JSON
// object cut short by MaxOutput.
//
// A program that cannot be started, that is killed by a signal, that runs
// longer than Timeout or the caller's context deadline (whichever comes
// first), or that leaves a process behind holding its output open, gives
// ticketing.ErrCheckerUnavailable (not temporary).
//
// An example, checking the ticket against two lists of ticket numbers,
// one per line, named in its environment (Config.Env):
//
//	#!/bin/sh
//	# check-ticket NUMBER: $1 is data, never an option.
//	[ -r "$OPEN_TICKETS" ] && [ -r "$CLOSED_TICKETS" ] || exit 3
//	if grep -qFx -e "$1" -- "$OPEN_TICKETS"; then
//		echo '{"status": "Open"}'
//		exit 0
//	fi
//	if grep -qFx -e "$1" -- "$CLOSED_TICKETS"; then
//		echo "Ticket is closed" >&2
//		exit 1
//	fi
//	exit 2
//
// # Comments
//
// When CommentPath is set the Client also implements ticketing.Commenter:
// after a granted access (TicketSystem.AddCommentsToTicket) the program
// runs with argv = [CommentPath, ticketNumber, CommentArgs...] and the
// whole comment text (ticketing.Comment.Text) on standard input. Exit
// status 0 means written; 3 is a temporary failure; anything else is a
// failure whose message (first line of standard error) goes into the
// audit record. Its environment is the lookup's plus
// TICKETGATE_CORRELATION_ID (the comment's correlation id, so that a
// retried write can be recognised) and, when the lookup's JSON gave one,
// TICKETGATE_TICKET_ID.
//
// # Environment
//
// The program never inherits the host process's environment. It gets
// exactly:
//
//   - PATH: /usr/local/bin:/usr/bin:/bin on Unix; elsewhere the host's
//     PATH (Windows also gets SYSTEMROOT, which os/exec adds because
//     Windows programs cannot start without it);
//   - every entry of Config.Env (which may override PATH);
//   - for the comment program, the TICKETGATE_ variables above.
//
// HOME is not set, on purpose: a ticket check should not read the host
// user's dot files (~/.netrc, ~/.aws, ~/.ssh); set Env["HOME"] when a tool
// needs one. LANG, TZ and the like are not passed either.
//
// # Processes and output
//
// On Unix each run gets its own process group (Setpgid), and a run that
// times out is ended with SIGKILL to the whole group, so the program's
// children (curl, a pipeline) die with it; any process left in the group
// after the program exits is killed too. On other platforms only the
// program itself is killed. At most MaxOutput bytes of standard output and
// of standard error are kept; the rest is read and discarded, so a program
// that floods its output can neither block nor exhaust memory.
//
// # Using it
//
//	checker, err := script.New(script.Config{
//		Path: "/usr/local/libexec/check-ticket",
//		Args: []string{"https://tickets.example.com"},
//		Env:  map[string]string{"TICKETS_TOKEN": token},
//	})
//	if err != nil { ... }
//	reg := ticketing.NewRegistry(store, ticketing.WithConnector("script", checker))
//	_, err = reg.Add(ctx, ticketing.TicketSystem{
//		Name: "Tickets", Active: true, Mode: ticketing.TicketRequired,
//		Pattern: `^T-\d+$`, Connector: "script",
//	})
//
// A rejection (any exit status but 0, 2 and 3) is marked Ticket.Rejected,
// so the ticket system's AllowedStatuses can never allow it, even when the
// program's message happens to equal an allowed status. With exit status
// 0, AllowedStatuses (when set) is matched against the "status" and
// "statusCode" the program printed, instead of its "open" verdict.
package script
