package federation

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/entraide/entraide/internal/stix"
	"github.com/entraide/entraide/internal/store"
)

// WorkflowHook lets the cooperation workflows (package workflow) see the
// workflow objects that cross this node, on both paths: Share (this node's
// own state changes) and the receive path (its partners'). Implementations
// must be safe for concurrent use.
type WorkflowHook interface {
	// Index returns the index row of a workflow object signed by signer
	// (ok false for any other object). An error means the object claims to
	// be a workflow object but is malformed: it is refused (and audited on
	// receipt).
	Index(o *stix.Object, signer string) (item store.WorkflowItem, ok bool, err error)
	// Admit decides, on receipt, whether signer may make this state change
	// (it is a party to the case, the action is one it may take): a non-nil
	// error refuses the object and is audited with its message. It is
	// called only for objects Index accepted, after the signature and the
	// sharing policy were checked. An error wrapping ErrRetryLater refuses
	// it for now (audited all the same): the sender's outbox tries again
	// with its backoff, at most Config.DeferredAttempts times, because
	// what would admit it (the step that makes the signer a party) may
	// still be on its way from another node.
	Admit(ctx context.Context, signer string, o *stix.Object, item store.WorkflowItem) error
	// FoldCase computes a case's state from its items (see
	// store.CaseFolder). It is called inside the transaction that stores
	// a batch with workflow items, once per case the batch touches, so
	// that a case's state is written with its items: there is no moment,
	// and no crash, after which an item is stored and its case not folded
	// (Reconcile still folds what an error left unapplied).
	FoldCase(caseID string, items []store.WorkflowItem) (c store.WorkflowCase, ok bool, err error)
	// Changed is called after a batch that indexed workflow items was
	// stored (and their cases folded), with their case ids.
	Changed(ctx context.Context, cases []string)
}

// ErrRetryLater marks a refusal on receipt that may not hold: the object
// cannot be admitted with what this node holds now, but could be once
// another object arrives (a step from a party added by a step still on its
// way). The receive path answers it with a failure whose message starts
// with retryLaterPrefix, which the sender's delivery worker retries instead
// of failing the row for good.
var ErrRetryLater = errors.New("not admitted yet")

// retryLaterPrefix starts the message of a failure the receiver asks the
// sender to retry (ErrRetryLater). A sender of an earlier version reads it
// as any refusal: a final failure, as before.
const retryLaterPrefix = "retry later: "

// deferredPrefix starts the LastError of an outbox row whose object the peer
// asked to retry later: such a row waits out its own backoff even when the
// peer is known to be up (see deliverOnce).
const deferredPrefix = "not accepted yet by "

// retryLater reports whether a failure message from a peer asks for a retry.
func retryLater(msg string) bool { return strings.HasPrefix(msg, retryLaterPrefix) }

// SetWorkflow installs the workflow hook. Call it before Serve and before
// any Share; without one, workflow objects are stored like any other object
// but no workflow sees them.
func (f *Federation) SetWorkflow(h WorkflowHook) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workflow = h
}

func (f *Federation) workflowHook() WorkflowHook {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.workflow
}

// workflowFold is the hook's FoldCase for AddOptions.Fold (nil without a
// hook).
func workflowFold(h WorkflowHook) store.CaseFolder {
	if h == nil {
		return nil
	}
	return h.FoldCase
}

// workflowChanged tells the hook which cases a stored batch touched.
func (f *Federation) workflowChanged(ctx context.Context, h WorkflowHook, idx []store.WorkflowIndex) {
	if h == nil || len(idx) == 0 {
		return
	}
	seen := map[string]bool{}
	var cases []string
	for _, w := range idx {
		if !seen[w.Item.Case] {
			seen[w.Item.Case] = true
			cases = append(cases, w.Item.Case)
		}
	}
	// The objects are stored and their cases folded: tell the hook even
	// if the caller (a peer that hung up) went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	h.Changed(ctx, cases)
}
