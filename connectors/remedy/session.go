package remedy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketing"
	"github.com/ticketgate/ticketing/connectors/internal/httpapi"
)

// session is one AR System account: its HTTP client, credentials, the
// current JWT, and the queue that lets one request of the account run at a
// time. Clients built with ShareLoginWith share a session.
type session struct {
	http                        *httpapi.Client
	username, password, authStr string
	now                         func() time.Time

	// turn is a one-slot semaphore: holding it is the right to send a
	// request with this account. A channel, unlike a sync.Mutex, lets a
	// waiting call give up when its context ends.
	turn chan struct{}

	// Guarded by turn.
	token   string
	tokenAt time.Time
}

func newSession(hc *httpapi.Client, user, password, authStr string) *session {
	return &session{http: hc, username: user, password: password, authStr: authStr,
		now: time.Now, turn: make(chan struct{}, 1)}
}

// maxTokenBytes bounds the JWT accepted from a login.
const maxTokenBytes = 16 << 10

// do sends r with the account's token, one request of the account at a
// time: it logs in first when there is no token or it is older than
// TokenLifetime, and when the call answers 401 with a token that was not
// fresh, it logs in again once and repeats the call. It returns the
// response of the (last) call for the caller to classify, or a
// *ticketing.CheckerError.
func (s *session) do(ctx context.Context, r httpapi.Request) (*httpapi.Response, error) {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, &ticketing.CheckerError{Err: ticketing.ErrCheckerUnavailable, Op: r.Op,
			Detail: "no answer in time (waiting for the account's previous request)", Cause: ctx.Err()}
	}
	defer func() { <-s.turn }()

	fresh := false
	if s.token == "" || s.now().Sub(s.tokenAt) >= TokenLifetime {
		if err := s.login(ctx, r.Op); err != nil {
			return nil, err
		}
		fresh = true
	}
	resp, err := s.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized && !fresh {
		// The token expired or was revoked: renew it, once.
		s.token = ""
		if err := s.login(ctx, r.Op); err != nil {
			return nil, err
		}
		if resp, err = s.send(ctx, r); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		s.token = "" // a fresh token refused: the next call logs in again
	}
	return resp, nil
}

// send adds the Authorization header to r and sends it.
func (s *session) send(ctx context.Context, r httpapi.Request) (*httpapi.Response, error) {
	h := make(http.Header, len(r.Header)+1)
	for k, v := range r.Header {
		h[k] = v
	}
	h.Set("Authorization", "AR-JWT "+s.token)
	r.Header = h
	return s.http.Do(ctx, r)
}

// login gets a new JWT: POST /api/jwt/login, form-encoded, answered with
// the raw token as text. 401 and 403 (and a 200 whose x-ar-messages
// header reports an error) are ErrCheckerAuth. Errors are reported under
// op, the operation that needed the login, with "login" in their detail.
func (s *session) login(ctx context.Context, op string) error {
	s.token = ""
	form := url.Values{"username": {s.username}, "password": {s.password}}
	if s.authStr != "" {
		form.Set("authString", s.authStr)
	}
	resp, err := s.http.Do(ctx, httpapi.Request{
		Op:     op,
		Method: http.MethodPost,
		Path:   "/api/jwt/login",
		Form:   form,
		// The login answers text/plain; an Accept of JSON alone may be
		// refused with 406 by AR's REST layer.
		Header: http.Header{"Accept": {"text/plain, */*"}},
	})
	if err != nil {
		return loginError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return loginError(statusError(op, resp))
	}
	if arMessagesFailed(resp.Header.Values("X-Ar-Messages")) {
		return &ticketing.CheckerError{Err: ticketing.ErrCheckerAuth, Op: op, StatusCode: resp.StatusCode,
			Detail: "login: refused (x-ar-messages)"}
	}
	token := strings.TrimSpace(string(resp.Body))
	if !validToken(token) {
		return httpapi.Malformed(op, resp.StatusCode, "login: the answer is not a token")
	}
	s.token, s.tokenAt = token, s.now()
	return nil
}

// loginError marks a CheckerError as coming from the login.
func loginError(err error) error {
	var ce *ticketing.CheckerError
	if errors.As(err, &ce) {
		ce.Detail = "login: " + ce.Detail
	}
	return err
}

// validToken accepts a non-empty run of visible ASCII, which is what a JWT
// is and what can go into a header.
func validToken(t string) bool {
	if t == "" || len(t) > maxTokenBytes {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}

// arMessage is one entry of AR's error array (response bodies and the
// x-ar-messages header).
type arMessage struct {
	MessageType   string `json:"messageType"`
	MessageNumber int    `json:"messageNumber"`
}

// arMessagesFailed reports whether an x-ar-messages header reports an
// error: an ERROR message, or text saying the login failed.
func arMessagesFailed(values []string) bool {
	for _, v := range values {
		var msgs []arMessage
		if json.Unmarshal([]byte(v), &msgs) == nil {
			for _, m := range msgs {
				if strings.EqualFold(m.MessageType, "ERROR") || strings.EqualFold(m.MessageType, "FATAL") {
					return true
				}
			}
		}
		if strings.Contains(strings.ToLower(v), "login failed") {
			return true
		}
	}
	return false
}

// arErrorNumbers reads the message numbers of an AR error array body, at
// most a few; nil when the body is not one.
func arErrorNumbers(body []byte) []int {
	var msgs []arMessage
	if json.Unmarshal(body, &msgs) != nil {
		return nil
	}
	var nums []int
	for _, m := range msgs {
		if m.MessageNumber != 0 && len(nums) < 3 {
			nums = append(nums, m.MessageNumber)
		}
	}
	return nums
}

// statusError is httpapi.StatusError with the AR message numbers of the
// body, if any, in the detail; the message texts stay out.
func statusError(op string, resp *httpapi.Response) error {
	err := httpapi.StatusError(op, resp)
	var ce *ticketing.CheckerError
	if errors.As(err, &ce) {
		for _, n := range arErrorNumbers(resp.Body) {
			ce.Detail += " (ARERR " + strconv.Itoa(n) + ")"
		}
	}
	return err
}
