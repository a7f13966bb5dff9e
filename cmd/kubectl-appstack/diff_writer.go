package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/appstack-dev/appstack-operator/internal/plan"
)

// dryRunWriter is the client the operator's pass runs through in a diff: every
// write is a server-side dry run (client.NewDryRunClient), and its result is what
// the write would leave on the cluster. Reads go to the apiserver as they are.
//
// A dry run changes nothing, so a later request of the same pass does not see an
// earlier one. The writer makes up for it where that matters, generically:
//
//   - A write into a namespace the pass dry-run created (the namespace does not
//     exist) is refused by the apiserver as NotFound: nothing can be dry-run
//     there. The writer answers for it: the object is shown as the operator sends
//     it (the body of the create or apply).
//   - An object the pass writes more than once (a replica hand-over and the apply
//     that follows it, a retained claim's label dropped and the claim applied, the
//     namespace applied and its label dropped) is shown with all of its writes:
//     the live object with the change each dry run made to it applied in turn (as
//     a JSON merge patch from the live object to that result). Where field
//     ownership decides instead, the writer follows it: an apply does not take
//     away a field that an earlier apply of the pass, by another field manager,
//     set and this apply does not — that manager owns it too, and it stays (the
//     replica count that plan.HandoverManager keeps while the operator's apply
//     stops setting it).
//   - ControllerRevisions, the operator's history of specs, are not diffed: their
//     writes are answered by the writer itself, so a diff needs no permission to
//     write them.
//
// Every request the apiserver refuses comes back as a *requestError, which names
// the request for explain.
type dryRunWriter struct {
	client.Client
	// live reads the objects the pass writes more than once.
	live client.Reader

	mu sync.Mutex
	// namespaces are the namespaces the pass created (or applied) as a dry run.
	namespaces map[string]bool
	// objects are the writes of each object so far.
	objects map[objectID]*objectWrites
}

type objectID struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

// objectWrites are the dry runs of one object in a pass, in order.
type objectWrites struct {
	steps []writeStep
}

// writeStep is one dry run: what it returned and, for an apply, which field
// manager set which fields.
type writeStep struct {
	apply   bool
	manager string
	// sets are the fields an apply's body sets (paths to its leaves).
	sets [][]string
	// result is the object as the dry run returned it.
	result map[string]any
}

func newDryRunWriter(c client.Client) *dryRunWriter {
	return &dryRunWriter{Client: client.NewDryRunClient(c), live: c,
		namespaces: map[string]bool{}, objects: map[objectID]*objectWrites{}}
}

// requestError is a request the apiserver refused, named for explain. Its text
// is the refusal's.
type requestError struct {
	verb            string
	gvk             schema.GroupVersionKind
	namespace, name string
	err             error
	// operator: the request is the operator's pass's, not the user's own apply.
	operator bool
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// refused names the request that err refused; nil stays nil.
func (w *dryRunWriter) refused(verb string, obj runtime.Object, namespace, name string, err error) error {
	if err == nil {
		return nil
	}
	gvk, gerr := apiutil.GVKForObject(obj, w.Scheme())
	if gerr != nil {
		return err
	}
	if verb == "list" {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List") // name the kind listed
	}
	return &requestError{verb: verb, gvk: gvk, namespace: namespace, name: name, err: err, operator: true}
}

func (w *dryRunWriter) Get(
	ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption,
) error {
	err := w.Client.Get(ctx, key, obj, opts...)
	if apierrors.IsNotFound(err) {
		return err
	}
	return w.refused("get", obj, key.Namespace, key.Name, err)
}

func (w *dryRunWriter) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := w.Client.List(ctx, list, opts...)
	return w.refused("list", list, (&client.ListOptions{}).ApplyOptions(opts).Namespace, "", err)
}

// bodyOf is the unstructured content of an apply configuration, which the
// response is decoded into; the operator applies unstructured objects only.
type bodyOf interface {
	UnstructuredContent() map[string]any
	SetUnstructuredContent(map[string]any)
}

func (w *dryRunWriter) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	ac, ok := obj.(bodyOf)
	if !ok {
		return fmt.Errorf("dry-run apply: cannot read the result out of a %T", obj)
	}
	u := &unstructured.Unstructured{Object: ac.UnstructuredContent()}
	if u.GetKind() == plan.KindControllerRevision {
		return nil
	}
	body := runtime.DeepCopyJSON(u.Object)
	err := w.Client.Apply(ctx, obj, opts...)
	if w.standIn(u, err) {
		ac.SetUnstructuredContent(body)
		err = nil
	}
	if err != nil {
		return w.refused(w.applyVerb(ctx, u), u, u.GetNamespace(), u.GetName(), err)
	}
	manager := (&client.ApplyOptions{}).ApplyOptions(opts).FieldManager
	step := writeStep{apply: true, manager: manager, sets: leaves(body, nil),
		result: runtime.DeepCopyJSON(ac.UnstructuredContent())}
	composed, err := w.wrote(ctx, u, step)
	if err != nil || composed == nil {
		return err
	}
	ac.SetUnstructuredContent(composed)
	return nil
}

// applyVerb is the permission an apply needs: to patch the object, or to create
// it when there is none.
func (w *dryRunWriter) applyVerb(ctx context.Context, u *unstructured.Unstructured) string {
	live := &metav1.PartialObjectMetadata{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if apierrors.IsNotFound(w.Client.Get(ctx, client.ObjectKeyFromObject(u), live)) {
		return "create"
	}
	return "patch"
}

func (w *dryRunWriter) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if w.revision(obj) {
		return nil
	}
	body := obj.DeepCopyObject().(client.Object)
	err := w.Client.Create(ctx, obj, opts...)
	if w.standIn(obj, err) {
		err = copyObject(body, obj)
	}
	if err != nil {
		return w.refused("create", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return w.wroteObject(ctx, obj, writeStep{})
}

func (w *dryRunWriter) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if w.revision(obj) {
		return nil
	}
	if err := w.Client.Update(ctx, obj, opts...); err != nil {
		return w.refused("update", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return w.wroteObject(ctx, obj, writeStep{})
}

func (w *dryRunWriter) Patch(
	ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption,
) error {
	if w.revision(obj) {
		return nil
	}
	if err := w.Client.Patch(ctx, obj, patch, opts...); err != nil {
		return w.refused("patch", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return w.wroteObject(ctx, obj, writeStep{})
}

func (w *dryRunWriter) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if w.revision(obj) {
		return nil
	}
	if err := w.Client.Delete(ctx, obj, opts...); err != nil {
		return w.refused("delete", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	id, err := w.idOf(obj)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.objects, id) // what is written after a deletion is written anew
	return nil
}

// revision tells a ControllerRevision, which the writer answers itself.
func (w *dryRunWriter) revision(obj client.Object) bool {
	gvk, err := apiutil.GVKForObject(obj, w.Scheme())
	return err == nil && gvk.Kind == plan.KindControllerRevision
}

// standIn tells whether err is the apiserver refusing obj because its namespace,
// created by this pass as a dry run, does not exist.
func (w *dryRunWriter) standIn(obj client.Object, err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) || obj.GetNamespace() == "" {
		return false
	}
	d := status.Status().Details
	if d == nil || d.Kind != "namespaces" || d.Name != obj.GetNamespace() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.namespaces[obj.GetNamespace()]
}

func (w *dryRunWriter) idOf(obj client.Object) (objectID, error) {
	gvk, err := apiutil.GVKForObject(obj, w.Scheme())
	if err != nil {
		return objectID{}, err
	}
	return objectID{gvk: gvk, namespace: obj.GetNamespace(), name: obj.GetName()}, nil
}

// wroteObject records the dry run of a typed or unstructured object (a create, an
// update, a patch) and, when the pass wrote it before, puts into obj what all its
// writes make of it.
func (w *dryRunWriter) wroteObject(ctx context.Context, obj client.Object, step writeStep) error {
	id, err := w.idOf(obj)
	if err != nil {
		return err
	}
	result, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return fmt.Errorf("read the dry-run result of %s: %w", obj.GetName(), err)
	}
	// A typed object comes back without its apiVersion and kind.
	step.result = runtime.DeepCopyJSON(result)
	step.result["apiVersion"], step.result["kind"] = id.gvk.GroupVersion().String(), id.gvk.Kind
	composed, err := w.wrote(ctx, obj, step)
	if err != nil || composed == nil {
		return err
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if u, ok := obj.(runtime.Unstructured); ok {
		u.SetUnstructuredContent(composed)
	} else if err := runtime.DefaultUnstructuredConverter.FromUnstructured(composed, obj); err != nil {
		return fmt.Errorf("compose the dry runs of %s: %w", obj.GetName(), err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return nil
}

// wrote records step, a dry run of obj. When it is not obj's first write in the
// pass it returns what all of obj's writes make of the live object (see
// dryRunWriter); nil when the dry run's result stands as it is.
func (w *dryRunWriter) wrote(ctx context.Context, obj client.Object, step writeStep) (map[string]any, error) {
	id, err := w.idOf(obj)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if id.gvk.Group == "" && id.gvk.Kind == "Namespace" {
		w.namespaces[obj.GetName()] = true
	}
	ow := w.objects[id]
	if ow == nil {
		ow = &objectWrites{}
		w.objects[id] = ow
	}
	ow.steps = append(ow.steps, step)
	steps := slices.Clone(ow.steps)
	w.mu.Unlock()
	if len(steps) == 1 {
		return nil, nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(id.gvk)
	err = w.live.Get(ctx, client.ObjectKey{Namespace: id.namespace, Name: id.name}, live)
	switch {
	case apierrors.IsNotFound(err):
		live.Object = map[string]any{}
	case err != nil:
		return nil, w.refused("get", live, id.namespace, id.name, err)
	}
	return compose(live.Object, steps), nil
}

// compose applies to live, in turn, the change each step's dry run made to it;
// an apply keeps what an earlier apply by another field manager set and it does
// not set itself.
func compose(live map[string]any, steps []writeStep) map[string]any {
	out := runtime.DeepCopyJSON(live)
	for i, s := range steps {
		change := mergePatch(live, s.result)
		if s.apply {
			for _, earlier := range steps[:i] {
				if !earlier.apply || earlier.manager == s.manager {
					continue
				}
				for _, path := range earlier.sets {
					if !overlaps(path, s.sets) {
						removePath(change, path)
					}
				}
			}
		}
		applyMergePatch(out, change)
	}
	return out
}

// identity are the fields every apply body carries to name its object.
var identity = [][]string{{"apiVersion"}, {"kind"}, {"metadata", "name"}, {"metadata", "namespace"}}

// leaves are the paths to the values obj sets (a list is one value), but the
// fields that name it.
func leaves(obj map[string]any, prefix []string) [][]string {
	var out [][]string
	for k, v := range obj {
		path := append(slices.Clone(prefix), k)
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			out = append(out, leaves(m, path)...)
			continue
		}
		if !slices.ContainsFunc(identity, func(id []string) bool { return slices.Equal(id, path) }) {
			out = append(out, path)
		}
	}
	return out
}

// overlaps tells whether path is one of paths, inside one, or holds one.
func overlaps(path []string, paths [][]string) bool {
	return slices.ContainsFunc(paths, func(p []string) bool {
		n := min(len(p), len(path))
		return slices.Equal(p[:n], path[:n])
	})
}

// mergePatch is the JSON merge patch (RFC 7386) that makes from into to.
func mergePatch(from, to map[string]any) map[string]any {
	patch := map[string]any{}
	for k, v := range to {
		old, ok := from[k]
		om, oIsMap := old.(map[string]any)
		nm, nIsMap := v.(map[string]any)
		switch {
		case ok && oIsMap && nIsMap:
			if sub := mergePatch(om, nm); len(sub) > 0 {
				patch[k] = sub
			}
		case !ok || !reflect.DeepEqual(old, v):
			patch[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	for k := range from {
		if _, ok := to[k]; !ok {
			patch[k] = nil
		}
	}
	return patch
}

// applyMergePatch applies a JSON merge patch to obj in place.
func applyMergePatch(obj, patch map[string]any) {
	for k, v := range patch {
		pm, pIsMap := v.(map[string]any)
		om, oIsMap := obj[k].(map[string]any)
		switch {
		case v == nil:
			delete(obj, k)
		case pIsMap && oIsMap:
			applyMergePatch(om, pm)
		case pIsMap:
			fresh := map[string]any{}
			applyMergePatch(fresh, pm)
			obj[k] = fresh
		default:
			obj[k] = runtime.DeepCopyJSONValue(v)
		}
	}
}

// removePath takes path out of a merge patch: the field is left as it is.
func removePath(patch map[string]any, path []string) {
	if len(path) == 1 {
		delete(patch, path[0])
		return
	}
	if sub, ok := patch[path[0]].(map[string]any); ok {
		removePath(sub, path[1:])
		if len(sub) == 0 {
			delete(patch, path[0])
		}
	}
}

// copyObject copies src into dst, of the same Go type.
func copyObject(src, dst client.Object) error {
	sv, dv := reflect.ValueOf(src), reflect.ValueOf(dst)
	if sv.Type() != dv.Type() || sv.Kind() != reflect.Pointer {
		return fmt.Errorf("copy %T into %T", src, dst)
	}
	dv.Elem().Set(sv.Elem())
	return nil
}
