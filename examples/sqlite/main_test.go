package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunTwiceAndMore runs the example on one file as a user would, run
// after run: the first adds the systems, later ones find them, and the
// trail keeps every run's records with its chain verified.
func TestRunTwiceAndMore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "example.db")
	for n := 1; n <= 4; n++ {
		var out bytes.Buffer
		if err := run(context.Background(), path, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", n, err, out.String())
		}
		text := out.String()
		want := []string{
			fmt.Sprintf("Audit trail: %d records, %d from earlier runs and 7 from this one", 7*n, 7*(n-1)),
			fmt.Sprintf("Records for INC0012345 in the file (all runs): %d", 3*n),
			fmt.Sprintf("Audit chain verified: %d records", 7*n),
			"reason missing                 denied: Reason is required",
			`<a href="https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number=INC0012345"`,
		}
		if n == 1 {
			want = append(want, "ServiceNow         added (active, default)", "BMC Remedy (old)   added (retired)", "Run it again")
		} else {
			want = append(want, "ServiceNow         already there (active, default)", "BMC Remedy (old)   already there (retired)")
		}
		if n == 4 {
			want = append(want, "(the 7 records before these are not shown)")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("run %d: the output lacks %q:\n%s", n, w, text)
			}
		}
		if n > 1 && strings.Contains(text, "added (") {
			t.Errorf("run %d added a system again:\n%s", n, text)
		}
	}
}
