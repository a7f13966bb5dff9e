package dashboard

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func createNamespace(ctx context.Context, name string) error {
	return admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// newStack is an AppStack from the YAML of its spec.
func newStack(t *testing.T, name, spec string) *appstackv1.AppStack {
	t.Helper()
	st := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := yaml.UnmarshalStrict([]byte(spec), &st.Spec); err != nil {
		t.Fatalf("stack %s: %v", name, err)
	}
	return st
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := admin.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

// setStatus writes obj's status (set by mutate on the live object) through the
// status subresource.
func setStatus[T client.Object](t *testing.T, obj T, mutate func(T)) {
	t.Helper()
	ctx := context.Background()
	if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	mutate(obj)
	if err := admin.Status().Update(ctx, obj); err != nil {
		t.Fatalf("status of %T %s: %v", obj, obj.GetName(), err)
	}
}

// condition is a stack condition as the operator writes it.
func condition(st *appstackv1.AppStack, typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: st.Generation, LastTransitionTime: metav1.Now()}
}

// owned marks obj as the stack's, as the operator does: its labels and its
// controller reference.
func owned[T client.Object](st *appstackv1.AppStack, component string, obj T) T {
	labels := render.StackLabels(st)
	if component != "" {
		labels = render.ComponentLabels(st, component)
	}
	obj.SetLabels(labels)
	obj.SetNamespace(render.NamespaceName(st))
	obj.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(st, appstackv1.GroupVersion.WithKind("AppStack"))})
	return obj
}

const shopSpec = `
volumes:
- name: data
  size: 1Gi
components:
- name: web
  dependsOn: [db]
  containers:
  - name: nginx
    image: nginx:1.28
    ports: [{name: http, containerPort: 80}]
- name: db
  kind: StatefulSet
  containers:
  - name: postgres
    image: postgres:17
    volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumes:
  - name: data
    persistentVolume: data
`

var (
	shopOnce sync.Once
	shop     *appstackv1.AppStack
)

// theShop creates, once, stack shop as the operator would have left it: its
// namespace (created by it: the stack's UID annotation), a Deployment, Service,
// Ingress and autoscaler for web, a retained claim in its inventory, a
// crash-looping pod, two revisions (the second current), events about the
// stack, the pod and web's ReplicaSet, and a ConfigMap labelled with the stack
// that it does not own.
func theShop(t *testing.T) {
	t.Helper()
	shopOnce.Do(func() { shop = makeShop(t) })
	if shop == nil {
		t.Fatal("the shop fixture failed in an earlier test")
	}
}

func makeShop(t *testing.T) *appstackv1.AppStack {
	st := newStack(t, "shop", shopSpec)
	create(t, st)
	ns := &corev1.Namespace{}
	if err := admin.Get(context.Background(), client.ObjectKey{Name: "shop"}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = render.StackLabels(st)
	ns.Annotations = map[string]string{render.AnnotationStackUID: string(st.UID)}
	if err := admin.Update(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	deploy, svc, ing, hpa := webObjects(st)
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop",
		Labels: map[string]string{render.LabelStack: "shop", render.LabelVolume: "data"}},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("standard"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	planted := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "planted", Namespace: "shop",
		Labels: map[string]string{render.LabelStack: "shop"}}}
	create(t, deploy, svc, ing, hpa, claim, planted)
	setStatus(t, claim, func(c *corev1.PersistentVolumeClaim) {
		c.Status.Phase = corev1.ClaimBound
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	})
	setStatus(t, hpa, func(h *autoscalingv2.HorizontalPodAutoscaler) {
		h.Status.CurrentReplicas, h.Status.DesiredReplicas = 2, 3
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
				Current: autoscalingv2.MetricValueStatus{AverageUtilization: ptr.To[int32](45)}}}}
	})
	pod := crashingPod(t, st)
	revisions(t, st)
	shopEvents(t, st, pod)
	inventory := make([]appstackv1.InventoryEntry, 0, 6)
	for _, o := range []client.Object{ns, deploy, svc, ing, hpa, claim} {
		gvk, err := admin.GroupVersionKindFor(o)
		if err != nil {
			t.Fatal(err)
		}
		o.GetObjectKind().SetGroupVersionKind(gvk)
		inventory = append(inventory, plan.Entry(o))
	}
	setStatus(t, st, func(s *appstackv1.AppStack) {
		s.Status = appstackv1.AppStackStatus{ObservedGeneration: s.Generation, Namespace: "shop", Revision: 2, Ready: "1/2",
			Conditions: []metav1.Condition{
				condition(s, appstackv1.ConditionReady, metav1.ConditionFalse, appstackv1.ReasonProgressing, "db: rolling out"),
				condition(s, appstackv1.ConditionReconciling, metav1.ConditionTrue, appstackv1.ReasonProgressing, "db: rolling out")},
			Components: []appstackv1.ComponentStatus{
				{Name: "web", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseReady, Replicas: 1, ReadyReplicas: 1},
				{Name: "db", Kind: appstackv1.KindStatefulSet, Phase: appstackv1.PhaseProgressing, Replicas: 1,
					Message: "0/1 ready"}},
			Inventory: plan.SortInventory(inventory)}
	})
	return st
}

// webObjects are web's Deployment, NodePort Service, Ingress and autoscaler.
func webObjects(st *appstackv1.AppStack) (*appsv1.Deployment, *corev1.Service, *networkingv1.Ingress,
	*autoscalingv2.HorizontalPodAutoscaler) {
	sel := render.SelectorLabels(st, "web")
	deploy := owned(st, "web", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}}}}})
	svc := owned(st, "web", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: sel, Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, NodePort: 30080, TargetPort: intstr.FromString("http")}}}})
	ing := owned(st, "web", &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com"}}}})
	hpa := owned(st, "web", &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](50)}}}}}})
	return deploy, svc, ing, hpa
}

// crashingPod is web's pod, its container in CrashLoopBackOff after 3 restarts.
func crashingPod(t *testing.T, st *appstackv1.AppStack) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f-abcde", Namespace: "shop",
		Labels: render.SelectorLabels(st, "web")},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.28"}}}}
	create(t, pod)
	setStatus(t, pod, func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "nginx", Image: "nginx:1.28", RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}}}
	})
	return pod
}

// revisions records the stack's spec at nginx:1.27 as revision 1, and as it is
// as revision 2; and a revision labelled with the stack that it does not own.
func revisions(t *testing.T, st *appstackv1.AppStack) {
	old := st.DeepCopy()
	old.Spec.Components[0].Containers[0].Image = "nginx:1.27"
	ref := *metav1.NewControllerRef(st, appstackv1.GroupVersion.WithKind("AppStack"))
	for n, s := range []*appstackv1.AppStack{old, st} {
		cr, err := render.Revision(s, int64(n+1))
		if err != nil {
			t.Fatal(err)
		}
		cr.OwnerReferences = []metav1.OwnerReference{ref}
		create(t, cr)
	}
	foreign, err := render.Revision(old, 7)
	if err != nil {
		t.Fatal(err)
	}
	foreign.Name = "shop-planted"
	create(t, foreign)
}

// shopEvents: one about the stack (in namespace default), one about the pod,
// one about web's ReplicaSet, one about the planted ConfigMap (not the stack's).
func shopEvents(t *testing.T, st *appstackv1.AppStack, pod *corev1.Pod) {
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	ev := func(ns, name string, obj corev1.ObjectReference, typ, reason string, count int32, at time.Duration) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, InvolvedObject: obj,
			Type: typ, Reason: reason, Message: fmt.Sprintf("%s of %s", reason, obj.Name), Count: count,
			FirstTimestamp: metav1.NewTime(base), LastTimestamp: metav1.NewTime(base.Add(at)),
			Source: corev1.EventSource{Component: "test"}}
	}
	create(t,
		ev("default", "shop.created", corev1.ObjectReference{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack",
			Name: "shop", UID: st.UID}, corev1.EventTypeNormal, "Created", 1, time.Minute),
		ev("shop", "web.backoff", corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "shop",
			Name: pod.Name, UID: pod.UID}, corev1.EventTypeWarning, "BackOff", 5, 2*time.Minute),
		ev("shop", "web-rs.failed", corev1.ObjectReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Namespace: "shop",
			Name: "web-5d8f"}, corev1.EventTypeWarning, "FailedCreate", 1, 30*time.Second),
		ev("shop", "planted.changed", corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: "shop",
			Name: "planted"}, corev1.EventTypeNormal, "Changed", 1, 3*time.Minute),
	)
}
