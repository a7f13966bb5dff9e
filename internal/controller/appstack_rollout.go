package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// decideRollout makes the rollout decision of the pass (plan.DecideRollout) from
// the stack as read and, when the workloads are to run an earlier revision, puts
// that revision's workloads and configs into the plan and marks the failed
// revision.
func (r *AppStackReconciler) decideRollout(ctx context.Context, s *scope) {
	ro := plan.DecideRollout(plan.RolloutObserved{
		Stack: s.stack, Hash: s.history.rev.Labels[render.LabelSpecHash], Current: s.history.rev.Revision,
		Revisions: s.history.specs, Now: r.now(),
	})
	if ro.Run == nil {
		return
	}
	old := s.stack.DeepCopy()
	old.Spec = ro.Run.Spec
	desired, err := render.Render(old)
	if err != nil {
		// A revision that was Ready renders; if this one does not (an operator
		// upgrade changed validation), the spec is applied as written.
		logf.FromContext(ctx).Error(err, "cannot render the revision to roll back to; applying the spec",
			"revision", ro.Run.Number)
		return
	}
	s.rollout = ro
	s.plan.RunRevision(s.stack, desired)
	plan.MarkRolledBack(s.history.rev, ro.Status)
	if ro.Started {
		rb := ro.Status
		logf.FromContext(ctx).Info("rolling back: the spec's revision failed", "failedRevision", rb.FailedRevision,
			"revision", rb.Revision, "reason", rb.Reason, "message", rb.Message)
		recordRollback(s.stack.Name)
	}
}

// rolloutStatus completes the status of a pass that applied the stack
// (plan.RolloutStatus): the rollback in force, the newest revision the stack was
// Ready at, and — with spec.rollout.autoRollback — since when the spec's
// revision has been failing (plan.FailureClock), with a pass when failAfter is
// over.
func (r *AppStackReconciler) rolloutStatus(s *scope, before *appstackv1.AppStack) {
	now := r.now()
	s.stack.Status = plan.RolloutStatus(&before.Status, &s.stack.Status, s.rollout.Status, s.stack.Generation, now)
	since, recheck := plan.FailureClock(&before.Status, s.stack, s.history.rev.Revision, s.history.specs, now)
	s.stack.Status.FailingSince = since
	s.recheckIn(recheck)
}

// replaceStuckPods deletes, while a rollback is in force, the pods of a
// StatefulSet that still run the failed template and are not Ready. A StatefulSet
// whose template is put back does not replace a pod that never became Ready — it
// waits for it — so the rollback would never arrive (Kubernetes documents this as
// the manual step of a StatefulSet rollback). Only failing pods go; their claims
// stay, and the StatefulSet creates each again from the template it now has.
func (r *AppStackReconciler) replaceStuckPods(ctx context.Context, s *scope) error {
	for _, obj := range s.plan.Workloads {
		if _, ok := obj.(*appsv1.StatefulSet); !ok {
			continue
		}
		// Through the pass's reader: a StatefulSet this pass just applied reads as
		// applied (its new template not yet observed), never as the cache's older
		// copy, whose update revision would be the failed one.
		live := &appsv1.StatefulSet{}
		if err := s.read.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return client.IgnoreNotFound(err)
		}
		if live.Status.ObservedGeneration < live.Generation || live.Status.UpdateRevision == "" {
			continue // the controller has not taken the old template in yet
		}
		pods := &corev1.PodList{}
		if err := s.read.List(ctx, pods, client.InNamespace(live.Namespace),
			client.MatchingLabels(render.SelectorLabels(s.stack, live.Name))); err != nil {
			return fmt.Errorf("list pods of StatefulSet %s: %w", live.Name, err)
		}
		for i := range pods.Items {
			pod := &pods.Items[i]
			hash := pod.Labels[appsv1.ControllerRevisionHashLabelKey]
			if hash == "" || hash == live.Status.UpdateRevision || status.PodReady(pod) || !pod.DeletionTimestamp.IsZero() {
				continue
			}
			if err := r.Client.Delete(ctx, pod, client.Preconditions{UID: &pod.UID}); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("replace pod %s of StatefulSet %s, stuck on the failed revision: %w", pod.Name, live.Name, err)
			}
			logf.FromContext(ctx).Info("deleted a pod stuck on the failed revision; "+
				"the StatefulSet creates it again from the revision rolled back to",
				"pod", pod.Name, "statefulSet", live.Name)
		}
	}
	return nil
}
