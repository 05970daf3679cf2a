package httpjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in   string
		want pointer
		bad  bool
	}{
		{in: "", want: pointer{}},
		{in: "/", want: pointer{""}},
		{in: "/fields/status/name", want: pointer{"fields", "status", "name"}},
		{in: "/a~1b", want: pointer{"a/b"}},
		{in: "/m~0n", want: pointer{"m~n"}},
		{in: "/~01", want: pointer{"~1"}},
		{in: "/~10", want: pointer{"/0"}},
		{in: "/~0~1~1~0", want: pointer{"~//~"}},
		{in: "//", want: pointer{"", ""}},
		{in: "/items/0/ state ", want: pointer{"items", "0", " state "}},
		{in: "/ü/%25", want: pointer{"ü", "%25"}},
		{in: "fields/status", bad: true},
		{in: "#/fields", bad: true},
		{in: "/a~", bad: true},
		{in: "/a~2", bad: true},
		{in: "/~a", bad: true},
		{in: "/ok/~", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePointer(tt.in)
			if tt.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("tokens (-want +got):\n%s", d)
			}
			assert.Equal(t, tt.in, got.String(), "String gives the pointer back")
		})
	}
}

func TestResolvePointer(t *testing.T) {
	// The example document of RFC 6901, section 5, plus nesting and arrays.
	const doc = `{
		"foo": ["bar", "baz"],
		"": 0,
		"a/b": 1,
		"c%d": 2,
		"e^f": 3,
		"g|h": 4,
		"i\\j": 5,
		"k\"l": 6,
		" ": 7,
		"m~n": 8,
		"fields": {"status": {"name": "In Progress", "id": 3}, "empty": null},
		"items": [{"state": "open"}, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]],
		"dup": 1, "dup": 2
	}`
	var v any
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	require.NoError(t, d.Decode(&v))

	found := []struct {
		ptr  string
		want any
	}{
		{"/foo/0", "bar"},
		{"/foo/1", "baz"},
		{"/", json.Number("0")},
		{"/a~1b", json.Number("1")},
		{"/c%d", json.Number("2")},
		{"/e^f", json.Number("3")},
		{"/g|h", json.Number("4")},
		{`/i\j`, json.Number("5")},
		{`/k"l`, json.Number("6")},
		{"/ ", json.Number("7")},
		{"/m~0n", json.Number("8")},
		{"/fields/status/name", "In Progress"},
		{"/fields/status/id", json.Number("3")},
		{"/fields/empty", nil},
		{"/items/0/state", "open"},
		{"/items/1/10", json.Number("20")},
		{"/dup", json.Number("2")},
		{"/foo", []any{"bar", "baz"}},
	}
	for _, tt := range found {
		t.Run("found "+tt.ptr, func(t *testing.T) {
			p, err := parsePointer(tt.ptr)
			require.NoError(t, err)
			got, ok := p.resolve(v)
			require.True(t, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	p, err := parsePointer("")
	require.NoError(t, err)
	whole, ok := p.resolve(v)
	require.True(t, ok)
	assert.Equal(t, v, whole, `"" is the whole document`)

	for _, ptr := range []string{
		"/nope",
		"/foo/2",                          // past the end
		"/foo/-",                          // the "next" element never exists
		"/foo/01",                         // leading zero
		"/foo/-1",                         // negative
		"/foo/+1",                         // sign
		"/foo/1.0",                        // not an integer
		"/foo/ 1",                         // space
		"/foo/",                           // empty index
		"/foo/0x1",                        // hex
		"/foo/99999999999999999999999999", // overflow
		"/foo/0/x",                        // into a string
		"/a~1b/x",                         // into a number
		"/fields/empty/x",
		"/fields/Status", // case-sensitive
		"/a/b",           // "a/b" is one member, not a path
		"/items/1/11",
	} {
		t.Run("missing "+ptr, func(t *testing.T) {
			p, err := parsePointer(ptr)
			require.NoError(t, err)
			got, ok := p.resolve(v)
			assert.False(t, ok)
			assert.Nil(t, got)
		})
	}
}

// FuzzJSONPointer checks that parsing and resolving never panic, that a
// parsed pointer prints back to its input, and that it finds the leaf of
// a document built from its own tokens.
func FuzzJSONPointer(f *testing.F) {
	seeds := []struct{ ptr, doc string }{
		{"/fields/status/name", `{"fields":{"status":{"name":"Open"}}}`},
		{"/items/0/state", `{"items":[{"state":"open"}]}`},
		{"/a~1b/m~0n", `{"a/b":{"m~n":1}}`},
		{"/~01", `{"~1":true}`},
		{"", `"whole"`},
		{"/", `{"":null}`},
		{"/foo/-", `{"foo":[1]}`},
		{"/foo/01", `{"foo":[1,2]}`},
		{"/foo/18446744073709551616", `{"foo":[1]}`},
		{"/a~", `{}`},
		{"/a~2", `{}`},
		{"no-slash", `{}`},
		{"/x", `{"x":1e400}`},
		{"/x", `not json`},
		{"/\xff", "{\"\xff\":1}"},
		{"/0/0/0/0", `[[[[0]]]]`},
	}
	for _, s := range seeds {
		f.Add(s.ptr, []byte(s.doc))
	}
	f.Fuzz(func(t *testing.T, ptr string, doc []byte) {
		p, err := parsePointer(ptr)
		if err != nil {
			return
		}
		if got := p.String(); got != ptr {
			t.Fatalf("parsePointer(%q).String() = %q", ptr, got)
		}
		if v, err := decode(doc); err == nil {
			_, _ = p.resolve(v)
		}
		var built any = "leaf"
		for i := len(p) - 1; i >= 0; i-- {
			built = map[string]any{p[i]: built}
		}
		if got, ok := p.resolve(built); !ok || got != "leaf" {
			t.Fatalf("pointer %q does not find the leaf of its own document: %v, %v", ptr, got, ok)
		}
		// The same through an encode/decode round trip, when the tokens
		// are valid UTF-8 (encoding/json replaces invalid bytes).
		if b, err := json.Marshal(built); err == nil {
			if v, err := decode(b); err == nil && strings.ToValidUTF8(ptr, "\uFFFD") == ptr {
				if got, ok := p.resolve(v); !ok || got != "leaf" {
					t.Fatalf("pointer %q does not find the leaf of %s", ptr, b)
				}
			}
		}
	})
}
