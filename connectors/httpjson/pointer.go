package httpjson

import (
	"errors"
	"strings"
)

// pointer is a parsed RFC 6901 JSON Pointer: its reference tokens,
// unescaped. The empty pointer (no tokens) is the whole document.
type pointer []string

// parsePointer parses s: "" or a sequence of "/token", where "~0" stands
// for "~" and "~1" for "/", and any other "~" is an error.
func parsePointer(s string) (pointer, error) {
	if s == "" {
		return pointer{}, nil
	}
	if s[0] != '/' {
		return nil, errors.New(`must be empty or start with "/"`)
	}
	raw := strings.Split(s[1:], "/")
	p := make(pointer, len(raw))
	for i, tok := range raw {
		if strings.IndexByte(tok, '~') < 0 {
			p[i] = tok
			continue
		}
		var b strings.Builder
		b.Grow(len(tok))
		for j := 0; j < len(tok); j++ {
			c := tok[j]
			if c != '~' {
				b.WriteByte(c)
				continue
			}
			if j+1 == len(tok) {
				return nil, errors.New(`"~" must be followed by "0" or "1"`)
			}
			switch tok[j+1] {
			case '0':
				b.WriteByte('~')
			case '1':
				b.WriteByte('/')
			default:
				return nil, errors.New(`"~" must be followed by "0" or "1"`)
			}
			j++
		}
		p[i] = b.String()
	}
	return p, nil
}

// String returns the pointer in its RFC 6901 text form.
func (p pointer) String() string {
	var b strings.Builder
	for _, tok := range p {
		b.WriteByte('/')
		for i := 0; i < len(tok); i++ {
			switch c := tok[i]; c {
			case '~':
				b.WriteString("~0")
			case '/':
				b.WriteString("~1")
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// resolve finds the value p refers to in doc, a value decoded by
// encoding/json into any (objects as map[string]any, arrays as []any). An
// array index is a decimal number without leading zeros and within the
// array; "-" (past the end) and anything else is not found.
func (p pointer) resolve(doc any) (any, bool) {
	cur := doc
	for _, tok := range p {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, ok := arrayIndex(tok, len(v))
			if !ok {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// arrayIndex parses tok as an index into an array of n elements.
func arrayIndex(tok string, n int) (int, bool) {
	if tok == "" || len(tok) > 1 && tok[0] == '0' {
		return 0, false
	}
	i := 0
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
		if i >= n {
			return 0, false
		}
	}
	return i, true
}
