package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// reconcileShared applies, all at once, the stack's configs and volumes and each
// component's Services, Ingress, autoscaler and disruption budget: everything a
// workload's pods use or sit behind, so that none starts without it. A volume's
// claim is owned by the stack only when it is not retained, so that the garbage
// collector can never take a retained claim's data with the stack (DESIGN §3.5).
func (r *AppStackReconciler) reconcileShared(ctx context.Context, s *scope) error {
	objs := slices.Clone(s.desired.Shared)
	for _, co := range s.desired.Components {
		objs = append(objs, co.Supporting...)
	}
	return each(objs, func(obj client.Object) error {
		pvc, ok := obj.(*corev1.PersistentVolumeClaim)
		if !ok {
			return r.apply(ctx, s, obj, true)
		}
		v := stackVolume(s.stack, pvc.Name)
		if err := r.readopt(ctx, pvc); err != nil {
			return err
		}
		return r.apply(ctx, s, obj, v != nil && !render.Retains(v))
	})
}

// reconcileWorkloads applies, all at once, each component's workload whose
// dependencies are all Ready (DESIGN §3.6), and the ControllerRevision that
// records the spec; that revision becomes status.revision only once the whole
// pass has succeeded (trimRevisions).
func (r *AppStackReconciler) reconcileWorkloads(ctx context.Context, s *scope) error {
	s.waiting = map[string][]string{}
	var objs []client.Object
	for _, co := range s.desired.Components {
		c := render.Component(s.stack, co.Name)
		var notReady []string
		for _, dep := range c.DependsOn {
			if st := r.componentStatus(ctx, s, render.Component(s.stack, dep)); st.Phase != appstackv1.PhaseReady {
				notReady = append(notReady, dep)
			}
		}
		if len(notReady) > 0 {
			s.waiting[co.Name] = notReady
			continue
		}
		objs = append(objs, co.Workload)
	}
	if err := r.planRevision(ctx, s); err != nil {
		return err
	}
	return each(append(objs, s.rev), func(obj client.Object) error { return r.apply(ctx, s, obj, true) })
}

// each runs f for every object concurrently — the objects of one phase do not
// depend on each other, and a pass that creates a stack then takes a few round
// trips instead of one per object; the client's QPS limit still paces the
// requests — and returns the errors in the objects' order.
func each(objs []client.Object, f func(client.Object) error) error {
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	for i, obj := range objs {
		wg.Go(func() { errs[i] = f(obj) })
	}
	wg.Wait()
	return kerrors.NewAggregate(errs)
}

// apply applies one child, with a controller reference to the stack when owned.
func (r *AppStackReconciler) apply(ctx context.Context, s *scope, obj client.Object, owned bool) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if owned {
		if err := controllerutil.SetControllerReference(s.stack, obj, r.Client.Scheme()); err != nil {
			return err
		}
	}
	sent, err := r.applier.Apply(ctx, obj)
	if apierrors.IsInvalid(err) && replaceable[kind] {
		return r.replace(ctx, s, obj, err)
	}
	if err != nil {
		return &applyError{kind: kind, name: obj.GetName(), err: err}
	}
	if sent {
		logf.FromContext(ctx).V(1).Info("applied", "kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName())
	}
	return nil
}

// replaceable kinds are deleted and created again when a change cannot be applied
// in place (a bare Pod's spec, a Job's pod template, a Service switching to or from
// headless): nothing of value lives in them. StatefulSets and claims are never
// replaced; see checkUnsafeChanges.
var replaceable = map[string]bool{"Pod": true, "Job": true, "Service": true}

// replace deletes a child whose change the apiserver refused as immutable; the
// deletion event brings the stack back, and the next pass creates it anew.
func (r *AppStackReconciler) replace(ctx context.Context, s *scope, obj client.Object, cause error) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	live := obj.DeepCopyObject().(client.Object)
	if err := r.Client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return &applyError{kind: kind, name: obj.GetName(), err: fmt.Errorf("replace after %v: %w", cause, err)}
	}
	r.applier.Forget(obj)
	logf.FromContext(ctx).Info("replacing: the change cannot be made in place", "kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName(), "reason", apiMessage(cause))
	r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "Replaced", "Apply",
		"deleted %s %s/%s to create it again: the change cannot be made in place", kind, obj.GetNamespace(), obj.GetName())
	return nil
}

// readopt takes back a claim that a deleted volume entry or stack left behind:
// it drops the retained label the prune phase put on it.
func (r *AppStackReconciler) readopt(ctx context.Context, pvc *corev1.PersistentVolumeClaim) error {
	live := &corev1.PersistentVolumeClaim{}
	if err := r.Client.Get(ctx, client.ObjectKeyFromObject(pvc), live); err != nil {
		return client.IgnoreNotFound(err)
	}
	if _, ok := live.Labels[render.LabelRetained]; !ok {
		return nil
	}
	patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, render.LabelRetained))
	if err := r.Client.Patch(ctx, live, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("re-adopt PersistentVolumeClaim %s/%s: %w", live.Namespace, live.Name, err)
	}
	logf.FromContext(ctx).Info("re-adopted retained claim", "namespace", live.Namespace, "name", live.Name)
	return nil
}

// pruneChildren removes children that carry the stack's label but are no longer
// desired. It runs only after every apply of the pass succeeded (the driver stops
// at the first failing phase), so a half-applied spec never removes what still
// works. Owned children are deleted; a retained claim is only labelled retained.
func (r *AppStackReconciler) pruneChildren(ctx context.Context, s *scope) error {
	want := map[string]bool{}
	for _, obj := range s.desired.Objects() {
		want[childKey(obj)] = true
	}
	children, err := r.children(ctx, s)
	if err != nil {
		return fmt.Errorf("list children to prune: %w", err)
	}
	var errs []error
	for _, obj := range children {
		// Revisions are history, kept by reconcileRevision, not desired state.
		if want[childKey(obj)] || obj.GetObjectKind().GroupVersionKind().Kind == "ControllerRevision" {
			continue
		}
		if err := r.pruneOne(ctx, s, obj, whyPruned); err != nil {
			errs = append(errs, err)
		}
	}
	return kerrors.NewAggregate(errs)
}

// Why a child is deleted, as events say it.
const (
	whyPruned  = "no longer in the spec"
	whyDeleted = "the stack is being deleted"
)

func (r *AppStackReconciler) pruneOne(ctx context.Context, s *scope, obj client.Object, why string) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	// A stack volume's claim that the stack does not own is retained: keep it.
	// (Claims of a StatefulSet's templates follow its claim retention policy.)
	if _, stackVolume := obj.GetLabels()[render.LabelVolume]; stackVolume && !metav1.IsControlledBy(obj, s.stack) {
		if _, done := obj.GetLabels()[render.LabelRetained]; done {
			return nil
		}
		patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:"true"}}}`, render.LabelRetained))
		if err := r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("label retained claim %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "Retained", "Prune",
			"kept PersistentVolumeClaim %s/%s and its data (%s): the volume is retained", obj.GetNamespace(), obj.GetName(), why)
		return nil
	}
	if !metav1.IsControlledBy(obj, s.stack) {
		return nil
	}
	if err := r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("prune %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	r.applier.Forget(obj)
	logf.FromContext(ctx).Info("pruned", "kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName())
	r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "Pruned", "Prune",
		"deleted %s %s/%s: %s", kind, obj.GetNamespace(), obj.GetName(), why)
	return nil
}

func stackVolume(stack *appstackv1.AppStack, name string) *appstackv1.StackVolume {
	for i := range stack.Spec.Volumes {
		if stack.Spec.Volumes[i].Name == name {
			return &stack.Spec.Volumes[i]
		}
	}
	return nil
}

// children lists the objects of every owned kind in the stack's namespace that
// carry the stack's label, with their apiVersion and kind set (typed lists from the
// cache leave them empty).
func (r *AppStackReconciler) children(ctx context.Context, s *scope) ([]client.Object, error) {
	scheme := r.Client.Scheme()
	var out []client.Object
	for _, kind := range ownedKinds() {
		gvk, err := apiutil.GVKForObject(kind, scheme)
		if err != nil {
			return nil, err
		}
		o, err := scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err != nil {
			return nil, err
		}
		list := o.(client.ObjectList)
		if err := r.Client.List(ctx, list, client.InNamespace(s.namespace),
			client.MatchingLabels{render.LabelStack: s.stack.Name}); err != nil {
			return nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			obj := item.(client.Object)
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			out = append(out, obj)
		}
	}
	return out, nil
}

func childKey(obj client.Object) string {
	return obj.GetObjectKind().GroupVersionKind().Kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
}
