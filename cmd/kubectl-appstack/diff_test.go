package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"

	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

func schemaGVK(apiVersion, kind string) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}

func unstructuredOf(obj map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: obj}
}

// deployment is a Deployment as the apiserver returns it after an apply.
func deployment(image string, resourceVersion string) map[string]any {
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name":              "web",
			"namespace":         "shop",
			"uid":               "1d2c",
			"resourceVersion":   resourceVersion,
			"generation":        int64(3),
			"creationTimestamp": "2026-11-23T07:00:00Z",
			"labels":            map[string]any{"apps.appstack.dev/stack": "shop"},
			"annotations": map[string]any{
				ssa.AnnotationAppliedHash:           "hash-of-" + image,
				"deployment.kubernetes.io/revision": "2",
			},
			"managedFields": []any{map[string]any{"manager": "appstack-operator", "operation": "Apply"}},
			"ownerReferences": []any{map[string]any{
				"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack", "name": "shop",
				"uid": "stack-uid", "controller": true,
			}},
		},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "app", "image": image},
			}}},
		},
		"status": map[string]any{"readyReplicas": int64(2), "observedGeneration": int64(3)},
	}
}

func TestCleanLeavesOutWhatEveryApplyChanges(t *testing.T) {
	got := clean(deployment("nginx:1.27", "100"), "")
	md := got["metadata"].(map[string]any)
	for _, f := range []string{"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"} {
		if _, ok := md[f]; ok {
			t.Errorf("metadata.%s kept", f)
		}
	}
	if _, ok := got["status"]; ok {
		t.Error("status kept")
	}
	annotations := md["annotations"].(map[string]any)
	if _, ok := annotations[ssa.AnnotationAppliedHash]; ok {
		t.Error("the applied-hash annotation kept")
	}
	if annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("another annotation was dropped: %v", annotations)
	}
	if md["ownerReferences"].([]any)[0].(map[string]any)["uid"] != "stack-uid" {
		t.Error("the owner reference of an existing stack lost its uid")
	}
	// Two applies of the same content differ only in what clean leaves out.
	if a, b := clean(deployment("nginx:1.27", "100"), ""), clean(deployment("nginx:1.27", "101"), ""); !yamlEqual(t, a, b) {
		t.Error("two resourceVersions of one content differ once cleaned")
	}
	in := deployment("nginx:1.27", "100")
	clean(in, "")
	if in["status"] == nil || in["metadata"].(map[string]any)["uid"] == nil {
		t.Error("clean changed its input")
	}
}

func TestCleanDropsAnEmptiedAnnotationsMapAndANewStacksUID(t *testing.T) {
	obj := deployment("nginx:1.27", "1")
	obj["metadata"].(map[string]any)["annotations"] = map[string]any{ssa.AnnotationAppliedHash: "h"}
	got := clean(obj, "stack-uid")
	md := got["metadata"].(map[string]any)
	if _, ok := md["annotations"]; ok {
		t.Errorf("annotations kept though only the hash was there: %v", md["annotations"])
	}
	ref := md["ownerReferences"].([]any)[0].(map[string]any)
	if _, ok := ref["uid"]; ok || ref["name"] != "shop" {
		t.Errorf("owner reference to the new stack: %v, want it without uid", ref)
	}
}

func yamlEqual(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	x, err := yamlLines(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yamlLines(b)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(x, "") == strings.Join(y, "")
}

func TestChangedObjectDiff(t *testing.T) {
	r := &report{stack: "shop"}
	r.changes = append(r.changes, change{action: actionChanged, apiVersion: "apps/v1", kind: "Deployment",
		namespace: "shop", name: "web",
		live: clean(deployment("nginx:1.27", "100"), ""), applied: clean(deployment("nginx:1.28", "101"), "")})
	var out bytes.Buffer
	if err := r.write(&out); err != nil {
		t.Fatal(err)
	}
	want := `--- live/apps/v1/Deployment/shop/web
+++ applied/apps/v1/Deployment/shop/web
@@ -18,5 +18,5 @@
   template:
     spec:
       containers:
-      - image: nginx:1.27
+      - image: nginx:1.28
         name: app
AppStack shop: 1 changed
  changed   Deployment shop/web
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestCreatedAndPrunedObjectsAreWholeFiles(t *testing.T) {
	svc := map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "cache", "namespace": "shop"},
		"spec":     map[string]any{"ports": []any{map[string]any{"port": int64(6379)}}}}
	r := &report{stack: "shop", changes: []change{
		{action: actionCreated, apiVersion: "v1", kind: "Service", namespace: "shop", name: "cache", applied: svc},
		{action: actionPruned, apiVersion: "v1", kind: "Namespace", name: "old", note: "no longer in the spec",
			live: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "old"}}},
		{action: actionConflict, kind: "ConfigMap", namespace: "shop", name: "settings", note: "someone else's"},
	}}
	var out bytes.Buffer
	if err := r.write(&out); err != nil {
		t.Fatal(err)
	}
	want := "--- live/v1/Service/shop/cache\t(does not exist)\n" +
		"+++ applied/v1/Service/shop/cache\t(created)\n" +
		`@@ -0,0 +1,8 @@
+apiVersion: v1
+kind: Service
+metadata:
+  name: cache
+  namespace: shop
+spec:
+  ports:
+  - port: 6379
` + "--- live/v1/Namespace/old\n" +
		"+++ applied/v1/Namespace/old\t(pruned: deleted by the operator)\n" +
		`@@ -1,4 +0,0 @@
-apiVersion: v1
-kind: Namespace
-metadata:
-  name: old
AppStack shop: 1 created, 1 pruned, 1 conflict
  created   Service shop/cache
  pruned    Namespace old: no longer in the spec
  conflict  ConfigMap shop/settings: someone else's
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNoChangePrintsNothing(t *testing.T) {
	var out bytes.Buffer
	if err := (&report{stack: "shop"}).write(&out); err != nil || out.Len() != 0 {
		t.Fatalf("got %q, %v; want nothing", out.String(), err)
	}
	r := &report{stack: "shop"}
	live := deployment("nginx:1.27", "1")
	r.add(schemaGVK("apps/v1", "Deployment"), "shop", "web", unstructuredOf(live), unstructuredOf(deployment("nginx:1.27", "2")), "", "")
	if r.changed() {
		t.Errorf("a dry run that changes only the resourceVersion is a change: %+v", r.changes)
	}
}

// diff fails with exit status 2 and the field when a stack is invalid, before it
// needs a cluster; and for a wrong invocation.
func TestDiffExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		doc  string
		want string
	}{
		{"unknown field", []string{"diff", "-f", "-"}, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, replica: 2, containers: [{name: c, image: i}]}
`, "spec.components[0].replica: Forbidden: unknown field"},
		{"cycle", []string{"diff", "-f", "-"}, `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: shop}
spec:
  components:
  - {name: a, dependsOn: [b], containers: [{name: c, image: i}]}
  - {name: b, dependsOn: [a], containers: [{name: c, image: i}]}
`, "dependency cycle: a → b → a"},
		{"no file", []string{"diff"}, "", "no input: pass -f FILE"},
		{"unknown flag", []string{"diff", "--frobnicate"}, "", "unknown flag: --frobnicate"},
		{"argument", []string{"diff", "shop"}, "", "pass the stacks with -f FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = append(os.Environ(), envRunMain+"=1", "KUBECONFIG=/nonexistent")
			cmd.Stdin = strings.NewReader(tt.doc)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
				t.Fatalf("got %v, want exit status %d; stderr:\n%s", err, exitFailed, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("printed on stdout:\n%s", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

// RBAC refusing a dry run is answered with the permission it needs and how to
// check it: a dry run needs the permission of the write it stands for. The
// refusal comes out of the operator's own pass (the Deployment's apply), through
// the writer that names the request.
func TestForbiddenNamesThePermission(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
	refused := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web",
		errors.New(`User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`))
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil)
	// The stack exists, with its namespace and its Deployment, whose apply is
	// a patch.
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "stack-uid"}}
	labels := map[string]string{render.LabelStack: "shop", render.LabelManagedBy: render.ManagedBy}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels,
		Annotations: map[string]string{render.AnnotationStackUID: "stack-uid"}}}
	web := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))}}}
	diff := func(refusal error) error {
		live := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stack, ns, web).Build()
		c := interceptor.NewClient(live, interceptor.Funcs{
			Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
				if u := obj.(bodyOf).UnstructuredContent(); u["kind"] == "Deployment" {
					return refusal
				}
				return c.Apply(ctx, obj, opts...)
			},
		})
		doc := document{source: "shop.yaml", obj: map[string]any{
			"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack", "metadata": map[string]any{"name": "shop"},
			"spec": map[string]any{"components": []any{map[string]any{"name": "web",
				"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27"}}}}},
		}}
		_, err := (&differ{c: c}).stack(context.Background(), doc)
		return err
	}
	err := diff(refused)
	for _, want := range []string{
		`patch Deployment web in namespace shop: `,
		`apply Deployment shop/web: deployments.apps "web" is forbidden: ` +
			`User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`,
		"the diff needs permission to patch deployments.apps (diff only dry-runs it, which needs the same permission as the write itself)",
		"check with: kubectl auth can-i patch deployments.apps -n shop",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got:\n%v\nwant it to contain:\n%s", err, want)
		}
	}
	if !apierrors.IsForbidden(err) {
		t.Error("the explained error no longer is Forbidden")
	}
	// Other refusals keep the apiserver's message, which names the field.
	if err := diff(invalid); err == nil || !strings.HasPrefix(err.Error(), "dry-run patch of Deployment web in namespace shop: ") ||
		!strings.Contains(err.Error(), `Deployment.apps "web" is invalid`) {
		t.Errorf("got %v", err)
	}
}
