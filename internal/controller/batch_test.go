package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// mapper is stackFromLabel of a reconciler whose cache holds stacks of these names.
func mapper(t *testing.T, names ...string) handler.MapFunc {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := appstackv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	objs := make([]client.Object, 0, len(names))
	for _, n := range names {
		objs = append(objs, &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	r := &AppStackReconciler{Client: fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()}
	return r.stackFromLabel
}

// TestStackFromLabelOnlyInTheStacksNamespace: anyone may label an object like a
// stack's; only one in the stack's namespace (or that namespace) wakes the stack.
func TestStackFromLabelOnlyInTheStacksNamespace(t *testing.T) {
	ctx := context.Background()
	m := mapper(t, "shop")
	labels := map[string]string{render.LabelStack: "shop"}
	for _, tc := range []struct {
		obj  client.Object
		want int
	}{
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop", Labels: labels}}, 1},
		{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: labels}}, 1},
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "unrelated", Labels: labels}}, 0},
		{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Labels: labels}}, 0},
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "gone", Labels: map[string]string{render.LabelStack: "gone"}}}, 0},
	} {
		if got := len(m(ctx, tc.obj)); got != tc.want {
			t.Errorf("%T %s/%s: %d requests, want %d", tc.obj, tc.obj.GetNamespace(), tc.obj.GetName(), got, tc.want)
		}
	}
}

func TestBatched(t *testing.T) {
	ctx := context.Background()
	pod := func(stack string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: stack, Labels: map[string]string{render.LabelStack: stack}}}
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	const period = 300 * time.Millisecond
	h := batched(handler.EnqueueRequestsFromMapFunc(mapper(t, "shop", "cart")), period)

	start := time.Now()
	for range 5 { // a rollout's burst
		h.Update(ctx, event.UpdateEvent{ObjectOld: pod("shop"), ObjectNew: pod("shop")}, q)
	}
	h.Create(ctx, event.CreateEvent{Object: pod("shop")}, q)
	if q.Len() != 0 {
		t.Fatalf("updates and creations wait for the batch period; queue has %d", q.Len())
	}
	h.Delete(ctx, event.DeleteEvent{Object: pod("cart")}, q)
	if q.Len() != 1 {
		t.Fatalf("a deletion is enqueued at once; queue has %d", q.Len())
	}
	if r, _ := q.Get(); r.Name != "cart" {
		t.Fatalf("got %v, want the deleted child's stack", r)
	}
	q.Done(reconcile.Request{NamespacedName: types.NamespacedName{Name: "cart"}})

	r, _ := q.Get()
	if waited := time.Since(start); r.Name != "shop" || waited < period {
		t.Fatalf("got %v after %s, want stack shop after %s", r, waited, period)
	}
	q.Done(r)
	time.Sleep(period)
	if q.Len() != 0 {
		t.Errorf("the burst enqueued the stack %d more times", q.Len())
	}

}

// TestBatchedIsLowPriority: in controller-runtime's priority queue, a stack whose
// children moved waits behind one whose spec changed, unless it was added with a
// higher priority too.
func TestBatchedIsLowPriority(t *testing.T) {
	ctx := context.Background()
	q := priorityqueue.New[reconcile.Request]("test")
	defer q.ShutDown()
	h := batched(handler.EnqueueRequestsFromMapFunc(mapper(t, "moved")), time.Millisecond)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "moved", Labels: map[string]string{render.LabelStack: "moved"}}}
	h.Update(ctx, event.UpdateEvent{ObjectOld: pod, ObjectNew: pod}, q)
	q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: "changed"}}) // as For(AppStack) does
	time.Sleep(20 * time.Millisecond)

	first, prio, _ := q.GetWithPriority()
	if first.Name != "changed" || prio != 0 {
		t.Fatalf("got %v at priority %d first, want the changed stack at 0", first, prio)
	}
	second, prio, _ := q.GetWithPriority()
	if second.Name != "moved" || prio != handler.LowPriority {
		t.Fatalf("got %v at priority %d, want the moved stack at low priority", second, prio)
	}
}
