package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// observe reads, once per pass, what the plan decides on: the namespace, the live
// object of every desired name, the objects labelled with the stack, the stack's
// inventory, the readiness of the components others depend on, and its revisions.
// Everything comes from the cache but one case: a desired name the cache does not
// show as the stack's own is read from the apiserver, because the cache holds only
// labelled objects and an object of that name made by someone else must be seen
// before anything is applied to it.
func (r *AppStackReconciler) observe(ctx context.Context, s *scope) (plan.Observed, error) {
	o := plan.Observed{Stack: s.stack, Desired: s.desired, Live: map[plan.Key]client.Object{}, Ready: map[string]bool{}}
	var err error
	if s.namespaceRead != nil {
		o.Namespace, err = s.namespaceRead.live, s.namespaceRead.err
	} else {
		o.Namespace, err = r.getNamespace(ctx, s.namespace)
	}
	if err != nil {
		return o, err
	}
	if o.Namespace != nil && !o.Namespace.DeletionTimestamp.IsZero() {
		return o, &status.ApplyError{Kind: plan.KindNamespace, Name: s.namespace,
			Err: fmt.Errorf("namespace is being deleted; the stack is applied once it is gone")}
	}
	o.Inventory = s.stack.Status.Inventory
	if plan.NamespaceBlocker(o) != nil {
		// The plan refuses this namespace from the namespace alone: a recheck
		// (recheckAfter) reads nothing else — not one read per desired name,
		// which nothing could be applied to anyway.
		return o, nil
	}
	if o.Namespace != nil {
		// Nothing can exist in a namespace that does not: a new stack reads nothing.
		if o.Labelled, err = r.children(ctx, s); err != nil {
			return o, fmt.Errorf("list the stack's objects: %w", err)
		}
		if err := r.readLive(ctx, s, o); err != nil {
			return o, err
		}
	}
	for i := range s.stack.Spec.Components {
		for _, dep := range s.stack.Spec.Components[i].DependsOn {
			if _, seen := o.Ready[dep]; !seen {
				// A preview shows the pass that applies everything.
				o.Ready[dep] = r.preview ||
					r.componentStatus(ctx, s, render.Component(s.stack, dep)).Phase == appstackv1.PhaseReady
			}
		}
	}
	return o, r.planRevision(ctx, s)
}

// readLive fills o.Live with the live object of each desired name in the
// namespace: from the cache when it is the stack's own there, else from the
// apiserver, all at once (readPast).
func (r *AppStackReconciler) readLive(ctx context.Context, s *scope, o plan.Observed) error {
	objs := s.desired.Objects()[1:] // the namespace is read already
	var past []client.Object
	for _, want := range objs {
		live, err := r.ownCached(ctx, s, want, o.Inventory)
		if err != nil {
			return err
		}
		if live != nil {
			o.Live[plan.KeyOf(want)] = live
		} else {
			past = append(past, want)
		}
	}
	if len(past) == 0 {
		return nil
	}
	m := r.gate.Value(s.stack.UID)
	fp := fingerprint(s, o, past)
	if m.past.fingerprint == fp && r.pastUnchanged(ctx, &m.past) {
		for k, live := range m.past.objects {
			if live != nil {
				o.Live[k] = live.DeepCopyObject().(client.Object)
			}
		}
		return nil
	}
	read := make(map[client.Object]client.Object, len(past))
	var mu sync.Mutex
	err := each(past, func(want client.Object) error {
		live, err := r.readPast(ctx, want)
		if err != nil || live == nil {
			return err
		}
		mu.Lock()
		read[want] = live
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	m.past = pastReads{}
	remember := true
	objects := map[plan.Key]client.Object{}
	kinds := map[plan.Key]schema.GroupVersionKind{}
	for _, want := range past {
		k := plan.KeyOf(want)
		objects[k], kinds[k] = nil, want.GetObjectKind().GroupVersionKind()
		live := read[want]
		if live == nil {
			continue
		}
		o.Live[k] = live
		// Only what the plan reads of an object in the way is remembered: a claim
		// (which the stack may take back) or an object of the stack's own is read
		// again at every pass.
		if k.Kind == plan.KindPersistentVolumeClaim || plan.Owned(o.Inventory, live, s.stack) {
			remember = false
		}
		objects[k] = inTheWay(live)
	}
	if remember {
		// The objects in the way are what a recheck waits on; names found free
		// are looked at in turn only when nothing is in the way.
		byName := func(a, b plan.Key) int { return strings.Compare(a.String(), b.String()) }
		keys := slices.SortedFunc(maps.Keys(objects), byName)
		free := func(k plan.Key) bool { return objects[k] == nil }
		if inWay := slices.DeleteFunc(slices.Clone(keys), free); len(inWay) > 0 {
			keys = inWay
		}
		m.past = pastReads{fingerprint: fp, objects: objects, kinds: kinds, keys: keys}
	}
	return nil
}

// pastReads is what a pass read past the cache: the desired names the cache did
// not show as the stack's, and what it found under each — an object in the way
// (its identity, owners and managers: what a conflict says) or nothing — with the
// fingerprint of everything else the plan read.
type pastReads struct {
	fingerprint string
	objects     map[plan.Key]client.Object
	kinds       map[plan.Key]schema.GroupVersionKind
	keys        []plan.Key
	next        int
}

// pastUnchanged reads one of the remembered names from the apiserver, in turn,
// and tells whether it is as the last full read found it. A stack that waits on
// an object in the way is looked at every recheckAfter; while nothing the cache
// shows has changed (the fingerprint), that costs one read, not one per desired
// name: of the objects in the way, one per recheck in turn (the one there is,
// most often, every recheck); of the names found free, only when nothing is in
// the way. A name found free is never applied on such a pass: what would let the
// plan apply it (a dependency becoming Ready) changes the fingerprint, and the
// next pass reads every name again.
func (r *AppStackReconciler) pastUnchanged(ctx context.Context, p *pastReads) bool {
	if len(p.keys) == 0 {
		return false
	}
	k := p.keys[p.next%len(p.keys)]
	p.next++
	was := p.objects[k]
	var want client.Object
	if was != nil {
		want = was
	} else {
		o, err := r.Client.Scheme().New(p.kinds[k])
		if err != nil {
			return false
		}
		want = o.(client.Object)
		want.GetObjectKind().SetGroupVersionKind(p.kinds[k])
		want.SetNamespace(k.Namespace)
		want.SetName(k.Name)
	}
	now, err := r.readPast(ctx, want)
	if err != nil {
		return false
	}
	if now == nil || was == nil {
		return now == nil && was == nil
	}
	return now.GetUID() == was.GetUID() && now.GetResourceVersion() == was.GetResourceVersion()
}

// inTheWay is what the plan reads of an object that is not the stack's: its
// identity, owners and managers.
func inTheWay(live client.Object) client.Object {
	out := identity(live)
	out.SetManagedFields(live.GetManagedFields())
	out.GetObjectKind().SetGroupVersionKind(live.GetObjectKind().GroupVersionKind())
	return out
}

// fingerprint identifies what a pass read besides the names it reads past the
// cache: the stack (spec and status), its namespace, the objects labelled with it
// and the stack's own objects, each at its resourceVersion. Passes with the same
// fingerprint that find the same objects past the cache plan the same.
func fingerprint(s *scope, o plan.Observed, past []client.Object) string {
	objs := make([]string, 0, len(o.Labelled)+len(o.Live)+len(past)+len(o.Inventory))
	for _, e := range o.Inventory {
		objs = append(objs, fmt.Sprintf("inventory %s %s", plan.EntryKey(e), e.UID))
	}
	for _, obj := range o.Labelled {
		objs = append(objs, fmt.Sprintf("labelled %s %s %s", plan.KeyOf(obj), obj.GetUID(), obj.GetResourceVersion()))
	}
	for k, obj := range o.Live {
		objs = append(objs, fmt.Sprintf("own %s %s %s", k, obj.GetUID(), obj.GetResourceVersion()))
	}
	for _, want := range past {
		objs = append(objs, "past "+plan.KeyOf(want).String())
	}
	slices.Sort(objs)
	head := fmt.Sprintf("stack %s %s\n", s.stack.UID, s.stack.ResourceVersion)
	if o.Namespace != nil {
		head += fmt.Sprintf("namespace %s %s\n", o.Namespace.UID, o.Namespace.ResourceVersion)
	}
	sum := sha256.Sum256([]byte(head + strings.Join(objs, "\n")))
	return hex.EncodeToString(sum[:])
}

// liveObject reads the object named like want: from the cache when it is the
// stack's own there, else from the apiserver (with its managedFields, so that a
// conflict can say who manages it). It returns nil when there is none.
func (r *AppStackReconciler) liveObject(
	ctx context.Context, s *scope, want client.Object, inventory []appstackv1.InventoryEntry,
) (client.Object, error) {
	live, err := r.ownCached(ctx, s, want, inventory)
	if err != nil || live != nil {
		return live, err
	}
	return r.readPast(ctx, want)
}

// ownCached is the object named like want from the cache when it is the stack's
// own there, else nil.
func (r *AppStackReconciler) ownCached(
	ctx context.Context, s *scope, want client.Object, inventory []appstackv1.InventoryEntry,
) (client.Object, error) {
	gvk := want.GetObjectKind().GroupVersionKind()
	o, err := r.Client.Scheme().New(gvk)
	if err != nil {
		return nil, err
	}
	live := o.(client.Object)
	key := client.ObjectKeyFromObject(want)
	err = r.Client.Get(ctx, key, live)
	if err == nil && plan.Owned(inventory, live, s.stack) {
		live.GetObjectKind().SetGroupVersionKind(gvk)
		return live, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.Namespace, key.Name, err)
	}
	return nil, nil
}

// readPast reads the object named like want from the apiserver, into a fresh
// object (decoding into a cached copy would keep its stale fields), with its
// managedFields; nil when there is none.
func (r *AppStackReconciler) readPast(ctx context.Context, want client.Object) (client.Object, error) {
	gvk := want.GetObjectKind().GroupVersionKind()
	key := client.ObjectKeyFromObject(want)
	fresh, err := r.Client.Scheme().New(gvk)
	if err != nil {
		return nil, err
	}
	live := fresh.(client.Object)
	if err := r.APIReader.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.Namespace, key.Name, err)
	}
	live.GetObjectKind().SetGroupVersionKind(gvk)
	return live, nil
}
