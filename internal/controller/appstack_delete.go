package controller

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// reconcileDelete takes a stack apart (docs/ownership.md) as plan.PlanDeletion
// and plan.ReleaseNamespace decide: the objects of its inventory, components in
// reverse dependency order — dependents first, each level only once the previous
// one is gone — then configs and unretained claims, each deleted only while it is
// still the object the stack created. Retained claims, including a StatefulSet's
// claims from retained templates, are labelled and kept; so is a namespace that
// still holds any claim (counted on a live read); an adopted namespace gets back
// the labels and annotations it had. Only then is the finalizer removed. A stack
// deleted while the operator was down is finished the same way when it comes back.
func (r *AppStackReconciler) reconcileDelete(ctx context.Context, s *scope) (ctrl.Result, error) {
	stack := s.stack
	if !controllerutil.ContainsFinalizer(stack, appstackv1.Finalizer) {
		return ctrl.Result{}, nil
	}
	before := stack.DeepCopy()
	if controllerutil.ContainsFinalizer(stack, metav1.FinalizerOrphanDependents) {
		// kubectl delete --cascade=orphan: the garbage collector takes the stack's
		// owner reference off every child, then this finalizer. Until it has,
		// nothing can tell an orphaned child from one to delete.
		return r.waitForDeletion(ctx, s, before,
			[]string{"the garbage collector to orphan the stack's objects (--cascade=orphan)"})
	}
	waitingFor, left, err := r.deleteChildren(ctx, s)
	if err == nil && len(waitingFor) == 0 {
		waitingFor, err = r.releaseNamespace(ctx, s, left)
	}
	if err != nil {
		recordDeleteFailed(err)
		return ctrl.Result{}, err
	}
	if len(waitingFor) > 0 {
		return r.waitForDeletion(ctx, s, before, waitingFor)
	}
	patch := client.MergeFrom(stack.DeepCopy())
	controllerutil.RemoveFinalizer(stack, appstackv1.Finalizer)
	if err := r.Client.Patch(ctx, stack, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	logf.FromContext(ctx).Info("stack deleted", "namespace", s.namespace)
	return ctrl.Result{}, nil
}

// waitForDeletion says in the status which child the deletion waits for — in an
// event too when that is news — and looks again after plan.DeletionWaiting's
// backoff.
func (r *AppStackReconciler) waitForDeletion(
	ctx context.Context, s *scope, before *appstackv1.AppStack, waitingFor []string,
) (ctrl.Result, error) {
	now := r.now()
	w := plan.DeletionWaiting(before, waitingFor, now)
	if w.Event {
		r.Recorder.Eventf(s.stack, nil, corev1.EventTypeNormal, appstackv1.ReasonDeleting, "Delete", "%s", w.Message)
	}
	s.stack.Status.Summary = w.Message
	status.SetReady(&s.stack.Status.Conditions, s.stack.Generation, metav1.ConditionFalse, appstackv1.ReasonDeleting,
		w.Message, now)
	status.Progress(&s.stack.Status, s.stack.Generation, now)
	if err := r.patchStatus(ctx, before, s.stack); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: w.After}, nil
}

// deleteChildren carries out the deletion plan of the stack's children, level by
// level, and returns the objects still on their way out and those left in place
// (an orphan deletion took the stack's reference off them).
func (r *AppStackReconciler) deleteChildren(ctx context.Context, s *scope) (waiting, left []string, err error) {
	labelled, err := r.children(ctx, s)
	if err != nil {
		return nil, nil, fmt.Errorf("list the stack's objects to delete: %w", err)
	}
	d := plan.PlanDeletion(s.stack, labelled)
	inv := plan.NewInventoryBuilder(d.Inventory)
	defer func() { s.stack.Status.Inventory = inv.List() }()
	for _, level := range d.Levels {
		waiting, err = r.deleteLevel(ctx, s, inv, level, &left)
		if err != nil || len(waiting) > 0 {
			return waiting, left, err
		}
	}
	for _, claim := range d.KeepClaims {
		if err := r.retainClaim(ctx, s, claim, whyDeleted); err != nil {
			return nil, left, err
		}
	}
	return nil, left, r.deleteRevisions(ctx, d.Revisions)
}

// deleteLevel carries out one level of the deletion and returns what it waits
// for; the objects it leaves in place are added to left.
func (r *AppStackReconciler) deleteLevel(
	ctx context.Context, s *scope, inv *plan.InventoryBuilder, level plan.DeletionLevel, left *[]string,
) ([]string, error) {
	var waiting []string
	for _, item := range level.Items {
		e := item.Entry
		switch item.Action {
		case plan.DeletionDrop:
			inv.Drop(plan.EntryKey(e))
		case plan.DeletionRetain:
			if err := r.retainClaim(ctx, s, item.Object, whyDeleted); err != nil {
				return nil, err
			}
			inv.Drop(plan.EntryKey(e))
		case plan.DeletionWait:
			waiting = append(waiting, item.Waiting)
		case plan.DeletionLeave:
			*left = append(*left, plan.EntryKey(e).String())
		case plan.DeletionDelete:
			orphaned, err := r.orphaned(ctx, s.stack, e)
			if err != nil {
				return nil, err
			}
			if orphaned {
				// kubectl delete --cascade=orphan took the stack's reference off it
				// after the cache saw it: the user asked for it to stay. It stays in
				// the inventory, and keeps the namespace (releaseNamespace).
				*left = append(*left, plan.EntryKey(e).String())
				continue
			}
			if err := r.prune(ctx, s, inv, []plan.Prune{{Entry: e}}, whyDeleted); err != nil {
				return nil, err
			}
			inv.Add(e) // deleted, but not gone yet
			waiting = append(waiting, item.Waiting)
		}
	}
	return waiting, nil
}

// deleteRevisions deletes the stack's history, here rather than through the
// garbage collector: once the CRD itself is deleted, the collector can no longer
// look the owner up, and revisions in a namespace kept for its claims would stay
// there for good.
func (r *AppStackReconciler) deleteRevisions(ctx context.Context, revisions []client.Object) error {
	for _, obj := range revisions {
		uid := obj.GetUID()
		err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete revision %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// orphaned tells whether an inventory member the cache shows with the stack's
// controller reference no longer carries it on the apiserver — a deletion with
// --cascade=orphan took it off, and the cache may not show the garbage collector's
// update yet. It is read just before the delete, a safety check at write time.
func (r *AppStackReconciler) orphaned(
	ctx context.Context, stack *appstackv1.AppStack, e appstackv1.InventoryEntry,
) (bool, error) {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(schema.FromAPIVersionAndKind(e.APIVersion, e.Kind))
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil // gone: the delete finds it so
	case err != nil:
		return false, fmt.Errorf("read %s before deleting it: %w", plan.EntryKey(e), err)
	}
	return live.UID == e.UID && !metav1.IsControlledBy(live, stack), nil
}

// releaseNamespace lets go of the stack's namespace as plan.ReleaseNamespace
// decides, from the namespace and the claims in it read from the apiserver —
// never from a cache that may lag — and the StatefulSets that control those
// claims. It returns the claims it waits for: those a StatefulSet's garbage
// collection is about to delete.
func (r *AppStackReconciler) releaseNamespace(ctx context.Context, s *scope, left []string) ([]string, error) {
	o := plan.ReleaseObserved{Stack: s.stack, Inventory: s.stack.Status.Inventory, Left: left,
		StatefulSets: map[string]*appsv1.StatefulSet{}}
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: s.namespace}, ns); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(plan.KindNamespace))
	o.Namespace = ns
	if plan.Owned(o.Inventory, ns, s.stack) {
		if err := r.readClaims(ctx, s.namespace, &o); err != nil {
			return nil, err
		}
	}
	release, err := plan.ReleaseNamespace(o)
	if err != nil {
		return nil, err
	}
	switch release.Action {
	case plan.ReleaseWait:
		return release.Waiting, nil
	case plan.ReleaseDelete:
		uid := ns.UID
		if err := r.Client.Delete(ctx, ns, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete namespace %s: %w", s.namespace, err)
		}
	case plan.ReleaseRestore:
		if err := r.Client.Patch(ctx, release.Namespace, client.MergeFrom(ns)); err != nil {
			return nil, fmt.Errorf("give adopted namespace %s back its labels and annotations: %w", ns.Name, err)
		}
		logf.FromContext(ctx).Info("released adopted namespace", "namespace", ns.Name)
	case plan.ReleaseKeep:
		return nil, r.keepNamespace(ctx, s, ns, release)
	}
	return nil, nil
}

// readClaims reads every claim in the namespace and the StatefulSets that control
// them, from the apiserver. A StatefulSet that cannot be read is left out: its
// claims are kept.
func (r *AppStackReconciler) readClaims(ctx context.Context, namespace string, o *plan.ReleaseObserved) error {
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.APIReader.List(ctx, claims, client.InNamespace(namespace)); err != nil {
		return fmt.Errorf("list the claims in namespace %s before deleting it: %w", namespace, err)
	}
	o.Claims = claims.Items
	for i := range claims.Items {
		name := plan.StatefulSetOf(&claims.Items[i])
		if _, read := o.StatefulSets[name]; name == "" || read || claims.Items[i].DeletionTimestamp != nil {
			continue
		}
		sts := &appsv1.StatefulSet{}
		err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sts)
		switch {
		case apierrors.IsNotFound(err):
			o.StatefulSets[name] = nil
		case err == nil:
			o.StatefulSets[name] = sts
		}
	}
	return nil
}

// keepNamespace keeps the namespace the stack created for what stays in it, with
// the stack's label, so that the same stack applied again takes it and the data
// back, and says so in events.
func (r *AppStackReconciler) keepNamespace(
	ctx context.Context, s *scope, ns *corev1.Namespace, release plan.Release,
) error {
	if err := r.Client.Patch(ctx, release.Namespace, client.MergeFrom(ns)); err != nil {
		return fmt.Errorf("keep namespace %s for its claims: %w", s.namespace, err)
	}
	if kept := release.KeptClaims; len(kept) > 0 {
		r.Recorder.Eventf(s.stack, release.Namespace, corev1.EventTypeNormal, "Retained", "Delete",
			"kept namespace %s: it holds %d PersistentVolumeClaim(s): %s", s.namespace, len(kept), strings.Join(kept, ", "))
	}
	if left := release.Left; len(left) > 0 {
		r.Recorder.Eventf(s.stack, release.Namespace, corev1.EventTypeNormal, "Retained", "Delete",
			"kept namespace %s: it holds %d object(s) the deletion left (--cascade=orphan): %s",
			s.namespace, len(left), strings.Join(left, ", "))
	}
	return nil
}
