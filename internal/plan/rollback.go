package plan

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// Revision is one recorded revision of a stack's spec (a ControllerRevision the
// stack controls).
type Revision struct {
	Number int64
	Hash   string
	Spec   appstackv1.AppStackSpec
}

// DefaultFailAfter is how long a new revision may fail before an automatic
// rollback when spec.rollout.failAfter is not set.
const DefaultFailAfter = time.Minute

// FailAfter is the stack's grace for a failing revision.
func FailAfter(stack *appstackv1.AppStack) time.Duration {
	if r := stack.Spec.Rollout; r != nil && r.FailAfter != nil {
		return r.FailAfter.Duration
	}
	return DefaultFailAfter
}

// AutoRollback tells whether the stack asked for automatic rollback.
func AutoRollback(stack *appstackv1.AppStack) bool {
	return stack.Spec.Rollout != nil && stack.Spec.Rollout.AutoRollback
}

// rollbackReasons are the component reasons that say the pods of a revision fail
// by themselves — what the revision's templates or configs may have caused, and
// an earlier revision may not. Reasons of the cluster (no node fits, a claim not
// bound, a quota or dependency) are not among them: going back would not help.
var rollbackReasons = map[string]bool{
	status.ReasonCrashLoopBackOff:         true,
	status.ReasonImagePullBackOff:         true,
	status.ReasonCreateContainerConfig:    true,
	status.ReasonFailedMount:              true,
	status.ReasonProgressDeadlineExceeded: true,
	status.ReasonFailedCreate:             true,
	status.ReasonOOMKilled:                true,
	status.ReasonReadinessProbeFailed:     true,
}

// rollbackKinds are the workloads that roll: a Job or a bare Pod is run once.
var rollbackKinds = map[appstackv1.ComponentKind]bool{
	appstackv1.KindDeployment: true, appstackv1.KindStatefulSet: true, appstackv1.KindDaemonSet: true,
}

// ReadyRevision is the newest revision the stack was Ready at, 0 when none: the
// recorded status.readyRevision, or — a stack that has been Ready at its current
// revision since before the field existed — that revision.
func ReadyRevision(st *appstackv1.AppStackStatus) int64 {
	if st.ReadyRevision > 0 {
		return st.ReadyRevision
	}
	if meta.IsStatusConditionTrue(st.Conditions, appstackv1.ConditionReady) {
		return st.Revision
	}
	return 0
}

// Failing is the first component, in spec order, whose status says its pods fail
// in a way the revision ready may not have: a workload that rolls, failing for
// one of rollbackReasons, and rendered differently by the two specs (its
// template or a config it mounts changed). Nil when there is none.
func Failing(stack *appstackv1.AppStack, components []appstackv1.ComponentStatus, ready appstackv1.AppStackSpec) *appstackv1.ComponentStatus {
	var now, then *render.Desired
	for i := range components {
		c := &components[i]
		if !rollbackReasons[c.Reason] || !rollbackKinds[c.Kind] {
			continue
		}
		if now == nil {
			var err error
			if now, err = render.Render(stack); err != nil {
				return nil
			}
			old := stack.DeepCopy()
			old.Spec = ready
			if then, err = render.Render(old); err != nil {
				return nil
			}
		}
		w, old := workload(now, c.Name), workload(then, c.Name)
		if w != nil && old != nil && !equality.Semantic.DeepEqual(w, old) {
			return c
		}
	}
	return nil
}

func workload(d *render.Desired, component string) client.Object {
	for _, co := range d.Components {
		if co.Name == component {
			return co.Workload
		}
	}
	return nil
}

// RolloutObserved is what the rollout decision reads: the stack as recorded
// (its status says how its components did at the last pass, the rollback in
// force, and since when the spec's revision has been failing), the spec's hash
// and revision number, the stack's revisions, and the pass's time.
type RolloutObserved struct {
	Stack     *appstackv1.AppStack
	Hash      string
	Current   int64
	Revisions []Revision
	Now       time.Time
}

// Rollout is what the pass runs.
type Rollout struct {
	// Run, when set, is the revision whose workloads and configs are applied
	// instead of the spec's.
	Run *Revision
	// Status is status.rollback to record; nil clears it.
	Status *appstackv1.RollbackStatus
	// Started tells that the rollback is decided in this pass.
	Started bool
}

// DecideRollout decides whether the pass applies the spec or an earlier
// revision (docs/rollback.md): a rollback in force stays while the spec is the
// one that failed; a new one starts when the spec's revision has failed for
// FailAfter since status.failingSince (FailureClock), and a revision that was
// Ready exists and renders the failing component differently. Anything else
// applies the spec: a changed spec rolls forward.
func DecideRollout(o RolloutObserved) Rollout {
	if !AutoRollback(o.Stack) {
		return Rollout{}
	}
	st := &o.Stack.Status
	if rb := st.Rollback; rb != nil {
		failed, run := find(o.Revisions, rb.FailedRevision), find(o.Revisions, rb.Revision)
		if failed != nil && failed.Hash == o.Hash && run != nil {
			return Rollout{Run: run, Status: rb}
		}
		return Rollout{}
	}
	if since := st.FailingSince; since == nil || o.Now.Sub(since.Time) < FailAfter(o.Stack) {
		return Rollout{}
	}
	ready, c := Mendable(o.Stack, o.Current, o.Revisions)
	if ready == nil {
		return Rollout{}
	}
	return Rollout{Run: ready, Started: true, Status: &appstackv1.RollbackStatus{
		FailedRevision: o.Current, Revision: ready.Number, Reason: c.Reason,
		Message: fmt.Sprintf("%s: %s", c.Name, c.Message), Time: metav1.NewTime(o.Now),
	}}
}

// Mendable tells whether the stack's status, as recorded, says that the spec's
// revision (current) is applied and fails in a way going back would mend: it
// returns the revision that was Ready and the first failing component (Failing),
// or nils. A stack without automatic rollback, or already rolled back, has
// nothing to mend.
func Mendable(stack *appstackv1.AppStack, current int64, revs []Revision) (*Revision, *appstackv1.ComponentStatus) {
	st := &stack.Status
	if !AutoRollback(stack) || st.Rollback != nil || st.Revision != current {
		return nil, nil
	}
	ready := find(revs, ReadyRevision(st))
	if ready == nil || ready.Number == current {
		return nil, nil
	}
	if c := Failing(stack, st.Components, ready.Spec); c != nil {
		return ready, c
	}
	return nil, nil
}

func find(revs []Revision, n int64) *Revision {
	for i := range revs {
		if revs[i].Number == n {
			return &revs[i]
		}
	}
	return nil
}

// RunRevision replaces, in the plan, the workloads and configs of the spec with
// those old renders — the revision the pass runs instead — where both have them.
// Everything else (Services, claims, ingress, autoscalers, disruption budgets,
// and components or configs the old revision did not have) stays as the spec
// says, so the inventory and the prune set do not change and nothing is deleted.
func (p *Plan) RunRevision(stack *appstackv1.AppStack, old *render.Desired) {
	byKey := map[Key]client.Object{}
	for _, obj := range old.Objects() {
		byKey[KeyOf(obj)] = obj
	}
	swap := func(list []client.Object, kinds map[string]bool) {
		for i, obj := range list {
			k := KeyOf(obj)
			if o, ok := byKey[k]; ok && kinds[k.Kind] {
				o = o.DeepCopyObject().(client.Object)
				setOwner(o, stack)
				list[i] = o
			}
		}
	}
	swap(p.Workloads, map[string]bool{"Deployment": true, KindStatefulSet: true, "DaemonSet": true})
	swap(p.Shared, map[string]bool{"ConfigMap": true})
}

// MarkRolledBack notes on the spec's revision, which failed, that its workloads
// were rolled back (render.AnnotationRolledBack, which `kubectl appstack
// history` shows).
func MarkRolledBack(rev *appsv1.ControllerRevision, rb *appstackv1.RollbackStatus) {
	if rev.Annotations == nil {
		rev.Annotations = map[string]string{}
	}
	rev.Annotations[render.AnnotationRolledBack] = fmt.Sprintf("%s at %s: rolled back to revision %d (%s)",
		rb.Reason, rb.Time.UTC().Format(time.RFC3339), rb.Revision, rb.Message)
}

// FailureClock is status.failingSince after a pass that applied the stack, and
// how long after now a pass must look again for failAfter to be over (0 when it
// need not). stack carries the status the pass computed; before is the status
// as read. The clock runs while the spec's revision (current) fails in a way a
// rollback mends (Mendable), from the first pass that saw it; it stops when that
// ends — the failure mends, a rollback starts, the option is turned off — and
// starts again for a new revision (the spec changed). The start is recorded at
// the next whole second: the apiserver keeps seconds, and a start rounded down
// would cut the grace short by up to a second.
func FailureClock(
	before *appstackv1.AppStackStatus, stack *appstackv1.AppStack, current int64, revs []Revision, now time.Time,
) (*metav1.Time, time.Duration) {
	if ready, _ := Mendable(stack, current, revs); ready == nil {
		return nil, 0
	}
	since := metav1.NewTime(now.Truncate(time.Second))
	if since.Time.Before(now) {
		since.Time = since.Add(time.Second)
	}
	if before.FailingSince != nil && before.Revision == current {
		since = *before.FailingSince.DeepCopy()
	}
	left := FailAfter(stack) - now.Sub(since.Time)
	if left <= 0 {
		left = time.Millisecond
	}
	return &since, left
}

// RolloutStatus completes the status of a pass that applied the stack (after,
// as the pass computed it; before, as read): the rollback in force, the newest
// revision the stack was Ready at and, while a rollback is in force, a Ready
// condition (RolledBack) and summary that say so. now is the pass's time.
func RolloutStatus(
	before, after *appstackv1.AppStackStatus, rollback *appstackv1.RollbackStatus, generation int64, now time.Time,
) appstackv1.AppStackStatus {
	st := *after.DeepCopy()
	st.Rollback = rollback.DeepCopy()
	ready := meta.IsStatusConditionTrue(st.Conditions, appstackv1.ConditionReady)
	switch {
	case st.Rollback == nil && ready && before.ReadyRevision == 0 && st.Revision == before.Revision:
		// Ready at the revision it was at: ReadyRevision derives it, and recording
		// it would write the status of every stack once.
		st.ReadyRevision = 0
	case st.Rollback == nil && ready:
		st.ReadyRevision = st.Revision
	default:
		st.ReadyRevision = ReadyRevision(before)
	}
	rb := st.Rollback
	if rb == nil {
		return st
	}
	msg := fmt.Sprintf("revision %d failed (%s), so the workloads run revision %d again since %s; "+
		"change the spec to roll forward",
		rb.FailedRevision, rb.Message, rb.Revision, rb.Time.UTC().Format(time.RFC3339))
	if cond := meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady); cond != nil &&
		cond.Status != metav1.ConditionTrue {
		// The old revision's workloads are still rolling out, or fail too.
		msg += fmt.Sprintf("; %s components ready, %s", st.Ready, cond.Message)
	}
	st.Summary = msg
	status.SetReady(&st.Conditions, generation, metav1.ConditionFalse, appstackv1.ReasonRolledBack, msg, now)
	// The pass may have found the stack Ready a moment ago (the old revision's
	// workloads are ready): False before the pass and False after is no
	// transition, and a new lastTransitionTime would rewrite the status at every
	// pass.
	if prev := meta.FindStatusCondition(before.Conditions, appstackv1.ConditionReady); prev != nil &&
		prev.Status == metav1.ConditionFalse {
		meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady).LastTransitionTime = prev.LastTransitionTime
	}
	return st
}
