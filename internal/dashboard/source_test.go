package dashboard

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// syncInformer is an informer whose first full read is done when synced says so;
// waitSynced asks nothing else of it.
type syncInformer struct {
	cache.Informer
	synced atomic.Bool
}

func (i *syncInformer) HasSynced() bool { return i.synced.Load() }

// An informer that never reads its kind whole (an aggregated API down, say)
// costs one request the wait, not every request after it; one that syncs is
// waited for each time it is asked about until it has.
func TestWaitSyncedGivesUpOnceOnALateInformer(t *testing.T) {
	stuck, slow := &syncInformer{}, &syncInformer{}
	stuckKind := kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Stuck"}}
	slowKind := kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Slow"}}
	src := &source{informers: map[schema.GroupVersionKind]cache.Informer{stuckKind.gvk: stuck, slowKind.gvk: slow}}
	ctx := context.Background()

	start := time.Now()
	late := src.waitSynced(ctx, 200*time.Millisecond)
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Fatalf("the first wait returned after %s with both informers unsynced; want the whole 200ms", waited)
	}
	if len(late) != 2 {
		t.Fatalf("the first wait returned %d late informers, want both", len(late))
	}

	start = time.Now()
	if late := src.waitSynced(ctx, 5*time.Second); len(late) != 0 {
		t.Errorf("the second wait returned %d late informers; those given up on are not waited for again", len(late))
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("the second wait took %s on informers already given up on; want at once", waited)
	}

	// A kind not given up on is waited for until it syncs.
	fresh := &syncInformer{}
	freshKind := kind{gvk: schema.GroupVersionKind{Version: "v1", Kind: "Fresh"}}
	src.informers[freshKind.gvk] = fresh
	time.AfterFunc(100*time.Millisecond, func() { fresh.synced.Store(true) })
	start = time.Now()
	if late := src.waitSynced(ctx, 5*time.Second, freshKind); len(late) != 0 {
		t.Errorf("the wait for a kind that synced returned %d late informers", len(late))
	}
	if waited := time.Since(start); waited < 90*time.Millisecond || waited > 2*time.Second {
		t.Errorf("the wait for a kind that synced after 100ms took %s", waited)
	}
}
