// Package ticketing gives a Go secrets manager or access gateway the
// ticket-system integration of privileged-access products such as Delinea
// Secret Server: before a user may see a secret or request access to it,
// they give a reason and/or a ticket number; the ticket number is checked
// against an administrator's regular expression; the decision is written
// to an audit trail, where the ticket number links to the ticket through a
// $TICKETID URL template. Everything runs in-process: there is no server.
//
// # The flow
//
// Data flows one way: host → Registry → Validator → (pattern, checker) →
// audit → Store.
//
//  1. An administrator configures ticket systems (TicketSystem) through a
//     Registry, which keeps them in a Store (NewMemoryStore by default). The
//     Registry enforces Secret Server's rules: no delete, names unique among
//     active systems, exactly one default, and every system compiled before
//     it is stored.
//  2. When a user opens a secret, the host calls Registry.CheckAccess with
//     who, which secret (its Require Comment and Requires Approval
//     settings), which screen, the chosen ticket system ("" = the default)
//     and what the user typed.
//  3. CheckAccess runs the system's Validator: input hygiene, then the
//     requirement mode, then the Pattern, then (when the system names a
//     Connector) the live lookup in the ticket system; it resolves the
//     ticket link, writes the access note back to the ticket when asked,
//     appends an AuditRecord, granted or denied, and returns it with the
//     denial as a typed error whose Message the host shows to the user.
//
// A host that only needs the checks can build a Validator with
// NewValidator and call Validate and ResolveURL directly.
//
// # Live checks
//
// A Checker looks a ticket up in the ticket system; the packages under
// connectors/ implement it for ServiceNow, BMC Helix/Remedy, Jira,
// ServiceDesk Plus, Zendesk, GitHub, GitLab, a local script and any JSON
// API. A host registers them with WithConnector (their credentials stay in
// code, never in the Store) and a TicketSystem names one in Connector. A
// number that failed the Pattern is never sent upstream. The ticket must
// exist (ErrTicketNotFound) and be open, or in AllowedStatuses
// (ErrTicketClosed). Each system has an outage policy: a timeout per lookup,
// retries with backoff for temporary failures, honouring Retry-After; it
// fails closed (ErrCheckerUnavailable) unless FailOpen is set, and then the
// Result and the audit record say the ticket was not verified. A cache
// with separate TTLs for found and unknown tickets sits in front of every
// Checker, and concurrent lookups of one ticket share one request.
//
// # Audit trail
//
// Records are appended, never changed, and chained by SHA-256 hash inside
// the store's atomic append (ChainRecord); Verify walks the chain and names
// the first record that was edited, removed, moved or slipped in.
// AuditQuery selects records by ticket number (exact or prefix), system,
// secret, user, action, outcome, denial code and time, with cursor
// pagination (QueryAudit) or as an iterator (AuditRecords); CountAudit
// counts them. WriteAuditCSV, WriteAuditJSONL and WriteAuditHTML stream
// reports in constant memory.
//
// # Secret Server vocabulary
//
//	Secret Server                                  this package
//	---------------------------------------------  ------------------------------------------
//	Ticket System tab / New Ticket System          Registry, Registry.Add
//	Ticket system (ticketSystemId, name, ...)      TicketSystem (ID, Name, Description)
//	Active / Show Inactive                         TicketSystem.Active, Registry.List(ctx, true)
//	Set as Default / isDefault                     Registry.SetDefault, TicketSystem.Default
//	Deactivating instead of deleting               Registry.Retire, Registry.Activate
//	Ticket Number Label (displayMessage)           TicketSystem.Label
//	Ticket Number and Reason Options               TicketSystem.Mode (RequirementMode)
//	  Reason Only Required                           ReasonRequired
//	  Both Required                                  TicketAndReasonRequired
//	  Ticket Number or Reason Required               TicketOrReasonRequired
//	  Ticket Number Only Required                    TicketRequired
//	Ticket Number Format Pattern (Regex)           TicketSystem.Pattern
//	Ticket Number Validation Error Message         TicketSystem.ErrorMessage
//	View Ticket URL Template ($TICKETID)           TicketSystem.URLTemplate, Validator.ResolveURL
//	Hide comment box (hideComment)                 TicketSystem.HideComment
//	Test Validation / Sample Ticket Number         Registry.Test
//	ServiceNow / BMC Remedy / PowerShell types     Connector, connectors/servicenow, remedy, script
//	System Credentials (systemCredentialSecretId)  the connector's Config, registered in code
//	Statuses to accept (serviceNowAllowedStatuses) TicketSystem.AllowedStatuses
//	Add Comments to Ticket (addCommentsToTicket)   TicketSystem.AddCommentsToTicket
//	BMC work type (...CommentWorkType)             remedy.Config.WorkInfoType
//	Require Comment (secret Security tab)          Secret.RequireComment
//	Requires Approval for Access                   Secret.RequiresApproval
//	Comment screen / Request Access screen         ActionView / ActionRequestAccess
//	Comment / reason; ticket number                Submission.Reason, Submission.TicketNumber
//	Secret audit log (ticketNumber, notes)         AuditRecord, Store
//	"can be queried in reports"                    AuditQuery, QueryAudit, WriteAuditHTML
//
// # Regular expressions
//
// Patterns use the .NET dialect, as Secret Server does, through
// github.com/dlclark/regexp2/v2, so an administrator can paste a Secret
// Server pattern unchanged: ^INC[\d]{7}$, lookarounds, (?<name>...), (?i).
// Like .NET's Regex.IsMatch a pattern searches, so anchors (^ and $) are
// the administrator's job. WithRE2 selects regexp2's RE2 flag instead
// (ASCII \d \w \s). Every match runs with a timeout (DefaultMatchTimeout)
// and a backtracking limit; a match that exceeds either is denied with
// ErrPatternTimeout, so a catastrophic pattern cannot stall the host.
//
// # Input hygiene
//
// Surrounding white space is trimmed. A ticket number is refused
// (ErrMalformed) for invalid UTF-8, control or format characters (NUL,
// CR/LF, bidi overrides, zero-width characters), line separators, or more
// than DefaultMaxTicketLength characters; a reason may hold tabs and line
// breaks but no other controls or bidi controls, up to
// DefaultMaxReasonLength characters.
//
// # Errors
//
// Every rejection wraps a sentinel error (ErrTicketRequired,
// ErrTicketFormat, ErrMalformed, ErrNotFound, ...), matched with errors.Is.
// Rejections of user input are *ValidationError values whose Message is
// written for the end user and never repeats what they typed.
//
// # Concurrency
//
// Validator and Registry are safe for concurrent use; so is MemoryStore,
// the embedded Store. The nested module github.com/ticketgate/ticketing/sqlstore
// is a Store on SQLite or PostgreSQL for hosts whose instances share one
// database.
// The Registry's rules hold with many goroutines, or many processes
// sharing one Store, changing systems at once, because every change runs
// inside the Store's atomic read-modify-write (SystemStore.UpdateSystems).
package ticketing
