package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// ---------------------------------------------------------------------------
// helpers for systems

func list(t *testing.T, s ticketing.Store) []ticketing.TicketSystem {
	t.Helper()
	all, err := s.ListSystems(context.Background())
	if err != nil {
		t.Fatalf("ListSystems: %v", err)
	}
	return all
}

func get(t *testing.T, s ticketing.Store, id string) ticketing.TicketSystem {
	t.Helper()
	sys, err := s.GetSystem(context.Background(), id)
	if err != nil {
		t.Fatalf("GetSystem(%q): %v", id, err)
	}
	return sys
}

// put writes systems with one UpdateSystems call and returns what fn was
// shown.
func put(t *testing.T, s ticketing.Store, systems ...ticketing.TicketSystem) []ticketing.TicketSystem {
	t.Helper()
	var seen []ticketing.TicketSystem
	err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		seen = cur
		return append([]ticketing.TicketSystem(nil), systems...), nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
	return seen
}

// system returns an active system with every text field set.
func system(id, name string) ticketing.TicketSystem {
	return ticketing.TicketSystem{
		ID:           id,
		Name:         name,
		Description:  "Description of " + name,
		Active:       true,
		Label:        "Incident number",
		Mode:         ticketing.TicketAndReasonRequired,
		Pattern:      `^INC\d{7}$`,
		ErrorMessage: "Use INC and seven digits",
		URLTemplate:  "https://tickets.example.com/view?id=$TICKETID",
		Version:      1,
	}
}

func ids(systems []ticketing.TicketSystem) []string {
	out := make([]string, len(systems))
	for i, s := range systems {
		out[i] = s.ID
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func checkSystems(t *testing.T, what string, got, want []ticketing.TicketSystem) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d systems %q, want %d systems %q", what, len(got), ids(got), len(want), ids(want))
		return
	}
	for i := range want {
		if !sameSystem(got[i], want[i]) {
			t.Errorf("%s: system %d:\n got  %+v\n want %+v", what, i, got[i], want[i])
		}
	}
}

// sameSystem compares systems field by field; a nil and an empty
// AllowedStatuses are the same (a SQL store cannot tell them apart).
func sameSystem(a, b ticketing.TicketSystem) bool {
	if len(a.AllowedStatuses) == 0 && len(b.AllowedStatuses) == 0 {
		a.AllowedStatuses, b.AllowedStatuses = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

// sameInstant compares times as the package documentation says: Equal

// ---------------------------------------------------------------------------
// systems

func testGetSystemNotFound(t *testing.T, s ticketing.Store) {
	ctx := context.Background()
	if _, err := s.GetSystem(ctx, "missing"); !errors.Is(err, ticketing.ErrNotFound) {
		t.Errorf("GetSystem(missing) on an empty store: err = %v, want one wrapping ticketing.ErrNotFound", err)
	}
	put(t, s, system("sys-1", "One"), system("Case-A", "Upper"), system("case-a", "Lower"))
	for _, id := range []string{"sys", "sys-10", "SYS-1", "sys-1 ", "sys_1", "sys%", "CASE-A2", ""} {
		if _, err := s.GetSystem(ctx, id); !errors.Is(err, ticketing.ErrNotFound) {
			t.Errorf("GetSystem(%q): err = %v, want one wrapping ticketing.ErrNotFound (IDs match exactly)", id, err)
		}
	}
	// IDs are case-sensitive: "Case-A" and "case-a" are two systems.
	if got := get(t, s, "Case-A"); got.Name != "Upper" {
		t.Errorf(`GetSystem("Case-A").Name = %q, want "Upper"`, got.Name)
	}
	if got := get(t, s, "case-a"); got.Name != "Lower" {
		t.Errorf(`GetSystem("case-a").Name = %q, want "Lower"`, got.Name)
	}
	if got := get(t, s, "sys-1"); !sameSystem(got, system("sys-1", "One")) {
		t.Errorf("GetSystem(sys-1) = %+v, want %+v", got, system("sys-1", "One"))
	}
}

func testInsertAndReplace(t *testing.T, s ticketing.Store) {
	a, b := system("a", "Alpha"), system("b", "Beta")
	if seen := put(t, s, a, b); len(seen) != 0 {
		t.Errorf("fn on an empty store was shown %d systems, want 0", len(seen))
	}
	checkSystems(t, "after inserting a, b", list(t, s), []ticketing.TicketSystem{a, b})

	// fn sees every stored system, in ListSystems order.
	b2 := b
	b2.Name, b2.Active, b2.Version = "Beta 2", false, 2
	seen := put(t, s, b2)
	checkSystems(t, "what fn was shown", seen, []ticketing.TicketSystem{a, b})
	checkSystems(t, "after replacing b", list(t, s), []ticketing.TicketSystem{a, b2})
	if got := get(t, s, "b"); !sameSystem(got, b2) {
		t.Errorf("GetSystem(b) after replace = %+v, want %+v", got, b2)
	}
	if got := get(t, s, "a"); !sameSystem(got, a) {
		t.Errorf("GetSystem(a) changed by a write that did not name it: %+v, want %+v", got, a)
	}

	// One batch may insert and replace at once.
	a2, c := a, system("c", "Gamma")
	a2.Default, a2.Version = true, 2
	put(t, s, c, a2)
	checkSystems(t, "after inserting c and replacing a in one batch", list(t, s), []ticketing.TicketSystem{a2, b2, c})
}

func testFirstInsertOrder(t *testing.T, s ticketing.Store) {
	// IDs chosen so that neither lexical nor reverse order is insert order.
	order := []string{"m", "z", "a", "q", "b"}
	for _, id := range order[:3] {
		put(t, s, system(id, "S "+id))
	}
	put(t, s, system("q", "S q"), system("b", "S b"))
	if got := ids(list(t, s)); !equalStrings(got, order) {
		t.Fatalf("ListSystems order = %q, want first-insert order %q", got, order)
	}
	// Replacing systems (in a different order) does not move them.
	for _, id := range []string{"b", "m", "a"} {
		sys := system(id, "Renamed "+id)
		sys.Version = 7
		put(t, s, sys)
	}
	if got := ids(list(t, s)); !equalStrings(got, order) {
		t.Errorf("ListSystems order after replacements = %q, want first-insert order %q", got, order)
	}
	var seen []ticketing.TicketSystem
	err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		seen = cur
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
	if got := ids(seen); !equalStrings(got, order) {
		t.Errorf("fn was shown systems in order %q, want first-insert order %q", got, order)
	}
}

func testNothingChanged(t *testing.T, s ticketing.Store) {
	a := system("a", "Alpha")
	put(t, s, a)
	for _, changed := range [][]ticketing.TicketSystem{nil, {}} {
		err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
			return changed, nil
		})
		if err != nil {
			t.Errorf("UpdateSystems with no changes (%#v): %v", changed, err)
		}
	}
	checkSystems(t, "after writes of nothing", list(t, s), []ticketing.TicketSystem{a})
}

func testSystemFieldsRoundTrip(t *testing.T, s ticketing.Store) {
	full := ticketing.TicketSystem{
		ID:   "svc.now:prod_1-A",
		Name: "Service Desk — Zürich 票务 ✓",
		// 4096 characters, 2 bytes each in UTF-8: a store that limits bytes
		// rather than characters cuts it.
		Description:         strings.Repeat("é", 4096),
		Active:              true,
		Default:             true,
		Label:               "Numéro d'incident",
		Mode:                ticketing.TicketRequired,
		Pattern:             `(?i)^(?<prefix>INC|RITM)[\d]{7}(?!\d)$`,
		ErrorMessage:        "Format: INC0000000\nor RITM0000000\t(seven digits)",
		URLTemplate:         "https://sn.example.com/nav_to.do?uri=incident.do%3Fsysparm_query%3Dnumber%3D$TICKETID#$TICKETID",
		HideComment:         true,
		Connector:           "servicenow-prod",
		AllowedStatuses:     []string{"New", "In Progress", "2", "Ärger"},
		AddCommentsToTicket: true,
		StrictComments:      true,
		LookupTimeout:       1500 * time.Millisecond,
		LookupRetries:       -1,
		FailOpen:            true,
		Version:             1<<40 + 3, // does not fit in 32 bits
	}
	zero := ticketing.TicketSystem{ID: "z"} // every other field the zero value
	modes := make([]ticketing.TicketSystem, 0, 4)
	for i, m := range []ticketing.RequirementMode{ticketing.ReasonRequired, ticketing.TicketAndReasonRequired, ticketing.TicketOrReasonRequired, ticketing.TicketRequired} {
		sys := system(fmt.Sprintf("mode-%d", i), fmt.Sprintf("Mode %d", i))
		sys.Mode = m
		modes = append(modes, sys)
	}
	want := append([]ticketing.TicketSystem{full, zero}, modes...)
	put(t, s, want...)
	checkSystems(t, "ListSystems", list(t, s), want)
	for _, w := range want {
		if got := get(t, s, w.ID); !sameSystem(got, w) {
			t.Errorf("GetSystem(%q):\n got  %+v\n want %+v", w.ID, got, w)
		}
	}
	// And once more through a replace, so an UPDATE path is covered too.
	full2 := full
	full2.Active, full2.Default, full2.HideComment, full2.Version = false, false, false, full.Version+1
	full2.Pattern, full2.URLTemplate, full2.Label = "", "", ""
	full2.AllowedStatuses = []string{"Open"}
	full2.FailOpen, full2.LookupRetries = false, 5
	put(t, s, full2)
	if got := get(t, s, full.ID); !sameSystem(got, full2) {
		t.Errorf("GetSystem after replace:\n got  %+v\n want %+v", got, full2)
	}
}

func testSystemsAreCopies(t *testing.T, s ticketing.Store) {
	a, b := system("a", "Alpha"), system("b", "Beta")
	put(t, s, a, b)

	// Changing what ListSystems returned.
	got := list(t, s)
	got[0].Name, got[1].Active = "changed", false
	_ = append(got[:1], system("x", "appended"))
	checkSystems(t, "after changing a ListSystems result", list(t, s), []ticketing.TicketSystem{a, b})

	// Changing the slice fn was shown, and returning nothing.
	err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		for i := range cur {
			cur[i].Name = "changed in fn"
			cur[i].Version = 99
		}
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
	checkSystems(t, "after fn changed the slice it was shown", list(t, s), []ticketing.TicketSystem{a, b})

	// Changing the returned slice after UpdateSystems has returned.
	c := system("c", "Gamma")
	changed := []ticketing.TicketSystem{c}
	err = s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		return changed, nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
	changed[0].Name = "changed after the write"
	checkSystems(t, "after changing the slice fn returned", list(t, s), []ticketing.TicketSystem{a, b, c})

	// AllowedStatuses is a slice: its elements must be copied too, both
	// ways.
	d := system("d", "Delta")
	d.AllowedStatuses = []string{"Open", "In Progress"}
	mine := d.AllowedStatuses
	put(t, s, d)
	mine[0] = "changed by the writer"
	got = list(t, s)
	got[3].AllowedStatuses[1] = "changed by a reader"
	g := get(t, s, "d")
	g.AllowedStatuses[0] = "changed by another reader"
	err = s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
		cur[3].AllowedStatuses[0] = "changed in fn"
		return nil, nil
	})
	if err != nil {
		t.Fatalf("UpdateSystems: %v", err)
	}
	want := system("d", "Delta")
	want.AllowedStatuses = []string{"Open", "In Progress"}
	if got := get(t, s, "d"); !sameSystem(got, want) {
		t.Errorf("AllowedStatuses shared with a caller: got %q, want %q", got.AllowedStatuses, want.AllowedStatuses)
	}
}

// fnError is a custom error type, to check that errors.As still finds it.
type fnError struct{ code int }

func (e *fnError) Error() string { return fmt.Sprintf("storetest: fn failed with code %d", e.code) }

func testFnError(t *testing.T, s ticketing.Store) {
	a := system("a", "Alpha")
	put(t, s, a)
	sentinel := errors.New("storetest: fn refused")
	a2 := a
	a2.Name, a2.Version = "Alpha 2", 2
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"sentinel", sentinel},
		{"wrapped registry sentinel", fmt.Errorf("checking: %w", ticketing.ErrDuplicateName)},
		{"custom type", &fnError{code: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				// Return systems with the error: they must not be written.
				return []ticketing.TicketSystem{a2, system("new", "New")}, tc.err
			})
			if !errors.Is(err, tc.err) {
				t.Errorf("UpdateSystems returned %v, want fn's error %v", err, tc.err)
			}
			if errors.Is(tc.err, ticketing.ErrDuplicateName) && !errors.Is(err, ticketing.ErrDuplicateName) {
				t.Errorf("UpdateSystems returned %v, which no longer wraps ticketing.ErrDuplicateName", err)
			}
			var fe *fnError
			if _, custom := tc.err.(*fnError); custom && (!errors.As(err, &fe) || fe.code != 7) {
				t.Errorf("errors.As(%v, *fnError) failed: fn's error must come back unchanged", err)
			}
			checkSystems(t, "after fn failed", list(t, s), []ticketing.TicketSystem{a})
			if _, err := s.GetSystem(context.Background(), "new"); !errors.Is(err, ticketing.ErrNotFound) {
				t.Errorf("GetSystem(new) after fn failed: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func testEmptyID(t *testing.T, s ticketing.Store) {
	a := system("a", "Alpha")
	put(t, s, a)
	a2 := a
	a2.Name, a2.Version = "Alpha 2", 2
	for _, tc := range []struct {
		name    string
		changed []ticketing.TicketSystem
	}{
		{"alone", []ticketing.TicketSystem{system("", "No ID")}},
		{"last", []ticketing.TicketSystem{a2, system("b", "Beta"), system("", "No ID")}},
		{"first", []ticketing.TicketSystem{system("", "No ID"), a2, system("b", "Beta")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				return tc.changed, nil
			})
			if !errors.Is(err, ticketing.ErrInvalidSystem) {
				t.Errorf("UpdateSystems with an empty ID: err = %v, want an error wrapping ErrInvalidSystem", err)
			}
			checkSystems(t, "after a batch holding an empty ID", list(t, s), []ticketing.TicketSystem{a})
		})
	}
}

func testConcurrentIncrements(t *testing.T, s ticketing.Store) {
	const goroutines, increments = 50, 20
	counter := system("counter", "Counter")
	counter.Version = 0
	put(t, s, counter, system("other", "Other"))

	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			for i := range increments {
				err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
					for _, sys := range cur {
						if sys.ID == "counter" {
							sys.Version++
							sys.Description = fmt.Sprintf("last written by goroutine %d, increment %d", g, i)
							return []ticketing.TicketSystem{sys}, nil
						}
					}
					return nil, errors.New("storetest: counter system missing")
				})
				if err != nil {
					t.Errorf("goroutine %d increment %d: %v", g, i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if got, want := get(t, s, "counter").Version, int64(goroutines*increments); got != want {
		t.Errorf("counter after %d concurrent read-modify-writes = %d, want %d: updates were lost", want, got, want)
	}
	if got := ids(list(t, s)); !equalStrings(got, []string{"counter", "other"}) {
		t.Errorf("ListSystems after concurrent updates = %q, want [counter other]", got)
	}
}

func testConcurrentInserts(t *testing.T, s ticketing.Store) {
	const goroutines = 50
	errExists := errors.New("storetest: already there")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []int
	)
	start := make(chan struct{})
	for g := range goroutines {
		wg.Go(func() {
			<-start
			// Each goroutine inserts its own system...
			if err := s.UpdateSystems(context.Background(), func([]ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				return []ticketing.TicketSystem{system(fmt.Sprintf("own-%02d", g), fmt.Sprintf("Own %d", g))}, nil
			}); err != nil {
				t.Errorf("goroutine %d inserting its own system: %v", g, err)
			}
			// ...and all race to insert the same one, if it is absent.
			err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
				for _, sys := range cur {
					if sys.ID == "shared" {
						return nil, errExists
					}
				}
				return []ticketing.TicketSystem{system("shared", fmt.Sprintf("Winner %d", g))}, nil
			})
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, g)
				mu.Unlock()
			case !errors.Is(err, errExists):
				t.Errorf("goroutine %d insert-if-absent: %v", g, err)
			}
		})
	}
	close(start)
	wg.Wait()

	if len(winners) != 1 {
		t.Fatalf("insert-if-absent succeeded for %d goroutines %v, want exactly 1", len(winners), winners)
	}
	if got, want := get(t, s, "shared").Name, fmt.Sprintf("Winner %d", winners[0]); got != want {
		t.Errorf("shared system Name = %q, want %q (the one winner's)", got, want)
	}
	all := list(t, s)
	if len(all) != goroutines+1 {
		t.Errorf("ListSystems returned %d systems, want %d", len(all), goroutines+1)
	}
	count := make(map[string]int)
	for _, sys := range all {
		count[sys.ID]++
	}
	for g := range goroutines {
		if id := fmt.Sprintf("own-%02d", g); count[id] != 1 {
			t.Errorf("system %s listed %d times, want once", id, count[id])
		}
	}
	if count["shared"] != 1 {
		t.Errorf("system shared listed %d times, want once", count["shared"])
	}
}

// testReadersAndWriters moves units from system a to system b, one unit per
// atomic batch, while readers check that a+b never changes (no half batch
// is visible), that b never goes back (no stale read after a newer one) and
// that the order stays [a b].
func testReadersAndWriters(t *testing.T, s ticketing.Store) {
	const (
		total              = 1000
		writers, moves     = 10, 30
		readers            = 4
		minReadsPerReaders = 20
	)
	a, b := system("a", "A"), system("b", "B")
	a.Version, b.Version = total, 0
	put(t, s, a, b)

	var (
		writersWG, readersWG sync.WaitGroup
		done                 = make(chan struct{})
	)
	start := make(chan struct{})
	for w := range writers {
		writersWG.Go(func() {
			<-start
			for m := range moves {
				err := s.UpdateSystems(context.Background(), func(cur []ticketing.TicketSystem) ([]ticketing.TicketSystem, error) {
					if len(cur) != 2 {
						return nil, fmt.Errorf("storetest: fn shown %d systems, want 2", len(cur))
					}
					x, y := cur[0], cur[1]
					x.Version--
					y.Version++
					return []ticketing.TicketSystem{x, y}, nil
				})
				if err != nil {
					t.Errorf("writer %d move %d: %v", w, m, err)
					return
				}
			}
		})
	}
	for r := range readers {
		readersWG.Go(func() {
			<-start
			lastB := int64(-1)
			for n := 0; ; n++ {
				select {
				case <-done:
					if n >= minReadsPerReaders {
						return
					}
				default:
				}
				all, err := s.ListSystems(context.Background())
				if err != nil {
					t.Errorf("reader %d: ListSystems: %v", r, err)
					return
				}
				if got := ids(all); !equalStrings(got, []string{"a", "b"}) {
					t.Errorf("reader %d: ListSystems = %q, want [a b]", r, got)
					return
				}
				if sum := all[0].Version + all[1].Version; sum != total {
					t.Errorf("reader %d saw a=%d b=%d (sum %d, want %d): a batch was visible half-written", r, all[0].Version, all[1].Version, sum, total)
					return
				}
				if all[1].Version < lastB {
					t.Errorf("reader %d saw b go back from %d to %d", r, lastB, all[1].Version)
					return
				}
				lastB = all[1].Version
				if _, err := s.GetSystem(context.Background(), "b"); err != nil {
					t.Errorf("reader %d: GetSystem(b): %v", r, err)
					return
				}
				runtime.Gosched() // let the writers in: readers must not starve them
			}
		})
	}
	close(start)
	writersWG.Wait()
	close(done)
	readersWG.Wait()

	gotA, gotB := get(t, s, "a").Version, get(t, s, "b").Version
	if wantB := int64(writers * moves); gotA != total-wantB || gotB != wantB {
		t.Errorf("after %d moves a=%d b=%d, want a=%d b=%d", wantB, gotA, gotB, total-wantB, wantB)
	}
}
