// Package crdupgrade proves that AppStacks stored under an earlier CRD still read,
// update, take status writes and finalizer removal once the current CRD replaces
// it, although the current CRD refuses some of them at creation (docs/api-evolution.md).
// It runs against envtest's etcd and kube-apiserver (bin/, make tools-envtest).
//
// testdata/appstacks-before-trust-cb0b74b.yaml is the CRD of commit cb0b74b, the
// last before the ownership rework: it let a stack live in namespace `default`,
// which the current CRD refuses at creation.
package crdupgrade

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

const finalizer = "apps.appstack.dev/finalizer"

func readCRD(t *testing.T, path string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return crd
}

func stack(name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack",
		"metadata": map[string]any{"name": name},
		"spec":     spec,
	}}
}

func web(image string) []any {
	return []any{map[string]any{"name": "web", "containers": []any{map[string]any{"name": "app", "image": image}}}}
}

func TestStoredStacksSurviveTheCRDUpgrade(t *testing.T) {
	env := &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths: []string{filepath.Join("testdata", "appstacks-before-trust-cb0b74b.yaml")}, ErrorIfPathMissing: true,
		},
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		env.BinaryAssetsDirectory = filepath.Join("..", "..", "bin")
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest (make tools-envtest builds etcd and kube-apiserver into bin/): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Written by the earlier release, with the finalizer and a status as that
	// operator left them: a stack in namespace `default`, which the current CRD
	// protects, and an ordinary one.
	// Also stacks the current CRD refuses at creation since issue 19: one named
	// kube-*, one whose namespace labels downgrade Pod Security, one whose namespace
	// annotation is the operator's.
	legacy := map[string]map[string]any{
		"in-default":   {"namespace": map[string]any{"name": "default"}, "components": web("nginx:1.25")},
		"legacy":       {"components": web("nginx:1.25")},
		"kube-flannel": {"components": web("nginx:1.25")},
		"psa-label": {"namespace": map[string]any{"labels": map[string]any{"pod-security.kubernetes.io/enforce-version": "v1.18"},
			"annotations": map[string]any{"apps.appstack.dev/adopt": "other"}}, "components": web("nginx:1.25")},
	}
	for name, spec := range legacy {
		s := stack(name, spec)
		s.SetFinalizers([]string{finalizer})
		if err := c.Create(ctx, s); err != nil {
			t.Fatalf("the earlier CRD accepts %s: %v", name, err)
		}
		_ = unstructured.SetNestedField(s.Object, "1/1", "status", "ready")
		if err := c.Status().Update(ctx, s); err != nil {
			t.Fatalf("status of %s under the earlier CRD: %v", name, err)
		}
	}

	// The upgrade: the current CRD replaces the earlier one, as helm upgrade or
	// kubectl apply would.
	current := readCRD(t, filepath.Join("..", "..", "config", "crd", "bases", "apps.appstack.dev_appstacks.yaml"))
	live := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: current.Name}, live); err != nil {
		t.Fatal(err)
	}
	live.Spec = current.Spec
	if err := c.Update(ctx, live); err != nil {
		t.Fatalf("update the CRD: %v", err)
	}
	// The new schema is in force once it refuses a new stack in `default`.
	var refusal error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		refusal = c.Create(ctx, stack("new-in-default", map[string]any{
			"namespace": map[string]any{"name": "default"}, "components": web("nginx:1.25")}), client.DryRunAll)
		if refusal != nil || time.Now().After(deadline) {
			break
		}
	}
	if refusal == nil || !strings.Contains(refusal.Error(), "are protected") {
		t.Fatalf("the current CRD must refuse a new stack in namespace default, got %v", refusal)
	}
	t.Logf("a new stack in default after the upgrade: %v", refusal)
	for name, want := range map[string]string{"kube-flannel": "reserved to Kubernetes", "psa-label": "Pod Security is set by the operator"} {
		fresh := stack(name+"-new", legacy[name])
		if name == "kube-flannel" {
			fresh.SetName("kube-flannel2")
		}
		if err := c.Create(ctx, fresh, client.DryRunAll); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the current CRD must refuse a new stack like %s (%q), got %v", name, want, err)
		}
	}

	for name := range legacy {
		s := &unstructured.Unstructured{}
		s.SetGroupVersionKind(stack(name, nil).GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKey{Name: name}, s); err != nil {
			t.Fatalf("%s does not read after the upgrade: %v", name, err)
		}
		// What the operator and its users do to a stored stack.
		s.SetLabels(map[string]string{"team": "a"})
		if err := c.Update(ctx, s); err != nil {
			t.Errorf("%s: a label update is refused after the upgrade: %v", name, err)
			continue
		}
		_ = unstructured.SetNestedSlice(s.Object, web("nginx:1.27"), "spec", "components")
		if err := c.Update(ctx, s); err != nil {
			t.Errorf("%s: a spec update that keeps the namespace is refused after the upgrade: %v", name, err)
			continue
		}
		_ = unstructured.SetNestedField(s.Object, "0/1", "status", "ready")
		if err := c.Status().Update(ctx, s); err != nil {
			t.Errorf("%s: a status write is refused after the upgrade: %v", name, err)
			continue
		}
		moved := s.DeepCopy()
		_ = unstructured.SetNestedField(moved.Object, "elsewhere", "spec", "namespace", "name")
		if err := c.Update(ctx, moved, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "cannot change") {
			t.Errorf("%s: moving the stack to another namespace must be refused, got %v", name, err)
		}
		if err := c.Delete(ctx, s); err != nil {
			t.Fatalf("%s: delete: %v", name, err)
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			t.Fatal(err)
		}
		s.SetFinalizers(nil)
		if err := c.Update(ctx, s); err != nil {
			t.Errorf("%s: removing the finalizer of a deleted stack is refused after the upgrade: %v", name, err)
			continue
		}
		t.Logf("%s: read, label, spec, status and finalizer removal all accepted after the upgrade", name)
	}
}
