package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// stacksOf is what the cache's transforms consult: a cache holding these stacks.
func stacksOf(stacks ...*appstackv1.AppStack) *liveStacks {
	b := fake.NewClientBuilder().WithScheme(testScheme())
	for _, st := range stacks {
		b = b.WithObjects(st)
	}
	return &liveStacks{reader: b.Build()}
}

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(appstackv1.AddToScheme(s))
	return s
}

func TestTrimPod(t *testing.T) {
	owner := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "owner", UID: "owner-uid"}}
	trimPod := stacksOf(owner).trimPod
	pod := func(ownerAPIVersion, ownerKind string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{"app": "web"},
				Annotations:   map[string]string{"big": "value"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: ownerAPIVersion, Kind: ownerKind, Name: "owner", UID: "owner-uid",
					Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "nginx:nope",
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "nginx:nope", ImageID: "sha256:x", ContainerID: "containerd://y",
					State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
						Message: "LOOT hunter2"}}}}},
		}
	}

	full := pod("apps/v1", "ReplicaSet")
	got, err := trimPod(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := got.(*corev1.Pod)
	if trimmed.Annotations != nil || trimmed.ManagedFields != nil || len(trimmed.Spec.Containers) != 0 || trimmed.Status.PodIPs != nil ||
		trimmed.Status.ContainerStatuses[0].ImageID != "" || trimmed.Status.ContainerStatuses[0].ContainerID != "" {
		t.Errorf("a workload's pod keeps more than attribution reads: %+v", trimmed)
	}
	if last := trimmed.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.Message != "" || last.ExitCode != 1 ||
		full.Status.ContainerStatuses[0].LastTerminationState.Terminated.Message == "" {
		t.Errorf("a termination is kept without what the container wrote to its termination log: %+v", last)
	}
	if trimmed.Name != "web-1" || trimmed.Labels["app"] != "web" || len(trimmed.OwnerReferences) != 1 || trimmed.Spec.NodeName != "node-1" {
		t.Errorf("a workload's pod lost its identity: %+v", trimmed.ObjectMeta)
	}
	// Attribution finds the same cause on the trimmed pod as on the full one.
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	c := &appstackv1.Component{Name: "web", Kind: appstackv1.KindDeployment}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1))}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1}}
	fromFull := status.Component(stack, c, status.Observed{Workload: web, Pods: []corev1.Pod{*full}})
	fromTrimmed := status.Component(stack, c, status.Observed{Workload: web, Pods: []corev1.Pod{*trimmed}})
	if fromFull.Reason != "ImagePullBackOff" || !equality.Semantic.DeepEqual(fromFull, fromTrimmed) {
		t.Errorf("attribution differs on a trimmed pod: %+v vs %+v", fromTrimmed, fromFull)
	}

	bare := pod(appstackv1.GroupVersion.String(), "AppStack")
	got, _ = trimPod(bare.DeepCopy())
	if p := got.(*corev1.Pod); len(p.Spec.Containers) != 1 || p.Annotations["big"] != "value" || p.ManagedFields != nil {
		t.Errorf("a bare Pod component's pod must be kept whole but for managedFields: %+v", p)
	}
	if got, _ := trimPod("not a pod"); got != "not a pod" {
		t.Errorf("other objects pass through")
	}
	// A made-up owner reference does not make a pod the stack's.
	forged := pod(appstackv1.GroupVersion.String(), "AppStack")
	forged.OwnerReferences[0].UID = "made-up"
	got, _ = trimPod(forged)
	if p := got.(*corev1.Pod); len(p.Spec.Containers) != 0 || p.Annotations[AnnotationStub] != "true" {
		t.Errorf("a pod that names a stack it is not controlled by must be trimmed and marked a stub: %+v", p)
	}
}

func TestTrimStack(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop",
		Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{}}`, "team": "web"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	got, err := trimStack(stack)
	if err != nil {
		t.Fatal(err)
	}
	if st := got.(*appstackv1.AppStack); st.ManagedFields != nil || len(st.Annotations) != 1 || st.Annotations["team"] != "web" {
		t.Errorf("trimmed stack: %+v", st.ObjectMeta)
	}
}

// TestStubForeign: an object is kept whole only when its controller reference
// carries the UID of a stack that exists; what no stack controls — whatever its
// owner reference says — is cached as identity and labels only.
func TestStubForeign(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "s"}}
	stubForeign := stacksOf(stack).stubForeign
	big := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "unrelated", UID: "u", Labels: map[string]string{"a": "b"},
			Annotations: map[string]string{"x": "y"}},
		Data: map[string]string{"blob": strings.Repeat("x", 1<<20)},
	}
	owned := func(apiVersion, name string, uid types.UID) *corev1.ConfigMap {
		cm := big.DeepCopy()
		cm.OwnerReferences = []metav1.OwnerReference{{APIVersion: apiVersion, Kind: "AppStack", Name: name, UID: uid, Controller: ptr.To(true)}}
		return cm
	}
	gv := appstackv1.GroupVersion.String()
	for _, tt := range []struct {
		name  string
		obj   *corev1.ConfigMap
		whole bool
	}{
		{"no owner", big.DeepCopy(), false},
		{"a made-up UID", owned(gv, "shop", "random-uid"), false},
		{"a stack that does not exist", owned(gv, "nope", "s"), false},
		{"another group's AppStack", owned("example.com/v1", "shop", "s"), false},
		{"the stack's own", owned(gv, "shop", "s"), true},
	} {
		out, err := stubForeign(tt.obj)
		if err != nil {
			t.Fatal(err)
		}
		cm := out.(*corev1.ConfigMap)
		if tt.whole {
			if len(cm.Data["blob"]) != 1<<20 || cm.Annotations["x"] != "y" || cm.Annotations[AnnotationStub] != "" {
				t.Errorf("%s: the stack's own ConfigMap lost its data in the cache: %+v", tt.name, cm.ObjectMeta)
			}
			continue
		}
		if cm.Data != nil || cm.Annotations[AnnotationStub] != "true" || len(cm.Annotations) != 1 || cm.Name != "big" || cm.UID != "u" ||
			cm.Labels["a"] != "b" || len(cm.OwnerReferences) != len(tt.obj.OwnerReferences) {
			t.Errorf("%s: cached as %+v, want a marked stub", tt.name, cm.ObjectMeta)
		}
	}
	// A stub marker someone wrote on the stack's own object is not believed.
	marked := owned(gv, "shop", "s")
	marked.Annotations[AnnotationStub] = "true"
	out, _ := stubForeign(marked)
	if _, ok := out.(*corev1.ConfigMap).Annotations[AnnotationStub]; ok {
		t.Errorf("the stack's own object keeps a stub marker")
	}
}

// TestTrimRevision: the stack's revisions are cached without the spec they record.
func TestTrimRevision(t *testing.T) {
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-abc", Namespace: "shop", UID: "r", ResourceVersion: "7",
			Labels:      map[string]string{"apps.appstack.dev/spec-hash": "abc"},
			Annotations: map[string]string{"apps.appstack.dev/applied-hash": "h", "apps.appstack.dev/rolled-back": "yes", "other": "x"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack", Name: "shop", UID: "s",
				Controller: ptr.To(true)}}},
		Data:     runtime.RawExtension{Raw: []byte(`{"spec":{"configs":[{"name":"big","data":{"x":"` + strings.Repeat("x", 900<<10) + `"}}]}}`)},
		Revision: 4,
	}
	out, err := trimRevision(cr.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.ControllerRevision)
	if got.Data.Raw != nil || got.Data.Object != nil {
		t.Errorf("a revision is cached with %d bytes of data", len(got.Data.Raw))
	}
	if got.Revision != 4 || got.Name != cr.Name || got.UID != "r" || got.ResourceVersion != "7" || got.Labels["apps.appstack.dev/spec-hash"] != "abc" ||
		!metav1.IsControlledBy(got, &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{UID: "s"}}) {
		t.Errorf("a revision lost what a pass decides on: %+v", got)
	}
	if len(got.Annotations) != 2 || got.Annotations["apps.appstack.dev/applied-hash"] != "h" || got.Annotations["apps.appstack.dev/rolled-back"] != "yes" {
		t.Errorf("a revision keeps annotations %v, want the applied hash and the rollback only", got.Annotations)
	}
}

// countingReader counts the reads that go past the cache.
type countingReader struct {
	client.Reader
	gets int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.gets++
	return c.Reader.Get(ctx, key, obj, opts...)
}

// TestStubsReadThrough: a child's event can reach the cache before its stack's
// (another informer, a restart, a fail-over), and the child is then cached as a
// stub until it next changes. The reconciler's client never hands out such a stub:
// a Get of an object a live stack controls reads it from the apiserver; a stub of
// what no stack controls costs no read.
func TestStubsReadThrough(t *testing.T) {
	ctx := context.Background()
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "s"}}
	full := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config", Namespace: "shop", UID: "c", ResourceVersion: "9",
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))}},
		Data: map[string]string{"mode": "prod"}}
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "lookalike", Namespace: "shop", UID: "f",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack", Name: "shop", UID: "made-up",
			Controller: ptr.To(true)}}}, Data: map[string]string{"blob": "x"}}
	// What the cache met before the stack: both stubs.
	before := stacksOf()
	stub, _ := before.stubForeign(full.DeepCopy())
	foreignStub, _ := before.stubForeign(foreign.DeepCopy())
	cached := fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(stack, stub.(client.Object), foreignStub.(client.Object)).Build()
	api := &countingReader{Reader: fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(stack, full, foreign).Build()}
	c := &stubsReadThrough{Client: cached, api: api}

	got := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(full), got); err != nil {
		t.Fatal(err)
	}
	if got.Data["mode"] != "prod" || got.Annotations[AnnotationStub] != "" || api.gets != 1 {
		t.Errorf("the stub of the stack's own ConfigMap: got %+v after %d reads past the cache, want the whole object", got, api.gets)
	}
	got = &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
		t.Fatal(err)
	}
	if got.Data != nil || got.Annotations[AnnotationStub] != "true" || api.gets != 1 {
		t.Errorf("a stub no stack controls: got %+v after %d reads past the cache, want the stub and no read", got, api.gets)
	}

	// observe, on the stub of a real child: the plan sees the whole object.
	r := &AppStackReconciler{Client: c, APIReader: api}
	want := full.DeepCopy()
	want.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	live, err := r.liveObject(ctx, &scope{stack: stack}, want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cm, ok := live.(*corev1.ConfigMap); !ok || cm.Data["mode"] != "prod" || cm.Annotations[AnnotationStub] != "" {
		t.Errorf("observe read the stub of the stack's own ConfigMap as %+v", live)
	}
}

// TestCacheOptionsOneEntryPerKind: the cache keeps one of two entries for a kind at
// random, so each kind must have exactly one, with the narrowing meant for it.
func TestCacheOptionsOneEntryPerKind(t *testing.T) {
	opts := cacheOptions(time.Hour, &liveStacks{})
	seen := map[string]cache.ByObject{}
	for obj, bo := range opts.ByObject {
		kind := fmt.Sprintf("%T", obj)
		if _, dup := seen[kind]; dup {
			t.Errorf("%s has two cache entries", kind)
		}
		seen[kind] = bo
	}
	for _, kind := range []string{"*v1.ConfigMap", "*v1.Deployment", "*v1.Service", "*v1.Pod"} {
		if seen[kind].Transform == nil {
			t.Errorf("%s is cached without its transform", kind)
		}
	}
	if got := seen["*v1.ControllerRevision"].Label.String(); got != "app.kubernetes.io/managed-by=appstack-operator,apps.appstack.dev/spec-hash" {
		t.Errorf("ControllerRevisions cached by %q", got)
	}
	if len(seen) != len(ownedKinds())+3 {
		t.Errorf("%d kinds cached, want the %d owned kinds, namespaces, stacks and nodes", len(seen), len(ownedKinds()))
	}
	if seen["*v1.Node"].Transform == nil {
		t.Errorf("nodes are cached whole")
	}
}
