package main

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// A ControllerRevision that only looks like the stack's (its labels, no controller
// reference to the stack) is neither listed nor a rollback target.
func TestRevisionsAreOnlyTheStacksOwn(t *testing.T) {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(appstackv1.AddToScheme(scheme))
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "uid-shop"}}
	labels := map[string]string{render.LabelStack: "shop", render.LabelSpecHash: "h"}
	own := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "shop-1", Namespace: "shop", Labels: labels,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack",
			Name: "shop", UID: "uid-shop", Controller: ptr.To(true)}}}, Revision: 1}
	planted := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "shop-2", Namespace: "shop", Labels: labels},
		Revision: 2}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stack, own, planted).Build()
	_, revs, err := revisions(context.Background(), c, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || revs[0].Name != "shop-1" {
		names := make([]string, 0, len(revs))
		for _, r := range revs {
			names = append(names, r.Name)
		}
		t.Fatalf("revisions of shop = %v, want only shop-1 (shop-2 is not controlled by the stack)", names)
	}
}
