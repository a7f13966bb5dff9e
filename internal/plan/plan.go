// Package plan decides, without touching the cluster, what one reconcile pass of a
// stack does: which objects to apply and in what order, which live objects are not
// the stack's (conflicts, left untouched), which changes would lose data, what to
// prune, which claims to keep, and which objects the stack owns afterwards (its
// inventory). The controller observes the cluster, calls Make, and carries the plan
// out; everything here is a pure function of what was observed, so it is tested
// with tables and no apiserver.
//
// Ownership is the heart of it (docs/ownership.md): the operator changes or deletes
// only objects it created. An object is the stack's when its UID is in the stack's
// inventory, or — for an object created by a pass whose inventory was never
// written (a crash between the create and the status write, or a stack from before
// inventories) — when it carries the stack's controller reference, which the
// operator only ever sets on objects it creates. Labels prove nothing.
package plan

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// AnnotationRestore on an adopted namespace records the labels and annotations it
// had before the operator set its own, as JSON; releasing the namespace restores
// them. A value of null means the key was absent.
const AnnotationRestore = "apps.appstack.dev/restore-on-release"

// AnnotationAutoscaled on a workload says an autoscaler owns its replica count.
// Its absence on a live workload whose component is now autoscaled is what tells
// the plan that the replica count must be handed over first (see Handover).
const AnnotationAutoscaled = render.AnnotationAutoscaled

// The kinds that the plan treats apart: the namespace is applied first and deleted
// last, and a claim holds data.
const (
	KindNamespace             = "Namespace"
	KindPersistentVolumeClaim = "PersistentVolumeClaim"
	KindStatefulSet           = "StatefulSet"
)

// HandoverManager is the field manager that keeps a workload's replica count while
// the operator's own apply stops setting it, so that the count is never reset to
// the default of 1 on its way to the autoscaler.
const HandoverManager = "appstack-operator-handover"

// Key identifies an object of a stack by kind, namespace and name.
type Key struct {
	Kind, Namespace, Name string
}

func (k Key) String() string {
	if k.Namespace == "" {
		return k.Kind + " " + k.Name
	}
	return k.Kind + " " + k.Namespace + "/" + k.Name
}

// KeyOf is the key of obj, which must carry its kind.
func KeyOf(obj client.Object) Key {
	return Key{Kind: obj.GetObjectKind().GroupVersionKind().Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// EntryKey is the key of an inventory entry.
func EntryKey(e appstackv1.InventoryEntry) Key {
	return Key{Kind: e.Kind, Namespace: e.Namespace, Name: e.Name}
}

// Entry is the inventory entry of an object, which must carry its kind and UID.
func Entry(obj client.Object) appstackv1.InventoryEntry {
	return appstackv1.InventoryEntry{
		APIVersion: obj.GetObjectKind().GroupVersionKind().GroupVersion().String(),
		Kind:       obj.GetObjectKind().GroupVersionKind().Kind,
		Namespace:  obj.GetNamespace(),
		Name:       obj.GetName(),
		UID:        obj.GetUID(),
	}
}

// Observed is what one pass read of the cluster.
type Observed struct {
	Stack   *appstackv1.AppStack
	Desired *render.Desired
	// Namespace is the live namespace, nil when it does not exist.
	Namespace *corev1.Namespace
	// Live is the live object for every desired key that exists (read past the
	// cache when the cache did not hold it), with its kind set.
	Live map[Key]client.Object
	// Inventory is status.inventory plus what this process created since.
	Inventory []appstackv1.InventoryEntry
	// Labelled are the live objects in the namespace that carry the stack's label
	// (from the cache), with their kind set: where a lost inventory is recovered
	// from, and where StatefulSet claims are found.
	Labelled []client.Object
	// Ready tells which components are Ready, for dependsOn.
	Ready map[string]bool
}

// Conflict is a desired object whose name is taken on the cluster by an object
// that is not the stack's. Nothing is written to it.
type Conflict struct {
	// Component is the component the object belongs to; empty for the stack's
	// shared objects (namespace, configs, volumes).
	Component string
	Key       Key
	Message   string
}

// Blocker stops the whole pass before anything is written.
type Blocker struct {
	Reason, Message string
}

// Handover sets a workload's replica count as HandoverManager before the apply that
// stops setting it.
type Handover struct {
	Object   client.Object
	Replicas int32
}

// Prune is an inventory member that is no longer desired.
type Prune struct {
	Entry appstackv1.InventoryEntry
	// Retain, for a claim the stack does not control (its volume is retained, or
	// the cache does not show it): label it retained and let it go from the
	// inventory instead of deleting it. Object is the live claim from the cache,
	// nil when the cache does not show it.
	Retain bool
	Object client.Object
}

// Plan is what a pass does, in order: Handovers, then Namespace, Shared and
// Workloads (each group applied at once), then — only when every apply
// succeeded and there is no conflict — Prune and Keep.
type Plan struct {
	Blocked *Blocker

	Namespace client.Object
	// CreateNamespace: the namespace does not exist, and the act creates it (a
	// create, not an apply: of two stacks racing for one name, one gets
	// AlreadyExists) before it applies it.
	CreateNamespace bool
	// Readopt are retained claims (and a kept namespace) the stack takes back: the
	// act drops their retained label.
	Readopt   []client.Object
	Shared    []client.Object
	Workloads []client.Object
	Handovers []Handover
	// Waiting maps a component whose workload is held back to the dependencies
	// that are not Ready.
	Waiting   map[string][]string
	Conflicts []Conflict

	Prune []Prune
	// Keep are live claims of the stack's StatefulSets, made by the StatefulSet
	// controller from retained templates, whose component is gone: the act labels
	// them retained, like a retained stack volume.
	Keep []client.Object

	// Inventory is what the stack owns once the plan is carried out, without the
	// objects still to be created (the act adds them with their new UIDs) and
	// without the pruned ones (the act drops them as they go).
	Inventory []appstackv1.InventoryEntry
}

// Make plans one pass.
func Make(o Observed) *Plan {
	p := &Plan{Waiting: map[string][]string{}}
	stack := o.Stack
	inv := newInventory(o.Inventory)
	owns := func(obj client.Object) bool { return inv.owns(obj, stack) }

	if b := namespaceBlocker(o, inv); b != nil {
		p.Blocked = b
		return p
	}
	if b := unsafeChanges(o, owns); b != nil {
		p.Blocked = b
		return p
	}

	p.planNamespace(o, inv)

	pl := &placer{p: p, o: o, inv: inv, desired: map[Key]bool{KeyOf(p.Namespace): true}}
	for _, obj := range o.Desired.Shared {
		pl.place(obj, "", false)
	}
	for _, co := range o.Desired.Components {
		for _, obj := range co.Supporting {
			pl.place(obj, co.Name, false)
		}
		pl.desired[KeyOf(co.Workload)] = true
		var notReady []string
		for _, dep := range render.Component(stack, co.Name).DependsOn {
			if !o.Ready[dep] {
				notReady = append(notReady, dep)
			}
		}
		if len(notReady) > 0 {
			p.Waiting[co.Name] = notReady
			// The workload is not applied this pass, but one that exists stays the
			// stack's: it is not pruned.
			if live := o.Live[KeyOf(co.Workload)]; live != nil && owns(live) {
				inv.add(live)
			}
			continue
		}
		pl.place(co.Workload, co.Name, true)
	}

	// Recover what the stack created but never recorded: its controller reference
	// proves it (see the package comment).
	for _, obj := range o.Labelled {
		if Recoverable(obj, stack) {
			inv.add(obj)
		}
	}

	p.planPrune(o, inv, pl.desired)
	p.Keep = orphanedTemplateClaims(o)
	p.Readopt = append(p.Readopt, reusedTemplateClaims(o)...)
	p.Inventory = inv.sorted()
	return p
}

// placer puts the desired objects into a plan, and keeps the keys it placed.
type placer struct {
	p       *Plan
	o       Observed
	inv     *inventory
	desired map[Key]bool
}

// place puts one desired object of a component ("" for the stack's shared
// objects) into the plan: applied with the stack as its controller — unless a
// live object of its name is not the stack's (a conflict), or it is a retained
// claim, which has no owner — and the live one kept in the inventory.
func (pl *placer) place(obj client.Object, component string, workload bool) {
	p, stack := pl.p, pl.o.Stack
	key := KeyOf(obj)
	pl.desired[key] = true
	obj = obj.DeepCopyObject().(client.Object)
	live := pl.o.Live[key]
	if live != nil && !pl.inv.owns(live, stack) {
		if !readoptable(live, stack) {
			p.Conflicts = append(p.Conflicts, Conflict{Component: component, Key: key, Message: conflictMessage(key, live)})
			return
		}
		if live.GetLabels()[render.LabelRetained] == render.LabelRetainedValue {
			p.Readopt = append(p.Readopt, live)
		}
	}
	if live != nil {
		pl.inv.add(live)
	}
	// A claim follows its volume's retain policy from here on, whoever made it.
	if !isRetainedClaim(obj, stack) {
		setOwner(obj, stack)
	}
	if !workload {
		p.Shared = append(p.Shared, obj)
		return
	}
	if h, ok := handover(obj, live, render.Component(stack, component)); ok {
		p.Handovers = append(p.Handovers, h)
	}
	p.Workloads = append(p.Workloads, obj)
}

// reusedTemplateClaims are a StatefulSet's retained claims that its component
// uses again (the stack or the component came back): they are no longer
// retained, the StatefulSet reuses them.
func reusedTemplateClaims(o Observed) []client.Object {
	var out []client.Object
	for _, claim := range TemplateClaims(o.Stack.Name, o.Labelled) {
		c := render.Component(o.Stack, claim.GetLabels()[render.LabelComponent])
		if claim.GetLabels()[render.LabelRetained] == render.LabelRetainedValue && c != nil && templateOf(c, claim.GetName()) {
			out = append(out, claim)
		}
	}
	return out
}

// planNamespace sets the namespace: created (with a create, so that of two stacks
// racing for one name exactly one owns it), the stack's own, taken back, or
// adopted. A namespace the stack created carries its UID (AnnotationStackUID) and
// no owner reference: no garbage collection, whatever the propagation policy of a
// deletion, can take it and the retained data in it; only the stack's finalizer
// deletes it (docs/ownership.md).
func (p *Plan) planNamespace(o Observed, inv *inventory) {
	stack := o.Stack
	ns := o.Desired.Namespace.DeepCopyObject().(client.Object)
	switch {
	case o.Namespace == nil:
		markCreator(ns, stack)
		p.CreateNamespace = true
	case inv.owns(o.Namespace, stack):
		markCreator(ns, stack)
		inv.add(o.Namespace)
		if o.Namespace.Labels[render.LabelRetained] == render.LabelRetainedValue {
			p.Readopt = append(p.Readopt, o.Namespace) // a take-back whose label removal failed
		}
	case retainedFor(o.Namespace, stack):
		// Kept by an earlier stack of this name (for its retained claims, or left
		// when an admin removed its finalizer): this stack takes it back.
		markCreator(ns, stack)
		inv.add(o.Namespace)
		p.Readopt = append(p.Readopt, o.Namespace)
	default:
		keepStricterPodSecurity(ns, o.Namespace)
		recordRestore(ns, o.Namespace)
	}
	p.Namespace = ns
}

// podSecurityLevels in order of strictness.
var podSecurityLevels = []string{"privileged", "baseline", "restricted"}

// keepStricterPodSecurity: a stack never lowers the Pod Security level of a
// namespace it adopts. Its owner handed the namespace over, not its level; the
// stack's (defaulted) level applies only when it is at least as strict.
func keepStricterPodSecurity(desired client.Object, live *corev1.Namespace) {
	have := slices.Index(podSecurityLevels, live.Labels[render.LabelPodSecurityEnforce])
	want := slices.Index(podSecurityLevels, desired.GetLabels()[render.LabelPodSecurityEnforce])
	if have <= want {
		return
	}
	labels := maps.Clone(desired.GetLabels())
	for _, k := range []string{render.LabelPodSecurityEnforce, render.LabelPodSecurityWarn, render.LabelPodSecurityAudit} {
		if v, ok := live.Labels[k]; ok {
			labels[k] = v
		}
	}
	desired.SetLabels(labels)
}

// markCreator marks ns as the namespace this stack created: its UID, no owner
// reference (one set by an earlier version is dropped by the apply).
func markCreator(ns client.Object, stack *appstackv1.AppStack) {
	a := maps.Clone(ns.GetAnnotations())
	if a == nil {
		a = map[string]string{}
	}
	a[render.AnnotationStackUID] = string(stack.UID)
	ns.SetAnnotations(a)
	ns.SetOwnerReferences(nil)
}

// CreatedNamespace tells whether ns is the namespace this stack created: it
// carries the stack's UID, or (made by a version before 0.2) the stack's
// controller reference.
func CreatedNamespace(ns client.Object, stack *appstackv1.AppStack) bool {
	if uid, ok := ns.GetAnnotations()[render.AnnotationStackUID]; ok {
		return uid == string(stack.UID)
	}
	return metav1.IsControlledBy(ns, stack)
}

// planPrune lists the inventory members no longer desired. Retained claims are
// kept and labelled instead.
func (p *Plan) planPrune(o Observed, inv *inventory, desired map[Key]bool) {
	for _, e := range inv.sorted() {
		key := EntryKey(e)
		if desired[key] {
			continue
		}
		live := findLabelled(o.Labelled, key)
		if live != nil && len(p.Waiting[live.GetLabels()[render.LabelComponent]]) > 0 {
			// The component's new workload waits for its dependencies: what runs
			// now keeps running until it can be replaced.
			continue
		}
		if e.Kind == KindPersistentVolumeClaim && (live == nil || !metav1.IsControlledBy(live, o.Stack)) {
			// Data: a claim is deleted only when the stack is seen to control it.
			// One the cache does not show is kept too (the act reads it first).
			p.Prune = append(p.Prune, Prune{Entry: e, Retain: true, Object: live})
			continue
		}
		p.Prune = append(p.Prune, Prune{Entry: e})
	}
}

// NamespaceBlocker is the refusal of the stack's namespace, decided from the
// namespace, the stack and its inventory alone (Make refuses it the same): a
// pass can stop before reading anything else.
func NamespaceBlocker(o Observed) *Blocker {
	return namespaceBlocker(o, newInventory(o.Inventory))
}

// namespaceBlocker refuses a namespace that is not the stack's to use: another
// stack's, or one that exists and was not handed over (docs/ownership.md: two-party adoption).
func namespaceBlocker(o Observed, inv *inventory) *Blocker {
	ns, stack := o.Namespace, o.Stack
	if ns == nil || inv.owns(ns, stack) || retainedFor(ns, stack) {
		return nil
	}
	if owner := ns.Labels[render.LabelStack]; owner != "" && owner != stack.Name {
		return &Blocker{Reason: appstackv1.ReasonNamespaceConflict, Message: fmt.Sprintf(
			"namespace %s belongs to stack %s; choose another spec.namespace.name or delete stack %s", ns.Name, owner, owner)}
	}
	adopt := stack.Spec.Namespace != nil && stack.Spec.Namespace.Adopt
	switch {
	case !adopt:
		return &Blocker{Reason: appstackv1.ReasonNamespaceConflict, Message: fmt.Sprintf(
			"namespace %s already exists and this stack did not create it; choose another spec.namespace.name, "+
				"or adopt it: set spec.namespace.adopt: true and have its owner run `kubectl annotate namespace %s %s=%s`",
			ns.Name, ns.Name, appstackv1.AnnotationAdopt, stack.Name)}
	case ns.Annotations[appstackv1.AnnotationAdopt] != stack.Name:
		return &Blocker{Reason: appstackv1.ReasonNamespaceConflict, Message: fmt.Sprintf(
			"namespace %s has not been handed to this stack: its owner must run `kubectl annotate namespace %s %s=%s`",
			ns.Name, ns.Name, appstackv1.AnnotationAdopt, stack.Name)}
	}
	return nil
}

// retainedFor tells whether ns is a namespace an earlier stack of this name
// created and left: kept for its retained claims (labelled retained), or left
// behind when an admin removed that stack's finalizer (it carries another stack's
// UID; stack names are unique, so that stack is gone). Whoever applies the stack
// again has passed the admission policy's checks on that namespace.
func retainedFor(ns *corev1.Namespace, stack *appstackv1.AppStack) bool {
	if ns.Labels[render.LabelStack] != stack.Name || len(ns.OwnerReferences) > 0 {
		return false
	}
	if ns.Labels[render.LabelRetained] == render.LabelRetainedValue {
		return true
	}
	uid := ns.Annotations[render.AnnotationStackUID]
	return uid != "" && uid != string(stack.UID)
}

// readoptable tells whether live is the claim of a retained stack volume of this
// name that this stack, an earlier volume entry or an earlier stack of this name
// made: labelled for this stack's volume of that name and owned by nothing (a
// retained claim never has an owner). These marks are the operator's own: it
// takes the claim back (and drops the retained label, if set).
func readoptable(live client.Object, stack *appstackv1.AppStack) bool {
	l := live.GetLabels()
	return KeyOf(live).Kind == KindPersistentVolumeClaim && l[render.LabelStack] == stack.Name &&
		l[render.LabelVolume] == live.GetName() && len(live.GetOwnerReferences()) == 0
}

// isRetainedClaim: a retained stack volume's claim carries no owner reference, so
// that the garbage collector can never take its data with the stack.
func isRetainedClaim(obj client.Object, stack *appstackv1.AppStack) bool {
	if KeyOf(obj).Kind != KindPersistentVolumeClaim {
		return false
	}
	for i := range stack.Spec.Volumes {
		if v := &stack.Spec.Volumes[i]; v.Name == obj.GetName() {
			return render.Retains(v)
		}
	}
	return false
}

// setOwner makes the stack obj's controller, so it goes with the stack.
func setOwner(obj client.Object, stack *appstackv1.AppStack) {
	ref := metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))
	obj.SetOwnerReferences([]metav1.OwnerReference{*ref})
}

// recordRestore adds to the desired adopted namespace what its labels and
// annotations were before the operator's, so that releasing it can put them back.
// Once recorded (on the first apply), the record is carried over unchanged.
func recordRestore(desired client.Object, live *corev1.Namespace) {
	record := restoreRecord(desired, live)
	a := maps.Clone(desired.GetAnnotations())
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationRestore] = record
	desired.SetAnnotations(a)
}

// Restore is the JSON of AnnotationRestore.
type Restore struct {
	Labels      map[string]*string `json:"labels,omitempty"`
	Annotations map[string]*string `json:"annotations,omitempty"`
}

// restoreRecord is the record already on the namespace, with every key the operator
// sets now and had not set before added at its current (still the owner's) value.
// Keys once recorded keep their recorded value, so the record changes only when
// the spec starts setting a new key.
func restoreRecord(desired client.Object, live *corev1.Namespace) string {
	r, _, err := ParseRestore(live)
	if err != nil {
		r = Restore{} // not the operator's format: start again from what is there
	}
	r.Labels = withPrior(r.Labels, desired.GetLabels(), live.Labels)
	r.Annotations = withPrior(r.Annotations, desired.GetAnnotations(), live.Annotations)
	delete(r.Annotations, AnnotationRestore)
	// The operator's own labels were never the namespace's: a namespace an earlier
	// version adopted carries them already, and releasing it must remove them.
	for k := range render.StackLabels(&appstackv1.AppStack{}) {
		if _, ok := r.Labels[k]; ok {
			r.Labels[k] = nil
		}
	}
	b, _ := json.Marshal(r) // maps of strings always marshal
	return string(b)
}

// withPrior adds to record each key the operator sets that it does not hold yet,
// with the value it has before the operator sets it (nil: absent).
func withPrior(record map[string]*string, set, before map[string]string) map[string]*string {
	if record == nil {
		record = map[string]*string{}
	}
	for k := range set {
		if _, ok := record[k]; ok {
			continue
		}
		if v, ok := before[k]; ok {
			record[k] = ptr.To(v)
		} else {
			record[k] = nil
		}
	}
	if len(record) == 0 {
		return nil
	}
	return record
}

// ParseRestore reads AnnotationRestore; ok is false when ns has none.
func ParseRestore(ns client.Object) (Restore, bool, error) {
	s, ok := ns.GetAnnotations()[AnnotationRestore]
	if !ok {
		return Restore{}, false, nil
	}
	var r Restore
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return Restore{}, true, fmt.Errorf("namespace %s: annotation %s is not what the operator wrote: %w", ns.GetName(), AnnotationRestore, err)
	}
	return r, true, nil
}

// conflictMessage names the object in the way and who manages it.
func conflictMessage(key Key, live client.Object) string {
	var managers []string
	for _, mf := range live.GetManagedFields() {
		if !slices.Contains(managers, mf.Manager) {
			managers = append(managers, mf.Manager)
		}
	}
	who := "someone else"
	switch {
	case len(managers) > 0:
		who = "managed by " + strings.Join(managers, ", ")
	case metav1.GetControllerOf(live) != nil:
		c := metav1.GetControllerOf(live)
		who = fmt.Sprintf("controlled by %s %s", c.Kind, c.Name)
	}
	return fmt.Sprintf("%s already exists and is not this stack's (%s); the operator leaves it untouched. "+
		"Rename the component or volume, or delete that object if it is not needed", key, who)
}

// handover: a live workload the operator set the replica count of, whose component
// is now autoscaled. Applying without replicas would release the field and let it
// default to 1; the count is first taken by HandoverManager at no less than it is
// now and no less than minReplicas.
func handover(desired, live client.Object, c *appstackv1.Component) (Handover, bool) {
	if live == nil || c == nil || c.Autoscaling == nil || live.GetAnnotations()[AnnotationAutoscaled] == render.AnnotationAutoscaledValue {
		return Handover{}, false
	}
	var now *int32
	switch l := live.(type) {
	case *appsv1.Deployment:
		now = l.Spec.Replicas
	case *appsv1.StatefulSet:
		now = l.Spec.Replicas
	default:
		return Handover{}, false
	}
	n := max(ptr.Deref(now, 1), ptr.Deref(c.Autoscaling.MinReplicas, 1))
	return Handover{Object: desired, Replicas: n}, true
}

// unsafeChanges refuses, before anything is applied, a change that could only be
// made by losing data or replacing a StatefulSet: shrinking a claim or changing its
// class or access modes, changing a StatefulSet's claim templates, or changing the
// Service that governs a StatefulSet (its serviceName is immutable).
func unsafeChanges(o Observed, owns func(client.Object) bool) *Blocker {
	var problems field.ErrorList
	stack := o.Stack
	for i := range stack.Spec.Volumes {
		v := &stack.Spec.Volumes[i]
		live, ok := o.Live[Key{KindPersistentVolumeClaim, render.NamespaceName(stack), v.Name}].(*corev1.PersistentVolumeClaim)
		if ok && (owns(live) || readoptable(live, stack)) {
			problems = append(problems, claimChange(field.NewPath("spec", "volumes").Index(i), v.Name,
				render.PersistentVolumeClaim(stack, v).Spec, live.Spec)...)
		}
	}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		if render.KindOf(c) != appstackv1.KindStatefulSet {
			continue
		}
		live, ok := o.Live[Key{KindStatefulSet, render.NamespaceName(stack), c.Name}].(*appsv1.StatefulSet)
		if !ok || !owns(live) {
			continue
		}
		want := render.StatefulSet(stack, c)
		p := field.NewPath("spec", "components").Index(i)
		if !sameClaimTemplates(want.Spec.VolumeClaimTemplates, live.Spec.VolumeClaimTemplates) {
			problems = append(problems, field.Forbidden(p.Child("volumeClaimTemplates"), fmt.Sprintf(
				"StatefulSet %s keeps its claim templates for life; changing them means deleting it and its replicas' claims. "+
					"Restore the previous templates, or add a new component and move the data", c.Name)))
		}
		if live.Spec.ServiceName != "" && want.Spec.ServiceName != live.Spec.ServiceName {
			problems = append(problems, field.Forbidden(p.Child("service", "type"), fmt.Sprintf(
				"StatefulSet %s is governed by Service %s for life (its serviceName cannot change), and this change would "+
					"govern it by %s; restore the previous service type, or add a new component and move the data",
				c.Name, live.Spec.ServiceName, want.Spec.ServiceName)))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &Blocker{Reason: appstackv1.ReasonUnsafeChange, Message: problems.ToAggregate().Error()}
}

func claimChange(p *field.Path, name string, want, have corev1.PersistentVolumeClaimSpec) field.ErrorList {
	var errs field.ErrorList
	wantSize, haveSize := want.Resources.Requests[corev1.ResourceStorage], have.Resources.Requests[corev1.ResourceStorage]
	if wantSize.Cmp(haveSize) < 0 {
		errs = append(errs, field.Forbidden(p.Child("size"),
			fmt.Sprintf("claim %s cannot shrink from %s to %s; a claim only grows. Set size to %s or more",
				name, haveSize.String(), wantSize.String(), haveSize.String())))
	}
	if want.StorageClassName != nil && ptr.Deref(have.StorageClassName, "") != *want.StorageClassName {
		errs = append(errs, field.Forbidden(p.Child("storageClassName"),
			fmt.Sprintf("claim %s is of class %q and cannot change class; create a new volume and move the data",
				name, ptr.Deref(have.StorageClassName, ""))))
	}
	if !sameModes(want.AccessModes, have.AccessModes) {
		errs = append(errs, field.Forbidden(p.Child("accessModes"),
			fmt.Sprintf("claim %s has access modes %v, which cannot change; create a new volume and move the data", name, have.AccessModes)))
	}
	return errs
}

func sameModes(a, b []corev1.PersistentVolumeAccessMode) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// sameClaimTemplates compares what the operator sets in claim templates; the
// apiserver fills in more (volumeMode, status), which does not count.
func sameClaimTemplates(want, have []corev1.PersistentVolumeClaim) bool {
	if len(want) != len(have) {
		return false
	}
	for i := range want {
		w, h := want[i], have[i]
		if w.Name != h.Name || !sameModes(w.Spec.AccessModes, h.Spec.AccessModes) ||
			!w.Spec.Resources.Requests.Storage().Equal(*h.Spec.Resources.Requests.Storage()) ||
			(w.Spec.StorageClassName != nil && ptr.Deref(h.Spec.StorageClassName, "") != *w.Spec.StorageClassName) {
			return false
		}
	}
	return true
}

// orphanedTemplateClaims are the claims the StatefulSet controller made from the
// retained templates of this stack's StatefulSets (no owner: the StatefulSet's
// retention policy is Retain) whose component is no longer a StatefulSet with that
// template. They are labelled retained, so that the namespace, and the data, stay.
func orphanedTemplateClaims(o Observed) []client.Object {
	var out []client.Object
	for _, obj := range o.Labelled {
		l := obj.GetLabels()
		if KeyOf(obj).Kind != KindPersistentVolumeClaim || l[render.LabelVolume] != "" || l[render.LabelComponent] == "" ||
			l[render.LabelRetained] == render.LabelRetainedValue || len(obj.GetOwnerReferences()) > 0 || obj.GetDeletionTimestamp() != nil {
			continue
		}
		if c := render.Component(o.Stack, l[render.LabelComponent]); c != nil && templateOf(c, obj.GetName()) {
			continue
		}
		out = append(out, obj)
	}
	return out
}

// TemplateClaims are the live claims the StatefulSet controller made for the
// stack's components from their templates (labelled with the stack and a
// component, not a stack volume's).
func TemplateClaims(stack string, labelled []client.Object) []client.Object {
	var out []client.Object
	for _, obj := range labelled {
		l := obj.GetLabels()
		if KeyOf(obj).Kind == KindPersistentVolumeClaim && l[render.LabelStack] == stack && l[render.LabelVolume] == "" && l[render.LabelComponent] != "" {
			out = append(out, obj)
		}
	}
	return out
}

// templateOf tells whether claim is named like one of c's templates' claims,
// <template>-<component>-<ordinal>.
func templateOf(c *appstackv1.Component, claim string) bool {
	if render.KindOf(c) != appstackv1.KindStatefulSet {
		return false
	}
	for _, t := range c.VolumeClaimTemplates {
		prefix := t.Name + "-" + c.Name + "-"
		if rest, ok := strings.CutPrefix(claim, prefix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}

func findLabelled(objs []client.Object, key Key) client.Object {
	for _, obj := range objs {
		if KeyOf(obj) == key {
			return obj
		}
	}
	return nil
}

// inventory is the set of objects the stack owns, by key, with their UIDs.
type inventory struct {
	entries map[Key]appstackv1.InventoryEntry
	// recorded is what the pass started from; only those and what is added are
	// kept.
	recorded map[Key]types.UID
}

func newInventory(recorded []appstackv1.InventoryEntry) *inventory {
	inv := &inventory{entries: map[Key]appstackv1.InventoryEntry{}, recorded: map[Key]types.UID{}}
	for _, e := range recorded {
		inv.recorded[EntryKey(e)] = e.UID
		inv.entries[EntryKey(e)] = e
	}
	return inv
}

// owns tells whether live is the stack's: recorded with its UID, its namespace
// (CreatedNamespace), or carrying the stack's controller reference.
func (inv *inventory) owns(live client.Object, stack *appstackv1.AppStack) bool {
	if uid, ok := inv.recorded[KeyOf(live)]; ok && uid == live.GetUID() {
		return true
	}
	return ownedByMark(live, stack)
}

// Owned tells whether live is the stack's, by the stack's inventory (see the
// package comment).
func Owned(inventory []appstackv1.InventoryEntry, live client.Object, stack *appstackv1.AppStack) bool {
	for _, e := range inventory {
		if e.UID == live.GetUID() && e.Name == live.GetName() && e.Namespace == live.GetNamespace() {
			return true
		}
	}
	return ownedByMark(live, stack)
}

// ownedByMark: what the stack created but never recorded carries its mark — the
// stack's UID on its namespace, its controller reference on anything else.
func ownedByMark(live client.Object, stack *appstackv1.AppStack) bool {
	if KeyOf(live).Kind == KindNamespace {
		return CreatedNamespace(live, stack)
	}
	return metav1.IsControlledBy(live, stack)
}

func (inv *inventory) add(live client.Object) {
	inv.entries[KeyOf(live)] = Entry(live)
}

// sorted lists the entries in a stable order.
func (inv *inventory) sorted() []appstackv1.InventoryEntry {
	return SortInventory(slices.Collect(maps.Values(inv.entries)))
}

// SortInventory orders entries as status.inventory lists them: the namespace first,
// then by kind and name.
func SortInventory(out []appstackv1.InventoryEntry) []appstackv1.InventoryEntry {
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Kind == KindNamespace) != (b.Kind == KindNamespace) {
			return a.Kind == KindNamespace
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return out
}
