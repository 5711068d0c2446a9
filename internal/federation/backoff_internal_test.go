package federation

import (
	"testing"
	"time"
)

// A step deferred by a peer (its invitation still on its way) is retried
// for days with the default configuration, not the two hours an ordinary
// backoff would give: the node holding the invitation may be down for the
// night. Every delay stays within its jitter band.
func TestDeferredRetryWindow(t *testing.T) {
	f := &Federation{cfg: Config{}.withDefaults()}
	var least, most time.Duration
	for n := 1; n < f.cfg.DeferredAttempts; n++ {
		d := f.cfg.BackoffMin << (n - 1)
		if d <= 0 || d > f.cfg.DeferredBackoffMax {
			d = f.cfg.DeferredBackoffMax
		}
		for range 20 {
			if got := f.backoffUpTo(n, f.cfg.DeferredBackoffMax); got < d/2 || got > d {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", n, got, d/2, d)
			}
		}
		least += d / 2
		most += d
	}
	if least < 48*time.Hour || most > 5*24*time.Hour {
		t.Errorf("%d deferred attempts span %v to %v, want from at least two days to at most five", f.cfg.DeferredAttempts, least, most)
	}
	// An ordinary failure keeps the ordinary cap.
	if got := f.backoff(30); got > f.cfg.BackoffMax {
		t.Errorf("backoff(30) = %v, above BackoffMax %v", got, f.cfg.BackoffMax)
	}
	// A deferred cap below BackoffMax is raised to it.
	if c := (Config{BackoffMax: time.Hour, DeferredBackoffMax: time.Minute}).withDefaults(); c.DeferredBackoffMax != time.Hour {
		t.Errorf("DeferredBackoffMax %v, want raised to BackoffMax (1h)", c.DeferredBackoffMax)
	}
}
