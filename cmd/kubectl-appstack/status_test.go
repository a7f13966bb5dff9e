package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// statusFixture is a stack "shop" (component web) with what the cluster holds for it:
// its own objects, by the inventory or by its controller reference, and look-alikes
// that carry its labels and are not its own.
func statusFixture() []client.Object {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "stack-uid", Generation: 2}}
	stack.Status = appstackv1.AppStackStatus{
		Revision: 3,
		Conditions: []metav1.Condition{{Type: appstackv1.ConditionReady, Status: metav1.ConditionTrue,
			ObservedGeneration: 2, Reason: "Ready", Message: "all 1 components are Ready"}},
		Components: []appstackv1.ComponentStatus{{Name: "web", Kind: appstackv1.KindDeployment,
			Phase: appstackv1.PhaseReady, Replicas: 1, ReadyReplicas: 1}},
		Inventory: []appstackv1.InventoryEntry{
			{APIVersion: "v1", Kind: "Namespace", Name: "shop", UID: "ns-uid"},
			{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "shop", Name: "data", UID: "pvc-uid"},
			{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", UID: "dep-uid"},
			{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "web", UID: "svc-uid"},
			// Deleted and made again by someone else: the live "api" has another UID.
			{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "api", UID: "old-api-uid"},
		},
	}
	stackLabels := func() map[string]string { return render.StackLabels(stack) }
	webLabels := func() map[string]string { return render.ComponentLabels(stack, "web") }
	meta := func(name, uid string, labels map[string]string, controlled bool) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(uid), Labels: labels}
		if controlled {
			m.OwnerReferences = []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(),
				Kind: "AppStack", Name: "shop", UID: stack.UID, Controller: ptr.To(true)}}
		}
		return m
	}
	retained := stackLabels()
	retained[render.LabelRetained] = render.LabelRetainedValue
	objs := []client.Object{
		stack,
		// The namespace the stack created, and a retained claim: no owner reference,
		// the stack's by the inventory alone.
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Labels: stackLabels()}},
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("data", "pvc-uid", stackLabels(), false),
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
		// A claim the stack let go (retained, out of the inventory).
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("old-data", "old-pvc-uid", retained, false),
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}},
		// Created by a pass whose inventory was not written yet: its controller reference.
		&corev1.ConfigMap{ObjectMeta: meta("settings", "cm-uid", stackLabels(), true)},
		&corev1.ConfigMap{ObjectMeta: meta("look-alike", "other-cm-uid", stackLabels(), false)},
		&appsv1.Deployment{ObjectMeta: meta("web", "dep-uid", webLabels(), true),
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)},
			Status: appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}}},
		&appsv1.Deployment{ObjectMeta: meta("web-copy", "copy-uid", webLabels(), false)},
		&corev1.Service{ObjectMeta: meta("web", "svc-uid", webLabels(), false)},
		&corev1.Service{ObjectMeta: meta("api", "new-api-uid", webLabels(), false)},
		&corev1.Pod{ObjectMeta: meta("web-7c9d-b", "pod-b", webLabels(), false), Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true}}}},
		&corev1.Pod{ObjectMeta: meta("web-7c9d-a", "pod-a", webLabels(), false), Status: corev1.PodStatus{Phase: corev1.PodPending,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}},
	}
	return objs
}

func statusClient(objs ...client.Object) client.Client {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(objs[0]).Build()
}

// The tree shows what the stack owns by its inventory (the namespace it created,
// a retained claim, same UID) or its controller reference, and nothing that only
// carries its labels: not the copy of its Deployment, the ConfigMap look-alike,
// the claim it let go, or a Service remade under a name it once owned.
func TestStatusTreeShowsWhatTheStackOwns(t *testing.T) {
	tree, err := buildTree(context.Background(), statusClient(statusFixture()...), "shop")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printTree(&out, tree, false); err != nil {
		t.Fatal(err)
	}
	want := `AppStack shop (namespace shop, revision 3): Ready — all 1 components are Ready
├─ Namespace shop Current Resource is current
├─ ConfigMap settings Current Resource is always ready
├─ PersistentVolumeClaim data Current PVC is Bound
└─ web Deployment Ready 1/1
   ├─ Deployment web Current Deployment is available. Replicas: 1
   ├─ Service web Current Service is ready
   ├─ Pod web-7c9d-a Pending 0/1 ready; app: ContainerCreating
   └─ Pod web-7c9d-b Running 1/1 ready
`
	if got := out.String(); got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	for _, absent := range []string{"web-copy", "look-alike", "old-data", "Service api"} {
		if strings.Contains(out.String(), absent) {
			t.Errorf("the tree shows %s, which the stack does not own", absent)
		}
	}
}

// The stack's own objects are in the JSON form too; a tree without any leaves the
// field out.
func TestStatusTreeJSON(t *testing.T) {
	tree, err := buildTree(context.Background(), statusClient(statusFixture()...), "shop")
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"objects":[{"kind":"Namespace","name":"shop","health":"Current"`,
		`"components":[{"name":"web","kind":"Deployment","phase":"Ready"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON %s\nlacks %s", data, want)
		}
	}
	data, err = json.Marshal(&Tree{Stack: "shop", Components: []ComponentTree{}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"objects"`) {
		t.Errorf("JSON %s has objects without any", data)
	}
}

// A tree with only components prints as it always has: the branch of the last
// component is └─ and its objects are indented with blanks.
func TestPrintTreeComponentsOnly(t *testing.T) {
	tree := &Tree{Stack: "fail-pull", Namespace: "fail-pull", Revision: 1, Reason: "ImagePullBackOff",
		Message: `web: container app cannot pull image "nginx:does-not-exist"`,
		Components: []ComponentTree{
			{ComponentStatus: appstackv1.ComponentStatus{Name: "db", Kind: appstackv1.KindStatefulSet, Phase: appstackv1.PhaseReady,
				Replicas: 1, ReadyReplicas: 1}, Objects: []Node{{Kind: "StatefulSet", Name: "db", Health: "Current"}}},
			{ComponentStatus: appstackv1.ComponentStatus{Name: "web", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseProgressing,
				Replicas: 1, Reason: "ImagePullBackOff", Message: `container app cannot pull image "nginx:does-not-exist"`},
				Objects: []Node{{Kind: "Deployment", Name: "web", Health: "InProgress", Message: "Available: 0/1"}},
				Pods: []Node{{Kind: "Pod", Name: "web-5d8f5db857-8fnk8", Health: "Pending",
					Message: "0/1 ready; app: ImagePullBackOff"}}},
		}}
	want := `AppStack fail-pull (namespace fail-pull, revision 1): ImagePullBackOff — web: container app cannot pull image "nginx:does-not-exist"
├─ db StatefulSet Ready 1/1
│  └─ StatefulSet db Current
└─ web Deployment Progressing 0/1 ImagePullBackOff: container app cannot pull image "nginx:does-not-exist"
   ├─ Deployment web InProgress Available: 0/1
   └─ Pod web-5d8f5db857-8fnk8 Pending 0/1 ready; app: ImagePullBackOff
`
	var out bytes.Buffer
	if err := printTree(&out, tree, false); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := printTree(&out, tree, true); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "└─ web Deployment \x1b[33mProgressing\x1b[0m 0/1 \x1b[31mImagePullBackOff\x1b[0m: ") {
		t.Errorf("coloured tree:\n%q", out.String())
	}
}
