// Package cooperation assembles the cooperation workflows a node runs (one
// package per workflow: alert, …) and opens them on a node: the federation
// with the workflow engine installed as its hook, cases left unfolded by a
// stop folded again. The CLI, the JSON API and the test harnesses all open
// the workflows here, so that every path runs the same kinds.
package cooperation

import (
	"context"

	"github.com/entraide/entraide/internal/alert"
	"github.com/entraide/entraide/internal/assistance"
	"github.com/entraide/entraide/internal/contact"
	"github.com/entraide/entraide/internal/federation"
	"github.com/entraide/entraide/internal/incident"
	"github.com/entraide/entraide/internal/node"
	"github.com/entraide/entraide/internal/notice"
	"github.com/entraide/entraide/internal/preservation"
	"github.com/entraide/entraide/internal/workflow"
)

// Kinds are the workflows every node runs, in the order help texts list them.
func Kinds() []*workflow.Kind {
	return []*workflow.Kind{
		alert.Kind,
		preservation.Kind,
		contact.Kind,
		incident.Kind,
		assistance.Kind,
		notice.Kind,
	}
}

// Extensions are the extension-definitions of every workflow object type
// (the step's first), which a node publishes with its objects.
func Extensions() []workflow.Extension {
	out := []workflow.Extension{workflow.StepExtension}
	for _, k := range Kinds() {
		out = append(out, k.Extension)
	}
	return out
}

// Open makes the federation of an opened node with its workflow engine,
// and folds the cases a previous stop left unfolded.
func Open(ctx context.Context, n *node.Node, cfg federation.Config) (*federation.Federation, *workflow.Engine, error) {
	fed, err := federation.New(ctx, n, cfg)
	if err != nil {
		return nil, nil, err
	}
	wf, err := workflow.New(n, fed, Kinds()...)
	if err != nil {
		return nil, nil, err
	}
	if err := wf.Reconcile(ctx); err != nil {
		return nil, nil, err
	}
	return fed, wf, nil
}
