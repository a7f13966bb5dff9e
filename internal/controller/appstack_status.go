package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// setStatus computes the stack's status (status.Stack) from the cluster, read
// through the cache with this pass's own writes as written, and the outcome of the
// pass. It changes only the in-memory stack.
func (r *AppStackReconciler) setStatus(ctx context.Context, s *scope, reconcileErr error) {
	in := status.StackInput{Generation: s.stack.Generation, Namespace: s.namespace,
		SpecComponents: len(s.stack.Spec.Components), Paused: s.stack.Spec.Paused,
		Revision: s.done.revision, Inventory: s.done.inventory, Now: r.now()}
	if s.done.blocked != nil {
		in.Blocked = &status.Problem{Reason: s.done.blocked.reason, Message: s.done.blocked.message}
		s.stack.Status = status.Stack(&s.stack.Status, in)
		return
	}
	for i := range s.stack.Spec.Components {
		in.Components = append(in.Components, r.componentStatus(ctx, s, &s.stack.Spec.Components[i]))
	}
	for i := range s.stack.Spec.Volumes {
		v := &s.stack.Spec.Volumes[i]
		pvc := &corev1.PersistentVolumeClaim{}
		if !r.getOwned(ctx, s, client.ObjectKey{Namespace: s.namespace, Name: v.Name}, pvc) {
			pvc = nil
		}
		in.Volumes = append(in.Volumes, status.Volume(v, pvc))
	}
	if reconcileErr != nil {
		reason, msg := status.Failed(reconcileErr)
		in.Failed = &status.Problem{Reason: reason, Message: msg}
	}
	if c := s.sharedConflict(); c != nil {
		in.SharedConflict = c.Message
	}
	sum := status.Summarize(in.Components)
	recordComponents(s.stack.Name, sum.Ready, sum.Total)
	s.stack.Status = status.Stack(&s.stack.Status, in)
}

// sharedConflict is the first conflict of the stack's shared objects (configs,
// volumes), which belong to no component.
func (s *scope) sharedConflict() *plan.Conflict {
	if s.plan == nil {
		return nil
	}
	for i, c := range s.plan.Conflicts {
		if c.Component == "" {
			return &s.plan.Conflicts[i]
		}
	}
	return nil
}

// conflict is the first conflict of a component's objects.
func (s *scope) conflict(component string) *plan.Conflict {
	if s.plan == nil {
		return nil
	}
	for i, c := range s.plan.Conflicts {
		if c.Component == component {
			return &s.plan.Conflicts[i]
		}
	}
	return nil
}

// componentStatus reads a component's workload and Service from the cache and
// computes its status. Objects that do not carry this stack's label are not the
// stack's and count as absent.
func (r *AppStackReconciler) componentStatus(
	ctx context.Context, s *scope, c *appstackv1.Component,
) appstackv1.ComponentStatus {
	if conflict := s.conflict(c.Name); conflict != nil {
		// An object of the component's name is someone else's: what it shows is
		// not the component's.
		return appstackv1.ComponentStatus{Name: c.Name, Kind: render.KindOf(c), Phase: appstackv1.PhaseFailed,
			Reason: appstackv1.ReasonConflict, Message: conflict.Message}
	}
	obs := status.Observed{WaitingFor: s.waiting(c.Name), Now: r.now(), StorageClassExists: r.storageClassExists(ctx)}
	key := client.ObjectKey{Namespace: s.namespace, Name: c.Name}
	if o, err := r.Client.Scheme().New(status.WorkloadGVK(render.KindOf(c))); err == nil {
		if w := o.(client.Object); r.getOwned(ctx, s, key, w) {
			obs.Workload = w
		}
	}
	svc := &corev1.Service{}
	if r.getOwned(ctx, s, key, svc) {
		obs.Service = svc
	}
	r.observeExposure(ctx, s, c, &obs)
	cs := status.Component(s.stack, c, obs)
	if obs.Workload != nil && (cs.Phase == appstackv1.PhaseProgressing || cs.Phase == appstackv1.PhaseFailed) {
		// Pods, claims, nodes and events only explain a component that is not Ready;
		// a converged stack's passes do not read them.
		r.observePodsAndClaims(ctx, s, c, &obs)
		r.observeNodes(ctx, &obs)
		cs = status.Component(s.stack, c, obs)
		if unexplained(cs) {
			r.observeUnexplained(ctx, s, &obs)
			cs = status.Component(s.stack, c, obs)
		}
		if unexplained(cs) {
			s.recheckIn(unexplainedRecheck)
		}
	}
	if cs.Reason == status.ReasonMetricsUnavailable {
		obs.MetricsAPI = r.describeMetricsAPI(ctx)
		cs = status.Component(s.stack, c, obs)
	}
	s.recheckIn(status.Recheck(obs))
	return cs
}

// unexplained tells a component that is not Ready and that nothing found on the
// cluster explains (kstatus's own reason is all there is).
func unexplained(cs appstackv1.ComponentStatus) bool {
	return cs.Phase != appstackv1.PhaseReady &&
		(cs.Reason == status.ReasonProgressing || cs.Reason == string(appstackv1.PhaseFailed))
}

// recheckIn makes the pass compute the status again after d at the latest; 0 asks
// nothing.
func (s *scope) recheckIn(d time.Duration) {
	if d > 0 && (s.done.recheck == 0 || d < s.done.recheck) {
		s.done.recheck = d
	}
}

// storageClassExists reads storage classes through the cache (a cluster has a
// handful); when the answer is unknown, the class is given the benefit of the doubt.
func (r *AppStackReconciler) storageClassExists(ctx context.Context) func(string) bool {
	return func(name string) bool {
		err := r.Client.Get(ctx, client.ObjectKey{Name: name}, &storagev1.StorageClass{})
		return !apierrors.IsNotFound(err)
	}
}

// observePodsAndClaims reads, for failure attribution, the component's pods and
// the claims they mount: the stack volumes it names and its StatefulSet claims.
func (r *AppStackReconciler) observePodsAndClaims(
	ctx context.Context, s *scope, c *appstackv1.Component, obs *status.Observed,
) {
	selector := client.MatchingLabels(render.SelectorLabels(s.stack, c.Name))
	pods := &corev1.PodList{}
	if err := s.read.List(ctx, pods, client.InNamespace(s.namespace), selector); err == nil {
		obs.Pods = pods.Items
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := s.read.List(ctx, claims, client.InNamespace(s.namespace), selector); err == nil {
		obs.Claims = claims.Items
	}
	for _, v := range c.Volumes {
		if v.PersistentVolume == "" {
			continue
		}
		pvc := &corev1.PersistentVolumeClaim{}
		if r.getOwned(ctx, s, client.ObjectKey{Namespace: s.namespace, Name: v.PersistentVolume}, pvc) {
			obs.Claims = append(obs.Claims, *pvc)
		}
	}
}

func (r *AppStackReconciler) getOwned(ctx context.Context, s *scope, key client.ObjectKey, obj client.Object) bool {
	if err := s.read.Get(ctx, key, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			logf.FromContext(ctx).Error(err, "read child for status", "name", key.Name)
		}
		return false
	}
	inv := s.done.inventory
	if inv == nil {
		inv = s.stack.Status.Inventory
	}
	return plan.Owned(inv, obj, s.stack)
}

// patchStatus writes the status when, and only when, it changed, and records the
// events of the transitions it makes.
func (r *AppStackReconciler) patchStatus(ctx context.Context, before, after *appstackv1.AppStack) error {
	r.clocks.record(after)
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	troubles := r.troubles(before)
	if err := r.Client.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		recordStatusWriteFailed()
		return fmt.Errorf("write status: %w", err)
	}
	r.recordTransitions(troubles, after)
	return nil
}

// stackMemory is what this process keeps of a stack between passes, in the
// consistency store (keyed by UID, forgotten when the stack is gone): the
// troubles it has reported as events, so that a status flapping between a
// trouble and progress warns once per cause, and what a blocked pass read past
// the cache. Nothing a pass decides on is kept here: the decisions read the
// stack's status, which every pass writes.
type stackMemory struct {
	// troubles maps a component name ("" for the stack itself) to the reason of
	// the last Warning recorded for it; nil until seeded from the status.
	troubles map[string]string
	// past is what the last pass read past the cache, while the stack waits on
	// objects in the way (readLive).
	past pastReads
}

// troubles is the record of the troubles reported for the stack. A process that
// has not seen the stack before starts it from the status as read: the troubles
// it reports were reported before (by this process before a restart, or by
// another replica), so they are not warned about again, and their recovery is
// recorded.
func (r *AppStackReconciler) troubles(stack *appstackv1.AppStack) map[string]string {
	m := r.gate.Value(stack.UID)
	if m.troubles != nil {
		return m.troubles
	}
	m.troubles = map[string]string{}
	troubles := m.troubles
	for _, c := range stack.Status.Components {
		if isTrouble(c) {
			troubles[c.Name] = c.Reason
		}
	}
	if cond := meta.FindStatusCondition(stack.Status.Conditions, appstackv1.ConditionReady); cond != nil {
		if _, ok := stackTroubles[cond.Reason]; ok {
			troubles[""] = cond.Reason
		}
	}
	return m.troubles
}

// stackTroubles are the Ready reasons that are the stack's own, not a component's.
var stackTroubles = map[string]string{
	appstackv1.ReasonInvalidSpec:       corev1.EventTypeWarning,
	appstackv1.ReasonNamespaceConflict: corev1.EventTypeWarning,
	appstackv1.ReasonApplyFailed:       corev1.EventTypeWarning,
	appstackv1.ReasonUnsafeChange:      corev1.EventTypeWarning,
	appstackv1.ReasonConflict:          corev1.EventTypeWarning,
	appstackv1.ReasonRolledBack:        corev1.EventTypeWarning,
	appstackv1.ReasonSuspended:         corev1.EventTypeNormal,
}

// recordTransitions records events on real transitions only: the stack
// or one of its components running into trouble (a Warning whose reason is the
// cause; once per cause, however often the status flaps between it and
// progress), and its recovery from that trouble (Normal). Progress — children
// created, pods starting, a first convergence — shows in the status and makes no
// events: at hundreds of stacks they would be most of the operator's writes.
func (r *AppStackReconciler) recordTransitions(troubles map[string]string, stack *appstackv1.AppStack) {
	for _, c := range stack.Status.Components {
		prev, troubled := troubles[c.Name]
		switch {
		case c.Phase == appstackv1.PhaseReady && troubled && !isTrouble(c):
			r.Recorder.Eventf(stack, nil, corev1.EventTypeNormal, "ComponentReady", "Status",
				"component %s is Ready again (it was %s)", c.Name, prev)
			delete(troubles, c.Name)
		case isTrouble(c) && c.Reason != prev:
			r.Recorder.Eventf(stack, nil, corev1.EventTypeWarning, c.Reason, "Status", "component %s: %s", c.Name, c.Message)
			troubles[c.Name] = c.Reason
		}
	}
	cond := meta.FindStatusCondition(stack.Status.Conditions, appstackv1.ConditionReady)
	if cond == nil {
		return
	}
	prev, troubled := troubles[""]
	if typ, ok := stackTroubles[cond.Reason]; ok && cond.Reason != prev {
		r.Recorder.Eventf(stack, nil, typ, cond.Reason, "Reconcile", "%s", cond.Message)
		troubles[""] = cond.Reason
	}
	if cond.Status == metav1.ConditionTrue && troubled {
		r.Recorder.Eventf(stack, nil, corev1.EventTypeNormal, appstackv1.ReasonReady, "Reconcile",
			"stack is Ready again (it was %s): %s", prev, cond.Message)
		delete(troubles, "")
	}
}

// isTrouble tells a component that needs a person's attention from one that is
// merely on its way: a failure, or any cause found on the cluster — also a warning
// on a component that is Ready.
func isTrouble(c appstackv1.ComponentStatus) bool {
	return c.Phase == appstackv1.PhaseFailed ||
		(c.Reason != "" && c.Reason != status.ReasonProgressing && c.Reason != status.ReasonWaiting)
}
