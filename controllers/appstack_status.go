package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// setStatus computes the stack's status from the cluster (through the cache) and
// the outcome of the pass. It changes only the in-memory stack.
func (r *AppStackReconciler) setStatus(ctx context.Context, s *scope, reconcileErr error) {
	st := &s.stack.Status
	st.Namespace = s.namespace
	if s.blocked != nil {
		st.Components = nil
		st.Ready = fmt.Sprintf("0/%d", len(s.stack.Spec.Components))
		st.Summary = s.blocked.message
		setReadyCondition(s.stack, metav1.ConditionFalse, s.blocked.reason, s.blocked.message)
		st.ObservedGeneration = s.stack.Generation
		return
	}

	st.Components = make([]appstackv1.ComponentStatus, 0, len(s.stack.Spec.Components))
	for i := range s.stack.Spec.Components {
		st.Components = append(st.Components, r.componentStatus(ctx, s, &s.stack.Spec.Components[i]))
	}
	st.Volumes = nil
	for i := range s.stack.Spec.Volumes {
		v := &s.stack.Spec.Volumes[i]
		pvc := &corev1.PersistentVolumeClaim{}
		if !r.getOwned(ctx, s, client.ObjectKey{Namespace: s.namespace, Name: v.Name}, pvc) {
			pvc = nil
		}
		st.Volumes = append(st.Volumes, status.Volume(v, pvc))
	}
	sum := status.Summarize(st.Components)
	st.Ready = fmt.Sprintf("%d/%d", sum.Ready, sum.Total)
	recordComponents(s.stack.Name, sum.Ready, sum.Total)
	if s.stack.Spec.Paused {
		st.ObservedGeneration = s.stack.Generation
		st.Summary = "paused: spec.paused is true, nothing is applied or pruned"
		setReadyCondition(s.stack, metav1.ConditionFalse, appstackv1.ReasonSuspended, st.Summary)
		return
	}

	if reconcileErr != nil {
		reason, msg := appstackv1.ReasonApplyFailed, "reconcile failed; see the operator's log and events"
		if ae, ok := firstApplyError(reconcileErr); ok {
			msg = fmt.Sprintf("applying %s %s failed: %s", ae.kind, ae.name, apiMessage(ae.err))
		}
		st.Summary = msg
		setReadyCondition(s.stack, metav1.ConditionFalse, reason, msg)
		return
	}
	st.ObservedGeneration = s.stack.Generation
	if s.revision > 0 {
		st.Revision = s.revision
	}
	if sum.Ready == sum.Total {
		st.Summary = sum.Message
		setReadyCondition(s.stack, metav1.ConditionTrue, appstackv1.ReasonReady, sum.Message)
		return
	}
	st.Summary = fmt.Sprintf("%d/%d components ready; %s", sum.Ready, sum.Total, sum.Message)
	setReadyCondition(s.stack, metav1.ConditionFalse, sum.Reason, sum.Message)
}

// componentStatus reads a component's workload and Service from the cache and
// computes its status. Objects that do not carry this stack's label are not the
// stack's and count as absent.
func (r *AppStackReconciler) componentStatus(ctx context.Context, s *scope, c *appstackv1.Component) appstackv1.ComponentStatus {
	obs := status.Observed{WaitingFor: s.waiting[c.Name]}
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
	cs := status.Component(s.stack, c, obs)
	if obs.Workload != nil && (cs.Phase == appstackv1.PhaseProgressing || cs.Phase == appstackv1.PhaseFailed) {
		// Pods and claims only explain a component that is not Ready; a converged
		// stack's passes do not read them.
		r.observePodsAndClaims(ctx, s, c, &obs)
		cs = status.Component(s.stack, c, obs)
	}
	return cs
}

// observePodsAndClaims reads, for failure attribution, the component's pods and
// the claims they mount: the stack volumes it names and its StatefulSet claims.
func (r *AppStackReconciler) observePodsAndClaims(ctx context.Context, s *scope, c *appstackv1.Component, obs *status.Observed) {
	selector := client.MatchingLabels(render.SelectorLabels(s.stack, c.Name))
	pods := &corev1.PodList{}
	if err := r.Client.List(ctx, pods, client.InNamespace(s.namespace), selector); err == nil {
		obs.Pods = pods.Items
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.Client.List(ctx, claims, client.InNamespace(s.namespace), selector); err == nil {
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
	if err := r.Client.Get(ctx, key, obj); err != nil {
		if !apierrors.IsNotFound(err) {
			logf.FromContext(ctx).Error(err, "read child for status", "name", key.Name)
		}
		return false
	}
	return obj.GetLabels()[render.LabelStack] == s.stack.Name
}

func setReadyCondition(stack *appstackv1.AppStack, st metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&stack.Status.Conditions, metav1.Condition{
		Type:               appstackv1.ConditionReady,
		Status:             st,
		Reason:             reason,
		Message:            msg,
		ObservedGeneration: stack.Generation,
	})
}

// apiMessage is the stable part of an apiserver error: its status message, which
// names the field at fault, without client-side wrapping.
func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return s.Status().Message
	}
	return err.Error()
}

// patchStatus writes the status when, and only when, it changed, and records an
// event when the Ready condition changed.
func (r *AppStackReconciler) patchStatus(ctx context.Context, before, after *appstackv1.AppStack) error {
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	r.recordReadyTransition(before, after)
	r.recordComponentTransitions(before, after)
	if err := r.Client.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("write status: %w", err)
	}
	r.written.Store(after.UID, writtenStatus{resourceVersion: after.ResourceVersion, status: *after.Status.DeepCopy()})
	return nil
}

// writtenStatus is the status this process last wrote for a stack, and the
// resourceVersion that write produced.
type writtenStatus struct {
	resourceVersion string
	status          appstackv1.AppStackStatus
}

// catchUpStatus replaces the status of a stack read from a cache that has not yet
// seen this process's last status write with that status. Without it, a pass
// triggered by a child's event before the cache caught up would find the old
// status, write the same new one again and repeat its transition events.
func (r *AppStackReconciler) catchUpStatus(stack *appstackv1.AppStack) {
	v, ok := r.written.Load(stack.UID)
	if !ok {
		return
	}
	w := v.(writtenStatus)
	if ssa.OlderResourceVersion(stack.ResourceVersion, w.resourceVersion) {
		stack.Status = *w.status.DeepCopy()
	}
}

func (r *AppStackReconciler) recordReadyTransition(before, after *appstackv1.AppStack) {
	old := meta.FindStatusCondition(before.Status.Conditions, appstackv1.ConditionReady)
	cur := meta.FindStatusCondition(after.Status.Conditions, appstackv1.ConditionReady)
	if cur == nil || (old != nil && old.Status == cur.Status && old.Reason == cur.Reason) {
		return
	}
	typ := corev1.EventTypeWarning
	if cur.Status == metav1.ConditionTrue || cur.Reason == appstackv1.ReasonProgressing {
		typ = corev1.EventTypeNormal
	}
	r.Recorder.Eventf(after, nil, typ, cur.Reason, "Reconcile", "%s", cur.Message)
}

// recordComponentTransitions records an event for each component whose phase or
// reason changed: Normal when it became Ready or is progressing, Warning with the
// cause otherwise.
func (r *AppStackReconciler) recordComponentTransitions(before, after *appstackv1.AppStack) {
	old := map[string]appstackv1.ComponentStatus{}
	for _, c := range before.Status.Components {
		old[c.Name] = c
	}
	for _, c := range after.Status.Components {
		if o, ok := old[c.Name]; ok && o.Phase == c.Phase && o.Reason == c.Reason {
			continue
		}
		switch {
		case c.Phase == appstackv1.PhaseReady:
			r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "ComponentReady", "Status", "component %s is Ready", c.Name)
		case c.Phase == appstackv1.PhaseFailed || (c.Reason != "" && c.Reason != status.ReasonProgressing && c.Reason != status.ReasonWaiting):
			r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, c.Reason, "Status", "component %s: %s", c.Name, c.Message)
		case c.Phase == appstackv1.PhaseWaiting:
			r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "DependencyWaiting", "Status", "component %s: %s", c.Name, c.Message)
		}
	}
}
