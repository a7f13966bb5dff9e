package main

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/controller"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// What a dry run cannot show is what the writer makes up for (see dryRunWriter);
// only a real apiserver (envtest: kube-apiserver and etcd from bin/, as the
// controller suite) answers dry runs the way the writer must mend.
func TestDiffAgainstAPIServer(t *testing.T) {
	_, c := apiServer(t)
	t.Run("new stack: its objects are shown as sent", func(t *testing.T) { newStackIsShownAsSent(t, c) })
	t.Run("replica count handed over stays", func(t *testing.T) { handedOverCountStays(t, c) })
	t.Run("label dropped around an apply stays dropped", func(t *testing.T) { droppedLabelStaysDropped(t, c) })
}

func stackDoc(t *testing.T, yaml string) document {
	t.Helper()
	docs, err := readStacks("-", strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return docs[0]
}

// changeOf is the change of one object in a report, by kind and name.
func changeOf(r *report, kind, name string) *change {
	for i := range r.changes {
		if r.changes[i].kind == kind && r.changes[i].name == name {
			return &r.changes[i]
		}
	}
	return nil
}

// A stack whose namespace does not exist: the dry run creates the namespace, and
// what goes into it cannot be dry-run (NotFound); it is shown as the operator
// sends it, and nothing is created.
func newStackIsShownAsSent(t *testing.T, c client.Client) {
	ctx := context.Background()
	r, err := (&differ{c: c}).stack(ctx, stackDoc(t, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: fresh}
spec:
  configs: [{name: settings, data: {mode: fast}}]
  components:
  - name: web
    containers: [{name: app, image: nginx:1.27, ports: [{name: http, containerPort: 80}]}]
`))
	if err != nil {
		t.Fatalf("diff of a new stack: %v", err)
	}
	for _, want := range [][2]string{{"AppStack", "fresh"}, {"Namespace", "fresh"}, {"ConfigMap", "settings"},
		{"Deployment", "web"}, {"Service", "web"}} {
		ch := changeOf(r, want[0], want[1])
		if ch == nil || ch.action != actionCreated {
			t.Errorf("%s %s: got %+v, want it created", want[0], want[1], ch)
		}
	}
	if ch := changeOf(r, "Deployment", "web"); ch != nil {
		containers, _, _ := unstructured.NestedSlice(ch.applied, "spec", "template", "spec", "containers")
		if len(containers) != 1 || containers[0].(map[string]any)["image"] != "nginx:1.27" {
			t.Errorf("the Deployment is not shown as sent: %v", ch.applied)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "fresh"}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("the diff created the namespace (or could not tell): %v", err)
	}
}

// A component that gets an autoscaler: the pass hands the replica count over to
// plan.HandoverManager, then applies the Deployment without it. Each dry run on
// its own would show the count reset to 1; the diff shows it kept.
func handedOverCountStays(t *testing.T, c client.Client) {
	ctx := context.Background()
	spec := `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: scale}
spec:
  components:
  - name: web
    replicas: 3
    containers: [{name: app, image: nginx:1.27, resources: {requests: {cpu: 100m}}}]
`
	doc := stackDoc(t, spec)
	stack := &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(doc.obj, stack); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, stack); err != nil {
		t.Fatal(err)
	}
	// The operator's pass with a client that writes sets the stack up as the
	// operator does.
	if _, err := controller.NewPreviewer(c, c).Preview(ctx, stack); err != nil {
		t.Fatalf("apply the stack: %v", err)
	}
	autoscaled := strings.Replace(spec, "    replicas: 3\n",
		"    autoscaling: {minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 80}\n", 1)
	r, err := (&differ{c: c}).stack(ctx, stackDoc(t, autoscaled))
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	if ch := changeOf(r, "HorizontalPodAutoscaler", "web"); ch == nil || ch.action != actionCreated {
		t.Errorf("the autoscaler: got %+v, want it created", ch)
	}
	ch := changeOf(r, "Deployment", "web")
	if ch == nil {
		t.Fatalf("the Deployment does not change; report: %+v", r.changes)
	}
	if n, _, _ := unstructured.NestedInt64(ch.applied, "spec", "replicas"); n != 3 {
		t.Errorf("the Deployment's replicas after the apply: %d, want 3 (handed over)", n)
	}
	if ch.applied["metadata"].(map[string]any)["annotations"].(map[string]any)[plan.AnnotationAutoscaled] == nil {
		t.Errorf("the Deployment's apply is not in the diff: %v", ch.applied)
	}
}

// A retained claim taken back: the pass drops its retained label (a merge patch)
// and applies it; the namespace is applied, then its label dropped. Each dry run
// on its own shows only its own change; the writer shows both, in either order.
func droppedLabelStaysDropped(t *testing.T, c client.Client) {
	ctx := context.Background()
	retained := map[string]string{render.LabelRetained: render.LabelRetainedValue, "team": "shop"}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "takeback", Labels: retained}}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "takeback",
		Labels: retained},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	for _, obj := range []client.Object{ns, claim} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	w := newDryRunWriter(c)
	dropLabel := func(obj client.Object) {
		t.Helper()
		base := obj.DeepCopyObject().(client.Object)
		labels := map[string]string{"team": "shop"}
		obj.SetLabels(labels)
		if err := w.Patch(ctx, obj, client.MergeFrom(base)); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(kind, namespace, name string) map[string]any {
		t.Helper()
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		u.SetNamespace(namespace)
		u.SetName(name)
		u.SetLabels(map[string]string{"applied": "yes"})
		if err := w.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
			client.FieldOwner(render.ManagedBy), client.ForceOwnership); err != nil {
			t.Fatal(err)
		}
		return u.Object
	}
	want := map[string]any{"team": "shop", "applied": "yes"}
	dropLabel(claim)
	if got, _, _ := unstructured.NestedMap(apply("PersistentVolumeClaim", "takeback", "data"),
		"metadata", "labels"); !mapsEqual(got, want) {
		t.Errorf("claim: label dropped, then applied: labels %v, want %v", got, want)
	}
	apply("Namespace", "", "takeback")
	dropLabel(ns)
	got := map[string]any{}
	for k, v := range ns.Labels {
		if k != corev1.LabelMetadataName {
			got[k] = v
		}
	}
	if !mapsEqual(got, want) {
		t.Errorf("namespace: applied, then label dropped: labels %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
