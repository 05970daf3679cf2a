package ticketing

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of the comment write-back (comment.go) through CheckAccess.

// commentSystem is liveSystem with AddCommentsToTicket on.
func commentSystem() TicketSystem {
	sys := liveSystem()
	sys.AddCommentsToTicket = true
	return sys
}

// newCommenter returns a commentingChecker answering lookups from script
// and comments from results.
func newCommenter(script []lookupAnswer, results ...error) *commentingChecker {
	return &commentingChecker{scriptedChecker: &scriptedChecker{script: script}, results: results}
}

var correlationIDShape = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestCommentWritten(t *testing.T) {
	for _, action := range []Action{ActionView, ActionRequestAccess} {
		t.Run(string(action), func(t *testing.T) {
			c := newCommenter(nil)
			reg, store, _ := liveRegistry(t, c, commentSystem())
			req := liveRequest(liveTicket)
			req.Action = action
			rec, err := reg.CheckAccess(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, OutcomeGranted, rec.Outcome)
			assert.Equal(t, CommentWritten, rec.Comment)
			assert.Empty(t, rec.CommentDetail)
			assert.Regexp(t, correlationIDShape, rec.CorrelationID)

			calls := c.commentCalls()
			require.Len(t, calls, 1)
			got := calls[0]
			assert.Empty(t, cmp.Diff(openTicket(liveTicket), got.Ticket), "the Commenter gets the Ticket of the lookup")
			cm := got.Comment
			want := Comment{Text: cm.Text, CorrelationID: rec.CorrelationID, Action: action,
				SecretID: "secret-42", SecretName: "prod-db root", User: "alice", Reason: liveReason}
			assert.Empty(t, cmp.Diff(want, cm))
			for _, part := range []string{"alice", `"prod-db root"`, "(secret-42)", "Reason: " + liveReason} {
				assert.Contains(t, cm.Text, part)
			}
			assert.True(t, strings.HasSuffix(cm.Text, rec.CorrelationID), "the note ends with the correlation id: %q", cm.Text)
			verb := map[Action]string{ActionView: " viewed secret ", ActionRequestAccess: " requested access to secret "}[action]
			assert.Contains(t, cm.Text, verb)

			stored, err := auditByTicket(context.Background(), store, liveTicket)
			require.NoError(t, err)
			require.Len(t, stored, 1)
			assert.Equal(t, rec.CorrelationID, stored[0].CorrelationID, "the audit record holds the same id")
			assert.Equal(t, CommentWritten, stored[0].Comment)
		})
	}

	t.Run("distinct ids per access", func(t *testing.T) {
		c := newCommenter(nil)
		reg, _, _ := liveRegistry(t, c, commentSystem())
		ids := map[string]bool{}
		for range 5 {
			rec, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
			require.NoError(t, err)
			ids[rec.CorrelationID] = true
		}
		assert.Len(t, ids, 5)
		assert.Len(t, c.commentCalls(), 5, "a cached lookup is commented too")
		assert.Equal(t, 1, c.calls())
	})
}

func TestCommentText(t *testing.T) {
	cases := []struct {
		name string
		c    Comment
		want string
	}{
		{"view", Comment{CorrelationID: "abc", Action: ActionView, SecretID: "s1", SecretName: "db", User: "alice", Reason: "fix"},
			"alice viewed secret \"db\" (s1).\nReason: fix\nCorrelation ID: abc"},
		{"request, no name, no reason", Comment{CorrelationID: "abc", Action: ActionRequestAccess, SecretID: "s1", User: "bob"},
			"bob requested access to secret (s1).\nNo reason given.\nCorrelation ID: abc"},
		{"name is quoted", Comment{CorrelationID: "x", Action: ActionView, SecretID: "s", SecretName: `a"b`, User: "u"},
			"u viewed secret \"a\\\"b\" (s).\nNo reason given.\nCorrelation ID: x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, commentText(tc.c))
		})
	}
}

func TestCommentSkipped(t *testing.T) {
	ctx := context.Background()
	resolved := Ticket{Number: liveTicket, ID: "sys-1", Status: "Resolved", StatusCode: "6"}

	t.Run("ticket allowed but not open", func(t *testing.T) {
		sys := commentSystem()
		sys.AllowedStatuses = []string{"Resolved"}
		c := newCommenter([]lookupAnswer{{ticket: &resolved}})
		reg, _, _ := liveRegistry(t, c, sys)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, LiveCheckVerified, rec.LiveCheck)
		assert.Equal(t, CommentSkipped, rec.Comment)
		assert.Equal(t, "ticket is not open", rec.CommentDetail)
		assert.Empty(t, rec.CorrelationID)
		assert.Empty(t, c.commentCalls())
	})

	t.Run("failed open (unverified)", func(t *testing.T) {
		sys := commentSystem()
		sys.FailOpen = true
		sys.LookupRetries = -1
		c := newCommenter([]lookupAnswer{{err: permanentErr(503, "down")}})
		reg, _, _ := liveRegistry(t, c, sys)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, LiveCheckFailedOpen, rec.LiveCheck)
		assert.Equal(t, CommentSkipped, rec.Comment)
		assert.Equal(t, "ticket not verified", rec.CommentDetail)
		assert.Empty(t, c.commentCalls())
	})

	t.Run("connector cannot comment", func(t *testing.T) {
		c := &scriptedChecker{}
		reg, _, _ := liveRegistry(t, c, commentSystem())
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, OutcomeGranted, rec.Outcome)
		assert.Equal(t, CommentSkipped, rec.Comment)
		assert.Equal(t, "the connector cannot write comments", rec.CommentDetail)
		assert.Empty(t, rec.CorrelationID)
	})

	t.Run("AddCommentsToTicket off", func(t *testing.T) {
		c := newCommenter(nil)
		reg, _, _ := liveRegistry(t, c, liveSystem())
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, CommentOutcome(""), rec.Comment)
		assert.Empty(t, c.commentCalls())
	})
}

func TestCommentNotDue(t *testing.T) {
	ctx := context.Background()
	closed := Ticket{Number: liveTicket, Status: "Closed"}
	cases := []struct {
		name   string
		script []lookupAnswer
		req    func(*AccessRequest)
		denied bool
	}{
		{"denied: closed", []lookupAnswer{{ticket: &closed}}, nil, true},
		{"denied: not found", []lookupAnswer{{err: ErrTicketNotFound}}, nil, true},
		{"denied: unavailable", []lookupAnswer{{err: permanentErr(500, "x")}}, nil, true},
		{"denied: pattern", nil, func(r *AccessRequest) { r.Submission.TicketNumber = "INC1" }, true},
		{"denied: reason missing", nil, func(r *AccessRequest) { r.Submission.Reason = "" }, true},
		{"secret takes no ticket number", nil, func(r *AccessRequest) {
			r.Secret.RequireComment = false
			r.Submission.TicketNumber = ""
		}, false},
		{"secret takes no ticket number, one given", nil, func(r *AccessRequest) { r.Secret.RequireComment = false }, true},
		{"no ticket number entered", nil, func(r *AccessRequest) { r.Submission.TicketNumber = "" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys := commentSystem()
			if tc.name == "no ticket number entered" {
				sys.Mode = ReasonRequired
			}
			c := newCommenter(tc.script)
			reg, _, _ := liveRegistry(t, c, sys)
			req := liveRequest(liveTicket)
			if tc.req != nil {
				tc.req(&req)
			}
			rec, err := reg.CheckAccess(ctx, req)
			if tc.denied {
				require.Error(t, err)
				assert.Equal(t, OutcomeDenied, rec.Outcome)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, CommentOutcome(""), rec.Comment)
			assert.Empty(t, rec.CommentDetail)
			assert.Empty(t, rec.CorrelationID)
			assert.Empty(t, c.commentCalls(), "no comment is written")
		})
	}
}

func TestCommentFailed(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		err     error
		detail  string // CommentDetail
		attempt int
	}{
		{"unavailable", &CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 500, Detail: "boom\n<script>\u202e"},
			`ticketing: ticket system unavailable: comment: HTTP 500: boom\n<script>\u{202E}`, 1},
		{"auth", &CheckerError{Err: ErrCheckerAuth, Op: "comment", StatusCode: 403, Detail: "no write access"},
			"ticketing: ticket system refused the credentials: comment: HTTP 403: no write access", 1},
		{"plain error", errors.New("secret-token-in-text"),
			"ticketing: ticket system unavailable: comment: connector failed", 1},
		{"temporary, retries exhausted", &CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 503, Temporary: true, RetryAfter: time.Millisecond},
			"ticketing: ticket system unavailable: comment: HTTP 503", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCommenter(nil, tc.err)
			reg, _, _ := liveRegistry(t, c, commentSystem())
			rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
			require.NoError(t, err, "a failed note does not undo the access")
			assert.Equal(t, OutcomeGranted, rec.Outcome)
			assert.Equal(t, CommentFailed, rec.Comment)
			assert.Equal(t, tc.detail, rec.CommentDetail)
			assert.NotContains(t, rec.CommentDetail, "\n")
			assert.NotContains(t, rec.CommentDetail, "secret-token")
			assert.Regexp(t, correlationIDShape, rec.CorrelationID)
			assert.Len(t, c.commentCalls(), tc.attempt)
		})
	}
}

func TestCommentStrict(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unavailable", &CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 500}},
		{"auth", &CheckerError{Err: ErrCheckerAuth, Op: "comment", StatusCode: 401}},
		{"plain error", errors.New("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys := commentSystem()
			sys.StrictComments = true
			c := newCommenter(nil, tc.err)
			reg, _, _ := liveRegistry(t, c, sys)
			rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
			require.ErrorIs(t, err, ErrCommentFailed)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			assert.Equal(t, "Access could not be noted in ServiceNow, so it was denied; try again later", ve.Message)
			assert.Equal(t, OutcomeDenied, rec.Outcome)
			assert.Equal(t, "comment_failed", DenialCode(err), "the denial is the comment, not the lookup")
			assert.Equal(t, "comment_failed", rec.DenialCode)
			assert.Equal(t, ve.Message, rec.DenialMessage)
			assert.Equal(t, CommentFailed, rec.Comment)
			assert.Equal(t, LiveCheckVerified, rec.LiveCheck, "the ticket itself was verified")
			assert.Empty(t, rec.URL)
		})
	}

	t.Run("written: granted", func(t *testing.T) {
		sys := commentSystem()
		sys.StrictComments = true
		c := newCommenter(nil)
		reg, _, _ := liveRegistry(t, c, sys)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, CommentWritten, rec.Comment)
	})

	t.Run("skipped: granted", func(t *testing.T) {
		sys := commentSystem()
		sys.StrictComments = true
		reg, _, _ := liveRegistry(t, &scriptedChecker{}, sys)
		rec, err := reg.CheckAccess(ctx, liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, CommentSkipped, rec.Comment)
	})
}

func TestCommentRetriedKeepsCorrelationID(t *testing.T) {
	first := &CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 503, Temporary: true, RetryAfter: time.Millisecond}
	c := newCommenter(nil, first, nil)
	reg, _, _ := liveRegistry(t, c, commentSystem())
	rec, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
	require.NoError(t, err)
	assert.Equal(t, CommentWritten, rec.Comment)
	calls := c.commentCalls()
	require.Len(t, calls, 2, "the temporary failure was retried")
	assert.Equal(t, rec.CorrelationID, calls[0].Comment.CorrelationID)
	assert.Empty(t, cmp.Diff(calls[0], calls[1]), "the retry sends the same note, with the same correlation id")
	assert.True(t, strings.HasSuffix(calls[1].Comment.Text, rec.CorrelationID))

	t.Run("not retried when permanent", func(t *testing.T) {
		c := newCommenter(nil, &CheckerError{Err: ErrCheckerUnavailable, Op: "comment", StatusCode: 500}, nil)
		reg, _, _ := liveRegistry(t, c, commentSystem())
		rec, err := reg.CheckAccess(context.Background(), liveRequest(liveTicket))
		require.NoError(t, err)
		assert.Equal(t, CommentFailed, rec.Comment)
		assert.Len(t, c.commentCalls(), 1)
	})
}
