package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/consistency"
	"github.com/appstack-dev/appstack-operator/internal/controller"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// differ works out what applying a stack would change: the user's apply of the
// stack, then the operator's own pass over it (internal/controller's Preview, the
// very code the operator runs) with every write a dry run (dryRunWriter). It
// reads the cluster with c, past any cache: what the apiserver holds now.
type differ struct {
	c client.Client
}

func newDiffer(flags *clusterFlags) (*differ, error) {
	c, err := flags.client()
	if err != nil {
		return nil, err
	}
	return &differ{c: c}, nil
}

// stack is what applying doc would change: the stack's spec, then what one pass
// of the operator would do with it, every write a dry run.
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
	r.add(appstackv1.GroupVersion.WithKind("AppStack"), "", stack.Name, live, applied, "", newUID)

	w := newDryRunWriter(d.c)
	// The pass logs as the operator does; the diff's output is the report.
	pv, err := controller.NewPreviewer(w, w).Preview(logf.IntoContext(ctx, logr.Discard()), stack)
	switch {
	case err != nil:
		return nil, d.explain(err)
	case pv.Invalid != nil:
		return nil, fmt.Errorf("the operator would apply nothing (InvalidSpec): %w", pv.Invalid)
	case stack.Spec.Paused:
		r.notes = append(r.notes,
			"spec.paused is true: the operator applies nothing to the stack's objects and prunes nothing")
		return r, nil
	case pv.Plan == nil:
		return nil, errors.New("the operator's pass made no plan")
	case pv.Plan.Blocked != nil:
		return nil, fmt.Errorf("the operator would apply nothing (%s): %s", pv.Plan.Blocked.Reason, pv.Plan.Blocked.Message)
	}
	if err := d.report(ctx, r, pv, newUID); err != nil {
		return nil, err
	}
	return r, nil
}

// Notes of the summary.
const (
	whyPruned = "no longer in the spec"
	whyKept   = "the operator labels it " + render.LabelRetained + "=" + render.LabelRetainedValue + " and keeps it"
)

// report adds to r what the pass's writes change, in the plan's terms and in
// the order a reader follows: the objects applied (in desired order, see
// inDesiredOrder), the retained claims taken back, the conflicts, what is pruned
// and what is kept — then anything else the pass wrote. ControllerRevisions are
// the stack's history, not its objects: not shown.
func (d *differ) report(ctx context.Context, r *report, pv *controller.Preview, newUID string) error {
	p := pv.Plan
	writes := map[plan.Key]consistency.Written{}
	for _, w := range pv.Writes {
		if w.Key.GVK.Kind != plan.KindControllerRevision {
			writes[plan.Key{Kind: w.Key.GVK.Kind, Namespace: w.Key.Namespace, Name: w.Key.Name}] = w
		}
	}
	show := func(k plan.Key, action, note string) error {
		w, ok := writes[k]
		if !ok {
			return nil // nothing to send: the object already is as the spec says
		}
		delete(writes, k)
		return d.addWrite(ctx, r, w, action, note, newUID)
	}
	applied := append([]client.Object{p.Namespace}, p.Shared...)
	for _, obj := range inDesiredOrder(append(applied, p.Workloads...), pv.Desired) {
		k := plan.KeyOf(obj)
		if cause, ok := pv.Replaced[k]; ok {
			delete(writes, k) // the deletion that replaces it
			r.changes = append(r.changes, describe(obj, actionReplaced, "the change cannot be made in place ("+
				ssa.APIMessage(cause)+"); the operator deletes it and creates it again"))
			continue
		}
		if err := show(k, "", ""); err != nil {
			return err
		}
	}
	for _, obj := range p.Readopt {
		if err := show(plan.KeyOf(obj), "", "retained claim taken back: its component uses it again"); err != nil {
			return err
		}
	}
	for _, c := range p.Conflicts {
		r.changes = append(r.changes, change{action: actionConflict, kind: c.Key.Kind, namespace: c.Key.Namespace,
			name: c.Key.Name, note: "the operator would refuse it (Conflict): " + c.Message})
	}
	if len(p.Conflicts) > 0 {
		r.notes = append(r.notes,
			"nothing is pruned while a name is in conflict: the operator prunes only after a complete apply")
	}
	for _, pr := range p.Prune {
		action, note := "", whyPruned
		if pr.Retain {
			action, note = actionKept, whyPruned+"; its volume is retained, so "+whyKept
		}
		if err := show(plan.EntryKey(pr.Entry), action, note); err != nil {
			return err
		}
	}
	for _, claim := range p.Keep {
		if err := show(plan.KeyOf(claim), actionKept,
			"a StatefulSet claim whose component no longer uses it; "+whyKept); err != nil {
			return err
		}
	}
	byName := func(a, b plan.Key) int { return strings.Compare(a.String(), b.String()) }
	for _, k := range slices.SortedFunc(maps.Keys(writes), byName) {
		if err := show(k, "", ""); err != nil {
			return err
		}
	}
	return nil
}

// addWrite adds the change one write of the pass makes: from the live object to
// the written one (none for a deletion). action, when set, replaces the one the
// contents tell (kept for a claim the pass labels retained).
func (d *differ) addWrite(ctx context.Context, r *report, w consistency.Written, action, note, newUID string) error {
	gvk := w.Key.GVK
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	if err := d.c.Get(ctx, client.ObjectKey{Namespace: w.Key.Namespace, Name: w.Key.Name}, live); err != nil {
		if !apierrors.IsNotFound(err) {
			return d.explain(&requestError{verb: "get", gvk: gvk, namespace: w.Key.Namespace, name: w.Key.Name, err: err})
		}
		live = nil
	}
	var written *unstructured.Unstructured
	if !w.Deleted {
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(w.Object)
		if err != nil {
			return fmt.Errorf("read the dry-run result of %s: %w", w.Key, err)
		}
		written = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(content)}
		written.SetGroupVersionKind(gvk)
	}
	n := len(r.changes)
	r.add(gvk, w.Key.Namespace, w.Key.Name, live, written, note, newUID)
	if action != "" && len(r.changes) > n {
		r.changes[n].action = action
	}
	return nil
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

// applyStack sends the stack as a dry run — the user's apply, not the operator's:
// an update of its spec when it exists (the user's apply changes the spec; the
// operator owns the status), a creation when not. The result is the stack the
// operator would read: the apiserver's defaults, and its validation, are in it.
// live is nil for a new stack.
func (d *differ) applyStack(
	ctx context.Context, doc document,
) (stack *appstackv1.AppStack, live, applied *unstructured.Unstructured, err error) {
	gvk := appstackv1.GroupVersion.WithKind("AppStack")
	refused := func(verb string, err error) error {
		return d.explain(&requestError{verb: verb, gvk: gvk, name: doc.name(), err: err})
	}
	dry := client.NewDryRunClient(d.c)
	live = &unstructured.Unstructured{}
	live.SetGroupVersionKind(gvk)
	err = d.c.Get(ctx, client.ObjectKey{Name: doc.name()}, live)
	switch {
	case apierrors.IsNotFound(err):
		live = nil
		applied = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(doc.obj)}
		applied.SetNamespace("") // the AppStack is cluster-scoped
		if err := dry.Create(ctx, applied); err != nil {
			return nil, nil, nil, refused("create", err)
		}
	case err != nil:
		return nil, nil, nil, refused("get", err)
	default:
		if live.GetDeletionTimestamp() != nil {
			return nil, nil, nil, fmt.Errorf("the stack is being deleted; wait until it is gone, then diff again")
		}
		applied = live.DeepCopy()
		applied.Object["spec"] = runtime.DeepCopyJSONValue(doc.obj["spec"])
		if err := dry.Update(ctx, applied); err != nil {
			return nil, nil, nil, refused("update", err)
		}
	}
	stack = &appstackv1.AppStack{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(applied.Object, stack); err != nil {
		return nil, nil, nil, fmt.Errorf("read the dry-run result: %w", err)
	}
	return stack, live, applied, nil
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
	rank := map[plan.Key]int{}
	for i, obj := range desired.Objects() {
		rank[plan.KeyOf(obj)] = i
	}
	out := slices.Clone(objs)
	slices.SortStableFunc(out, func(a, b client.Object) int { return rank[plan.KeyOf(a)] - rank[plan.KeyOf(b)] })
	return out
}

// explained is a refused request said with the permission it needs.
type explained struct {
	msg string
	req *requestError
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.req }

// explain says, of an error that a refused request caused (see requestError),
// what the request was and, when RBAC refused it, the permission it needs: a dry
// run needs the permission of the write it stands for. Other errors are returned
// as they are.
func (d *differ) explain(err error) error {
	req := findRequest(err)
	if req == nil {
		return err
	}
	what := req.gvk.Kind
	if req.name != "" {
		what += " " + req.name
	}
	if req.namespace != "" {
		what += " in namespace " + req.namespace
	}
	read := req.verb == "get" || req.verb == "list"
	if !apierrors.IsForbidden(req) {
		if read {
			return &explained{msg: fmt.Sprintf("%s %s: %v", req.verb, what, err), req: req}
		}
		msg := fmt.Sprintf("dry-run %s of %s: %v", req.verb, what, err)
		if req.operator {
			msg += " (the operator's own request would be refused alike)"
		}
		return &explained{msg: msg, req: req}
	}
	resource := strings.ToLower(req.gvk.Kind) + "s"
	if m, merr := d.c.RESTMapper().RESTMapping(req.gvk.GroupKind(), req.gvk.Version); merr == nil {
		resource = m.Resource.Resource
	}
	if req.gvk.Group != "" {
		resource += "." + req.gvk.Group
	}
	check := "kubectl auth can-i " + req.verb + " " + resource
	if req.namespace != "" {
		check += " -n " + req.namespace
	}
	dry := ""
	if !read {
		dry = " (diff only dry-runs it, which needs the same permission as the write itself)"
	}
	return &explained{msg: fmt.Sprintf("%s %s: %v\nthe diff needs permission to %s %s%s; check with: %s",
		req.verb, what, err, req.verb, resource, dry, check), req: req}
}

// findRequest is the refused request that err, or the first of the errors it
// aggregates (the pass applies a phase's objects at once), comes from.
func findRequest(err error) *requestError {
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if req := findRequest(e); req != nil {
				return req
			}
		}
		return nil
	}
	var req *requestError
	if errors.As(err, &req) {
		return req
	}
	return nil
}
