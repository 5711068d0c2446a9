package cli

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line progress bar on a terminal; elsewhere it is silent
// so that logs and pipes stay clean.
type progress struct {
	objects atomic.Int64
	quit    chan struct{}
	wg      sync.WaitGroup
}

func newProgress(env Env, name string, size int64, bytesRead *atomic.Int64) *progress {
	p := &progress{quit: make(chan struct{})}
	if env.IsTerminal == nil || !env.IsTerminal(env.Stderr) {
		return p
	}
	start := time.Now()
	draw := func(final bool) {
		n := p.objects.Load()
		rate := float64(n) / max(time.Since(start).Seconds(), 0.001)
		line := fmt.Sprintf("%s: %d objects (%.0f/s)", name, n, rate)
		if size > 0 {
			frac := min(float64(bytesRead.Load())/float64(size), 1)
			const width = 30
			fill := int(frac * width)
			line = fmt.Sprintf("%s [%s%s] %3.0f%%", line, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100)
		}
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(env.Stderr, "\r\033[K%s%s", line, end)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw(false)
			case <-p.quit:
				draw(true)
				return
			}
		}
	}()
	return p
}

func (p *progress) stop() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	p.wg.Wait()
}
