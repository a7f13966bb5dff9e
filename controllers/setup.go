package controllers

import (
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// ownedKinds are the namespaced kinds a stack's children can be. The controller
// watches each, caches only the labelled ones, and prunes among them.
func ownedKinds() []client.Object {
	return append(render.ChildKinds(), &appsv1.ControllerRevision{})
}

// CacheOptions scopes the manager's cache to what the operator manages: children
// carry the managed-by label, and nobody's managedFields are worth keeping in
// memory. Every kind the reconciler reads through its cached client is listed, but
// StorageClasses (a handful, cluster-scoped, cached whole).
// Two kinds are narrowed further, as they are most of the objects: the pods of
// workloads keep only what failure attribution reads (trimPod), and of the
// ControllerRevisions only the stack's own are cached — StatefulSets and
// DaemonSets keep theirs, labelled like their pods and as large as their template.
func CacheOptions(syncPeriod time.Duration) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{render.LabelManagedBy: render.ManagedBy})
	specHash, err := labels.NewRequirement(render.LabelSpecHash, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key
	}
	// One entry per kind: ByObject is keyed by pointer, and of two entries for one
	// kind the cache keeps whichever it meets last, in map order — at random.
	byObject := map[client.Object]cache.ByObject{
		&corev1.Namespace{}:    {Label: managed},
		&appstackv1.AppStack{}: {Transform: trimStack},
		// Nodes are read for failure attribution only: their Ready condition.
		&corev1.Node{}: {Transform: trimNode},
	}
	for _, obj := range ownedKinds() {
		switch obj.(type) {
		case *corev1.Pod:
			byObject[obj] = cache.ByObject{Label: managed, Transform: trimPod}
		case *appsv1.ControllerRevision:
			// Only the stack's own are kept whole; one labelled alike that no stack
			// controls is a stub like any other foreign object.
			byObject[obj] = cache.ByObject{Label: managed.Add(*specHash), Transform: stubForeign}
		case *corev1.PersistentVolumeClaim:
			// Retained claims and a StatefulSet's claims are the stack's without
			// its controller reference; claims are small.
			byObject[obj] = cache.ByObject{Label: managed}
		default:
			byObject[obj] = cache.ByObject{Label: managed, Transform: stubForeign}
		}
	}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         byObject,
		SyncPeriod:       &syncPeriod,
	}
}

// stubForeign keeps of an object that no stack controls only its identity, labels,
// owners and finalizers. Anyone who may create objects can label them like the
// operator's; without this, 500 ConfigMaps of 1 MiB so labelled, in a namespace no
// stack owns, would be 500 MiB of the operator's memory. The operator creates every
// object of these kinds with its stack as controller; one it did not create is
// read from the apiserver when it matters (a conflict over a name).
func stubForeign(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	o.SetManagedFields(nil)
	if controlledByStack(o) {
		return o, nil
	}
	stub := reflect.New(reflect.TypeOf(o).Elem()).Interface().(client.Object)
	stub.SetName(o.GetName())
	stub.SetNamespace(o.GetNamespace())
	stub.SetUID(o.GetUID())
	stub.SetResourceVersion(o.GetResourceVersion())
	stub.SetGeneration(o.GetGeneration())
	stub.SetLabels(o.GetLabels())
	stub.SetOwnerReferences(o.GetOwnerReferences())
	stub.SetFinalizers(o.GetFinalizers())
	stub.SetDeletionTimestamp(o.GetDeletionTimestamp())
	stub.SetCreationTimestamp(o.GetCreationTimestamp())
	return stub, nil
}

// controlledByStack says whether an AppStack is o's controller.
func controlledByStack(o metav1.Object) bool {
	owner := metav1.GetControllerOf(o)
	return owner != nil && owner.Kind == "AppStack" && owner.APIVersion == appstackv1.GroupVersion.String()
}

// trimStack drops what kubectl's client-side apply keeps on a stack: a second
// copy of its whole spec, which the reconciler never reads.
func trimStack(obj any) (any, error) {
	st, ok := obj.(*appstackv1.AppStack)
	if !ok {
		return obj, nil
	}
	st.ManagedFields = nil
	delete(st.Annotations, corev1.LastAppliedConfigAnnotation)
	return st, nil
}

// trimPod keeps of a workload's pod what failure attribution reads: its identity,
// labels, owners, node, and status (its message only when it was evicted). A bare
// Pod component's pod is the stack's own child, compared field by field before
// each apply, and is kept whole (but for managedFields).
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p.ManagedFields = nil
	if controlledByStack(p) {
		return p, nil
	}
	p.Annotations = nil
	p.Spec = corev1.PodSpec{NodeName: p.Spec.NodeName}
	p.Status = corev1.PodStatus{
		Phase:                 p.Status.Phase,
		Reason:                p.Status.Reason,
		Message:               evictionMessage(p.Status),
		Conditions:            p.Status.Conditions,
		InitContainerStatuses: trimContainerStatuses(p.Status.InitContainerStatuses),
		ContainerStatuses:     trimContainerStatuses(p.Status.ContainerStatuses),
	}
	return p, nil
}

// trimContainerStatuses keeps what names a container's trouble: its name, image,
// readiness, state and last termination — without a termination's message, which
// is what the container wrote to its termination log (up to 4 KiB, and nothing
// the status may show).
func trimContainerStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if in == nil {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, cs := range in {
		out[i] = corev1.ContainerStatus{Name: cs.Name, Image: cs.Image, Ready: cs.Ready, RestartCount: cs.RestartCount,
			State: withoutTerminationMessage(cs.State), LastTerminationState: withoutTerminationMessage(cs.LastTerminationState)}
	}
	return out
}

func withoutTerminationMessage(st corev1.ContainerState) corev1.ContainerState {
	if st.Terminated != nil && st.Terminated.Message != "" {
		t := *st.Terminated
		t.Message = ""
		st.Terminated = &t
	}
	return st
}
