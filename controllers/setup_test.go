package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

func TestTrimPod(t *testing.T) {
	pod := func(ownerAPIVersion, ownerKind string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", Labels: map[string]string{"app": "web"},
				Annotations:     map[string]string{"big": "value"},
				ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: ownerAPIVersion, Kind: ownerKind, Name: "owner", Controller: ptr.To(true)}}},
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

// TestStubForeign: what no stack controls is cached as identity and labels only.
func TestStubForeign(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "s"}}
	big := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: "unrelated", UID: "u", Labels: map[string]string{"a": "b"},
			Annotations: map[string]string{"x": "y"}},
		Data: map[string]string{"blob": strings.Repeat("x", 1<<20)},
	}
	out, err := stubForeign(big.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	stub := out.(*corev1.ConfigMap)
	if stub.Data != nil || stub.Annotations != nil || stub.Name != "big" || stub.UID != "u" || stub.Labels["a"] != "b" {
		t.Errorf("foreign ConfigMap cached as %+v", stub.ObjectMeta)
	}
	ours := big.DeepCopy()
	ours.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))}
	out, _ = stubForeign(ours)
	if len(out.(*corev1.ConfigMap).Data["blob"]) != 1<<20 {
		t.Errorf("the stack's own ConfigMap lost its data in the cache")
	}
}

// TestCacheOptionsOneEntryPerKind: the cache keeps one of two entries for a kind at
// random, so each kind must have exactly one, with the narrowing meant for it.
func TestCacheOptionsOneEntryPerKind(t *testing.T) {
	opts := CacheOptions(time.Hour)
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
