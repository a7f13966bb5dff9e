package controllers

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestBatched(t *testing.T) {
	ctx := context.Background()
	pod := func(stack string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: stack, Labels: map[string]string{render.LabelStack: stack}}}
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	const period = 300 * time.Millisecond
	h := batched(handler.EnqueueRequestsFromMapFunc(stackFromLabel), period)

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
	h := batched(handler.EnqueueRequestsFromMapFunc(stackFromLabel), time.Millisecond)
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
