package audit_test

import (
	"fmt"
	"testing"

	"github.com/entraide/entraide/internal/audit"
)

// BenchmarkAppend measures appends as the TAXII layer makes them: one entry
// per send or receipt, or a batch per bundle. The log already holds 100,000
// entries, so that the O(log n) reads of the tree's edge are paid.
func BenchmarkAppend(b *testing.B) {
	for _, e := range engines {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", e.name, batch), func(b *testing.B) {
				n := newNode(b, e, "cert-fr")
				n.fill(100000, 5000)
				es := entries(batch, "bench")
				b.ResetTimer()
				for b.Loop() {
					if _, err := n.log.Append(n.ctx, es); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkVerify measures Verify of a log of 10,000 entries.
func BenchmarkVerify(b *testing.B) {
	n := newNode(b, engines[0], "cert-fr")
	n.fill(10000, 1000)
	n.checkpoint()
	b.ResetTimer()
	for b.Loop() {
		rep, err := n.log.Verify(n.ctx)
		if err != nil {
			b.Fatal(err, rep.String())
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "entries/s")
	_ = audit.LeafVersion
}
