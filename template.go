package ticketing

import (
	"net/url"
	"strings"
)

// TicketIDPlaceholder is the token in a View Ticket URL Template that is
// replaced by the percent-encoded ticket number. It is case-sensitive.
const TicketIDPlaceholder = "$TICKETID"

// maxTemplateLength bounds a URL template; browsers and servers start
// refusing URLs not far above this.
const maxTemplateLength = 2048

// urlTemplate is a parsed View Ticket URL Template: the literal text
// around each $TICKETID. The zero value means "no template": no link.
type urlTemplate struct {
	parts []string // len(parts) == occurrences+1; nil when there is no template
	fixed int      // total length of the literal parts
}

// parseTemplate checks tmpl against the template rules:
//   - an absolute http or https URL with a host, already percent-encoded:
//     printable ASCII only, none of `"<>\^{|}` and backquote; a space is
//     taken as %20, so Secret Server's BMC sample ('Incident Number')
//     can be pasted as it is printed;
//   - no user info (a link in an audit log must not carry credentials);
//   - at least one $TICKETID, and every one in the path, query or fragment,
//     never in the scheme or the authority (user info, host, port).
//
// Because the substituted text is percent-encoded and cannot contain
// '/', '?', '#' or '@', resolving can never change the scheme or the host.
func parseTemplate(tmpl string) (urlTemplate, error) {
	if tmpl == "" {
		return urlTemplate{}, nil
	}
	bad := func(why string) error {
		return configErrorf(ErrInvalidTemplate, quote(tmpl)+": "+why)
	}
	if len(tmpl) > maxTemplateLength {
		return urlTemplate{}, bad("too long")
	}
	tmpl = strings.ReplaceAll(strings.TrimSpace(tmpl), " ", "%20")
	for i := 0; i < len(tmpl); i++ {
		if c := tmpl[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}", c) >= 0 {
			return urlTemplate{}, bad("must be a percent-encoded URL: character " + quote(tmpl[i:i+1]) + " not allowed")
		}
	}
	if !strings.Contains(tmpl, TicketIDPlaceholder) {
		return urlTemplate{}, bad("must contain " + TicketIDPlaceholder)
	}
	// Parse with the placeholders in place: "$" is legal in every part of a
	// URL, so the parse sees the template's real structure.
	u, err := url.Parse(tmpl)
	if err != nil {
		return urlTemplate{}, bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return urlTemplate{}, bad("scheme must be http or https")
	}
	if u.Opaque != "" || u.Host == "" {
		return urlTemplate{}, bad("must be an absolute URL with a host")
	}
	if u.User != nil {
		return urlTemplate{}, bad("must not contain user info")
	}
	if strings.Contains(u.Host, "$") || strings.Contains(u.Scheme, "$") {
		return urlTemplate{}, bad(TicketIDPlaceholder + " may appear only in the path, query or fragment")
	}
	// The authority ends at the first '/', '?' or '#' after "scheme://".
	// Every placeholder must start after it.
	rest := tmpl[len(u.Scheme)+len("://"):]
	authorityEnd := len(tmpl)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authorityEnd = len(u.Scheme) + len("://") + i
	}
	if strings.Index(tmpl, TicketIDPlaceholder) < authorityEnd {
		return urlTemplate{}, bad(TicketIDPlaceholder + " may appear only in the path, query or fragment")
	}
	parts := strings.Split(tmpl, TicketIDPlaceholder)
	return urlTemplate{parts: parts, fixed: len(tmpl) - (len(parts)-1)*len(TicketIDPlaceholder)}, nil
}

// resolve substitutes the percent-encoded ticket number for every
// placeholder. It makes exactly one allocation: the result.
func (t urlTemplate) resolve(ticket string) string {
	if t.parts == nil {
		return ""
	}
	enc := encodedLen(ticket)
	var b strings.Builder
	b.Grow(t.fixed + enc*(len(t.parts)-1))
	b.WriteString(t.parts[0])
	for _, p := range t.parts[1:] {
		writeEncoded(&b, ticket)
		b.WriteString(p)
	}
	return b.String()
}

// unreserved reports RFC 3986's unreserved characters: ASCII letters,
// digits and "-._~". Everything else is percent-encoded. The two masks
// hold one bit per byte value below 128.
func unreserved(c byte) bool {
	const (
		lo = 1<<'-' | 1<<'.' | (1<<10-1)<<'0'
		hi = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64)
	)
	if c < 64 {
		return lo>>c&1 != 0
	}
	return c < 128 && hi>>(c-64)&1 != 0
}

func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n += 2
		}
	}
	return n
}

// writeEncoded writes s percent-encoded, copying runs of unreserved bytes
// whole.
func writeEncoded(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		b.WriteString(s[start:i])
		b.Write([]byte{'%', hex[c>>4], hex[c&15]})
		start = i + 1
	}
	b.WriteString(s[start:])
}
