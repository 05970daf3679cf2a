package httpjson

import (
	"errors"
	"net/url"
	"strings"
)

// Placeholder is the token in Config.URLTemplate that stands for the ticket
// number. It is not the core's $TICKETID, which belongs to the View Ticket
// URL Template of a TicketSystem.
const Placeholder = "{ticket}"

// maxTemplateLength bounds Config.URLTemplate.
const maxTemplateLength = 2048

// urlTemplate is a parsed Config.URLTemplate: the scheme and authority,
// which never change, and the path and query as literal text around the
// placeholders.
type urlTemplate struct {
	base  string // "scheme://authority"
	path  []part // already escaped literals and placeholders
	query []part
}

// part is a literal piece of escaped URL text, or (ticket) a placeholder.
type part struct {
	lit    string
	ticket bool
}

// parseTemplate checks tmpl: an absolute http or https URL, already
// percent-encoded (printable ASCII, none of the characters `"<>\^|` or
// backquote, braces only in {ticket}), with a host and no user info, and
// with at least one {ticket}, each in the path or the query, never in the
// scheme or the authority. A fragment is refused: it is never sent.
func parseTemplate(tmpl string) (*urlTemplate, error) {
	tmpl = strings.TrimSpace(tmpl)
	switch {
	case tmpl == "":
		return nil, errors.New("is required")
	case len(tmpl) > maxTemplateLength:
		return nil, errors.New("is too long")
	}
	for i := 0; i < len(tmpl); i++ {
		if c := tmpl[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`|", c) >= 0 {
			return nil, errors.New("must be a percent-encoded URL: character " + quote(tmpl[i:i+1]) + " not allowed")
		}
	}
	if !strings.Contains(tmpl, Placeholder) {
		return nil, errors.New("must contain " + Placeholder)
	}
	if strings.ContainsAny(strings.ReplaceAll(tmpl, Placeholder, ""), "{}") {
		return nil, errors.New("has a brace outside " + Placeholder + " (the only placeholder)")
	}
	if strings.Contains(tmpl, "#") {
		return nil, errors.New("must not have a fragment (#): it is never sent")
	}
	scheme, rest, ok := strings.Cut(tmpl, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return nil, errors.New("must be an absolute http or https URL")
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.Contains(authority, Placeholder) {
		return nil, errors.New(Placeholder + " may appear only in the path or the query, never in the host")
	}
	u, err := url.Parse(scheme + "://" + authority)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return nil, errors.New("must have a valid host")
	case u.User != nil:
		return nil, errors.New("must not contain user info; use Username and Password")
	}
	pathText, queryText, _ := strings.Cut(tail, "?")
	if _, err := url.PathUnescape(strings.ReplaceAll(pathText, Placeholder, "x")); err != nil {
		return nil, errors.New("has a bad percent-escape in the path")
	}
	if !validEscapes(queryText) {
		return nil, errors.New("has a bad percent-escape in the query")
	}
	return &urlTemplate{base: scheme + "://" + authority, path: split(pathText), query: split(queryText)}, nil
}

// split cuts s at every placeholder.
func split(s string) []part {
	if s == "" {
		return nil
	}
	var parts []part
	for {
		before, after, found := strings.Cut(s, Placeholder)
		if before != "" {
			parts = append(parts, part{lit: before})
		}
		if !found {
			return parts
		}
		parts = append(parts, part{ticket: true})
		s = after
	}
}

// validEscapes reports whether every "%" in s starts a "%XX" escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		i += 2
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// expand returns the escaped path and raw query for number: in the path it
// is escaped with url.PathEscape (so "/", "?", "#" and "%" cannot end the
// segment), in the query with url.QueryEscape (so "&", "=", "+" and "#"
// cannot start another parameter). The literal text is used as it is.
func (t *urlTemplate) expand(number string) (path, rawQuery string) {
	return join(t.path, url.PathEscape(number)), join(t.query, url.QueryEscape(number))
}

func join(parts []part, value string) string {
	var b strings.Builder
	for _, p := range parts {
		if p.ticket {
			b.WriteString(value)
		} else {
			b.WriteString(p.lit)
		}
	}
	return b.String()
}
