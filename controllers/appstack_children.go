package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/appstack-dev/appstack-operator/internal/render"
)

// prunableLists are the kinds of namespaced children a stack can have, as lists to
// find them by the stack's label.
func prunableLists() []client.ObjectList {
	return []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}}
}

// reconcileChildren applies every desired child after the namespace, each with a
// controller reference to the stack. Failures are collected, not fatal: one bad
// object does not hold back the others.
func (r *AppStackReconciler) reconcileChildren(ctx context.Context, s *scope) error {
	var errs []error
	for _, obj := range s.desired[1:] {
		if err := controllerutil.SetControllerReference(s.stack, obj, r.Client.Scheme()); err != nil {
			return err
		}
		sent, err := r.applier.Apply(ctx, obj)
		if err != nil {
			errs = append(errs, &applyError{kind: obj.GetObjectKind().GroupVersionKind().Kind, name: obj.GetName(), err: err})
			continue
		}
		if sent {
			logf.FromContext(ctx).V(1).Info("applied", "kind", obj.GetObjectKind().GroupVersionKind().Kind,
				"namespace", obj.GetNamespace(), "name", obj.GetName())
		}
	}
	return kerrors.NewAggregate(errs)
}

// pruneChildren deletes children that are labelled with the stack and controlled by
// it but no longer desired. It runs only after every apply of the pass succeeded
// (the driver stops at the first failing phase), so a half-applied spec never
// removes what still works.
func (r *AppStackReconciler) pruneChildren(ctx context.Context, s *scope) error {
	want := map[string]bool{}
	for _, obj := range s.desired {
		want[childKey(obj)] = true
	}
	var errs []error
	for _, list := range prunableLists() {
		if err := r.Client.List(ctx, list, client.InNamespace(s.namespace),
			client.MatchingLabels{render.LabelStack: s.stack.Name}); err != nil {
			return fmt.Errorf("list children to prune: %w", err)
		}
		items, err := r.listItems(list)
		if err != nil {
			return err
		}
		for _, obj := range items {
			if want[childKey(obj)] || !metav1.IsControlledBy(obj, s.stack) {
				continue
			}
			kind := obj.GetObjectKind().GroupVersionKind().Kind
			if err := r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("prune %s %s/%s: %w", kind, obj.GetNamespace(), obj.GetName(), err))
				continue
			}
			r.applier.Forget(obj)
			logf.FromContext(ctx).Info("pruned", "kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName())
			r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "Pruned", "Prune",
				"deleted %s %s/%s: no longer in the spec", kind, obj.GetNamespace(), obj.GetName())
		}
	}
	return kerrors.NewAggregate(errs)
}

// listItems returns the items of a list with their apiVersion and kind set (typed
// lists from the cache leave them empty).
func (r *AppStackReconciler) listItems(list client.ObjectList) ([]client.Object, error) {
	objs, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(objs))
	for _, o := range objs {
		obj := o.(client.Object)
		gvk, err := apiutil.GVKForObject(obj, r.Client.Scheme())
		if err != nil {
			return nil, err
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		out = append(out, obj)
	}
	return out, nil
}

func childKey(obj client.Object) string {
	return obj.GetObjectKind().GroupVersionKind().Kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
}
