package demo

import (
	"context"
	"time"
)

// watchEvery is how often the demo looks at every node's peers.
const watchEvery = time.Second

// watch logs each delivery problem as it appears — a peer a node cannot
// push to, a push the peer refused — and when it clears, from what every
// node's federation status says (the same as `entraide status`).
func (f *Federation) watch(ctx context.Context) {
	type key struct{ node, peer string }
	last := map[key]string{}
	failed := map[key]int{}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, n := range f.Nodes {
			st, err := n.Fed.Status(ctx)
			if err != nil {
				if ctx.Err() == nil {
					f.log.Warn("reading the federation status", "node", n.Name, "err", err)
				}
				continue
			}
			for _, p := range st {
				k := key{n.Name, p.Name}
				problem := ""
				if !p.Reachable && p.LastError != "" {
					problem = p.LastError
				}
				switch prev := last[k]; {
				case problem != "" && problem != prev:
					f.log.Warn("delivery problem", "node", n.Name, "peer", p.Name, "queued", p.Queue.Pending, "err", problem)
				case problem == "" && prev != "":
					f.log.Info("delivery resumed", "node", n.Name, "peer", p.Name)
				}
				last[k] = problem
				if p.Queue.Failed > failed[k] {
					f.log.Warn("deliveries refused for good", "node", n.Name, "peer", p.Name, "refused", p.Queue.Failed-failed[k],
						"see", "entraide report sharing (the peer's reason)")
				}
				failed[k] = p.Queue.Failed
			}
		}
	}
}
