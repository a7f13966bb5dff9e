package controller

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// batched wraps the handler of a child kind so that the stacks it maps creations
// and updates to are reconciled period later: a rollout's burst of status updates
// (pods ready, then their ReplicaSet, then the Deployment, a moment apart) becomes
// one pass and one status write instead of one per step. Deletions are enqueued
// at once, so that a deleted child is restored at event speed. A stack already
// waiting is not delayed further.
func batched(h handler.EventHandler, period time.Duration) handler.EventHandler {
	if period <= 0 {
		return h
	}
	later := func(q requestQueue) requestQueue {
		return delayedQueue{TypedRateLimitingInterface: q, after: period}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q requestQueue) {
			h.Create(ctx, e, later(q))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q requestQueue) {
			h.Update(ctx, e, later(q))
		},
		DeleteFunc:  h.Delete,
		GenericFunc: h.Generic,
	}
}

// requestQueue is the work queue that event handlers add reconcile requests to.
type requestQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// delayedQueue turns Add into AddAfter. The delaying queue keeps the earliest time
// an item is due, so a burst of events enqueues a stack once. In controller-runtime's
// priority queue the item also goes at low priority: a stack whose spec is new or
// changed, or whose child was deleted, is worked on before one whose children
// merely moved on — hundreds of stacks applied at once are all created first, and
// their later passes each see more of their rollout (fewer status writes). An item
// keeps the highest priority it was added with.
type delayedQueue struct {
	workqueue.TypedRateLimitingInterface[reconcile.Request]
	after time.Duration
}

func (q delayedQueue) Add(r reconcile.Request) {
	if pq, ok := q.TypedRateLimitingInterface.(priorityqueue.PriorityQueue[reconcile.Request]); ok {
		pq.AddWithOpts(priorityqueue.AddOpts{After: q.after, Priority: ptr.To(handler.LowPriority)}, r)
		return
	}
	q.AddAfter(r, q.after)
}
