package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

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
