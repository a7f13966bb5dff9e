package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// A deleting stack whose children are slow to go looks again after a backoff that
// doubles up to maxDeletionBackoff while it waits on the same child; each child's
// deletion event brings it back sooner.
const (
	minDeletionBackoff = time.Second
	maxDeletionBackoff = 30 * time.Second
)

// reconcileDelete takes a stack apart (docs/ownership.md): the objects of its
// inventory, components in reverse dependency order — dependents first, each level
// only once the previous one is gone — then configs and unretained claims, each
// deleted only while it is still the object the stack created. Retained claims,
// including a StatefulSet's claims from retained templates, are labelled and kept;
// so is a namespace that still holds any claim (counted on a live read); an adopted
// namespace gets back the labels and annotations it had. Only then is the
// finalizer removed. A stack deleted while the operator was down is finished the
// same way when it comes back.
func (r *AppStackReconciler) reconcileDelete(ctx context.Context, stack *appstackv1.AppStack) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(stack, appstackv1.Finalizer) {
		return ctrl.Result{}, nil
	}
	s := &scope{stack: stack, namespace: render.NamespaceName(stack)}
	before := stack.DeepCopy()
	if controllerutil.ContainsFinalizer(stack, metav1.FinalizerOrphanDependents) {
		// kubectl delete --cascade=orphan: the garbage collector takes the stack's
		// owner reference off every child, then this finalizer. Until it has,
		// nothing can tell an orphaned child from one to delete.
		return r.waitForDeletion(ctx, s, before,
			[]string{"the garbage collector to orphan the stack's objects (--cascade=orphan)"})
	}
	waitingFor, err := r.deleteChildren(ctx, s)
	if err == nil && len(waitingFor) == 0 {
		waitingFor, err = r.releaseNamespace(ctx, s)
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

// waitForDeletion says in the status and in an event which child the deletion
// waits for, and looks again after a backoff.
func (r *AppStackReconciler) waitForDeletion(
	ctx context.Context, s *scope, before *appstackv1.AppStack, waitingFor []string,
) (ctrl.Result, error) {
	msg := "deleting: waiting for " + strings.Join(waitingFor, ", ") + " to go"
	if msg != before.Status.Summary {
		r.Recorder.Eventf(s.stack, nil, corev1.EventTypeNormal, appstackv1.ReasonDeleting, "Delete", "%s", msg)
	}
	backoff := min(max(r.now().Sub(s.stack.DeletionTimestamp.Time)/4, minDeletionBackoff), maxDeletionBackoff)
	s.stack.Status.Summary = msg
	setReadyCondition(s.stack, metav1.ConditionFalse, appstackv1.ReasonDeleting, msg)
	if err := r.patchStatus(ctx, before, s.stack); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: backoff}, nil
}

// deleteChildren deletes the stack's inventory, level by level, and returns the
// objects still on their way out.
func (r *AppStackReconciler) deleteChildren(ctx context.Context, s *scope) ([]string, error) {
	labelled, err := r.children(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("list the stack's objects to delete: %w", err)
	}
	live := map[plan.Key]client.Object{}
	inv := plan.NewInventoryBuilder(s.stack.Status.Inventory)
	for _, obj := range labelled {
		live[plan.KeyOf(obj)] = obj
		// What the stack created but never recorded carries its controller reference.
		if metav1.IsControlledBy(obj, s.stack) && plan.KeyOf(obj).Kind != kindControllerRevision {
			inv.Add(plan.Entry(obj))
		}
	}
	defer func() { s.stack.Status.Inventory = inv.List() }()
	levels := append(render.DeletionOrder(s.stack), nil) // nil: everything not in a component
	inLevel := func(e appstackv1.InventoryEntry, level []string) bool {
		c := ""
		if obj := live[plan.EntryKey(e)]; obj != nil {
			c = obj.GetLabels()[render.LabelComponent]
		}
		if level == nil {
			return true
		}
		return c != "" && slices.Contains(level, c)
	}
	for _, level := range levels {
		var waiting []string
		for _, e := range inv.List() {
			if e.Kind == plan.KindNamespace || !inLevel(e, level) {
				continue
			}
			obj := live[plan.EntryKey(e)]
			switch {
			case obj == nil || obj.GetUID() != e.UID:
				inv.Drop(plan.EntryKey(e)) // gone, or someone else's now
			case e.Kind == plan.KindPersistentVolumeClaim && retained(s.stack, obj):
				if err := r.retainClaim(ctx, s, obj, whyDeleted); err != nil {
					return nil, err
				}
				inv.Drop(plan.EntryKey(e))
			case obj.GetDeletionTimestamp() != nil:
				waiting = append(waiting, describeWait(e, obj))
			default:
				left, err := r.orphaned(ctx, s.stack, e, obj)
				if err != nil {
					return nil, err
				}
				if left {
					// kubectl delete --cascade=orphan took the stack's reference
					// off it: the user asked for it to stay. It stays in the
					// inventory, and keeps the namespace (releaseNamespace).
					s.left = append(s.left, plan.EntryKey(e).String())
					continue
				}
				if err := r.prune(ctx, s, inv, []plan.Prune{{Entry: e}}, whyDeleted); err != nil {
					return nil, err
				}
				inv.Add(e) // deleted, but not gone yet
				waiting = append(waiting, describeWait(e, obj))
			}
		}
		if len(waiting) > 0 {
			return waiting, nil
		}
	}
	// A StatefulSet's claims from retained templates carry no owner: they stay, so
	// they are labelled like a retained stack volume and keep the namespace.
	for _, claim := range plan.TemplateClaims(s.stack.Name, labelled) {
		if len(claim.GetOwnerReferences()) == 0 && claim.GetDeletionTimestamp() == nil {
			if err := r.retainClaim(ctx, s, claim, whyDeleted); err != nil {
				return nil, err
			}
		}
	}
	return nil, r.deleteRevisions(ctx, s, labelled)
}

// deleteRevisions deletes the stack's history, here rather than through the
// garbage collector: once the CRD itself is deleted, the collector can no longer
// look the owner up, and revisions in a namespace kept for its claims would stay
// there for good.
func (r *AppStackReconciler) deleteRevisions(ctx context.Context, s *scope, labelled []client.Object) error {
	for _, obj := range labelled {
		revision := plan.KeyOf(obj).Kind == kindControllerRevision
		if !revision || !metav1.IsControlledBy(obj, s.stack) || obj.GetDeletionTimestamp() != nil {
			continue
		}
		uid := obj.GetUID()
		err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &uid})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete revision %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// orphaned tells whether an inventory member no longer carries the stack's
// controller reference — a deletion with --cascade=orphan took it off — read from
// the apiserver before it is deleted (the cache may not show the garbage
// collector's update yet). Such an object stays, and so does the namespace.
func (r *AppStackReconciler) orphaned(
	ctx context.Context, stack *appstackv1.AppStack, e appstackv1.InventoryEntry, cached client.Object,
) (bool, error) {
	if !metav1.IsControlledBy(cached, stack) {
		return true, nil
	}
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

// retained tells whether a claim of the stack's inventory outlives the stack: unless
// the stack controls it and its volume (if still in the spec) says retain: false.
// A retain flipped to true on a pass that never got to drop the owner reference
// is honoured here.
func retained(stack *appstackv1.AppStack, claim client.Object) bool {
	if !metav1.IsControlledBy(claim, stack) {
		return true
	}
	for i := range stack.Spec.Volumes {
		if v := &stack.Spec.Volumes[i]; v.Name == claim.GetName() {
			return render.Retains(v)
		}
	}
	return false
}

func describeWait(e appstackv1.InventoryEntry, obj client.Object) string {
	d := plan.EntryKey(e).String()
	if f := obj.GetFinalizers(); len(f) > 0 {
		d += fmt.Sprintf(" (finalizers: %s)", strings.Join(f, ", "))
	}
	return d
}

// releaseNamespace lets go of the stack's namespace. One the stack created is
// deleted unless it still holds a claim — read from the apiserver, never from a
// cache that may lag — in which case it is kept, no longer owned, and labelled
// retained so that a stack of the same name takes it back. An adopted namespace
// gets back the labels and annotations it had before. Any other namespace is not
// touched. It returns the claims it waits for: those a StatefulSet's garbage
// collection is about to delete.
func (r *AppStackReconciler) releaseNamespace(ctx context.Context, s *scope) ([]string, error) {
	ns := &corev1.Namespace{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Name: s.namespace}, ns); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(plan.KindNamespace))
	owned := plan.Owned(s.stack.Status.Inventory, ns, s.stack)
	restore, adopted, err := plan.ParseRestore(ns)
	if err != nil {
		return nil, err
	}
	adopted = adopted && !owned && ns.Labels[render.LabelStack] == s.stack.Name
	switch {
	case adopted:
		return nil, r.restoreNamespace(ctx, ns, restore)
	case !owned:
		return nil, nil
	}
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.APIReader.List(ctx, claims, client.InNamespace(s.namespace)); err != nil {
		return nil, fmt.Errorf("list the claims in namespace %s before deleting it: %w", s.namespace, err)
	}
	var kept, going []string
	for _, c := range claims.Items {
		switch {
		case c.DeletionTimestamp != nil:
		case r.goesWithItsStatefulSet(ctx, &c):
			going = append(going, "PersistentVolumeClaim "+c.Namespace+"/"+c.Name)
		default:
			kept = append(kept, c.Name)
		}
	}
	if len(going) > 0 {
		return going, nil
	}
	if len(kept) == 0 && len(s.left) == 0 {
		uid := ns.UID
		if err := r.Client.Delete(ctx, ns, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("delete namespace %s: %w", s.namespace, err)
		}
		return nil, nil
	}
	// Keep it, with the stack's label, so that the same stack applied again takes
	// it and the data back.
	base := ns.DeepCopy()
	ns.OwnerReferences = slices.DeleteFunc(slices.Clone(ns.OwnerReferences),
		func(o metav1.OwnerReference) bool { return o.UID == s.stack.UID })
	ns.Labels = maps.Clone(ns.Labels)
	ns.Labels[render.LabelRetained] = render.LabelRetainedValue
	ns.Annotations = maps.Clone(ns.Annotations)
	if ns.Annotations == nil {
		ns.Annotations = map[string]string{}
	}
	ns.Annotations[render.AnnotationStackUID] = string(s.stack.UID)
	if err := r.Client.Patch(ctx, ns, client.MergeFrom(base)); err != nil {
		return nil, fmt.Errorf("keep namespace %s for its claims: %w", s.namespace, err)
	}
	slices.Sort(kept)
	if len(kept) > 0 {
		r.Recorder.Eventf(s.stack, ns, corev1.EventTypeNormal, "Retained", "Delete",
			"kept namespace %s: it holds %d PersistentVolumeClaim(s): %s", s.namespace, len(kept), strings.Join(kept, ", "))
	}
	if len(s.left) > 0 {
		r.Recorder.Eventf(s.stack, ns, corev1.EventTypeNormal, "Retained", "Delete",
			"kept namespace %s: it holds %d object(s) the deletion left (--cascade=orphan): %s",
			s.namespace, len(s.left), strings.Join(s.left, ", "))
	}
	return nil, nil
}

// goesWithItsStatefulSet tells whether a claim is about to be deleted by the
// garbage collector: a StatefulSet that deletes its claims controls it, and that
// StatefulSet is gone or going. A claim of someone else's StatefulSet that stays
// is kept, with the namespace.
func (r *AppStackReconciler) goesWithItsStatefulSet(ctx context.Context, c *corev1.PersistentVolumeClaim) bool {
	owner := metav1.GetControllerOf(c)
	if owner == nil || owner.Kind != "StatefulSet" {
		return false
	}
	sts := &appsv1.StatefulSet{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: owner.Name}, sts)
	return apierrors.IsNotFound(err) || (err == nil && (sts.UID != owner.UID || sts.DeletionTimestamp != nil))
}

// restoreNamespace gives an adopted namespace back the labels and annotations it
// had before the stack adopted it.
func (r *AppStackReconciler) restoreNamespace(ctx context.Context, ns *corev1.Namespace, restore plan.Restore) error {
	base := ns.DeepCopy()
	ns.Labels, ns.Annotations = maps.Clone(ns.Labels), maps.Clone(ns.Annotations)
	put := func(m map[string]string, prior map[string]*string) {
		for k, v := range prior {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = *v
			}
		}
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	if ns.Annotations == nil {
		ns.Annotations = map[string]string{}
	}
	put(ns.Labels, restore.Labels)
	put(ns.Annotations, restore.Annotations)
	// The operator's own bookkeeping goes too; the owner's adopt annotation stays.
	delete(ns.Annotations, plan.AnnotationRestore)
	delete(ns.Annotations, ssa.AnnotationAppliedHash)
	if err := r.Client.Patch(ctx, ns, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("give adopted namespace %s back its labels and annotations: %w", ns.Name, err)
	}
	logf.FromContext(ctx).Info("released adopted namespace", "namespace", ns.Name)
	return nil
}
