package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ticketgate/ticketing"
)

// Defaults of Config.
const (
	// DefaultTimeout bounds one run of a program when Config.Timeout is 0.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxOutput is how many bytes of standard output, and of
	// standard error, are kept when Config.MaxOutput is 0.
	DefaultMaxOutput = 64 << 10
	// MaxMessageLength caps the rejection message taken from standard
	// error, in characters.
	MaxMessageLength = 200
)

// Exit statuses of the lookup protocol (see the package documentation).
const (
	ExitValid       = 0
	ExitNotFound    = 2
	ExitUnavailable = 3
)

// waitDelay is how long a run may keep its output pipes open after the
// program exited or was killed (a child that escaped the process group and
// holds them): then they are closed and the run counts as unavailable.
const waitDelay = 500 * time.Millisecond

// maxNumberBytes bounds a ticket number handed to a program.
const maxNumberBytes = 1024

// Config configures a Client. Only Path is required. A Config is copied by
// New; changing it afterwards has no effect.
type Config struct {
	// Path is the program that checks a ticket: an absolute path to an
	// executable file, checked at New. It is run directly, never through a
	// shell.
	Path string
	// Args are extra arguments, passed after the ticket number. nil means
	// none.
	Args []string
	// Env holds the credentials and settings the programs need. They are
	// passed in the environment, never on the command line. The programs
	// get only these variables and PATH (see the package documentation).
	// nil means none. Names must be non-empty and hold neither "=" nor NUL;
	// values must not hold NUL.
	Env map[string]string
	// Dir is the working directory of the programs; "" means the host
	// process's working directory. When set it must be an existing
	// directory.
	Dir string
	// Timeout bounds one run; 0 means DefaultTimeout. The caller's context
	// deadline also applies, whichever comes first: through a Validator
	// that is the ticket system's LookupTimeout (default 5 s), which then
	// ends a run before a longer Timeout does.
	Timeout time.Duration
	// MaxOutput is how many bytes of standard output, and of standard
	// error, are kept; 0 means DefaultMaxOutput. More output is read and
	// discarded.
	MaxOutput int
	// CommentPath is the program that adds a comment to a ticket (absolute
	// path, checked at New). "" means the Client writes no comments
	// (AddComment fails).
	CommentPath string
	// CommentArgs are extra arguments for CommentPath, after the ticket
	// number. nil means none.
	CommentArgs []string
}

// Client runs the configured programs. It is immutable and safe for
// concurrent use; each lookup or comment is a run of its own. The zero
// value is not usable: build one with New.
type Client struct {
	path        string
	args        []string
	env         []string // sorted "NAME=value", PATH included
	dir         string
	timeout     time.Duration
	maxOutput   int
	commentPath string
	commentArgs []string
}

var (
	_ ticketing.Checker   = (*Client)(nil)
	_ ticketing.Commenter = (*Client)(nil)
)

// New checks cfg and returns a Client. Errors name the offending setting
// but never an Env value.
func New(cfg Config) (*Client, error) {
	if cfg.Path == "" {
		return nil, errors.New("script: Config.Path is required")
	}
	if err := checkProgram("Path", cfg.Path); err != nil {
		return nil, err
	}
	if cfg.CommentPath != "" {
		if err := checkProgram("CommentPath", cfg.CommentPath); err != nil {
			return nil, err
		}
	}
	if err := checkArgs("Args", cfg.Args); err != nil {
		return nil, err
	}
	if err := checkArgs("CommentArgs", cfg.CommentArgs); err != nil {
		return nil, err
	}
	if cfg.Dir != "" {
		st, err := os.Stat(cfg.Dir)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("script: Config.Dir %s is not an existing directory", strconv.QuoteToASCII(cfg.Dir))
		}
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("script: Config.Timeout must not be negative")
	}
	if cfg.MaxOutput < 0 {
		return nil, errors.New("script: Config.MaxOutput must not be negative")
	}
	env, err := buildEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	c := &Client{
		path:        cfg.Path,
		args:        slices.Clone(cfg.Args),
		env:         env,
		dir:         cfg.Dir,
		timeout:     cfg.Timeout,
		maxOutput:   cfg.MaxOutput,
		commentPath: cfg.CommentPath,
		commentArgs: slices.Clone(cfg.CommentArgs),
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxOutput == 0 {
		c.maxOutput = DefaultMaxOutput
	}
	return c, nil
}

// checkProgram requires an absolute path to an existing executable file.
func checkProgram(field, p string) error {
	q := strconv.QuoteToASCII(p)
	if !filepath.IsAbs(p) {
		return fmt.Errorf("script: Config.%s %s must be an absolute path", field, q)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return fmt.Errorf("script: Config.%s %s must not contain NUL", field, q)
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return fmt.Errorf("script: Config.%s %s: %w", field, q, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return fmt.Errorf("script: Config.%s %s is not a regular file", field, q)
	case runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("script: Config.%s %s is not executable", field, q)
	}
	return nil
}

func checkArgs(field string, args []string) error {
	for i, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("script: Config.%s[%d] must not contain NUL", field, i)
		}
	}
	return nil
}

// buildEnv returns the programs' whole environment: PATH, then Env, as
// sorted NAME=value entries.
func buildEnv(extra map[string]string) ([]string, error) {
	vars := map[string]string{"PATH": defaultPath()}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("script: Config.Env name %s must be non-empty without '=' or NUL", strconv.QuoteToASCII(k))
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("script: Config.Env[%s] must not contain NUL", strconv.QuoteToASCII(k))
		}
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env, nil
}

// LookupTicket runs the program with the ticket number (see the package
// documentation for the protocol).
func (c *Client) LookupTicket(ctx context.Context, number string) (ticketing.Ticket, error) {
	if err := checkNumber(number); err != nil {
		return ticketing.Ticket{}, err
	}
	argv := append([]string{number}, c.args...)
	out, err := c.run(ctx, "lookup", c.path, argv, "", nil)
	if err != nil {
		return ticketing.Ticket{}, err
	}
	switch out.exitCode {
	case ExitValid:
		return c.validTicket(number, out)
	case ExitNotFound:
		return ticketing.Ticket{}, notFound(number)
	case ExitUnavailable:
		return ticketing.Ticket{}, unavailableExit("lookup", out)
	}
	status := firstLine(out.stderr.buf)
	if status == "" {
		status = "rejected (exit status " + strconv.Itoa(out.exitCode) + ")"
	}
	return ticketing.Ticket{Number: number, Status: status, Open: false, Rejected: true}, nil
}

// AddComment runs the comment program with the ticket number and the
// comment text on standard input.
func (c *Client) AddComment(ctx context.Context, t ticketing.Ticket, cm ticketing.Comment) error {
	if c.commentPath == "" {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "no comment program configured"}
	}
	if err := checkNumber(t.Number); err != nil {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: "ticket number cannot be passed to a program", Cause: err}
	}
	var extra []string
	if cm.CorrelationID != "" && cleanValue(cm.CorrelationID) {
		extra = append(extra, "TICKETGATE_CORRELATION_ID="+cm.CorrelationID)
	}
	if t.ID != "" && cleanValue(t.ID) {
		extra = append(extra, "TICKETGATE_TICKET_ID="+t.ID)
	}
	argv := append([]string{t.Number}, c.commentArgs...)
	out, err := c.run(ctx, "comment", c.commentPath, argv, cm.Text, extra)
	if err != nil {
		return err
	}
	switch out.exitCode {
	case ExitValid:
		return nil
	case ExitUnavailable:
		return unavailableExit("comment", out)
	}
	detail := "comment program exited with status " + strconv.Itoa(out.exitCode)
	if msg := firstLine(out.stderr.buf); msg != "" {
		detail += ": " + msg
	}
	return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "comment", Detail: detail}
}

// checkNumber refuses a number that cannot be handed to a program as one
// clean argument.
func checkNumber(number string) error {
	if number == "" || len(number) > maxNumberBytes || !utf8.ValidString(number) ||
		strings.ContainsFunc(number, unicode.IsControl) {
		return notFound(number)
	}
	return nil
}

// cleanValue reports whether s may go into an environment variable.
func cleanValue(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func notFound(number string) error {
	return fmt.Errorf("%w: %s", ticketing.ErrTicketNotFound, strconv.QuoteToASCII(number))
}

func unavailableExit(op string, out *outcome) error {
	detail := "program exited with status 3 (unavailable)"
	if msg := firstLine(out.stderr.buf); msg != "" {
		detail += ": " + msg
	}
	return &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op, Temporary: true, Detail: detail}
}

// answer is the optional JSON object a program prints on exit status 0.
type answer struct {
	ID         string     `json:"id"`
	Status     text       `json:"status"`
	StatusCode text       `json:"statusCode"`
	Open       *bool      `json:"open"`
	Assignee   string     `json:"assignee"`
	Requester  string     `json:"requester"`
	Summary    string     `json:"summary"`
	URL        string     `json:"url"`
	Start      *time.Time `json:"start"`
	End        *time.Time `json:"end"`
}

// text is a JSON string or number, kept as text.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*t = text(n.String())
	return nil
}

// validTicket builds the Ticket of an exit status 0 from the optional JSON
// on standard output.
func (c *Client) validTicket(number string, out *outcome) (ticketing.Ticket, error) {
	t := ticketing.Ticket{Number: number, Open: true}
	b := bytes.TrimSpace(bytes.TrimPrefix(out.stdout.buf, []byte("\xEF\xBB\xBF")))
	if len(b) == 0 || b[0] != '{' {
		return t, nil
	}
	if !json.Valid(b) {
		if out.stdout.dropped {
			return ticketing.Ticket{}, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "lookup",
				Detail: "JSON output longer than " + strconv.Itoa(c.maxOutput) + " bytes"}
		}
		return t, nil // not JSON: ignored, as the protocol says
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return ticketing.Ticket{}, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: "lookup",
			Detail: "JSON output has a member of the wrong type"}
	}
	t.Raw = json.RawMessage(slices.Clone(b))
	t.Status, t.StatusCode = string(a.Status), string(a.StatusCode)
	if a.Open != nil {
		t.Open = *a.Open
	}
	t.Assignee, t.Requester, t.Summary = a.Assignee, a.Requester, a.Summary
	if cleanValue(a.ID) {
		t.ID = a.ID
	}
	if u, err := url.Parse(a.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		t.URL = a.URL
	}
	if a.Start != nil {
		t.Start = *a.Start
	}
	if a.End != nil {
		t.End = *a.End
	}
	return t, nil
}

// firstLine returns the first non-blank line of b with control and format
// characters removed, trimmed and capped at MaxMessageLength characters.
// It looks no further than that line.
func firstLine(b []byte) string {
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		line := b
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if s := cleanLine(line); s != "" {
			return s
		}
	}
	return ""
}

func cleanLine(line []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(string(line), "\uFFFD"))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxMessageLength {
		s = strings.TrimSpace(string([]rune(s)[:MaxMessageLength]))
	}
	return s
}

// capWriter keeps the first max bytes written to it and discards the rest,
// always reporting success so that the program's output keeps draining.
type capWriter struct {
	buf     []byte
	max     int
	dropped bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := w.max - len(w.buf)
	switch {
	case room >= len(p):
		w.buf = append(w.buf, p...)
	case room > 0:
		w.buf = append(w.buf, p[:room]...)
		w.dropped = true
	case len(p) > 0:
		w.dropped = true
	}
	return len(p), nil
}

// outcome is a run that ended with an exit status.
type outcome struct {
	exitCode       int
	stdout, stderr capWriter
}

// run starts program with argv (argv[0] excluded) and stdin, waits for it
// under the Client's timeout and ctx, and returns its exit status and
// output. Everything that is not an exit status is a *CheckerError.
func (c *Client) run(ctx context.Context, op, program string, argv []string, stdin string, extraEnv []string) (*outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, program, argv...)
	cmd.Env = append(slices.Clip(c.env), extraEnv...)
	cmd.Dir = c.dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out := &outcome{stdout: capWriter{max: c.maxOutput}, stderr: capWriter{max: c.maxOutput}}
	cmd.Stdout, cmd.Stderr = &out.stdout, &out.stderr
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }

	if err := cmd.Start(); err != nil {
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op,
			Detail: "cannot start the program", Cause: err}
	}
	err := cmd.Wait()
	// Whatever the program left in its process group goes with it.
	_ = killProcessGroup(cmd)

	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op,
			Detail: "no answer in time", Cause: ctx.Err()}
	case errors.Is(err, exec.ErrWaitDelay):
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op,
			Detail: "the program left a process holding its output open", Cause: err}
	case err == nil:
		out.exitCode = 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		out.exitCode = exitErr.ExitCode()
	case errors.As(err, &exitErr):
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op,
			Detail: "the program was killed by a signal", Cause: err}
	default:
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: op,
			Detail: "running the program failed", Cause: err}
	}
	return out, nil
}
