package status

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Problem is why a pass did not bring the stack to Ready: the Ready condition's
// reason and message.
type Problem struct {
	Reason, Message string
}

// PausedSummary is the summary (and Ready message) of a paused stack.
const PausedSummary = "paused: spec.paused is true, nothing is applied or pruned"

// StackInput is what a pass knows when it computes the stack's status.
type StackInput struct {
	// Generation is the stack's metadata.generation.
	Generation int64
	// Namespace is the namespace the stack's objects live in.
	Namespace string
	// SpecComponents is how many components the spec has: a blocked pass computes
	// no component status, and reports none of them ready.
	SpecComponents int
	// Blocked, when set, is why the pass did not touch the cluster (InvalidSpec,
	// NamespaceConflict, UnsafeChange).
	Blocked *Problem
	// Paused is spec.paused.
	Paused bool
	// Components and Volumes are the statuses computed for the spec's components
	// and volumes, in spec order.
	Components []appstackv1.ComponentStatus
	Volumes    []appstackv1.VolumeStatus
	// Failed, when set, is the pass's failure as the Ready condition says it
	// (ApplyFailed, naming the object).
	Failed *Problem
	// SharedConflict is the message of the first conflict over a config or volume
	// (an object of its name that is not the stack's), "" when none.
	SharedConflict string
	// Revision is the revision the pass applied in full; 0 leaves status.revision.
	Revision int64
	// Inventory is what the stack owns after the pass; nil leaves
	// status.inventory.
	Inventory []appstackv1.InventoryEntry
	// Now is the pass's time: the Ready condition's lastTransitionTime when it
	// changes status.
	Now time.Time
}

// Stack computes the stack's status from the status as read (before) and what
// the pass found (docs/design.md, "Status and failure attribution"). In order:
// a blocked pass clears the components and says why; a paused stack is
// Suspended; a pass that failed says so and leaves observedGeneration (the spec is
// not applied) and the revision as they were; then a conflict over a config or
// volume is not Ready whatever the components say; all components Ready is Ready
// (with the first warning's reason, if any); else the first component not Ready,
// in spec order, gives the reason. Fields a pass does not decide (rollback,
// readyRevision, failingSince, other conditions) are kept.
func Stack(before *appstackv1.AppStackStatus, in StackInput) appstackv1.AppStackStatus {
	st := *before.DeepCopy()
	st.Namespace = in.Namespace
	ready := func(cond metav1.ConditionStatus, reason, msg string) {
		st.Summary = msg
		SetReady(&st.Conditions, in.Generation, cond, reason, msg, in.Now)
	}
	if b := in.Blocked; b != nil {
		st.Components = nil
		st.Ready = fmt.Sprintf("0/%d", in.SpecComponents)
		st.ObservedGeneration = in.Generation
		ready(metav1.ConditionFalse, b.Reason, b.Message)
		return st
	}
	if in.Inventory != nil {
		st.Inventory = in.Inventory
	}
	st.Components, st.Volumes = in.Components, in.Volumes
	sum := Summarize(in.Components)
	st.Ready = fmt.Sprintf("%d/%d", sum.Ready, sum.Total)
	switch {
	case in.Paused:
		st.ObservedGeneration = in.Generation
		ready(metav1.ConditionFalse, appstackv1.ReasonSuspended, PausedSummary)
		return st
	case in.Failed != nil:
		ready(metav1.ConditionFalse, in.Failed.Reason, in.Failed.Message)
		return st
	}
	st.ObservedGeneration = in.Generation
	if in.Revision > 0 {
		st.Revision = in.Revision
	}
	switch {
	case in.SharedConflict != "":
		// A config or volume held by someone else is not the stack's, whatever its
		// pods say: they run on that object, not on what the stack asks for.
		ready(metav1.ConditionFalse, appstackv1.ReasonConflict, in.SharedConflict)
	case sum.Ready == sum.Total:
		// Every component serves, though the reason may warn of what does not
		// work (an autoscaler without metrics, a load balancer without an address).
		ready(metav1.ConditionTrue, sum.Reason, sum.Message)
	default:
		ready(metav1.ConditionFalse, sum.Reason, sum.Message)
		st.Summary = fmt.Sprintf("%d/%d components ready; %s", sum.Ready, sum.Total, sum.Message)
	}
	return st
}

// SetReady sets the Ready condition. Its lastTransitionTime is now when its
// status changes (or it is new), and stays as it was otherwise.
func SetReady(conditions *[]metav1.Condition, generation int64, status metav1.ConditionStatus, reason, message string,
	now time.Time) {
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type:               appstackv1.ConditionReady,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
		LastTransitionTime: metav1.NewTime(now),
	})
}
