package status

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// stalledReasons are the Ready reasons of a stack that cannot make progress
// without a change from someone, whatever its components say: a spec the
// operator refuses, an object that is someone else's, a rollback already done, a
// pause.
var stalledReasons = map[string]bool{
	appstackv1.ReasonInvalidSpec:       true,
	appstackv1.ReasonNamespaceConflict: true,
	appstackv1.ReasonUnsafeChange:      true,
	appstackv1.ReasonConflict:          true,
	appstackv1.ReasonRolledBack:        true,
	appstackv1.ReasonSuspended:         true,
}

// Progress sets the conditions kstatus reads beside Ready (docs/gitops.md,
// "Health"): Stalled when the stack cannot make progress without a change from
// someone — a Ready reason in stalledReasons, or a component whose phase is
// Failed —, Reconciling while the operator still works toward the generation it
// observed (not Ready and not Stalled, or being deleted). Both follow the
// "abnormal-true" convention: present only when True, so a Ready stack carries
// neither. It reads the Ready condition and the components of st, so it runs
// after everything else that decides them; now is the pass's time.
func Progress(st *appstackv1.AppStackStatus, generation int64, now time.Time) {
	ready := meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady)
	reconciling, stalled := (*metav1.Condition)(nil), (*metav1.Condition)(nil)
	set := func(typ, reason, message string) *metav1.Condition {
		return &metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message,
			ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now)}
	}
	switch {
	case ready == nil || ready.Status == metav1.ConditionTrue:
	case ready.Reason == appstackv1.ReasonDeleting:
		reconciling = set(appstackv1.ConditionReconciling, ready.Reason, ready.Message)
	case stalledReasons[ready.Reason]:
		stalled = set(appstackv1.ConditionStalled, ready.Reason, ready.Message)
	default:
		if c := firstFailed(st.Components); c != nil {
			stalled = set(appstackv1.ConditionStalled, c.Reason, fmt.Sprintf("%s: %s", c.Name, c.Message))
		} else {
			reconciling = set(appstackv1.ConditionReconciling, ready.Reason, ready.Message)
		}
	}
	for typ, c := range map[string]*metav1.Condition{
		appstackv1.ConditionReconciling: reconciling, appstackv1.ConditionStalled: stalled,
	} {
		if c == nil {
			meta.RemoveStatusCondition(&st.Conditions, typ)
			continue
		}
		meta.SetStatusCondition(&st.Conditions, *c)
	}
}

// firstFailed is the first component, in spec order, that cannot become Ready
// without a change from someone.
func firstFailed(components []appstackv1.ComponentStatus) *appstackv1.ComponentStatus {
	for i := range components {
		if components[i].Phase == appstackv1.PhaseFailed {
			return &components[i]
		}
	}
	return nil
}
