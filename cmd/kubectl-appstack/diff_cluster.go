package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/manifest"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// differ works out what applying a stack would change. It reads the cluster with
// read (no cache: what the apiserver holds now) and sends every write through dry,
// where each is a dry run: diff cannot write.
type differ struct {
	read client.Reader
	dry  *dryRunClient
	// applier is the operator's own (internal/ssa), applying as the operator's
	// field manager through dry.
	applier *ssa.Applier
}

func newDiffer(flags *clusterFlags) (*differ, error) {
	c, err := flags.client()
	if err != nil {
		return nil, err
	}
	dry := &dryRunClient{Client: client.NewDryRunClient(c), results: map[objectID]*unstructured.Unstructured{}}
	return &differ{read: c, dry: dry, applier: ssa.NewApplier(dry, render.ManagedBy)}, nil
}

// dryRunClient makes every write a dry run and keeps what each apply returned: the
// object as the apply would leave it.
type dryRunClient struct {
	client.Client
	mu      sync.Mutex
	results map[objectID]*unstructured.Unstructured
}

type objectID struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

func idOf(obj client.Object) objectID {
	return objectID{gvk: obj.GetObjectKind().GroupVersionKind(), namespace: obj.GetNamespace(), name: obj.GetName()}
}

func (d *dryRunClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if err := d.Client.Apply(ctx, obj, opts...); err != nil {
		return err
	}
	// The applier sends unstructured bodies, which the response is decoded into.
	u, ok := obj.(interface{ UnstructuredContent() map[string]any })
	if !ok {
		return fmt.Errorf("dry-run apply: cannot read the result out of a %T", obj)
	}
	result := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(u.UnstructuredContent())}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.results[idOf(result)] = result
	return nil
}

func (d *dryRunClient) result(obj client.Object) *unstructured.Unstructured {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.results[idOf(obj)]
}

// stack is what applying doc would change: the stack's spec, then what the operator
// would do with it in one pass (observe, plan, act; see internal/plan), with every
// write a dry run.
func (d *differ) stack(ctx context.Context, doc document) (*report, error) {
	r := &report{stack: doc.name()}
	stack, live, applied, err := d.applyStack(ctx, doc)
	if err != nil {
		return nil, err
	}
	newUID := ""
	if live == nil {
		newUID = string(stack.UID)
	}
	gvk := appstackv1.GroupVersion.WithKind("AppStack")
	r.add(gvk, "", stack.Name, live, applied, "", newUID)

	desired, err := render.Render(stack)
	if err != nil {
		return nil, fmt.Errorf("the operator would apply nothing (InvalidSpec): %w", err)
	}
	if stack.Spec.Paused {
		r.notes = append(r.notes,
			"spec.paused is true: the operator applies nothing to the stack's objects and prunes nothing")
		return r, nil
	}
	o, err := d.observe(ctx, stack, desired)
	if err != nil {
		return nil, err
	}
	p := plan.Make(o)
	if b := p.Blocked; b != nil {
		return nil, fmt.Errorf("the operator would apply nothing (%s): %s", b.Reason, b.Message)
	}
	// A workload whose count passes to an autoscaler keeps it at what the hand-over
	// sets (see plan.Handover): the act does it with a second field manager first.
	for _, h := range p.Handovers {
		switch w := h.Object.(type) {
		case *appsv1.Deployment:
			w.Spec.Replicas = ptr.To(h.Replicas)
		case *appsv1.StatefulSet:
			w.Spec.Replicas = ptr.To(h.Replicas)
		}
	}
	readopt := map[objectID]bool{}
	for _, obj := range p.Readopt {
		readopt[idOf(obj)] = true
	}
	applies := append([]client.Object{p.Namespace}, p.Shared...)
	applies = append(applies, p.Workloads...)
	for _, obj := range inDesiredOrder(applies, desired) {
		liveObj, result, err := d.apply(ctx, obj, o.Namespace != nil)
		var refused *replaceError
		switch {
		case errors.As(err, &refused):
			r.changes = append(r.changes, describe(obj, actionReplaced, refused.Error()))
			continue
		case err != nil:
			return nil, err
		}
		if readopt[idOf(obj)] {
			// The act takes a retained object back by dropping its label.
			delete(readopt, idOf(obj))
			result = withoutLabel(result, render.LabelRetained)
		}
		r.add(obj.GetObjectKind().GroupVersionKind(), obj.GetNamespace(), obj.GetName(), liveObj, result, "", newUID)
	}
	for _, obj := range p.Readopt {
		if !readopt[idOf(obj)] {
			continue
		}
		liveObj, result, err := d.patch(ctx, obj, func(u *unstructured.Unstructured) {
			*u = *withoutLabel(u, render.LabelRetained)
		})
		if err != nil {
			return nil, err
		}
		r.add(obj.GetObjectKind().GroupVersionKind(), obj.GetNamespace(), obj.GetName(), liveObj, result,
			"retained claim taken back: its component uses it again", newUID)
		delete(readopt, idOf(obj))
	}
	for _, c := range p.Conflicts {
		r.changes = append(r.changes, change{action: actionConflict, kind: c.Key.Kind, namespace: c.Key.Namespace,
			name: c.Key.Name, note: "the operator would refuse it (Conflict): " + c.Message})
	}
	if len(p.Conflicts) > 0 {
		r.notes = append(r.notes,
			"nothing is pruned while a name is in conflict: the operator prunes only after a complete apply")
		return r, nil
	}
	if err := d.prune(ctx, r, stack, p); err != nil {
		return nil, err
	}
	return r, nil
}

// add records the change from live to applied, if there is one once the noise is
// left out.
func (r *report) add(gvk schema.GroupVersionKind, namespace, name string, live, applied *unstructured.Unstructured,
	note, newStackUID string,
) {
	c := change{apiVersion: gvk.GroupVersion().String(), kind: gvk.Kind, namespace: namespace, name: name, note: note}
	if live != nil {
		c.live = clean(live.Object, newStackUID)
	}
	if applied != nil {
		c.applied = clean(applied.Object, newStackUID)
	}
	switch {
	case c.live == nil && c.applied == nil:
		return
	case c.live == nil:
		c.action = actionCreated
	case c.applied == nil:
		c.action = actionPruned
	default:
		if reflect.DeepEqual(c.live, c.applied) {
			return
		}
		c.action = actionChanged
	}
	r.changes = append(r.changes, c)
}

// applyStack sends the stack as a dry run: an update of its spec when it exists (the
// user's apply changes the spec; the operator owns the status), a creation when
// not. The result is the stack the operator would read: the apiserver's defaults,
// and its validation, are in it. live is nil for a new stack.
func (d *differ) applyStack(
	ctx context.Context, doc document,
) (stack *appstackv1.AppStack, live, applied *unstructured.Unstructured, err error) {
	gvk := appstackv1.GroupVersion.WithKind("AppStack")
	live = &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	err = d.read.Get(ctx, client.ObjectKey{Name: doc.name()}, live)
	switch {
	case apierrors.IsNotFound(err):
		live = nil
		applied = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(doc.obj)}
		applied.SetNamespace("") // the AppStack is cluster-scoped
		if err := d.dry.Create(ctx, applied); err != nil {
			return nil, nil, nil, d.explain(err, "create", gvk, "", doc.name())
		}
	case err != nil:
		return nil, nil, nil, d.explain(err, "get", gvk, "", doc.name())
	default:
		if live.GetDeletionTimestamp() != nil {
			return nil, nil, nil, fmt.Errorf("the stack is being deleted; wait until it is gone, then diff again")
		}
		applied = live.DeepCopy()
		applied.Object["spec"] = runtime.DeepCopyJSONValue(doc.obj["spec"])
		if err := d.dry.Update(ctx, applied); err != nil {
			return nil, nil, nil, d.explain(err, "update", gvk, "", doc.name())
		}
	}
	stack = &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(applied.Object, stack); err != nil {
		return nil, nil, nil, fmt.Errorf("read the dry-run result: %w", err)
	}
	return stack, live, applied, nil
}

// observe reads what the operator's observe reads (controllers/appstack_observe.go),
// from the apiserver: the namespace, the live object of every desired name, the
// objects labelled with the stack, and the recorded inventory. Every dependency
// counts as Ready: the diff is of the pass that applies everything.
func (d *differ) observe(
	ctx context.Context, stack *appstackv1.AppStack, desired *render.Desired,
) (plan.Observed, error) {
	o := plan.Observed{Stack: stack, Desired: desired, Live: map[plan.Key]client.Object{},
		Inventory: stack.Status.Inventory, Ready: map[string]bool{}}
	for _, c := range stack.Spec.Components {
		for _, dep := range c.DependsOn {
			o.Ready[dep] = true
		}
	}
	name := render.NamespaceName(stack)
	ns := &corev1.Namespace{}
	err := d.read.Get(ctx, client.ObjectKey{Name: name}, ns)
	switch {
	case apierrors.IsNotFound(err):
		return o, nil // nothing can exist in a namespace that does not
	case err != nil:
		return o, d.explain(err, "get", corev1.SchemeGroupVersion.WithKind("Namespace"), "", name)
	case ns.DeletionTimestamp != nil:
		return o, fmt.Errorf(
			"namespace %s is being deleted; the operator applies the stack once it is gone, diff again then", name)
	}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	o.Namespace = ns
	scheme := d.dry.Scheme()
	for _, kind := range render.ChildKinds() {
		gvk, err := apiutil.GVKForObject(kind, scheme)
		if err != nil {
			return o, err
		}
		l, err := scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err != nil {
			return o, err
		}
		list := l.(client.ObjectList)
		// The operator's cache holds only what carries its managed-by label.
		if err := d.read.List(ctx, list, client.InNamespace(name), client.MatchingLabels{
			render.LabelStack: stack.Name, render.LabelManagedBy: render.ManagedBy,
		}); err != nil {
			return o, d.explain(err, "list", gvk, name, "")
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return o, err
		}
		for _, item := range items {
			obj := item.(client.Object)
			obj.GetObjectKind().SetGroupVersionKind(gvk)
			o.Labelled = append(o.Labelled, obj)
		}
	}
	for _, want := range desired.Objects()[1:] {
		gvk := want.GetObjectKind().GroupVersionKind()
		n, err := scheme.New(gvk)
		if err != nil {
			return o, err
		}
		live := n.(client.Object)
		if err := d.read.Get(ctx, client.ObjectKeyFromObject(want), live); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return o, d.explain(err, "get", gvk, want.GetNamespace(), want.GetName())
		}
		live.GetObjectKind().SetGroupVersionKind(gvk)
		o.Live[plan.KeyOf(want)] = live
	}
	return o, nil
}

// replaceError: the apiserver refused a change of a Pod, Job or Service that can
// only be made by replacing it, which the operator does.
type replaceError struct{ cause error }

func (e *replaceError) Error() string {
	return "the change cannot be made in place (" + ssa.APIMessage(e.cause) +
		"); the operator deletes it and creates it again"
}

// apply dry-runs the operator's apply of obj: the live object, and the object as
// the apply would leave it (the live one when the operator would send nothing).
// In a namespace still to be created nothing can be dry-run; the object is shown
// as the operator sends it.
func (d *differ) apply(
	ctx context.Context, obj client.Object, namespaceExists bool,
) (live, applied *unstructured.Unstructured, err error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	live = &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := d.read.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, d.explain(err, "get", gvk, obj.GetNamespace(), obj.GetName())
		}
		live = nil
	}
	if obj.GetNamespace() != "" && !namespaceExists {
		body, err := manifest.Unstructured(obj)
		return nil, body, err
	}
	sent, err := d.applier.Apply(ctx, obj)
	if err != nil {
		if ssa.Replaceable(gvk.Kind) && live != nil && ssa.Immutable(err) {
			return live, nil, &replaceError{cause: err}
		}
		verb := "patch"
		if live == nil {
			verb = "create"
		}
		if !apierrors.IsForbidden(err) {
			err = fmt.Errorf("%w (the operator's apply would be refused alike: ApplyFailed)", err)
		}
		return nil, nil, d.explain(err, verb, gvk, obj.GetNamespace(), obj.GetName())
	}
	if !sent {
		// The live object holds everything the operator sets: it would send nothing.
		return live, live, nil
	}
	applied = d.dry.result(obj)
	if applied == nil {
		return nil, nil, fmt.Errorf("dry-run apply of %s %s returned nothing", gvk.Kind, plan.KeyOf(obj))
	}
	return live, applied, nil
}

// patch dry-runs a merge patch of obj's live state, made by edit, as the act sends
// it to label retained claims or take them back.
func (d *differ) patch(
	ctx context.Context, obj client.Object, edit func(*unstructured.Unstructured),
) (live, patched *unstructured.Unstructured, err error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	live = &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := d.read.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, d.explain(err, "get", gvk, obj.GetNamespace(), obj.GetName())
	}
	patched = live.DeepCopy()
	edit(patched)
	if err := d.dry.Patch(ctx, patched, client.MergeFrom(live)); err != nil {
		return nil, nil, d.explain(err, "patch", gvk, obj.GetNamespace(), obj.GetName())
	}
	return live, patched, nil
}

// prune lists what the act would prune (deleted) and keep (retained claims), as
// the plan says.
func (d *differ) prune(ctx context.Context, r *report, stack *appstackv1.AppStack, p *plan.Plan) error {
	retain := func(u *unstructured.Unstructured) {
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[render.LabelRetained] = render.LabelRetainedValue
		u.SetLabels(labels)
		u.SetOwnerReferences(slices.DeleteFunc(u.GetOwnerReferences(),
			func(o metav1.OwnerReference) bool { return o.UID == stack.UID }))
	}
	keep := func(obj client.Object, why string) error {
		live, patched, err := d.patch(ctx, obj, retain)
		if err != nil || live == nil {
			return err
		}
		c := len(r.changes)
		r.add(obj.GetObjectKind().GroupVersionKind(), obj.GetNamespace(), obj.GetName(), live, patched, why, "")
		if len(r.changes) > c {
			r.changes[c].action = actionKept
		}
		return nil
	}
	for _, pr := range p.Prune {
		e := pr.Entry
		gvk := schema.FromAPIVersionAndKind(e.APIVersion, e.Kind)
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(e.Namespace)
		obj.SetName(e.Name)
		if pr.Retain {
			if err := keep(obj, "no longer in the spec; its volume is retained, so the operator labels it "+
				render.LabelRetained+"="+render.LabelRetainedValue+" and keeps it"); err != nil {
				return err
			}
			continue
		}
		live := obj.DeepCopy()
		if err := d.read.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			if apierrors.IsNotFound(err) {
				continue // gone already: the operator only forgets it
			}
			return d.explain(err, "get", gvk, e.Namespace, e.Name)
		}
		if live.GetUID() != e.UID {
			continue // another object of that name: the operator deletes only by UID
		}
		r.add(gvk, e.Namespace, e.Name, live, nil, "no longer in the spec", "")
	}
	for _, claim := range p.Keep {
		if err := keep(claim, "a StatefulSet claim whose component no longer uses it; the operator labels it "+
			render.LabelRetained+"="+render.LabelRetainedValue+" and keeps it"); err != nil {
			return err
		}
	}
	return nil
}

// describe is a change without content to compare.
func describe(obj client.Object, action, note string) change {
	gvk := obj.GetObjectKind().GroupVersionKind()
	return change{action: action, apiVersion: gvk.GroupVersion().String(), kind: gvk.Kind,
		namespace: obj.GetNamespace(), name: obj.GetName(), note: note}
}

// inDesiredOrder sorts the objects the plan applies as render lists them (each
// component's workload with its Services and the rest), which reads better than
// the apply phases.
func inDesiredOrder(objs []client.Object, desired *render.Desired) []client.Object {
	rank := map[objectID]int{}
	for i, obj := range desired.Objects() {
		rank[idOf(obj)] = i
	}
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b client.Object) int { return rank[idOf(a)] - rank[idOf(b)] })
	return out
}

func withoutLabel(u *unstructured.Unstructured, key string) *unstructured.Unstructured {
	out := u.DeepCopy()
	labels := maps.Clone(out.GetLabels())
	delete(labels, key)
	out.SetLabels(labels)
	return out
}

// explain adds to a refused request what it was and, when RBAC refused it, the
// permission it needs: a dry run needs the permission of the write it stands for.
func (d *differ) explain(err error, verb string, gvk schema.GroupVersionKind, namespace, name string) error {
	what := gvk.Kind
	if name != "" {
		what += " " + name
	}
	if namespace != "" {
		what += " in namespace " + namespace
	}
	if !apierrors.IsForbidden(err) {
		if verb == "get" || verb == "list" {
			return fmt.Errorf("%s %s: %w", verb, what, err)
		}
		return fmt.Errorf("dry-run %s of %s: %w", verb, what, err)
	}
	resource := strings.ToLower(gvk.Kind) + "s"
	if m, merr := d.dry.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); merr == nil {
		resource = m.Resource.Resource
	}
	if gvk.Group != "" {
		resource += "." + gvk.Group
	}
	check := "kubectl auth can-i " + verb + " " + resource
	if namespace != "" {
		check += " -n " + namespace
	}
	dry := ""
	if verb != "get" && verb != "list" {
		dry = " (diff only dry-runs it, which needs the same permission as the write itself)"
	}
	return fmt.Errorf("%s %s: %w\nthe diff needs permission to %s %s%s; check with: %s",
		verb, what, err, verb, resource, dry, check)
}
