package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// RBAC refusing a dry run is answered with the permission it needs and how to
// check it: a dry run needs the permission of the write it stands for.
func TestForbiddenNamesThePermission(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	c := fake.NewClientBuilder().WithScheme(scheme).WithRESTMapper(mapper).Build()
	d := &differ{read: c, dry: &dryRunClient{Client: client.NewDryRunClient(c)}}
	refused := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web",
		errors.New(`User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`))
	err := d.explain(fmt.Errorf("apply Deployment shop/web: %w", refused), "patch",
		schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "shop", "web")
	for _, want := range []string{
		`patch Deployment web in namespace shop: apply Deployment shop/web: deployments.apps "web" is forbidden: ` +
			`User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`,
		"the diff needs permission to patch deployments.apps (diff only dry-runs it, which needs the same permission as the write itself)",
		"check with: kubectl auth can-i patch deployments.apps -n shop",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got:\n%v\nwant it to contain:\n%s", err, want)
		}
	}
	if !apierrors.IsForbidden(err) {
		t.Error("the explained error no longer is Forbidden")
	}
	// Other refusals keep the apiserver's message, which names the field.
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil)
	if got := d.explain(invalid, "create", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "shop", "web"); !strings.HasPrefix(got.Error(), "dry-run create of Deployment web in namespace shop: ") {
		t.Errorf("got %v", got)
	}
}
