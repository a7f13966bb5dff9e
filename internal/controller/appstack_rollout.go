package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// failing is since when this process has seen a revision of a stack fail.
type failing struct {
	hash  string
	since time.Time
}

// decideRollout makes the rollout decision of the pass (plan.DecideRollout) and,
// when the workloads are to run an earlier revision, puts that revision's
// workloads and configs into the plan and marks the failed revision.
func (r *AppStackReconciler) decideRollout(ctx context.Context, s *scope) {
	m := r.gate.Value(s.stack.UID)
	var since time.Time
	if m.failing.hash == s.rev.Labels[render.LabelSpecHash] {
		since = m.failing.since
	}
	ro := plan.DecideRollout(plan.RolloutObserved{
		Stack: s.stack, Hash: s.rev.Labels[render.LabelSpecHash], Current: s.rev.Revision,
		Revisions: s.revisions, FailingSince: since, Now: r.now(),
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
	if s.rev.Annotations == nil {
		s.rev.Annotations = map[string]string{}
	}
	rb := ro.Status
	s.rev.Annotations[render.AnnotationRolledBack] = fmt.Sprintf("%s at %s: rolled back to revision %d (%s)",
		rb.Reason, rb.Time.UTC().Format(time.RFC3339), rb.Revision, rb.Message)
	if ro.Started {
		logf.FromContext(ctx).Info("rolling back: the spec's revision failed", "failedRevision", rb.FailedRevision,
			"revision", rb.Revision, "reason", rb.Reason, "message", rb.Message)
		recordRollback(s.stack.Name)
	}
}

// rolloutStatus completes the status of a pass that applied the stack: the
// rollback in force, the newest revision the stack was Ready at, and — with
// spec.rollout.autoRollback — since when the spec's revision has been failing,
// so that a later pass can roll back once spec.rollout.failAfter has passed.
func (r *AppStackReconciler) rolloutStatus(s *scope, before *appstackv1.AppStack) {
	st := &s.stack.Status
	st.Rollback = s.rollout.Status
	ready := meta.IsStatusConditionTrue(st.Conditions, appstackv1.ConditionReady)
	switch {
	case st.Rollback == nil && ready && before.Status.ReadyRevision == 0 && st.Revision == before.Status.Revision:
		// Ready at the revision it was at: plan.ReadyRevision derives it, and
		// recording it would write the status of every stack once.
		st.ReadyRevision = 0
	case st.Rollback == nil && ready:
		st.ReadyRevision = st.Revision
	default:
		st.ReadyRevision = plan.ReadyRevision(&before.Status)
	}
	if rb := st.Rollback; rb != nil {
		msg := fmt.Sprintf("revision %d failed (%s), so the workloads run revision %d again since %s; "+
			"change the spec to roll forward",
			rb.FailedRevision, rb.Message, rb.Revision, rb.Time.UTC().Format(time.RFC3339))
		cond := meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady)
		if cond != nil && cond.Status != metav1.ConditionTrue {
			// The old revision's workloads are still rolling out, or fail too.
			msg += fmt.Sprintf("; %s components ready, %s", st.Ready, cond.Message)
		}
		st.Summary = msg
		setReadyCondition(s.stack, metav1.ConditionFalse, appstackv1.ReasonRolledBack, msg)
		// setStatus may have set Ready True a moment ago (the old revision's
		// workloads are ready): False before the pass and False after is no
		// transition, and a new lastTransitionTime would rewrite the status at
		// every pass.
		if prev := meta.FindStatusCondition(before.Status.Conditions, appstackv1.ConditionReady); prev != nil &&
			prev.Status == metav1.ConditionFalse {
			meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady).LastTransitionTime = prev.LastTransitionTime
		}
	}
	r.trackFailure(s)
}

// trackFailure remembers since when the spec's revision has been failing in a way
// a rollback can mend, and asks for a pass when failAfter is over.
func (r *AppStackReconciler) trackFailure(s *scope) {
	m := r.gate.Value(s.stack.UID)
	hash := s.rev.Labels[render.LabelSpecHash]
	if ready, _ := plan.Mendable(s.stack, s.rev.Revision, s.revisions); ready == nil {
		m.failing = failing{}
		return
	}
	if m.failing.hash != hash {
		m.failing = failing{hash: hash, since: r.now()}
	}
	left := plan.FailAfter(s.stack) - r.now().Sub(m.failing.since)
	if left <= 0 {
		left = time.Millisecond
	}
	if s.recheck == 0 || left < s.recheck {
		s.recheck = left
	}
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
		live := &appsv1.StatefulSet{}
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return client.IgnoreNotFound(err)
		}
		if live.Status.ObservedGeneration < live.Generation || live.Status.UpdateRevision == "" {
			continue // the controller has not taken the old template in yet
		}
		pods := &corev1.PodList{}
		if err := r.Client.List(ctx, pods, client.InNamespace(live.Namespace),
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
