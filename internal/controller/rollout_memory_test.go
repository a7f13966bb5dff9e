package controller

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// rolloutScope is a pass over a stack at revision 2 (image nginx:broken) whose
// revision 1 (nginx:1.27) was Ready, with web recorded as crash-looping.
func rolloutScope(t *testing.T, stack *appstackv1.AppStack, revisions []plan.Revision) *scope {
	t.Helper()
	desired, err := render.Render(stack)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := render.Revision(stack, 2)
	if err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{}
	for _, c := range desired.Components {
		p.Workloads = append(p.Workloads, c.Workload)
	}
	return &scope{stack: stack.DeepCopy(), desired: desired, plan: p, rev: rev, revisions: revisions}
}

func runsImage(t *testing.T, s *scope) string {
	t.Helper()
	for _, obj := range s.plan.Workloads {
		if d, ok := obj.(*appsv1.Deployment); ok {
			return d.Spec.Template.Spec.Containers[0].Image
		}
	}
	t.Fatal("no Deployment in the plan")
	return ""
}

// The pass that starts a rollback writes the workloads, so it usually finds the
// cache behind and leaves the status unwritten. The next pass reads a status
// without the rollback; it must still run the revision rolled back to, not apply
// the failed spec again (which made the e2e StatefulSet rollback flip back to the
// failed template under load).
func TestRollbackStaysWhileItsStatusIsUnwritten(t *testing.T) {
	v1 := newStack("rb-mem", webComponent("web", 2))
	stack := newStack("rb-mem", webComponent("web", 2))
	stack.UID = types.UID("rb-mem-uid")
	stack.Spec.Components[0].Containers[0].Image = "nginx:broken"
	stack.Spec.Rollout = &appstackv1.RolloutSpec{AutoRollback: true, FailAfter: &metav1.Duration{Duration: time.Second}}
	stack.Status.Revision, stack.Status.ReadyRevision = 2, 1
	stack.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Kind: appstackv1.KindDeployment,
		Phase: appstackv1.PhaseFailed, Reason: "CrashLoopBackOff", Message: "container app keeps crashing"}}
	h1, _ := render.SpecHash(v1)
	h2, _ := render.SpecHash(stack)
	revisions := []plan.Revision{{Number: 1, Hash: h1, Spec: v1.Spec}, {Number: 2, Hash: h2, Spec: stack.Spec}}

	r := &AppStackReconciler{}
	r.memory(stack.UID).failing = failing{hash: h2, since: time.Now().Add(-2 * time.Second)}

	first := rolloutScope(t, stack, revisions)
	r.decideRollout(context.Background(), first)
	if first.rollout.Run == nil || !first.rollout.Started {
		t.Fatalf("the first pass past failAfter did not start a rollback: %+v", first.rollout)
	}
	if got := runsImage(t, first); got != "nginx:1.27" {
		t.Fatalf("the rollback pass runs %s, want nginx:1.27", got)
	}
	// The end of that pass: the status it computes records the rollback, but the
	// cache lags and it is not written.
	r.rolloutStatus(first, stack.DeepCopy())

	for i := range 3 {
		next := rolloutScope(t, stack, revisions) // the status as recorded: no rollback
		r.decideRollout(context.Background(), next)
		if next.rollout.Run == nil || next.rollout.Run.Number != 1 {
			t.Fatalf("pass %d after the rollback applies the failed spec again: %+v", i+2, next.rollout)
		}
		if next.rollout.Started {
			t.Fatalf("pass %d starts the rollback again (a second event and metric)", i+2)
		}
		if got := runsImage(t, next); got != "nginx:1.27" {
			t.Fatalf("pass %d runs %s, want nginx:1.27", i+2, got)
		}
		r.rolloutStatus(next, stack.DeepCopy())
	}

	// A new spec rolls forward, and the remembered rollback is let go.
	fixed := stack.DeepCopy()
	fixed.Spec.Components[0].Containers[0].Image = "nginx:fixed"
	h3, _ := render.SpecHash(fixed)
	forward := rolloutScope(t, fixed, []plan.Revision{revisions[0], revisions[1], {Number: 3, Hash: h3, Spec: fixed.Spec}})
	forward.rev.Labels[render.LabelSpecHash] = h3
	r.decideRollout(context.Background(), forward)
	if forward.rollout.Run != nil || r.memory(stack.UID).rollback != nil {
		t.Fatalf("a new spec did not roll forward: %+v", forward.rollout)
	}
	if got := runsImage(t, forward); got != "nginx:fixed" {
		t.Fatalf("the new spec runs %s, want nginx:fixed", got)
	}
}
