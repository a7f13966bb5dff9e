package controller

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// rolloutScope is a pass over stack at revision 2 with the given revisions.
func rolloutScope(t *testing.T, stack *appstackv1.AppStack, revisions []plan.Revision) *scope {
	t.Helper()
	desired, err := render.Render(stack)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := render.Revision(stack, revisions[len(revisions)-1].Number)
	if err != nil {
		t.Fatal(err)
	}
	p := &plan.Plan{}
	for _, c := range desired.Components {
		p.Workloads = append(p.Workloads, c.Workload)
	}
	return &scope{stack: stack.DeepCopy(), desired: desired, plan: p, history: history{rev: rev, specs: revisions}}
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

// The rollout of a pass reads the time from the reconciler's clock and its
// memory from the status alone: a stack at revision 2 (nginx:broken) whose
// revision 1 (nginx:1.27) was Ready, web crash-looping. Each pass reads the
// status the last one wrote, as the consistency gate promises, and a new
// reconciler (a restart, another leader) carries on from it.
func TestRolloutPassesCountFailAfterOnTheInjectedClockFromTheStatus(t *testing.T) {
	v1 := newStack("rb-clock", webComponent("web", 2))
	stack := newStack("rb-clock", webComponent("web", 2))
	stack.UID = types.UID("rb-clock-uid")
	stack.Spec.Components[0].Containers[0].Image = "nginx:broken"
	stack.Spec.Rollout = &appstackv1.RolloutSpec{AutoRollback: true, FailAfter: &metav1.Duration{Duration: time.Minute}}
	stack.Status.Revision, stack.Status.ReadyRevision = 2, 1
	stack.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Kind: appstackv1.KindDeployment,
		Phase: appstackv1.PhaseFailed, Reason: "CrashLoopBackOff", Message: "container app keeps crashing"}}
	h1, _ := render.SpecHash(v1)
	h2, _ := render.SpecHash(stack)
	revisions := []plan.Revision{{Number: 1, Hash: h1, Spec: v1.Spec}, {Number: 2, Hash: h2, Spec: stack.Spec}}
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	clock := clocktesting.NewFakePassiveClock(start)

	pass := func(r *AppStackReconciler) *scope {
		s := rolloutScope(t, stack, revisions)
		r.decideRollout(context.Background(), s)
		r.rolloutStatus(s, stack)
		stack = s.stack // the status written, read by the next pass
		return s
	}
	first := pass(&AppStackReconciler{Clock: clock})
	if first.rollout.Run != nil || stack.Status.FailingSince == nil || !stack.Status.FailingSince.Time.Equal(start) {
		t.Fatalf("the first pass that sees the failure: rollout %+v, failingSince %v", first.rollout, stack.Status.FailingSince)
	}
	if first.done.recheck != time.Minute {
		t.Fatalf("recheck %v, want failAfter", first.done.recheck)
	}

	clock.SetTime(start.Add(40 * time.Second))
	restarted := &AppStackReconciler{Clock: clock} // nothing in memory
	if s := pass(restarted); s.rollout.Run != nil || s.done.recheck != 20*time.Second {
		t.Fatalf("40s in: rollout %+v, recheck %v; want none yet, a pass in 20s", s.rollout, s.done.recheck)
	}

	clock.SetTime(start.Add(time.Minute))
	s := pass(restarted)
	if s.rollout.Run == nil || !s.rollout.Started || runsImage(t, s) != "nginx:1.27" {
		t.Fatalf("at failAfter: rollout %+v, want revision 1 started", s.rollout)
	}
	if got := s.history.rev.Annotations[render.AnnotationRolledBack]; got !=
		"CrashLoopBackOff at 2026-11-23T08:01:00Z: rolled back to revision 1 (web: container app keeps crashing)" {
		t.Fatalf("the failed revision's note: %q", got)
	}
	if stack.Status.Rollback == nil || stack.Status.FailingSince != nil ||
		!stack.Status.Rollback.Time.Time.Equal(start.Add(time.Minute)) {
		t.Fatalf("status after the start: rollback %+v, failingSince %v", stack.Status.Rollback, stack.Status.FailingSince)
	}

	clock.SetTime(start.Add(2 * time.Minute))
	if s := pass(&AppStackReconciler{Clock: clock}); s.rollout.Run == nil || s.rollout.Started || runsImage(t, s) != "nginx:1.27" {
		t.Fatalf("a later pass: rollout %+v, want the rollback kept, not started again", s.rollout)
	}
}
