package plan

import (
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// ReleaseObserved is what releasing a deleted stack's namespace reads, from the
// apiserver (a cache that lags could show a namespace empty that holds a claim).
type ReleaseObserved struct {
	Stack *appstackv1.AppStack
	// Namespace is the stack's namespace, nil when it does not exist.
	Namespace *corev1.Namespace
	// Inventory is the stack's inventory once its children are deleted.
	Inventory []appstackv1.InventoryEntry
	// Claims are every claim in the namespace.
	Claims []corev1.PersistentVolumeClaim
	// StatefulSets are the StatefulSets that control claims (StatefulSetOf), by
	// name: nil for one that does not exist. A name not in the map could not be
	// read: its claims are kept.
	StatefulSets map[string]*appsv1.StatefulSet
	// Left are the inventory members the deletion left in place (an orphan
	// deletion took the stack's reference off them), as keys.
	Left []string
}

// ReleaseAction is what becomes of the namespace.
type ReleaseAction string

const (
	// ReleaseNone: the namespace is gone or not the stack's: it is not touched.
	ReleaseNone ReleaseAction = "none"
	// ReleaseWait: claims in it are about to go with their StatefulSet; the
	// deletion waits for them (Release.Waiting) before deciding.
	ReleaseWait ReleaseAction = "wait"
	// ReleaseDelete: the stack created it and nothing in it stays: deleted, with
	// its UID as precondition.
	ReleaseDelete ReleaseAction = "delete"
	// ReleaseKeep: the stack created it and claims or objects left by an orphan
	// deletion stay in it: kept as Release.Namespace, no longer owned, labelled
	// retained and annotated with the stack's UID, so that a stack of the same
	// name takes it and the data back.
	ReleaseKeep ReleaseAction = "keep"
	// ReleaseRestore: the stack adopted it: it gets back the labels and
	// annotations it had before (Release.Namespace).
	ReleaseRestore ReleaseAction = "restore"
)

// Release is what becomes of a deleted stack's namespace.
type Release struct {
	Action ReleaseAction
	// Namespace is the namespace as it is to be, for ReleaseKeep and
	// ReleaseRestore: a patch from the observed one.
	Namespace *corev1.Namespace
	// Waiting names the claims a ReleaseWait waits for.
	Waiting []string
	// KeptClaims are the names of the claims that keep the namespace (sorted),
	// and Left the objects left in place that keep it, for the events.
	KeptClaims, Left []string
}

// StatefulSetOf is the name of the StatefulSet that controls a claim, "" when no
// StatefulSet does.
func StatefulSetOf(claim client.Object) string {
	if owner := metav1.GetControllerOf(claim); owner != nil && owner.Kind == KindStatefulSet {
		return owner.Name
	}
	return ""
}

// ReleaseNamespace decides what becomes of a deleted stack's namespace once its
// children are gone (docs/ownership.md): one the stack created is deleted unless
// a claim stays in it, or an object an orphan deletion left; then it is kept for
// them. An adopted one gets back the labels and annotations it had. Any other is
// not touched. Claims a StatefulSet's garbage collection is about to delete are
// waited for first. The error is a restore record the operator did not write.
func ReleaseNamespace(o ReleaseObserved) (Release, error) {
	ns, stack := o.Namespace, o.Stack
	if ns == nil {
		return Release{Action: ReleaseNone}, nil
	}
	owned := Owned(o.Inventory, ns, stack)
	restore, adopted, err := ParseRestore(ns)
	if err != nil {
		return Release{}, err
	}
	switch {
	case adopted && !owned && ns.Labels[render.LabelStack] == stack.Name:
		return Release{Action: ReleaseRestore, Namespace: restored(ns, restore)}, nil
	case !owned:
		return Release{Action: ReleaseNone}, nil
	}
	var kept, going []string
	for _, c := range o.Claims {
		switch {
		case c.DeletionTimestamp != nil:
		case goesWithItsStatefulSet(&c, o.StatefulSets):
			going = append(going, "PersistentVolumeClaim "+c.Namespace+"/"+c.Name)
		default:
			kept = append(kept, c.Name)
		}
	}
	switch {
	case len(going) > 0:
		return Release{Action: ReleaseWait, Waiting: going}, nil
	case len(kept) == 0 && len(o.Left) == 0:
		return Release{Action: ReleaseDelete}, nil
	}
	slices.Sort(kept)
	return Release{Action: ReleaseKeep, Namespace: keptFor(ns, stack), KeptClaims: kept, Left: o.Left}, nil
}

// goesWithItsStatefulSet tells whether the garbage collector is about to delete a
// claim: a StatefulSet that deletes its claims controls it, and that StatefulSet
// is gone or going. A claim of someone else's StatefulSet that stays is kept, with
// the namespace.
func goesWithItsStatefulSet(c *corev1.PersistentVolumeClaim, statefulSets map[string]*appsv1.StatefulSet) bool {
	name := StatefulSetOf(c)
	if name == "" {
		return false
	}
	sts, read := statefulSets[name]
	if !read {
		return false
	}
	return sts == nil || sts.UID != metav1.GetControllerOf(c).UID || sts.DeletionTimestamp != nil
}

// keptFor is the namespace kept for what stays in it (MarkRetained).
func keptFor(ns *corev1.Namespace, stack *appstackv1.AppStack) *corev1.Namespace {
	out := ns.DeepCopy()
	MarkRetained(out, stack)
	return out
}

// MarkRetained marks what a stack leaves behind with its data — a retained
// claim, the namespace that holds one — for a later stack of its name to take
// back (readoptable, retainedFor): labelled retained, annotated with the stack's
// UID, and without the stack's owner reference, so that the garbage collector
// cannot take it with the stack.
func MarkRetained(obj client.Object, stack *appstackv1.AppStack) {
	labels := maps.Clone(obj.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	labels[render.LabelRetained] = render.LabelRetainedValue
	obj.SetLabels(labels)
	annotations := maps.Clone(obj.GetAnnotations())
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[render.AnnotationStackUID] = string(stack.UID)
	obj.SetAnnotations(annotations)
	obj.SetOwnerReferences(slices.DeleteFunc(slices.Clone(obj.GetOwnerReferences()),
		func(o metav1.OwnerReference) bool { return o.UID == stack.UID }))
}

// restored is an adopted namespace with the labels and annotations it had before
// the stack adopted it. The operator's own bookkeeping goes too; the owner's
// adopt annotation stays.
func restored(ns *corev1.Namespace, restore Restore) *corev1.Namespace {
	out := ns.DeepCopy()
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	put := func(m map[string]string, prior map[string]*string) {
		for k, v := range prior {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = *v
			}
		}
	}
	put(out.Labels, restore.Labels)
	put(out.Annotations, restore.Annotations)
	delete(out.Annotations, AnnotationRestore)
	delete(out.Annotations, ssa.AnnotationAppliedHash)
	return out
}
