package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// act carries out the pass's plan: replica hand-overs, the namespace, the claims
// taken back, then everything a workload uses or sits behind (configs, claims,
// Services, Ingress, autoscaler, disruption budget) at once, then the workloads
// whose dependencies are Ready with the revision that records the spec. Only when
// every apply succeeded and no name is taken by someone else's object does it
// prune, keep orphaned StatefulSet claims, and trim old revisions: a half-applied
// spec never removes what still works.
func (r *AppStackReconciler) act(ctx context.Context, s *scope) error {
	inv := plan.NewInventoryBuilder(s.plan.Inventory)
	defer func() { s.done.inventory = inv.List() }()
	p := s.plan
	for _, h := range p.Handovers {
		if err := r.handOver(ctx, h); err != nil {
			return err
		}
	}
	if p.CreateNamespace {
		if err := r.createNamespace(ctx, s, inv, p.Namespace); err != nil {
			return err
		}
	} else if err := r.applyAll(ctx, s, inv, []client.Object{p.Namespace}); err != nil {
		return err
	}
	for _, obj := range p.Readopt {
		if err := r.takeBack(ctx, s, obj); err != nil {
			return err
		}
	}
	if err := r.applyAll(ctx, s, inv, p.Shared); err != nil {
		return err
	}
	// The revision is history, not a desired object: owned by the stack, never in
	// its inventory (trimRevisions keeps revisionHistoryLimit of them).
	if err := controllerutil.SetControllerReference(s.stack, s.history.rev, r.Client.Scheme()); err != nil {
		return err
	}
	if err := r.applyAll(ctx, s, inv, append(p.Workloads, s.history.rev)); err != nil {
		return err
	}
	if len(p.Conflicts) > 0 {
		return nil
	}
	if err := r.prune(ctx, s, inv, p.Prune, whyPruned); err != nil {
		return err
	}
	if err := r.keep(ctx, s, p.Keep, whyPruned); err != nil {
		return err
	}
	return r.trimRevisions(ctx, s)
}

// applyAll applies objs at once and records in the inventory what they are.
func (r *AppStackReconciler) applyAll(
	ctx context.Context, s *scope, inv *plan.InventoryBuilder, objs []client.Object,
) error {
	return each(objs, func(obj client.Object) error {
		if err := r.apply(ctx, s, obj); err != nil {
			return err
		}
		inv.Record(obj, s.stack)
		return nil
	})
}

// errNamespaceTaken: the stack's namespace was created by someone else between
// this pass's read and its create.
var errNamespaceTaken = errors.New("namespace taken")

// createNamespace creates the stack's namespace. Of two stacks that name one new
// namespace at once, one create succeeds and the other gets AlreadyExists: that
// stack touches nothing (errNamespaceTaken) and its next pass reports whose
// namespace it is.
func (r *AppStackReconciler) createNamespace(
	ctx context.Context, s *scope, inv *plan.InventoryBuilder, ns client.Object,
) error {
	err := r.applier.Create(ctx, ns)
	switch {
	case apierrors.IsAlreadyExists(err):
		return errNamespaceTaken
	case err != nil:
		return &status.ApplyError{Kind: plan.KindNamespace, Name: ns.GetName(), Err: err}
	}
	inv.Record(ns, s.stack)
	logf.FromContext(ctx).Info("created namespace", "namespace", ns.GetName())
	return nil
}

// takeBack takes back a retained namespace or claim: it drops the retained label.
// One that another stack (an earlier stack of this name) kept is said in an event
// naming that stack's UID, so a take-back of data is never silent.
func (r *AppStackReconciler) takeBack(ctx context.Context, s *scope, obj client.Object) error {
	key := plan.KeyOf(obj)
	// Read before the label patch, whose answer shows the namespace as this pass
	// already applied it.
	prev := obj.GetAnnotations()[render.AnnotationStackUID]
	if obj.GetLabels()[render.LabelRetained] != "" {
		if err := r.setLabel(ctx, obj, render.LabelRetained, ""); err != nil {
			return fmt.Errorf("take back %s: %w", key, err)
		}
	}
	if prev != "" && prev != string(s.stack.UID) {
		r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "TookBack", "TakeBack",
			"took back %s and its data, kept by an earlier stack %s (uid %s)", key, s.stack.Name, prev)
	}
	logf.FromContext(ctx).Info("took back a retained object",
		"object", key.String(), "keptBy", prev)
	return nil
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

// apply applies one object the plan found to be the stack's (or absent).
func (r *AppStackReconciler) apply(ctx context.Context, s *scope, obj client.Object) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	res, err := r.applier.ApplyResult(ctx, obj)
	if ssa.Replaceable(kind) && ssa.Immutable(err) {
		return r.replace(ctx, s, obj, err)
	}
	if err != nil {
		return &status.ApplyError{Kind: kind, Name: obj.GetName(), Err: err}
	}
	switch {
	case res.Restored || (res.Created && recorded(s.stack, obj)):
		recordDriftCorrection(kind)
		logf.FromContext(ctx).Info("restored a child someone else changed or deleted",
			"kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName())
	case res.Sent:
		logf.FromContext(ctx).V(1).Info("applied", "kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName())
	}
	return nil
}

// recorded tells whether the stack's recorded inventory lists an object of obj's
// name: created again, it was deleted by someone else.
func recorded(stack *appstackv1.AppStack, obj client.Object) bool {
	k := plan.KeyOf(obj)
	return slices.ContainsFunc(stack.Status.Inventory,
		func(e appstackv1.InventoryEntry) bool { return plan.EntryKey(e) == k })
}

// replace deletes the stack's own object whose change the apiserver refused as
// immutable — only that object, by UID — and the deletion's event brings the stack
// back to create it anew.
func (r *AppStackReconciler) replace(ctx context.Context, s *scope, obj client.Object, cause error) error {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	live, err := r.liveObject(ctx, s, obj, s.plan.Inventory)
	if err != nil {
		return &status.ApplyError{Kind: kind, Name: obj.GetName(), Err: err}
	}
	if live == nil || !plan.Owned(s.plan.Inventory, live, s.stack) {
		return &status.ApplyError{Kind: kind, Name: obj.GetName(), Err: cause}
	}
	if s.done.replaced != nil {
		s.done.replaced[plan.KeyOf(obj)] = cause
	}
	uid := live.GetUID()
	if err := r.Client.Delete(ctx, live, client.Preconditions{UID: &uid},
		client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return &status.ApplyError{Kind: kind, Name: obj.GetName(), Err: fmt.Errorf("replace after %v: %w", cause, err)}
	}
	logf.FromContext(ctx).Info("replacing: the change cannot be made in place",
		"kind", kind, "namespace", obj.GetNamespace(), "name", obj.GetName(), "reason", ssa.APIMessage(cause))
	r.Recorder.Eventf(s.stack, obj, corev1.EventTypeNormal, "Replaced", "Apply",
		"deleted %s %s/%s to create it again: the change cannot be made in place", kind, obj.GetNamespace(), obj.GetName())
	return nil
}

// handOver makes HandoverManager an owner of a workload's replica count at no less
// than it is now, so that the apply that stops setting it does not reset it.
func (r *AppStackReconciler) handOver(ctx context.Context, h plan.Handover) error {
	gvk := h.Object.GetObjectKind().GroupVersionKind()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(h.Object.GetNamespace())
	u.SetName(h.Object.GetName())
	if err := unstructured.SetNestedField(u.Object, int64(h.Replicas), "spec", "replicas"); err != nil {
		return err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(plan.HandoverManager), client.ForceOwnership); err != nil {
		return &status.ApplyError{Kind: gvk.Kind, Name: h.Object.GetName(),
			Err: fmt.Errorf("hand the replica count over to the autoscaler: %w", err)}
	}
	logf.FromContext(ctx).Info("handed the replica count over to the autoscaler",
		"kind", gvk.Kind, "name", h.Object.GetName(), "replicas", h.Replicas)
	return nil
}

// Why a child is deleted, as events say it.
const (
	whyPruned  = "no longer in the spec"
	whyDeleted = "the stack is being deleted"
)

// prune deletes inventory members that are no longer wanted, each only if it is
// still the object the stack created (a UID precondition); a retained claim is
// labelled retained and leaves the inventory instead.
func (r *AppStackReconciler) prune(
	ctx context.Context, s *scope, inv *plan.InventoryBuilder, prunes []plan.Prune, why string,
) error {
	var errs []error
	for _, p := range prunes {
		e := p.Entry
		if p.Retain {
			claim := p.Object
			if claim == nil {
				// The cache does not show it: read it before deciding anything.
				live := &corev1.PersistentVolumeClaim{}
				err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: e.Namespace, Name: e.Name}, live)
				if apierrors.IsNotFound(err) || (err == nil && live.UID != e.UID) {
					inv.Drop(plan.EntryKey(e))
					continue
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("read claim %s/%s: %w", e.Namespace, e.Name, err))
					continue
				}
				claim = live
			}
			if err := r.retainClaim(ctx, s, claim, why); err != nil {
				errs = append(errs, err)
				continue
			}
			inv.Drop(plan.EntryKey(e))
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(e.APIVersion)
		u.SetKind(e.Kind)
		u.SetNamespace(e.Namespace)
		u.SetName(e.Name)
		uid := e.UID
		err := r.Client.Delete(ctx, u, client.Preconditions{UID: &uid},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone, or replaced by an object that is not the stack's: either way no
			// longer ours.
			inv.Drop(plan.EntryKey(e))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("prune %s: %w", plan.EntryKey(e), err))
			continue
		}
		inv.Drop(plan.EntryKey(e))
		logf.FromContext(ctx).Info("pruned", "kind", e.Kind, "namespace", e.Namespace, "name", e.Name)
		r.Recorder.Eventf(s.stack, u, corev1.EventTypeNormal, "Pruned", "Prune", "deleted %s: %s", plan.EntryKey(e), why)
	}
	return kerrors.NewAggregate(errs)
}

// keep labels StatefulSet claims retained whose component no longer uses them.
func (r *AppStackReconciler) keep(ctx context.Context, s *scope, claims []client.Object, why string) error {
	errs := make([]error, 0, len(claims))
	for _, c := range claims {
		errs = append(errs, r.retainClaim(ctx, s, c, why))
	}
	return kerrors.NewAggregate(errs)
}

// retainClaim keeps a claim and its data (plan.MarkRetained), unless it is kept
// already.
func (r *AppStackReconciler) retainClaim(ctx context.Context, s *scope, claim client.Object, why string) error {
	owned := slices.ContainsFunc(claim.GetOwnerReferences(),
		func(o metav1.OwnerReference) bool { return o.UID == s.stack.UID })
	if claim.GetLabels()[render.LabelRetained] == render.LabelRetainedValue && !owned {
		return nil
	}
	base := claim.DeepCopyObject().(client.Object)
	plan.MarkRetained(claim, s.stack)
	if err := r.Client.Patch(ctx, claim, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("label retained claim %s/%s: %w", claim.GetNamespace(), claim.GetName(), err)
	}
	r.Recorder.Eventf(s.stack, claim, corev1.EventTypeNormal, "Retained", "Prune",
		"kept PersistentVolumeClaim %s/%s and its data (%s): the volume is retained",
		claim.GetNamespace(), claim.GetName(), why)
	return nil
}

// setLabel sets (value "" removes) one label of a live object with a merge patch
// computed from the typed object.
func (r *AppStackReconciler) setLabel(ctx context.Context, obj client.Object, key, value string) error {
	base := obj.DeepCopyObject().(client.Object)
	labels := maps.Clone(obj.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	if value == "" {
		delete(labels, key)
	} else {
		labels[key] = value
	}
	obj.SetLabels(labels)
	return r.Client.Patch(ctx, obj, client.MergeFrom(base))
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
		// The operator's cache holds only what carries its managed-by label; the
		// selector says so for a client that reads past a cache (Preview).
		if err := r.Client.List(ctx, list, client.InNamespace(s.namespace), client.MatchingLabels{
			render.LabelStack: s.stack.Name, render.LabelManagedBy: render.ManagedBy,
		}); err != nil {
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
