package controller

import (
	"context"
	"maps"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// ownedKinds are the namespaced kinds a stack's children can be. The controller
// watches each, caches only the labelled ones, and prunes among them.
func ownedKinds() []client.Object {
	return append(render.ChildKinds(), &appsv1.ControllerRevision{})
}

// NewCache builds the manager's cache (ctrl.Options.NewCache), scoped to what the
// operator manages by cacheOptions. Its transforms ask the cache itself which
// stacks are alive (liveStacks), so they are bound to it once it is built.
func NewCache(syncPeriod time.Duration) cache.NewCacheFunc {
	return func(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
		stacks := &liveStacks{}
		scoped := cacheOptions(syncPeriod, stacks)
		opts.DefaultTransform, opts.ByObject, opts.SyncPeriod = scoped.DefaultTransform, scoped.ByObject, scoped.SyncPeriod
		c, err := cache.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		stacks.reader = c // the transforms run only once the cache is started
		return c, nil
	}
}

// cacheOptions scopes the manager's cache to what the operator manages: children
// carry the managed-by label, and nobody's managedFields are worth keeping in
// memory. Every kind the reconciler reads through its cached client is listed, but
// StorageClasses (a handful, cluster-scoped, cached whole).
// Three kinds are narrowed further, as they are most of the bytes: the pods of
// workloads keep only what failure attribution reads (trimPod); of the
// ControllerRevisions only the stack's own are listed — StatefulSets and
// DaemonSets keep theirs, labelled like their pods and as large as their template —
// and those without the spec they record (trimRevision); every other child kind is
// kept whole only when a live stack controls it (stubForeign).
func cacheOptions(syncPeriod time.Duration, stacks *liveStacks) cache.Options {
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
			byObject[obj] = cache.ByObject{Label: managed, Transform: stacks.trimPod}
		case *appsv1.ControllerRevision:
			byObject[obj] = cache.ByObject{Label: managed.Add(*specHash), Transform: trimRevision}
		case *corev1.PersistentVolumeClaim:
			// Retained claims and a StatefulSet's claims are the stack's without
			// its controller reference; claims are small.
			byObject[obj] = cache.ByObject{Label: managed}
		default:
			byObject[obj] = cache.ByObject{Label: managed, Transform: stacks.stubForeign}
		}
	}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         byObject,
		SyncPeriod:       &syncPeriod,
	}
}

// cacheHolds tells whether the cache (cacheOptions) holds an object of a kind
// the operator writes, from its metadata: stacks all, everything else only with
// the managed-by label.
func cacheHolds(obj client.Object) bool {
	if obj.GetObjectKind().GroupVersionKind().Kind == "AppStack" {
		return true
	}
	return obj.GetLabels()[render.LabelManagedBy] == render.ManagedBy
}

// AnnotationStub marks, in the cache only, an object cached as its identity,
// labels and owners (stubForeign); it is never written to the cluster.
const AnnotationStub = "apps.appstack.dev/cached-as-stub"

// stackWait bounds how long a transform waits for the stacks' informer to have
// listed the stacks, when a child's informer starts first; past it, a child is
// cached as a stub, which the reconciler reads past the cache (stubsReadThrough).
const stackWait = 30 * time.Second

// liveStacks tells the cache's transforms whether an object's controller is a
// stack that exists, from the cache's own stacks.
type liveStacks struct {
	reader client.Reader
}

// controls tells whether o's controller reference is that of a stack in the
// cache: kind AppStack, and the UID of the stack of that name. A reference with
// the right kind and a made-up or stale UID is anyone's to write.
func (l *liveStacks) controls(o metav1.Object) bool {
	owner := metav1.GetControllerOf(o)
	if !isStack(owner) || l.reader == nil {
		return false
	}
	return controlledByLiveStack(l.reader, owner)
}

// isStack tells whether an owner reference names a stack (whichever UID it says).
func isStack(owner *metav1.OwnerReference) bool {
	return owner != nil && owner.Kind == "AppStack" && owner.APIVersion == appstackv1.GroupVersion.String()
}

// controlledByLiveStack looks the owner up among the stacks of the cache behind
// reader. The read blocks until the stacks' informer has listed them (bounded by
// stackWait) and copies nothing of the stack: only its UID is read.
func controlledByLiveStack(reader client.Reader, owner *metav1.OwnerReference) bool {
	ctx, cancel := context.WithTimeout(context.Background(), stackWait)
	defer cancel()
	stack := &appstackv1.AppStack{}
	if err := reader.Get(ctx, client.ObjectKey{Name: owner.Name}, stack,
		&client.GetOptions{UnsafeDisableDeepCopy: ptr.To(true)}); err != nil {
		return false
	}
	return stack.UID == owner.UID
}

// stubForeign keeps of an object that no live stack controls only its identity,
// labels, owners and finalizers, marked with AnnotationStub. Anyone who may create
// objects can label them like the operator's and give them an owner reference
// to an AppStack; without this, 500 ConfigMaps of 1 MiB so made, in a namespace no
// stack owns, would be 500 MiB of the operator's memory. The operator creates every
// object of these kinds with its stack as controller; one it did not create is
// read from the apiserver when it matters (a conflict over a name). A real child
// whose event the cache met before its stack's is a stub too, until its next
// change: the reconciler's client reads such a stub from the apiserver
// (stubsReadThrough), never deciding on it.
func (l *liveStacks) stubForeign(obj any) (any, error) {
	o, ok := obj.(client.Object)
	if !ok {
		return obj, nil
	}
	o.SetManagedFields(nil)
	if l.controls(o) {
		// A marker someone wrote on the object is not the cache's.
		if _, marked := o.GetAnnotations()[AnnotationStub]; marked {
			a := maps.Clone(o.GetAnnotations())
			delete(a, AnnotationStub)
			o.SetAnnotations(a)
		}
		return o, nil
	}
	stub := identity(o)
	stub.SetAnnotations(map[string]string{AnnotationStub: "true"})
	return stub, nil
}

// identity is a new object of o's type with o's identity, labels, owners and
// finalizers, and nothing else.
func identity(o client.Object) client.Object {
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
	return stub
}

// trimRevision keeps of a ControllerRevision what a pass decides on without the
// spec it records: its identity, labels (the spec's hash), owners, number, and
// the two annotations the operator sets (the applied hash, a rollback). The spec
// is read from the apiserver when a rollback needs it (readRevisions); the
// operator never changes a revision's data, which is immutable. Whole, a stack of
// a 900 KiB config with revisionHistoryLimit 100 would hold 90 MiB of the
// operator's memory (docs/ownership.md).
func trimRevision(obj any) (any, error) {
	cr, ok := obj.(*appsv1.ControllerRevision)
	if !ok {
		return obj, nil
	}
	out := identity(cr).(*appsv1.ControllerRevision)
	out.Revision = cr.Revision
	for _, k := range []string{ssa.AnnotationAppliedHash, render.AnnotationRolledBack} {
		if v, ok := cr.Annotations[k]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out, nil
}

// NewClient is the manager's client (ctrl.Options.NewClient): reads from the cache,
// but a stub of an object a live stack controls, which the cache met before its
// stack, is read from the apiserver (stubsReadThrough).
func NewClient(cfg *rest.Config, opts client.Options) (client.Client, error) {
	cached, err := client.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	direct := opts
	direct.Cache = nil
	api, err := client.New(cfg, direct)
	if err != nil {
		return nil, err
	}
	return &stubsReadThrough{Client: cached, api: api}, nil
}

// stubsReadThrough is a cached client whose Get never returns the stub of a
// stack's own object: what the pass decides on — ownership, drift, an unsafe
// change, readiness — needs the whole object. Stubs of objects no live stack
// controls are returned as they are: only their identity is ever read. Lists
// return what the cache holds (their callers read identities: prune, deletion).
type stubsReadThrough struct {
	client.Client
	api client.Reader
}

func (c *stubsReadThrough) Get(
	ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption,
) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	if _, stub := obj.GetAnnotations()[AnnotationStub]; !stub {
		return nil
	}
	owner := metav1.GetControllerOf(obj)
	if !isStack(owner) || !controlledByLiveStack(c.Client, owner) {
		return nil
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	// A fresh object: decoding into the stub would keep its marker.
	fresh := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	if err := c.api.Get(ctx, key, fresh); err != nil {
		return err
	}
	fresh.SetManagedFields(nil)
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(fresh).Elem())
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
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
func (l *liveStacks) trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p.ManagedFields = nil
	if l.controls(p) {
		delete(p.Annotations, AnnotationStub)
		return p, nil
	}
	p.Annotations = nil
	if isStack(metav1.GetControllerOf(p)) {
		// A bare Pod component's pod whose stack the cache has not met (yet).
		p.Annotations = map[string]string{AnnotationStub: "true"}
	}
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
