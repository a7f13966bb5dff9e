package main

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
