package exercise

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/entraide/entraide/internal/clock"
)

// Clock is a scenario's clock, for nodes that play an exercise in one
// process (the demo, the tests): the nodes run on it, so that every time
// they measure and every deadline their workflows compute — an alert's
// ack_by, a ping's answer_by, a preservation's expiry, an incident's NIS2
// clock — is on the scenario's clock, as the injects' offsets are. At
// speed 60 a 10-minute ack_by falls due after 10 scenario minutes: 10
// seconds of the base clock.
//
// It follows a base clock (the system's) at a rate: 1 (the base's own
// pace) until an exercise plays, the scenario's speed while it plays
// (Runner sets it), 1 again after, without ever going back. A nodes'
// clock that runs ahead of the world is only for nodes that exist for the
// exercise: a real node keeps the real clock (Runner.ScenarioTime).
type Clock struct {
	base clock.Clock
	mu   sync.Mutex
	// At base time baseAt, this clock read at; it has run rate times as
	// fast as the base since.
	baseAt, at time.Time
	rate       float64
}

// NewClock returns a scenario clock that reads what base reads, until its
// rate changes.
func NewClock(base clock.Clock) *Clock {
	if base == nil {
		base = clock.System{}
	}
	now := base.Now()
	return &Clock{base: base, baseAt: now, at: now, rate: 1}
}

// Now tells the scenario's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked(c.base.Now())
}

func (c *Clock) nowLocked(base time.Time) time.Time {
	d := base.Sub(c.baseAt)
	if c.rate != 1 {
		d = time.Duration(float64(d) * c.rate)
	}
	return c.at.Add(d)
}

// Rate is how many seconds of this clock pass per second of the base.
func (c *Clock) Rate() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// SetRate makes the clock run rate times as fast as the base from now on
// (1 to MaxSpeed); the time it tells goes on from where it is.
func (c *Clock) SetRate(rate float64) error {
	if !(rate >= 1 && rate <= MaxSpeed) {
		return errors.New("exercise: a scenario clock runs 1 to 86400 times as fast as real time")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.base.Now()
	c.at, c.baseAt, c.rate = c.nowLocked(b), b, rate
	return nil
}

// SleepUntil returns when the clock reaches t (or ctx ends): it waits on
// the base clock for what is left divided by the rate. A base that is a
// clock.Fake is moved forward instead, as far as real time would have
// passed: a test, or a headless demo, plays the exercise without waiting
// and every deadline still falls in scenario time.
func (c *Clock) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.mu.Lock()
		now, rate := c.nowLocked(c.base.Now()), c.rate
		c.mu.Unlock()
		left := t.Sub(now)
		if left <= 0 {
			return nil
		}
		wait := time.Duration(float64(left) / rate)
		if wait <= 0 {
			wait = 1
		}
		if f, ok := c.base.(*clock.Fake); ok {
			// Land on t exactly (the division rounds down by less than
			// a nanosecond of the base), never going back.
			c.mu.Lock()
			f.Advance(wait)
			b := f.Now()
			c.at, c.baseAt = c.nowLocked(b), b
			if c.at.Before(t) {
				c.at = t
			}
			c.mu.Unlock()
			return nil
		}
		// Look again at least every second: the rate may change.
		timer := time.NewTimer(min(wait, time.Second))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}
