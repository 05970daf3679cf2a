package ticketing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketing"
)

// The audit benchmarks of issue 4, over a MemoryStore holding 1,000,000
// records of a realistic trail. The target: a query by ticket number at
// least 1,000x faster than a full scan of the same trail, in one run.
//
//	go test -run '^$' -bench 'Audit' -count 3 .
//
// The trail is built once per test binary (a few seconds) and shared by the
// benchmarks; under -short they are skipped.

const benchTrailSize = 1_000_000

// benchTrail is the shared 1,000,000-record store.
type benchTrail struct {
	store          *ticketing.MemoryStore
	ticket         string // an existing ticket number
	ticketRecords  int    // how many records it has
	first, last    time.Time
	bytesPerRecord float64 // live heap per record, indexes included
	fillRate       float64 // records appended per second while filling
}

// auditRecordGen makes realistic records: about 200,000 distinct ticket
// numbers over 1,000,000 records, 500 secrets, 300 users, 3 ticket
// systems, a tenth denied, times a day's worth apart in order but for a
// little jitter (concurrent requests stamp their time before they append).
type auditRecordGen struct {
	rng                           *rand.Rand
	base                          time.Time
	step                          time.Duration
	i                             int
	secretIDs, secretNames, users []string
}

func newAuditRecordGen(seed uint64, total int) *auditRecordGen {
	g := &auditRecordGen{
		rng:  rand.New(rand.NewPCG(seed, 7)),
		base: time.Date(2025, time.November, 3, 0, 0, 0, 0, time.UTC),
		step: 24 * time.Hour / time.Duration(total),
	}
	for i := range 500 {
		g.secretIDs = append(g.secretIDs, fmt.Sprintf("secret/%d", i))
		g.secretNames = append(g.secretNames, fmt.Sprintf("Secret %d", i))
	}
	for i := range 300 {
		g.users = append(g.users, fmt.Sprintf("user%03d@example.com", i))
	}
	return g
}

// auditTicketNumber formats n as INC and seven digits, faster than fmt.
func auditTicketNumber(n int) string {
	b := []byte("INC0000000")
	for i := len(b) - 1; n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

var (
	benchSystems = [...]struct{ id, name, url string }{
		{"sn", "ServiceNow", "https://example.service-now.com/nav_to.do?uri=incident.do?sysparm_query=number="},
		{"jira", "Jira", "https://example.atlassian.net/browse/"},
		{"remedy", "BMC Helix", "https://helix.example.com/arsys/forms/HPD:Help Desk/?id="},
	}
	benchReasons = [...]string{"Patch night", "Restart after outage", "Certificate renewal", "Quarterly audit",
		"Database migration", "Password rotation", "Incident follow-up", "Vendor escalation"}
	benchDenials = [...]struct{ code, msg string }{
		{"ticket_format", "Ticket Number must look like INC0000000"},
		{"ticket_closed", "The ticket is closed"},
		{"reason_required", "A reason is required"},
	}
)

func (g *auditRecordGen) next() ticketing.AuditRecord {
	r := g.rng
	sys := benchSystems[r.IntN(len(benchSystems))]
	secret := r.IntN(len(g.secretIDs))
	ticket := auditTicketNumber(r.IntN(200_000))
	jitter := time.Duration(r.IntN(int(2*g.step))) - g.step
	rec := ticketing.AuditRecord{
		Time:             g.base.Add(time.Duration(g.i)*g.step + jitter),
		Action:           ticketing.ActionView,
		SecretID:         g.secretIDs[secret],
		SecretName:       g.secretNames[secret],
		User:             g.users[r.IntN(len(g.users))],
		TicketSystemID:   sys.id,
		TicketSystemName: sys.name,
		TicketNumber:     ticket,
		Reason:           benchReasons[r.IntN(len(benchReasons))] + " for " + ticket,
		URL:              sys.url + ticket,
		Outcome:          ticketing.OutcomeGranted,
		LiveCheck:        ticketing.LiveCheckVerified,
		FromCache:        r.IntN(3) == 0,
		TicketStatus:     "In Progress",
	}
	if r.IntN(4) == 0 {
		rec.Action = ticketing.ActionRequestAccess
	}
	if r.IntN(10) == 0 {
		d := benchDenials[r.IntN(len(benchDenials))]
		rec.Outcome, rec.DenialCode, rec.DenialMessage = ticketing.OutcomeDenied, d.code, d.msg
		rec.URL, rec.LiveCheck, rec.TicketStatus = "", "", ""
	}
	g.i++
	return rec
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

var loadBenchTrail = sync.OnceValues(func() (*benchTrail, error) {
	ctx := context.Background()
	gen := newAuditRecordGen(42, benchTrailSize)
	before := heapInUse()
	s := ticketing.NewMemoryStore()
	start := time.Now()
	var mid, first, last ticketing.AuditRecord
	for i := range benchTrailSize {
		rec, err := s.AppendAudit(ctx, gen.next())
		if err != nil {
			return nil, err
		}
		switch i {
		case 0:
			first = rec
		case benchTrailSize / 2:
			mid = rec
		case benchTrailSize - 1:
			last = rec
		}
	}
	elapsed := time.Since(start)
	after := heapInUse()
	n, err := s.CountAudit(ctx, ticketing.AuditQuery{TicketNumber: mid.TicketNumber})
	if err != nil {
		return nil, err
	}
	runtime.KeepAlive(s)
	return &benchTrail{
		store:          s,
		ticket:         mid.TicketNumber,
		ticketRecords:  int(n),
		first:          first.Time,
		last:           last.Time,
		bytesPerRecord: float64(after-before) / benchTrailSize,
		fillRate:       benchTrailSize / elapsed.Seconds(),
	}, nil
})

func benchTrailOrSkip(b *testing.B) *benchTrail {
	b.Helper()
	if testing.Short() {
		b.Skip("fills a store with 1,000,000 audit records")
	}
	tr, err := loadBenchTrail()
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// BenchmarkAuditQuery compares a query by ticket number with reading the
// whole trail and filtering, the honest baseline of a store without
// indexes, over the same 1,000,000 records. scanInStore is a cheaper scan
// still: the store's own walk over every record with a filter it cannot
// index, copying nothing. The wide* cases show what a page costs when a
// prefix or a time range selects half the trail.
func BenchmarkAuditQuery(b *testing.B) {
	tr := benchTrailOrSkip(b)
	ctx := context.Background()
	s := tr.store

	byTicket := func() int {
		page, err := s.QueryAudit(ctx, ticketing.AuditQuery{TicketNumber: tr.ticket})
		if err != nil {
			b.Fatal(err)
		}
		return len(page.Records)
	}
	fullScan := func() int {
		n := 0
		for rec, err := range ticketing.AuditRecords(ctx, s, ticketing.AuditQuery{Limit: ticketing.MaxAuditPageSize}) {
			if err != nil {
				b.Fatal(err)
			}
			if rec.TicketNumber == tr.ticket {
				n++
			}
		}
		return n
	}
	if got, scanned := byTicket(), fullScan(); got != tr.ticketRecords || scanned != got {
		b.Fatalf("ticket %s: query found %d records, scan %d, count %d", tr.ticket, got, scanned, tr.ticketRecords)
	}

	b.Run("byTicket", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			byTicket()
		}
		b.ReportMetric(float64(tr.ticketRecords), "records/query")
	})
	b.Run("fullScan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fullScan()
		}
		b.ReportMetric(benchTrailSize, "records/query")
	})
	b.Run("scanInStore", func(b *testing.B) {
		b.ReportAllocs()
		q := ticketing.AuditQuery{DenialCode: "no_such_code"} // matches nothing, indexes nothing
		for b.Loop() {
			if _, err := s.CountAudit(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("widePrefixFirstPage", func(b *testing.B) {
		b.ReportAllocs()
		q := ticketing.AuditQuery{TicketPrefix: "INC0"} // INC0000000..INC0099999: half the tickets
		for b.Loop() {
			if _, err := s.QueryAudit(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wideTimeRangeFirstPage", func(b *testing.B) {
		b.ReportAllocs()
		q := ticketing.AuditQuery{Since: tr.first.Add(tr.last.Sub(tr.first) / 2)} // the second half of the day
		for b.Loop() {
			if _, err := s.QueryAudit(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuditMemory reports the live heap per record of the
// 1,000,000-record store (records, indexes and interned text, measured
// with runtime.MemStats after a collection before and after the fill) and
// the rate at which it was filled. It measures nothing per iteration.
func BenchmarkAuditMemory(b *testing.B) {
	tr := benchTrailOrSkip(b)
	for b.Loop() {
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(tr.bytesPerRecord, "bytes/record")
	b.ReportMetric(tr.fillRate, "fill-records/s")
}

// BenchmarkAuditAppend measures AppendAudit into a fresh MemoryStore that
// grows to b.N records: locking, chaining (SHA-256), interning and the
// indexes. The records are made before the timer starts.
func BenchmarkAuditAppend(b *testing.B) {
	ctx := context.Background()
	const pool = 1 << 14
	gen := newAuditRecordGen(7, benchTrailSize)
	recs := make([]ticketing.AuditRecord, pool)
	for i := range recs {
		recs[i] = gen.next()
	}
	s := ticketing.NewMemoryStore()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		rec := recs[n%pool]
		rec.Time = rec.Time.Add(time.Duration(n/pool) * 24 * time.Hour) // times keep moving on
		if _, err := s.AppendAudit(ctx, rec); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
