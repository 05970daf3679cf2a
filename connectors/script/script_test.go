//go:build unix

package script_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/script"
)

// The tests write their fixtures as small /bin/sh scripts; the connector
// itself never uses a shell. They run one after another (no t.Parallel): a
// script written while another goroutine forks could fail to start with
// ETXTBSY.

// writeScript writes an executable /bin/sh script into a new temporary
// directory and returns its path.
func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755))
	return p
}

func newClient(t *testing.T, cfg script.Config) *script.Client {
	t.Helper()
	c, err := script.New(cfg)
	require.NoError(t, err)
	return c
}

// checkerError asserts that err is an unavailable *CheckerError and returns it.
func checkerError(t *testing.T, err error) *ticketing.CheckerError {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)
	require.NotErrorIs(t, err, ticketing.ErrTicketNotFound)
	var ce *ticketing.CheckerError
	require.ErrorAs(t, err, &ce)
	return ce
}

// readNulList reads a file of NUL-terminated strings.
func readNulList(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// processGone reports whether pid has ended: no such process, or a zombie
// waiting for a parent that does not reap (PID 1 in some containers).
func processGone(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err, "the script did not write its pid file")
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.Positive(t, pid)
	return pid
}

func requireGone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // do not leave it behind
			t.Fatalf("%s (pid %d) still running", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeScript(t, "exit 0\n")
	plain := filepath.Join(dir, "plain.sh")
	require.NoError(t, os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644))
	const secret = "tok-s3cret-value"

	tests := []struct {
		name string
		cfg  script.Config
		want string
	}{
		{"no path", script.Config{}, "Path is required"},
		{"relative path", script.Config{Path: "check.sh"}, "absolute path"},
		{"missing program", script.Config{Path: filepath.Join(dir, "nope")}, "no such file"},
		{"directory", script.Config{Path: dir}, "not a regular file"},
		{"not executable", script.Config{Path: plain}, "not executable"},
		{"NUL in args", script.Config{Path: good, Args: []string{"ok", "a\x00b"}}, "Args[1]"},
		{"NUL in comment args", script.Config{Path: good, CommentPath: good, CommentArgs: []string{"\x00"}}, "CommentArgs[0]"},
		{"relative comment path", script.Config{Path: good, CommentPath: "comment.sh"}, "CommentPath"},
		{"env name with =", script.Config{Path: good, Env: map[string]string{"A=B": secret}}, "Env name"},
		{"empty env name", script.Config{Path: good, Env: map[string]string{"": secret}}, "Env name"},
		{"NUL in env value", script.Config{Path: good, Env: map[string]string{"TOKEN": secret + "\x00"}}, `Env["TOKEN"]`},
		{"missing dir", script.Config{Path: good, Dir: filepath.Join(dir, "nope")}, "Dir"},
		{"dir is a file", script.Config{Path: good, Dir: good}, "Dir"},
		{"negative timeout", script.Config{Path: good, Timeout: -time.Second}, "Timeout"},
		{"negative max output", script.Config{Path: good, MaxOutput: -1}, "MaxOutput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := script.New(tt.cfg)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), secret, "an error text must never hold a credential")
		})
	}

	_, err := script.New(script.Config{Path: good, CommentPath: good, Dir: dir, Env: map[string]string{"TOKEN": secret}})
	require.NoError(t, err)
}

func TestLookupValid(t *testing.T) {
	start := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	full := `{"status": "In Progress", "statusCode": 2, "open": true, "assignee": "Beth Anglin",
 "requester": "Abel Tuter", "summary": "Disk full", "id": "9d385017c611228701d22104cc95c371",
 "url": "https://tickets.example.com/t/9d38", "start": "2026-01-02T15:04:05Z", "end": "2026-01-02T17:04:05Z",
 "extra": {"x": [1, 2]}}`

	tests := []struct {
		name   string
		stdout string
		want   ticketing.Ticket
	}{
		{"no output", "", ticketing.Ticket{Number: "T-1", Open: true}},
		{"plain text output is ignored", "ticket looks fine\n{not json}\n", ticketing.Ticket{Number: "T-1", Open: true}},
		{"JSON-looking text that is not JSON is ignored", "{open: false}\n", ticketing.Ticket{Number: "T-1", Open: true}},
		{"JSON array is ignored", `[{"open": false}]`, ticketing.Ticket{Number: "T-1", Open: true}},
		{"full JSON", full + "\n", ticketing.Ticket{
			Number: "T-1", ID: "9d385017c611228701d22104cc95c371", Status: "In Progress", StatusCode: "2", Open: true,
			Assignee: "Beth Anglin", Requester: "Abel Tuter", Summary: "Disk full",
			Start: start, End: end, URL: "https://tickets.example.com/t/9d38", Raw: json.RawMessage(full),
		}},
		{"status only, open by default", `{"status": "Open"}`, ticketing.Ticket{
			Number: "T-1", Status: "Open", Open: true, Raw: json.RawMessage(`{"status": "Open"}`),
		}},
		{"open false", `{"status": "Resolved", "open": false}`, ticketing.Ticket{
			Number: "T-1", Status: "Resolved", Open: false, Raw: json.RawMessage(`{"status": "Resolved", "open": false}`),
		}},
		{"null members", `{"status": null, "open": null}`, ticketing.Ticket{
			Number: "T-1", Open: true, Raw: json.RawMessage(`{"status": null, "open": null}`),
		}},
		{"BOM and spaces", "\xEF\xBB\xBF  {\"status\": 7}\n\n", ticketing.Ticket{
			Number: "T-1", Status: "7", Open: true, Raw: json.RawMessage(`{"status": 7}`),
		}},
		{"javascript URL dropped", `{"url": "javascript:alert(1)"}`, ticketing.Ticket{
			Number: "T-1", Open: true, Raw: json.RawMessage(`{"url": "javascript:alert(1)"}`),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "stdout")
			require.NoError(t, os.WriteFile(out, []byte(tt.stdout), 0o644))
			c := newClient(t, script.Config{Path: writeScript(t, `cat "$2"; exit 0`+"\n"), Args: []string{out}})
			got, err := c.LookupTicket(context.Background(), "T-1")
			require.NoError(t, err)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ticket (-want +got):\n%s", d)
			}
		})
	}
}

func TestLookupMalformedJSON(t *testing.T) {
	tests := []struct {
		name, stdout string
		maxOutput    int
	}{
		{"open is a string", `{"status": "Closed", "open": "no"}`, 0},
		{"status is an object", `{"status": {"name": "Open"}}`, 0},
		{"start is not RFC 3339", `{"start": "tomorrow"}`, 0},
		{"JSON cut short by MaxOutput", `{"status": "Resolved", "open": false, "summary": "a long summary"}`, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "stdout")
			require.NoError(t, os.WriteFile(out, []byte(tt.stdout), 0o644))
			c := newClient(t, script.Config{Path: writeScript(t, `cat "$2"`+"\n"), Args: []string{out}, MaxOutput: tt.maxOutput})
			_, err := c.LookupTicket(context.Background(), "T-1")
			ce := checkerError(t, err)
			assert.False(t, ce.Temporary)
			assert.Equal(t, "lookup", ce.Op)
		})
	}
}

func TestLookupRejected(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name, body, want string
	}{
		{"message on stderr", `echo "Ticket $1 is closed." >&2; echo "second line" >&2; exit 1`, "Ticket T-1 is closed."},
		{"other exit status", `echo 'Invalid State' >&2; exit 4`, "Invalid State"},
		{"blank lines and spaces first", `printf '\n  \r\n   JIRA ticket is closed.  \n' >&2; exit 1`, "JIRA ticket is closed."},
		{"control and format characters removed", `printf 'bad\033[31m red\342\200\256 text\001\n' >&2; exit 1`, "bad[31m red text"},
		{"capped at 200 characters", `echo "` + long + `" >&2; exit 1`, strings.Repeat("x", 200)},
		{"no message", `exit 1`, "rejected (exit status 1)"},
		{"stdout JSON ignored on failure", `echo '{"status": "Open", "open": true}'; echo nope >&2; exit 1`, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, script.Config{Path: writeScript(t, tt.body+"\n")})
			got, err := c.LookupTicket(context.Background(), "T-1")
			require.NoError(t, err)
			if d := cmp.Diff(ticketing.Ticket{Number: "T-1", Status: tt.want, Open: false, Rejected: true}, got); d != "" {
				t.Errorf("ticket (-want +got):\n%s", d)
			}
		})
	}
}

func TestLookupNotFoundAndUnavailable(t *testing.T) {
	c := newClient(t, script.Config{Path: writeScript(t, `echo "no such ticket" >&2; exit 2`+"\n")})
	_, err := c.LookupTicket(context.Background(), `T-"9"`)
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	assert.Contains(t, err.Error(), `"T-\"9\""`, "the number is quoted")
	var ce *ticketing.CheckerError
	assert.False(t, errors.As(err, &ce))

	c = newClient(t, script.Config{Path: writeScript(t, `echo "backend down" >&2; exit 3`+"\n")})
	_, err = c.LookupTicket(context.Background(), "T-1")
	ce = checkerError(t, err)
	assert.True(t, ce.Temporary, "exit status 3 is temporary")
	assert.Contains(t, ce.Error(), "backend down")

	c = newClient(t, script.Config{Path: writeScript(t, `kill -9 $$`+"\n")})
	_, err = c.LookupTicket(context.Background(), "T-1")
	ce = checkerError(t, err)
	assert.False(t, ce.Temporary)
	assert.Contains(t, ce.Detail, "signal")

	// A script that cannot be executed (bad interpreter).
	bad := filepath.Join(t.TempDir(), "bad.sh")
	require.NoError(t, os.WriteFile(bad, []byte("#!/nonexistent/interpreter\n"), 0o755))
	c = newClient(t, script.Config{Path: bad})
	_, err = c.LookupTicket(context.Background(), "T-1")
	ce = checkerError(t, err)
	assert.Contains(t, ce.Detail, "cannot start")
}

func TestLookupRefusesUnsafeNumbers(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	c := newClient(t, script.Config{Path: writeScript(t, `touch "$2"`+"\n"), Args: []string{marker}})
	for _, n := range []string{"", "T-1\x00rm", "T-1\nT-2", "\xff\xfe", strings.Repeat("9", 1025)} {
		_, err := c.LookupTicket(context.Background(), n)
		require.ErrorIs(t, err, ticketing.ErrTicketNotFound, "%q", n)
	}
	assert.NoFileExists(t, marker, "the program must not run for a refused number")
	_, err := c.LookupTicket(context.Background(), "T-1")
	require.NoError(t, err)
	assert.FileExists(t, marker)
}

func TestLookupArgvIsExact(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	argvFile := filepath.Join(dir, "argv")
	c := newClient(t, script.Config{
		Path: writeScript(t, `printf '%s\0' "$@" > "$ARGV_FILE"`+"\n"),
		Args: []string{"https://tickets.example.com/api", "two words", ""},
		Env:  map[string]string{"ARGV_FILE": argvFile},
	})
	numbers := []string{
		"INC0012345",
		"INC 001 with  spaces",
		`"double" 'single' \back`,
		"$(touch " + pwned + ")",
		"`touch " + pwned + "`",
		"T-1; touch " + pwned + " && echo x | cat > " + pwned,
		"-rf",
		"--help",
		"-",
		"*",
		"$HOME ${PATH} $0",
		"INC–１２３ ünïcode",
	}
	for _, n := range numbers {
		_, err := c.LookupTicket(context.Background(), n)
		require.NoError(t, err, "%q", n)
		got := readNulList(t, argvFile)
		assert.Equal(t, []string{n, "https://tickets.example.com/api", "two words", ""}, got, "argv for %q", n)
	}
	assert.NoFileExists(t, pwned, "nothing in the number may run as a command")
}

func TestEnvironmentIsMinimal(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	t.Setenv("TICKETGATE_PARENT_ONLY", "must-not-leak")
	t.Setenv("HOME", "/home/parent")
	const token = "tok-s3cret-value"
	dir := t.TempDir()
	c := newClient(t, script.Config{
		// The shell's own /proc entries show exactly what it was started with.
		Path: writeScript(t, `cp /proc/$$/environ "$2/environ"; cp /proc/$$/cmdline "$2/cmdline"; pwd > "$2/pwd"`+"\n"),
		Args: []string{dir},
		Env:  map[string]string{"TICKETS_TOKEN": token, "TICKETS_URL": "https://tickets.example.com/a b"},
		Dir:  dir,
	})
	_, err := c.LookupTicket(context.Background(), "T-1")
	require.NoError(t, err)

	env := readNulList(t, filepath.Join(dir, "environ"))
	assert.Equal(t, []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TICKETS_TOKEN=" + token,
		"TICKETS_URL=https://tickets.example.com/a b",
	}, env, "exactly PATH and Env")

	cmdline, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	require.NoError(t, err)
	assert.NotContains(t, string(cmdline), token, "credentials never on the command line")
	assert.Contains(t, string(cmdline), "T-1\x00"+dir)

	pwd, err := os.ReadFile(filepath.Join(dir, "pwd"))
	require.NoError(t, err)
	wantDir, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	assert.Equal(t, wantDir, strings.TrimSpace(string(pwd)))

	// Env may override PATH.
	c = newClient(t, script.Config{
		Path: writeScript(t, `cp /proc/$$/environ "$2/environ"`+"\n"),
		Args: []string{dir},
		Env:  map[string]string{"PATH": "/bin"},
	})
	_, err = c.LookupTicket(context.Background(), "T-1")
	require.NoError(t, err)
	assert.Equal(t, []string{"PATH=/bin"}, readNulList(t, filepath.Join(dir, "environ")))
}

func TestLookupTimeoutKillsProcessGroup(t *testing.T) {
	// The script starts a child that holds its output open, records both
	// pids, then hangs.
	body := `sleep 60 &
echo $! > "$PIDDIR/child.tmp" && mv "$PIDDIR/child.tmp" "$PIDDIR/child.pid"
echo $$ > "$PIDDIR/script.tmp" && mv "$PIDDIR/script.tmp" "$PIDDIR/script.pid"
sleep 60
`
	t.Run("Config.Timeout", func(t *testing.T) {
		dir := t.TempDir()
		c := newClient(t, script.Config{Path: writeScript(t, body), Env: map[string]string{"PIDDIR": dir}, Timeout: 500 * time.Millisecond})
		began := time.Now()
		_, err := c.LookupTicket(context.Background(), "T-1")
		elapsed := time.Since(began)
		ce := checkerError(t, err)
		assert.False(t, ce.Temporary)
		assert.Contains(t, ce.Detail, "in time")
		assert.GreaterOrEqual(t, elapsed, 500*time.Millisecond)
		assert.Less(t, elapsed, 3*time.Second, "killed when the timeout passed")
		requireGone(t, "the script", readPid(t, filepath.Join(dir, "script.pid")))
		requireGone(t, "the script's child", readPid(t, filepath.Join(dir, "child.pid")))
	})
	t.Run("context deadline first", func(t *testing.T) {
		dir := t.TempDir()
		c := newClient(t, script.Config{Path: writeScript(t, body), Env: map[string]string{"PIDDIR": dir}})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := c.LookupTicket(ctx, "T-1")
		elapsed := time.Since(began)
		checkerError(t, err)
		assert.Less(t, elapsed, 3*time.Second, "the context deadline applies, not the 10 s default")
		requireGone(t, "the script", readPid(t, filepath.Join(dir, "script.pid")))
		requireGone(t, "the script's child", readPid(t, filepath.Join(dir, "child.pid")))
	})
}

func TestLeftoverProcessIsUnavailableAndKilled(t *testing.T) {
	// Exit 0 at once, but a background child keeps standard output open.
	dir := t.TempDir()
	c := newClient(t, script.Config{
		Path: writeScript(t, `sleep 60 &
echo $! > "$PIDDIR/child.tmp" && mv "$PIDDIR/child.tmp" "$PIDDIR/child.pid"
exit 0
`),
		Env: map[string]string{"PIDDIR": dir},
	})
	began := time.Now()
	_, err := c.LookupTicket(context.Background(), "T-1")
	ce := checkerError(t, err)
	assert.Contains(t, ce.Detail, "holding its output open")
	assert.Less(t, time.Since(began), 3*time.Second)
	requireGone(t, "the leftover child", readPid(t, filepath.Join(dir, "child.pid")))
}

func TestFloodingOutputIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name, exit string
		want       ticketing.Ticket
	}{
		{"valid", "exit 0", ticketing.Ticket{Number: "T-1", Open: true}},
		{"rejected", "exit 1", ticketing.Ticket{Number: "T-1", Status: "y", Open: false, Rejected: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, script.Config{Path: writeScript(t, `yes | head -c 50000000
yes | head -c 50000000 >&2
`+tt.exit+"\n")})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			began := time.Now()
			got, err := c.LookupTicket(context.Background(), "T-1")
			elapsed := time.Since(began)
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ticket (-want +got):\n%s", d)
			}
			assert.Less(t, elapsed, 8*time.Second, "returns promptly")
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("100 MB of output: %v, %d KiB allocated", elapsed, allocated>>10)
			assert.Less(t, allocated, uint64(8<<20), "memory is bounded by MaxOutput, not by the output")
		})
	}
}

func TestConcurrentLookups(t *testing.T) {
	c := newClient(t, script.Config{Path: writeScript(t, `printf '{"status": "open %s"}' "$1"`+"\n")})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			n := fmt.Sprintf("T-%d", i)
			got, err := c.LookupTicket(context.Background(), n)
			if err == nil && (got.Number != n || got.Status != "open "+n || !got.Open) {
				err = fmt.Errorf("lookup %s got %+v", n, got)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

func TestAddComment(t *testing.T) {
	dir := t.TempDir()
	lookup := writeScript(t, `echo '{"status": "Open", "id": "abc-1"}'`+"\n")
	comment := writeScript(t, `cat > "$OUT/stdin"
printf '%s\0' "$@" > "$OUT/argv"
printf '%s' "$TICKETGATE_CORRELATION_ID" > "$OUT/corr"
printf '%s' "$TICKETGATE_TICKET_ID" > "$OUT/id"
printf '%s' "$TOKEN" > "$OUT/token"
`)
	c := newClient(t, script.Config{
		Path:        lookup,
		CommentPath: comment,
		CommentArgs: []string{"--work-note", "a b"},
		Env:         map[string]string{"OUT": dir, "TOKEN": "tok"},
	})
	tk, err := c.LookupTicket(context.Background(), "T-1 x")
	require.NoError(t, err)
	text := "alice viewed secret \"db\" (42).\nReason: `rm -rf` $(id); fix\nCorrelation ID: c0ffee"
	require.NoError(t, c.AddComment(context.Background(), tk, ticketing.Comment{Text: text, CorrelationID: "c0ffee"}))

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, text, read("stdin"), "the comment text arrives on stdin, unchanged")
	assert.Equal(t, []string{"T-1 x", "--work-note", "a b"}, readNulList(t, filepath.Join(dir, "argv")))
	assert.Equal(t, "c0ffee", read("corr"))
	assert.Equal(t, "abc-1", read("id"))
	assert.Equal(t, "tok", read("token"))

	t.Run("failures", func(t *testing.T) {
		tests := []struct {
			name, body string
			temporary  bool
			detail     string
		}{
			{"rejected", `echo "ticket is closed for comments" >&2; exit 1`, false, "status 1: ticket is closed for comments"},
			{"unavailable", `exit 3`, true, "status 3"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := newClient(t, script.Config{Path: lookup, CommentPath: writeScript(t, tt.body+"\n")})
				err := c.AddComment(context.Background(), tk, ticketing.Comment{Text: "x"})
				ce := checkerError(t, err)
				assert.Equal(t, "comment", ce.Op)
				assert.Equal(t, tt.temporary, ce.Temporary)
				assert.Contains(t, ce.Detail, tt.detail)
			})
		}
	})

	t.Run("no comment program", func(t *testing.T) {
		c := newClient(t, script.Config{Path: lookup})
		err := c.AddComment(context.Background(), tk, ticketing.Comment{Text: "x"})
		ce := checkerError(t, err)
		assert.Contains(t, ce.Detail, "no comment program")
	})

	t.Run("timeout", func(t *testing.T) {
		c := newClient(t, script.Config{Path: lookup, CommentPath: writeScript(t, "sleep 60\n"), Timeout: 200 * time.Millisecond})
		began := time.Now()
		err := c.AddComment(context.Background(), tk, ticketing.Comment{Text: "x"})
		checkerError(t, err)
		assert.Less(t, time.Since(began), 3*time.Second)
	})
}

// TestDocExample runs the example script of the package documentation.
func TestDocExample(t *testing.T) {
	dir := t.TempDir()
	open, closed := filepath.Join(dir, "open"), filepath.Join(dir, "closed")
	require.NoError(t, os.WriteFile(open, []byte("T-1\nT-2\n"), 0o644))
	require.NoError(t, os.WriteFile(closed, []byte("T-3\n"), 0o644))
	c := newClient(t, script.Config{
		Path: writeScript(t, `# check-ticket NUMBER: $1 is data, never an option.
[ -r "$OPEN_TICKETS" ] && [ -r "$CLOSED_TICKETS" ] || exit 3
if grep -qFx -e "$1" -- "$OPEN_TICKETS"; then
	echo '{"status": "Open"}'
	exit 0
fi
if grep -qFx -e "$1" -- "$CLOSED_TICKETS"; then
	echo "Ticket is closed" >&2
	exit 1
fi
exit 2
`),
		Env: map[string]string{"OPEN_TICKETS": open, "CLOSED_TICKETS": closed},
	})
	got, err := c.LookupTicket(context.Background(), "T-2")
	require.NoError(t, err)
	assert.True(t, got.Open)
	assert.Equal(t, "Open", got.Status)
	got, err = c.LookupTicket(context.Background(), "T-3")
	require.NoError(t, err)
	assert.Equal(t, ticketing.Ticket{Number: "T-3", Status: "Ticket is closed", Rejected: true}, got)
	_, err = c.LookupTicket(context.Background(), "-T-1")
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)
	require.NoError(t, os.Remove(closed))
	_, err = c.LookupTicket(context.Background(), "T-1")
	assert.True(t, checkerError(t, err).Temporary)
}

func TestThroughValidator(t *testing.T) {
	c := newClient(t, script.Config{Path: writeScript(t, `case "$1" in
T-1) echo '{"status": "In Progress", "summary": "Disk full"}'; exit 0 ;;
T-2) echo "Ticket T-2 is closed." >&2; exit 1 ;;
T-3) echo '{"status": "Resolved", "open": false}'; exit 0 ;;
T-4) exit 3 ;;
*) exit 2 ;;
esac
`)})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name:          "Scripted",
		Pattern:       `^T-\d+$`,
		Mode:          ticketing.TicketRequired,
		LookupRetries: -1,
	}, ticketing.WithChecker(c))
	require.NoError(t, err)
	ctx := context.Background()

	res, err := v.Validate(ctx, ticketing.Submission{TicketNumber: "T-1"})
	require.NoError(t, err)
	assert.Equal(t, ticketing.LiveCheckVerified, res.LiveCheck)
	require.NotNil(t, res.Ticket)
	assert.Equal(t, "Disk full", res.Ticket.Summary)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "T-9"})
	require.ErrorIs(t, err, ticketing.ErrTicketNotFound)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "T-2"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	var ve *ticketing.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Message, "Ticket T-2 is closed.", "the denial names the script's message")

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "T-3"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
	require.ErrorAs(t, err, &ve)
	assert.Contains(t, ve.Message, "Resolved")

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "T-4"})
	require.ErrorIs(t, err, ticketing.ErrCheckerUnavailable)

	_, err = v.Validate(ctx, ticketing.Submission{TicketNumber: "-T-1"})
	require.Error(t, err)
	require.ErrorIs(t, err, ticketing.ErrTicketFormat, "a number that fails the Pattern never reaches the script")
}

// A rejection whose message equals an allowed status is still denied:
// AllowedStatuses never overrides the program's verdict.
func TestRejectionNotAllowedByAllowedStatuses(t *testing.T) {
	c := newClient(t, script.Config{Path: writeScript(t, `case "$1" in
T-1) echo '{"status": "Open"}'; exit 0 ;;
*) echo "Open" >&2; exit 1 ;;
esac
`)})
	v, err := ticketing.NewValidator(ticketing.TicketSystem{
		Name: "Scripted", Mode: ticketing.TicketRequired, AllowedStatuses: []string{"open"},
	}, ticketing.WithChecker(c))
	require.NoError(t, err)
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "T-1"})
	require.NoError(t, err, "an allowed status printed with exit 0 is allowed")
	_, err = v.Validate(context.Background(), ticketing.Submission{TicketNumber: "T-2"})
	require.ErrorIs(t, err, ticketing.ErrTicketClosed)
}
