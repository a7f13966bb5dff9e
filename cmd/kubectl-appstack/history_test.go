package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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

// history marks the revision that failed and the one running instead of it.
func TestHistoryMarksAnAutomaticRollback(t *testing.T) {
	rev := func(n int64, image string, annotations map[string]string) appsv1.ControllerRevision {
		data, err := json.Marshal(render.RevisionData{Spec: appstackv1.AppStackSpec{Components: []appstackv1.Component{
			{Name: "web", Containers: []corev1.Container{{Name: "app", Image: image}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("shop-", n), Annotations: annotations},
			Revision: n, Data: runtime.RawExtension{Raw: data}}
	}
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	stack.Status.Revision = 2
	stack.Status.Rollback = &appstackv1.RollbackStatus{FailedRevision: 2, Revision: 1, Reason: "CrashLoopBackOff"}
	var out strings.Builder
	err := printHistory(&out, stack, []appsv1.ControllerRevision{
		rev(1, "app:v1", nil),
		rev(2, "app:v2", map[string]string{render.AnnotationRolledBack: "CrashLoopBackOff at 2026-11-23T08:00:00Z: rolled back to revision 1 (web: keeps crashing)"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 ||
		!strings.Contains(lines[1], "web=app:v1") || !strings.Contains(lines[1], "RUNNING: automatic rollback from revision 2") ||
		!strings.Contains(lines[2], "*") || !strings.Contains(lines[2], "FAILED: CrashLoopBackOff at 2026-11-23T08:00:00Z: rolled back to revision 1") {
		t.Fatalf("history:\n%s", out.String())
	}
}
