package controllers

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// deletionPoll is how often a deleting stack checks that the components deleted so
// far are gone before it deletes their dependencies.
const deletionPoll = time.Second

// reconcileDelete takes a stack apart (DESIGN §3.9): components in reverse
// dependency order — dependents first, each level only once the previous one is
// gone — then configs and unretained claims; retained claims are labelled and kept,
// and so is a namespace that still holds one; an adopted namespace is handed back.
// Only then is the finalizer removed. A stack deleted while the operator was down
// is finished the same way when it comes back.
func (r *AppStackReconciler) reconcileDelete(ctx context.Context, stack *appstackv1.AppStack) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(stack, appstackv1.Finalizer) {
		return ctrl.Result{}, nil
	}
	s := &scope{stack: stack, namespace: render.NamespaceName(stack)}
	for _, level := range render.DeletionOrder(stack) {
		remaining, err := r.deleteComponents(ctx, s, level)
		if err != nil {
			return ctrl.Result{}, err
		}
		if remaining > 0 {
			return ctrl.Result{RequeueAfter: deletionPoll}, nil
		}
	}
	// Whatever else carries the stack's label: configs, claims, objects of
	// components that are no longer in the spec.
	remaining, err := r.deleteComponents(ctx, s, nil)
	if err != nil {
		return ctrl.Result{}, err
	}
	if remaining > 0 {
		return ctrl.Result{RequeueAfter: deletionPoll}, nil
	}
	if err := r.releaseNamespace(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(stack.DeepCopy())
	controllerutil.RemoveFinalizer(stack, appstackv1.Finalizer)
	if err := r.Client.Patch(ctx, stack, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	forgetStack(stack.Name)
	r.mem.Delete(stack.UID)
	logf.FromContext(ctx).Info("stack deleted", "namespace", s.namespace)
	return ctrl.Result{}, nil
}

// deleteComponents deletes the children of the named components (all children
// when names is nil) and reports how many still exist. Claims follow their retain
// policy: a retained claim is labelled and left alone.
func (r *AppStackReconciler) deleteComponents(ctx context.Context, s *scope, names []string) (int, error) {
	children, err := r.children(ctx, s)
	if err != nil {
		return 0, fmt.Errorf("list children to delete: %w", err)
	}
	remaining := 0
	for _, obj := range children {
		if names != nil && !slices.Contains(names, obj.GetLabels()[render.LabelComponent]) {
			continue
		}
		if !metav1.IsControlledBy(obj, s.stack) {
			// A retained volume's claim is labelled and kept (prune does that); a pod
			// of a ReplicaSet or a Job of a CronJob goes with its owner.
			if _, stackVolume := obj.GetLabels()[render.LabelVolume]; stackVolume {
				if err := r.pruneOne(ctx, s, obj, whyDeleted); err != nil {
					return 0, err
				}
			}
			continue
		}
		remaining++
		if obj.GetDeletionTimestamp() != nil {
			continue
		}
		if err := r.pruneOne(ctx, s, obj, whyDeleted); err != nil {
			return 0, err
		}
	}
	return remaining, nil
}

// releaseNamespace deletes the namespace the stack created unless a retained claim
// is still in it; such a namespace, and one the stack adopted, is kept and no
// longer owned. An adopted namespace without retained data loses the stack's label,
// so another stack may use it.
func (r *AppStackReconciler) releaseNamespace(ctx context.Context, s *scope) error {
	ns := &corev1.Namespace{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: s.namespace}, ns); err != nil {
		return client.IgnoreNotFound(err)
	}
	if ns.Labels[render.LabelStack] != s.stack.Name {
		return nil // someone else's: never touched
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.Client.List(ctx, claims, client.InNamespace(s.namespace),
		client.MatchingLabels{render.LabelStack: s.stack.Name, render.LabelRetained: "true"}); err != nil {
		return fmt.Errorf("list retained claims: %w", err)
	}
	owned := metav1.IsControlledBy(ns, s.stack)
	switch {
	case owned && len(claims.Items) == 0:
		if err := r.Client.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", s.namespace, err)
		}
		return nil
	case owned:
		// Keep it, and its label, so the same stack applied again re-adopts the data.
		patch := []byte(`{"metadata":{"ownerReferences":null}}`)
		if err := r.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("keep namespace %s for its retained claims: %w", s.namespace, err)
		}
		r.Recorder.Eventf(s.stack, ns, corev1.EventTypeNormal, "Retained", "Delete",
			"kept namespace %s: it holds %d retained PersistentVolumeClaim(s)", s.namespace, len(claims.Items))
		return nil
	case len(claims.Items) == 0:
		patch := []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:null,%q:null,%q:null}}}`,
			render.LabelStack, render.LabelInstance, render.LabelManagedBy))
		if err := r.Client.Patch(ctx, ns, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("release adopted namespace %s: %w", s.namespace, err)
		}
	}
	return nil
}
