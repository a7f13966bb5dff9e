package plan

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// What a deletion does with one member of the stack's inventory.
type DeletionAction string

const (
	// DeletionDrop: the object is gone, or someone else's now (another UID); it
	// leaves the inventory.
	DeletionDrop DeletionAction = "drop"
	// DeletionRetain: a claim that outlives the stack; it is labelled retained and
	// leaves the inventory.
	DeletionRetain DeletionAction = "retain"
	// DeletionWait: already on its way out; the deletion waits for it.
	DeletionWait DeletionAction = "wait"
	// DeletionLeave: it no longer carries the stack's controller reference (an
	// orphan deletion took it off): it stays where it is, in the inventory, and
	// keeps the namespace.
	DeletionLeave DeletionAction = "leave"
	// DeletionDelete: delete it — unless a live read shows an orphan deletion took
	// the stack's reference off it meanwhile, then leave it — and wait for it.
	DeletionDelete DeletionAction = "delete"
)

// DeletionItem is one inventory member of a deletion level.
type DeletionItem struct {
	Action DeletionAction
	Entry  appstackv1.InventoryEntry
	// Object is the object as the cache shows it; nil when it shows none.
	Object client.Object
	// Waiting says what the deletion waits for when it waits on this object: its
	// key and its finalizers.
	Waiting string
}

// DeletionLevel is what goes together: the members of the level's components,
// in inventory order.
type DeletionLevel struct {
	// Components are the level's components; nil for the last level, which holds
	// everything not in a component of the spec (configs, claims, Services of
	// removed components).
	Components []string
	Items      []DeletionItem
}

// Deletion is how a stack is taken apart (docs/ownership.md, "Every deletion
// path"): level by level, each only once the previous one is gone, then the
// StatefulSet claims to keep, then the stack's revisions, then the namespace
// (ReleaseNamespace).
type Deletion struct {
	// Inventory is what the stack owns when the deletion starts: its recorded
	// inventory and the labelled objects that carry its controller reference.
	Inventory []appstackv1.InventoryEntry
	// Levels follow render.DeletionOrder — dependents first — and end with the
	// level of everything not in a component. The stack's namespace is in none:
	// it is released last.
	Levels []DeletionLevel
	// KeepClaims are the claims the StatefulSet controller made from the stack's
	// retained templates (no owner, not going): they stay, labelled retained like
	// a retained stack volume, and keep the namespace.
	KeepClaims []client.Object
	// Revisions are the stack's ControllerRevisions not yet going, deleted by the
	// operator itself: once the CRD is deleted the garbage collector can no longer
	// look their owner up.
	Revisions []client.Object
}

// PlanDeletion plans the deletion of a stack from its inventory
// (stack.Status.Inventory) and the objects labelled with it, as the cache lists
// them (kinds set).
func PlanDeletion(stack *appstackv1.AppStack, labelled []client.Object) Deletion {
	live := map[Key]client.Object{}
	inv := NewInventoryBuilder(stack.Status.Inventory)
	for _, obj := range labelled {
		live[KeyOf(obj)] = obj
		if Recoverable(obj, stack) {
			inv.Add(Entry(obj))
		}
	}
	d := Deletion{Inventory: inv.List()}
	order := render.DeletionOrder(stack)
	for _, components := range order {
		d.Levels = append(d.Levels, DeletionLevel{Components: components})
	}
	d.Levels = append(d.Levels, DeletionLevel{})
	for _, e := range d.Inventory {
		if e.Kind == KindNamespace {
			continue
		}
		obj := live[EntryKey(e)]
		level := len(order) // not in a component: the last level
		if obj != nil {
			c := obj.GetLabels()[render.LabelComponent]
			if i := slices.IndexFunc(order, func(l []string) bool { return c != "" && slices.Contains(l, c) }); i >= 0 {
				level = i
			}
		}
		d.Levels[level].Items = append(d.Levels[level].Items, deletionItem(stack, e, obj))
	}
	for _, claim := range TemplateClaims(stack.Name, labelled) {
		if len(claim.GetOwnerReferences()) == 0 && claim.GetDeletionTimestamp() == nil {
			d.KeepClaims = append(d.KeepClaims, claim)
		}
	}
	for _, obj := range labelled {
		if KeyOf(obj).Kind == KindControllerRevision && metav1.IsControlledBy(obj, stack) && obj.GetDeletionTimestamp() == nil {
			d.Revisions = append(d.Revisions, obj)
		}
	}
	return d
}

// deletionItem decides what happens to one inventory member; obj is the object
// the cache shows under its key, nil when none.
func deletionItem(stack *appstackv1.AppStack, e appstackv1.InventoryEntry, obj client.Object) DeletionItem {
	item := DeletionItem{Entry: e, Object: obj, Waiting: EntryKey(e).String()}
	if obj != nil {
		if f := obj.GetFinalizers(); len(f) > 0 {
			item.Waiting += fmt.Sprintf(" (finalizers: %s)", strings.Join(f, ", "))
		}
	}
	switch {
	case obj == nil || obj.GetUID() != e.UID:
		item.Action = DeletionDrop
	case e.Kind == KindPersistentVolumeClaim && OutlivesStack(obj, stack):
		item.Action = DeletionRetain
	case obj.GetDeletionTimestamp() != nil:
		item.Action = DeletionWait
	case !metav1.IsControlledBy(obj, stack):
		item.Action = DeletionLeave
	default:
		item.Action = DeletionDelete
	}
	return item
}

// OutlivesStack tells whether a claim of the stack's inventory stays when the
// stack goes: unless the stack controls it and its volume (if still in the spec)
// says retain: false. A retain flipped to true on a pass that never got to drop
// the owner reference is honoured here.
func OutlivesStack(claim client.Object, stack *appstackv1.AppStack) bool {
	return !metav1.IsControlledBy(claim, stack) || isRetainedClaim(claim, stack)
}

// A deleting stack whose children are slow to go looks again after a backoff
// that grows with how long it has been deleting, from MinDeletionBackoff to
// MaxDeletionBackoff; each child's deletion event brings it back sooner.
const (
	MinDeletionBackoff = time.Second
	MaxDeletionBackoff = 30 * time.Second
)

// Waiting is what a deletion that waits says, and when it looks again.
type Waiting struct {
	// Message is the stack's summary and Ready message while it waits.
	Message string
	// Event: the message is new (the stack's recorded summary says something
	// else), so an event says it once.
	Event bool
	// After is when to look again: as long as the stack has been deleting, within
	// MinDeletionBackoff..MaxDeletionBackoff. Looking again after as long as it
	// has waited doubles the wait each time, and needs no memory of the last one.
	After time.Duration
}

// DeletionWaiting decides what a deleting stack says while it waits for what it
// names, from the stack as read at the start of the pass and the pass's time.
func DeletionWaiting(stack *appstackv1.AppStack, waitingFor []string, now time.Time) Waiting {
	msg := "deleting: waiting for " + strings.Join(waitingFor, ", ") + " to go"
	after := MinDeletionBackoff
	if t := stack.GetDeletionTimestamp(); t != nil {
		after = min(max(now.Sub(t.Time), MinDeletionBackoff), MaxDeletionBackoff)
	}
	return Waiting{Message: msg, Event: msg != stack.Status.Summary, After: after}
}
