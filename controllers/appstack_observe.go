package controllers

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
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
		return o, &applyError{kind: plan.KindNamespace, name: s.namespace,
			err: fmt.Errorf("namespace is being deleted; the stack is applied once it is gone")}
	}
	o.Inventory = r.knownInventory(s.stack)
	m := r.memory(s.stack.UID)
	if o.Namespace != nil {
		seen := namespaceSeen{stackResourceVersion: s.stack.ResourceVersion, uid: o.Namespace.UID,
			resourceVersion: o.Namespace.ResourceVersion}
		if m.namespaceBlocked == seen {
			// The last pass's plan refused this namespace, and neither it nor the
			// stack has changed since: the plan refuses it again, from the namespace
			// alone. The recheck (recheckAfter) reads nothing else — not one read per
			// desired name, which nothing could be applied to anyway.
			return o, nil
		}
		m.namespaceObserved = seen
	} else {
		m.namespaceObserved = namespaceSeen{}
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
				o.Ready[dep] = r.componentStatus(ctx, s, render.Component(s.stack, dep)).Phase == appstackv1.PhaseReady
			}
		}
	}
	return o, r.planRevision(ctx, s)
}

// readLive fills o.Live with the live object of each desired name in the
// namespace, all at once.
func (r *AppStackReconciler) readLive(ctx context.Context, s *scope, o plan.Observed) error {
	objs := s.desired.Objects()[1:] // the namespace is read already
	var mu sync.Mutex
	return each(objs, func(want client.Object) error {
		live, err := r.liveObject(ctx, s, want, o.Inventory)
		if err != nil || live == nil {
			return err
		}
		mu.Lock()
		o.Live[plan.KeyOf(want)] = live
		mu.Unlock()
		return nil
	})
}

// liveObject reads the object named like want: from the cache when it is the
// stack's own there, else from the apiserver (with its managedFields, so that a
// conflict can say who manages it). It returns nil when there is none.
func (r *AppStackReconciler) liveObject(
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
	// A fresh object: decoding into the cached copy would keep its stale fields.
	fresh, err := r.Client.Scheme().New(gvk)
	if err != nil {
		return nil, err
	}
	live = fresh.(client.Object)
	if err := r.APIReader.Get(ctx, key, live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s %s/%s: %w", gvk.Kind, key.Namespace, key.Name, err)
	}
	live.GetObjectKind().SetGroupVersionKind(gvk)
	return live, nil
}

// knownInventory is the stack's recorded inventory with what this process added
// or dropped since, which may not be written yet (the status write of a pass
// whose cache lags is left to the next pass).
func (r *AppStackReconciler) knownInventory(stack *appstackv1.AppStack) []appstackv1.InventoryEntry {
	m := r.memory(stack.UID)
	if m.inventory == nil {
		return stack.Status.Inventory
	}
	b := newInventoryBuilder(stack.Status.Inventory)
	for k := range m.dropped {
		b.drop(k)
	}
	for _, e := range m.inventory {
		b.add(e)
	}
	return b.list()
}
