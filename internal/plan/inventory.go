package plan

import (
	"maps"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// KindControllerRevision is the kind of the stack's revisions: history, never in
// its inventory (docs/ownership.md).
const KindControllerRevision = "ControllerRevision"

// Member tells whether an object of the stack, as applied (or listed), is recorded
// in its inventory: anything the apiserver gave a UID, but the stack's
// ControllerRevisions (history, trimmed by spec.revisionHistoryLimit) and a
// namespace the stack did not create (an adopted namespace stays its owner's).
func Member(obj client.Object, stack *appstackv1.AppStack) bool {
	switch KeyOf(obj).Kind {
	case KindControllerRevision:
		return false
	case KindNamespace:
		return obj.GetUID() != "" && CreatedNamespace(obj, stack)
	}
	return obj.GetUID() != ""
}

// Recoverable tells whether a live object labelled with the stack is the stack's
// though its inventory may not record it: a member that carries the stack's
// controller reference, which the operator sets only on what it creates (a crash
// between a create and the status write, or a stack from before inventories).
func Recoverable(obj client.Object, stack *appstackv1.AppStack) bool {
	return metav1.IsControlledBy(obj, stack) && Member(obj, stack)
}

// InventoryBuilder collects what a stack owns while a pass writes: it starts from
// the inventory the plan expects, gains what an apply creates and loses what a
// prune or deletion finds gone. The applies of one phase run concurrently, so it
// locks.
type InventoryBuilder struct {
	mu      sync.Mutex
	entries map[Key]appstackv1.InventoryEntry
}

// NewInventoryBuilder starts a builder from an inventory.
func NewInventoryBuilder(start []appstackv1.InventoryEntry) *InventoryBuilder {
	b := &InventoryBuilder{entries: map[Key]appstackv1.InventoryEntry{}}
	for _, e := range start {
		b.entries[EntryKey(e)] = e
	}
	return b
}

// Add records an entry (again).
func (b *InventoryBuilder) Add(e appstackv1.InventoryEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries[EntryKey(e)] = e
}

// Record adds an applied object when it is a Member, and tells whether it did.
func (b *InventoryBuilder) Record(obj client.Object, stack *appstackv1.AppStack) bool {
	if !Member(obj, stack) {
		return false
	}
	b.Add(Entry(obj))
	return true
}

// Drop removes an entry: its object is gone, deleted, or no longer the stack's.
func (b *InventoryBuilder) Drop(k Key) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, k)
}

// List is the inventory now, in status.inventory's order.
func (b *InventoryBuilder) List() []appstackv1.InventoryEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return SortInventory(slices.Collect(maps.Values(b.entries)))
}
