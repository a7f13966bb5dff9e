package controller

import (
	"context"
	"fmt"

	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/consistency"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// Preview is what one pass of a stack would do: the pass the operator runs,
// carried out through a client whose every write is a dry run.
type Preview struct {
	// Desired is what the stack renders to; nil with Invalid.
	Desired *render.Desired
	// Invalid is why the stack does not render (InvalidSpec): nothing is applied.
	Invalid error
	// Plan is the pass's plan; nil when the stack is paused or invalid.
	Plan *plan.Plan
	// Writes are the pass's writes as the dry runs returned them.
	Writes []consistency.Written
	// Replaced are the objects the pass deletes to create them again, with the
	// apiserver's refusal of the change in place.
	Replaced map[plan.Key]error
}

// NewPreviewer returns a reconciler that runs passes for Preview: c reads the
// cluster and makes every write a dry run (client.NewDryRunClient); api reads
// past any cache (it may be c).
func NewPreviewer(c client.Client, api client.Reader) *AppStackReconciler {
	r := &AppStackReconciler{Client: c, APIReader: api, Recorder: &events.FakeRecorder{}, preview: true}
	r.init()
	return r
}

// Preview runs one pass of stack — render, observe, plan, act — as Reconcile
// does, without the finalizer, the status, or the replacement of pods stuck on a
// failed revision. Every dependency counts as Ready: it shows the pass that
// applies everything. It is `kubectl appstack diff`'s engine.
func (r *AppStackReconciler) Preview(ctx context.Context, stack *appstackv1.AppStack) (*Preview, error) {
	if !r.preview {
		return nil, fmt.Errorf("preview needs a reconciler made by NewPreviewer: its client must make every write a dry run")
	}
	ctx, s, writes := r.begin(ctx, stack)
	s.done.replaced = map[plan.Key]error{}
	_, err := r.pass(ctx, s)
	out := &Preview{Desired: s.desired, Plan: s.plan, Writes: writes.All(), Replaced: s.done.replaced}
	if s.done.blocked != nil && s.done.blocked.reason == appstackv1.ReasonInvalidSpec {
		out.Invalid = fmt.Errorf("%s", s.done.blocked.message)
	}
	return out, err
}
