package plan

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func testStack(mutate ...func(*appstackv1.AppStack)) *appstackv1.AppStack {
	s := &appstackv1.AppStack{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "stack-uid"},
		Spec: appstackv1.AppStackSpec{
			Volumes: []appstackv1.StackVolume{{Name: "data", Size: resource.MustParse("1Gi")}},
			Components: []appstackv1.Component{
				{Name: "web", Replicas: ptr.To(int32(2)), Containers: []corev1.Container{{Name: "app", Image: "nginx", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
			},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// observed renders stack and starts an observation of a cluster holding its
// namespace (owned unless ns is given) and the live objects given.
func observed(t *testing.T, stack *appstackv1.AppStack, ns *corev1.Namespace, live ...client.Object) Observed {
	t.Helper()
	d, err := render.Render(stack)
	if err != nil {
		t.Fatal(err)
	}
	if ns == nil {
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid",
			Labels:      map[string]string{render.LabelStack: stack.Name},
			Annotations: map[string]string{render.AnnotationStackUID: string(stack.UID)}}}
	}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	o := Observed{Stack: stack, Desired: d, Namespace: ns, Live: map[Key]client.Object{}, Ready: map[string]bool{}}
	for _, obj := range live {
		o.Live[KeyOf(obj)] = obj
		o.Labelled = append(o.Labelled, obj)
	}
	return o
}

func deployment(name string, uid types.UID, mutate ...func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: uid, Labels: map[string]string{render.LabelStack: "shop"}},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(int32(2))},
	}
	for _, m := range mutate {
		m(d)
	}
	return d
}

func claim(name string, uid types.UID, labels map[string]string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: KindPersistentVolumeClaim},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: uid, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func ownedBy(stack *appstackv1.AppStack) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { setOwner(d, stack) }
}

func keys(objs []client.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, KeyOf(o).String())
	}
	return out
}

func pruned(p *Plan) map[string]bool {
	out := map[string]bool{}
	for _, pr := range p.Prune {
		out[EntryKey(pr.Entry).String()] = pr.Retain
	}
	return out
}

func TestNewStackAppliesEverythingAndOwnsAllButRetainedClaims(t *testing.T) {
	stack := testStack()
	o := observed(t, stack, nil)
	o.Namespace = nil
	p := Make(o)
	if p.Blocked != nil || len(p.Conflicts) > 0 {
		t.Fatalf("blocked %v, conflicts %v", p.Blocked, p.Conflicts)
	}
	if got := keys(p.Workloads); len(got) != 1 || got[0] != "Deployment shop/web" {
		t.Fatalf("workloads %v", got)
	}
	if !p.CreateNamespace || !CreatedNamespace(p.Namespace, stack) || len(p.Namespace.GetOwnerReferences()) > 0 {
		t.Errorf("the new namespace is not created as the stack's, without owner references: create %v, annotations %v, owners %v",
			p.CreateNamespace, p.Namespace.GetAnnotations(), p.Namespace.GetOwnerReferences())
	}
	for _, obj := range append(p.Shared, p.Workloads...) {
		owned := metav1.IsControlledBy(obj, stack)
		if KeyOf(obj).Kind == KindPersistentVolumeClaim {
			if owned {
				t.Errorf("retained claim %s is owned by the stack: the garbage collector would take its data", obj.GetName())
			}
		} else if !owned {
			t.Errorf("%s is not owned by the stack", KeyOf(obj))
		}
	}
	if len(p.Prune) > 0 || len(p.Inventory) > 0 {
		t.Errorf("prune %v, inventory %v", p.Prune, p.Inventory)
	}
}

func TestForeignObjectOfADesiredNameIsAConflictAndUntouched(t *testing.T) {
	stack := testStack()
	foreign := deployment("web", "foreign-uid")
	foreign.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl-create"}}
	p := Make(observed(t, stack, nil, foreign))
	if len(p.Workloads) != 0 {
		t.Fatalf("applies %v onto an object it did not create", keys(p.Workloads))
	}
	if len(p.Conflicts) != 1 || p.Conflicts[0].Component != "web" {
		t.Fatalf("conflicts %+v", p.Conflicts)
	}
	if want := "Deployment shop/web already exists and is not this stack's (managed by kubectl-create)"; !contains(p.Conflicts[0].Message, want) {
		t.Errorf("message %q lacks %q", p.Conflicts[0].Message, want)
	}
	for _, e := range p.Inventory {
		if e.UID == "foreign-uid" {
			t.Errorf("the foreign object entered the inventory")
		}
	}
}

func TestPruneOnlyInventoryMembersNotLookAlikes(t *testing.T) {
	stack := testStack()
	stack.Status.Inventory = []appstackv1.InventoryEntry{
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "old", UID: "old-uid"},
		{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", UID: "web-uid"},
	}
	lookalike := deployment("lookalike", "hand-made") // labelled with the stack, not created by it
	recovered := deployment("lost", "lost-uid", ownedBy(stack))
	o := observed(t, stack, nil, deployment("web", "web-uid"), deployment("old", "old-uid"), lookalike, recovered)
	o.Inventory = stack.Status.Inventory
	p := Make(o)
	got := pruned(p)
	if _, ok := got["Deployment shop/old"]; !ok {
		t.Errorf("the removed inventory member is not pruned: %v", got)
	}
	if _, ok := got["Deployment shop/lost"]; !ok {
		t.Errorf("an object with the stack's controller reference, created but never recorded, is not pruned: %v", got)
	}
	if _, ok := got["Deployment shop/lookalike"]; ok {
		t.Errorf("a hand-made object that merely carries the stack's labels is pruned")
	}
	if _, ok := got["Deployment shop/web"]; ok {
		t.Errorf("a desired object is pruned")
	}
}

func TestRetainedClaimIsKeptNotPrunedAndTakenBack(t *testing.T) {
	stack := testStack()
	labels := map[string]string{render.LabelStack: "shop", render.LabelVolume: "data"}
	// The volume entry was removed: the recorded claim is retained.
	removed := testStack(func(s *appstackv1.AppStack) { s.Spec.Volumes = nil })
	o := observed(t, removed, nil, claim("data", "claim-uid", labels))
	o.Inventory = []appstackv1.InventoryEntry{{APIVersion: "v1", Kind: KindPersistentVolumeClaim, Namespace: "shop", Name: "data", UID: "claim-uid"}}
	p := Make(o)
	if retain, ok := pruned(p)["PersistentVolumeClaim shop/data"]; !ok || !retain {
		t.Fatalf("a retained claim must be labelled retained, not deleted: %+v", p.Prune)
	}
	// A stack of the same name declares it again: it takes the claim back.
	labels[render.LabelRetained] = "true"
	p = Make(observed(t, stack, nil, claim("data", "claim-uid", labels)))
	if len(p.Conflicts) > 0 || len(p.Readopt) != 1 {
		t.Fatalf("conflicts %v, readopt %v", p.Conflicts, keys(p.Readopt))
	}
	// A claim of that name that is not the stack's volume is a conflict.
	p = Make(observed(t, stack, nil, claim("data", "other", map[string]string{"team": "x"})))
	if len(p.Conflicts) != 1 || p.Conflicts[0].Component != "" {
		t.Fatalf("conflicts %+v", p.Conflicts)
	}
}

func TestNamespaceAdoptionNeedsBothSides(t *testing.T) {
	existing := func(annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns", Annotations: annotations,
			Labels: map[string]string{render.LabelPodSecurityEnforce: "restricted", "team": "a"}}}
	}
	adopt := func(s *appstackv1.AppStack) { s.Spec.Namespace = &appstackv1.NamespaceSpec{Adopt: true} }
	for _, tc := range []struct {
		name    string
		stack   *appstackv1.AppStack
		ns      *corev1.Namespace
		blocked string
	}{
		{"exists, stack does not ask", testStack(), existing(map[string]string{appstackv1.AnnotationAdopt: "shop"}), "set spec.namespace.adopt: true"},
		{"stack asks, owner did not agree", testStack(adopt), existing(nil), "kubectl annotate namespace shop apps.appstack.dev/adopt=shop"},
		{"owner agreed to another stack", testStack(adopt), existing(map[string]string{appstackv1.AnnotationAdopt: "other"}), "kubectl annotate namespace shop"},
		{"another stack's", testStack(adopt), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{render.LabelStack: "other"}}}, "belongs to stack other"},
		{"both agree", testStack(adopt), existing(map[string]string{appstackv1.AnnotationAdopt: "shop"}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Make(observed(t, tc.stack, tc.ns))
			if tc.blocked == "" {
				if p.Blocked != nil {
					t.Fatalf("blocked: %v", p.Blocked)
				}
				if len(p.Namespace.GetOwnerReferences()) > 0 {
					t.Errorf("an adopted namespace must never be owned")
				}
				r, ok, err := ParseRestore(p.Namespace)
				if !ok || err != nil {
					t.Fatalf("no restore record: %v", err)
				}
				if v := r.Labels[render.LabelPodSecurityEnforce]; v == nil || *v != "restricted" {
					t.Errorf("the Pod Security level it had is not recorded: %+v", r.Labels)
				}
				if v, ok := r.Labels[render.LabelStack]; !ok || v != nil {
					t.Errorf("the stack label must be recorded as absent before: %+v", r.Labels)
				}
				return
			}
			if p.Blocked == nil || p.Blocked.Reason != appstackv1.ReasonNamespaceConflict || !contains(p.Blocked.Message, tc.blocked) {
				t.Fatalf("want NamespaceConflict with %q, got %+v", tc.blocked, p.Blocked)
			}
			if len(p.Shared)+len(p.Workloads) > 0 {
				t.Errorf("a blocked plan applies something")
			}
		})
	}
}

func TestRestoreRecordNeverKeepsTheOperatorsLabels(t *testing.T) {
	// Adopted by an earlier version, which recorded nothing: the namespace carries
	// the operator's labels already.
	stack := testStack(func(s *appstackv1.AppStack) { s.Spec.Namespace = &appstackv1.NamespaceSpec{Adopt: true} })
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns",
		Labels:      map[string]string{render.LabelStack: "shop", render.LabelManagedBy: render.ManagedBy, "team": "a"},
		Annotations: map[string]string{appstackv1.AnnotationAdopt: "shop"}}}
	p := Make(observed(t, stack, ns))
	r, _, err := ParseRestore(p.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{render.LabelStack, render.LabelManagedBy} {
		if v, ok := r.Labels[k]; !ok || v != nil {
			t.Errorf("label %s recorded as %v; releasing the namespace would leave it", k, v)
		}
	}
}

func TestRestoreRecordKeepsWhatItRecordedAndGrows(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) { s.Spec.Namespace = &appstackv1.NamespaceSpec{Adopt: true} })
	first, _ := json.Marshal(Restore{Labels: map[string]*string{render.LabelPodSecurityEnforce: ptr.To("restricted")}})
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns",
		Labels:      map[string]string{render.LabelStack: "shop", render.LabelPodSecurityEnforce: "baseline", "team": "owners"},
		Annotations: map[string]string{appstackv1.AnnotationAdopt: "shop", AnnotationRestore: string(first)}}}
	p := Make(observed(t, stack, ns))
	r, _, err := ParseRestore(p.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Labels[render.LabelPodSecurityEnforce]; v == nil || *v != "restricted" {
		t.Errorf("the recorded level was overwritten by the operator's own: %v", v)
	}
	// The spec starts setting a label the owner had: its value is recorded then.
	stack.Spec.Namespace.Labels = map[string]string{"team": "mine"}
	ns.Annotations[AnnotationRestore] = p.Namespace.GetAnnotations()[AnnotationRestore]
	p = Make(observed(t, stack, ns))
	r, _, _ = ParseRestore(p.Namespace)
	if v := r.Labels["team"]; v == nil || *v != "owners" {
		t.Errorf("a label the spec set later is not recorded with the owner's value: %v", v)
	}
	// Once the record holds every key, it no longer changes (no writes at rest).
	ns.Annotations[AnnotationRestore] = p.Namespace.GetAnnotations()[AnnotationRestore]
	ns.Labels["team"] = "mine"
	if again := Make(observed(t, stack, ns)); again.Namespace.GetAnnotations()[AnnotationRestore] != ns.Annotations[AnnotationRestore] {
		t.Errorf("the record changes at rest:\n%s\n%s", ns.Annotations[AnnotationRestore], again.Namespace.GetAnnotations()[AnnotationRestore])
	}
}

func TestWaitingComponentKeepsItsOldWorkload(t *testing.T) {
	// web switches from Deployment to StatefulSet while its dependency is not Ready.
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Components = append(s.Spec.Components, appstackv1.Component{Name: "db", Containers: []corev1.Container{{Name: "db", Image: "postgres"}}})
		s.Spec.Components[0].DependsOn = []string{"db"}
		s.Spec.Components[0].Kind = appstackv1.KindStatefulSet
	})
	old := deployment("web", "web-uid", ownedBy(stack), func(d *appsv1.Deployment) { d.Labels[render.LabelComponent] = "web" })
	p := Make(observed(t, stack, nil, old))
	if _, ok := pruned(p)["Deployment shop/web"]; ok {
		t.Errorf("the running Deployment is pruned while its replacement waits")
	}
}

func TestAClaimIsDeletedOnlyWhenSeenControlled(t *testing.T) {
	removed := testStack(func(s *appstackv1.AppStack) { s.Spec.Volumes = nil })
	o := observed(t, removed, nil) // the cache does not show the claim
	o.Inventory = []appstackv1.InventoryEntry{{APIVersion: "v1", Kind: KindPersistentVolumeClaim, Namespace: "shop", Name: "data", UID: "claim-uid"}}
	if retain, ok := pruned(Make(o))["PersistentVolumeClaim shop/data"]; !ok || !retain {
		t.Errorf("a claim the cache does not show is deleted: %+v", Make(o).Prune)
	}
	owned := claim("data", "claim-uid", map[string]string{render.LabelStack: "shop"})
	setOwner(owned, removed)
	o = observed(t, removed, nil, owned)
	o.Inventory = []appstackv1.InventoryEntry{Entry(owned)}
	if retain, ok := pruned(Make(o))["PersistentVolumeClaim shop/data"]; !ok || retain {
		t.Errorf("an unretained claim the stack controls is not deleted")
	}
}

func TestNamespaceKeptForRetainedClaimsIsTakenBack(t *testing.T) {
	stack := testStack()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns",
		Labels: map[string]string{render.LabelStack: "shop", render.LabelRetained: "true"}}}
	p := Make(observed(t, stack, ns))
	if p.Blocked != nil || !CreatedNamespace(p.Namespace, stack) || len(p.Readopt) != 1 || p.CreateNamespace {
		t.Fatalf("blocked %v, owned %v, readopt %v", p.Blocked, CreatedNamespace(p.Namespace, stack), keys(p.Readopt))
	}
}

// The namespace never carries an owner reference (a foreground or background
// deletion of the stack would let the garbage collector take it and the retained
// claims in it); one an earlier version set is dropped by the next apply.
func TestNamespaceHasNoOwnerReference(t *testing.T) {
	stack := testStack()
	legacy := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid",
		Labels: map[string]string{render.LabelStack: "shop"}}}
	setOwner(legacy, stack)
	for name, ns := range map[string]*corev1.Namespace{"new": nil, "legacy owner reference": legacy} {
		o := observed(t, stack, ns)
		if name == "new" {
			o.Namespace = nil
		}
		p := Make(o)
		if p.Blocked != nil {
			t.Fatalf("%s: blocked %v", name, p.Blocked)
		}
		if refs := p.Namespace.GetOwnerReferences(); len(refs) > 0 {
			t.Errorf("%s: the namespace is applied with owner references %v", name, refs)
		}
		if got := p.Namespace.GetAnnotations()[render.AnnotationStackUID]; got != string(stack.UID) {
			t.Errorf("%s: the namespace is not marked with the stack's UID: %q", name, got)
		}
		if !slices.ContainsFunc(p.Inventory, func(e appstackv1.InventoryEntry) bool { return e.Kind == KindNamespace }) && name != "new" {
			t.Errorf("%s: the namespace is not in the inventory: %v", name, p.Inventory)
		}
	}
}

func TestNamespaceOwnership(t *testing.T) {
	stack := testStack()
	mk := func(labels, annotations map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Labels: labels, Annotations: annotations}}
	}
	cases := []struct {
		name     string
		ns       *corev1.Namespace
		blocked  bool
		readopt  bool
		adopted  bool
		recorded bool
	}{
		{name: "created by this stack", ns: mk(map[string]string{render.LabelStack: "shop"}, map[string]string{render.AnnotationStackUID: "stack-uid"})},
		{name: "recorded in the inventory, mark lost", ns: mk(map[string]string{render.LabelStack: "shop"}, nil), recorded: true},
		{name: "created by another stack", ns: mk(map[string]string{render.LabelStack: "other"}, map[string]string{render.AnnotationStackUID: "other-uid"}), blocked: true},
		{name: "a racing stack's, same name label forged", ns: mk(map[string]string{render.LabelStack: "other"}, map[string]string{render.AnnotationStackUID: "stack-uid-2"}), blocked: true},
		{name: "kept for retained claims", ns: mk(map[string]string{render.LabelStack: "shop", render.LabelRetained: "true"}, map[string]string{render.AnnotationStackUID: "old-uid"}), readopt: true},
		{name: "left by an earlier stack of this name (finalizer removed)", ns: mk(map[string]string{render.LabelStack: "shop"}, map[string]string{render.AnnotationStackUID: "old-uid"}), readopt: true},
		{name: "someone else's, not offered", ns: mk(nil, nil), blocked: true},
		{name: "labelled like the stack's but never created by a stack", ns: mk(map[string]string{render.LabelStack: "shop"}, nil), blocked: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := observed(t, stack, c.ns)
			if c.recorded {
				o.Inventory = []appstackv1.InventoryEntry{{APIVersion: "v1", Kind: KindNamespace, Name: "shop", UID: "ns-uid"}}
			}
			p := Make(o)
			if (p.Blocked != nil) != c.blocked {
				t.Fatalf("blocked %v, want blocked %v", p.Blocked, c.blocked)
			}
			if c.blocked {
				if p.Blocked.Reason != appstackv1.ReasonNamespaceConflict {
					t.Errorf("reason %s", p.Blocked.Reason)
				}
				return
			}
			if (len(p.Readopt) == 1) != c.readopt {
				t.Errorf("readopt %v, want %v", keys(p.Readopt), c.readopt)
			}
			if p.CreateNamespace || !CreatedNamespace(p.Namespace, stack) || len(p.Namespace.GetOwnerReferences()) > 0 {
				t.Errorf("namespace not the stack's: create %v, %v, owners %v", p.CreateNamespace, p.Namespace.GetAnnotations(), p.Namespace.GetOwnerReferences())
			}
			if len(p.Inventory) == 0 || p.Inventory[0].Kind != KindNamespace || p.Inventory[0].UID != "ns-uid" {
				t.Errorf("inventory %v", p.Inventory)
			}
		})
	}
}

func TestReplicaHandover(t *testing.T) {
	auto := func(min int32) func(*appstackv1.AppStack) {
		return func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Replicas = nil
			s.Spec.Components[0].Autoscaling = &appstackv1.AutoscalingSpec{MinReplicas: ptr.To(min), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To(int32(50))}
		}
	}
	for _, tc := range []struct {
		name     string
		stack    *appstackv1.AppStack
		live     int32
		handed   bool
		replicas int32
	}{
		{"5 replicas to min 2 keeps 5", testStack(auto(2)), 5, true, 5},
		{"1 replica to min 5 takes 5", testStack(auto(5)), 1, true, 5},
		{"no autoscaler, nothing to hand over", testStack(), 5, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := tc.stack
			live := deployment("web", "web-uid", ownedBy(stack), func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(tc.live) })
			p := Make(observed(t, stack, nil, live))
			if got := len(p.Handovers) == 1; got != tc.handed {
				t.Fatalf("handovers %+v", p.Handovers)
			}
			if tc.handed && p.Handovers[0].Replicas != tc.replicas {
				t.Errorf("handed over %d, want %d", p.Handovers[0].Replicas, tc.replicas)
			}
		})
	}
	// Once handed over (the workload carries the autoscaled annotation), never again.
	stack := testStack(auto(2))
	live := deployment("web", "web-uid", ownedBy(stack), func(d *appsv1.Deployment) {
		d.Annotations = map[string]string{AnnotationAutoscaled: "true"}
	})
	if p := Make(observed(t, stack, nil, live)); len(p.Handovers) != 0 {
		t.Errorf("hands over again: %+v", p.Handovers)
	}
}

func TestUnsafeChangesBlockTheWholePass(t *testing.T) {
	shrink := testStack(func(s *appstackv1.AppStack) { s.Spec.Volumes[0].Size = resource.MustParse("500Mi") })
	c := claim("data", "claim-uid", map[string]string{render.LabelStack: "shop", render.LabelVolume: "data"})
	o := observed(t, shrink, nil, c)
	o.Inventory = []appstackv1.InventoryEntry{Entry(c)}
	p := Make(o)
	if p.Blocked == nil || p.Blocked.Reason != appstackv1.ReasonUnsafeChange || !contains(p.Blocked.Message, "spec.volumes[0].size") {
		t.Fatalf("shrink: %+v", p.Blocked)
	}

	sts := func(svc appstackv1.ServiceType) *appstackv1.AppStack {
		return testStack(func(s *appstackv1.AppStack) {
			s.Spec.Volumes = nil
			s.Spec.Components[0].Kind = appstackv1.KindStatefulSet
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Type: svc, Ports: []appstackv1.ServicePort{{Port: 80}}}
		})
	}
	stack := sts(appstackv1.ServiceTypeClusterIP)
	live := &appsv1.StatefulSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: KindStatefulSet},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "sts"}, Spec: appsv1.StatefulSetSpec{ServiceName: "web"}}
	setOwner(live, stack)
	p = Make(observed(t, stack, nil, live))
	if p.Blocked == nil || !contains(p.Blocked.Message, "spec.components[0].service.type") || !contains(p.Blocked.Message, "governed by Service web for life") {
		t.Fatalf("serviceName change: %+v", p.Blocked)
	}
}

func TestWaitingWorkloadIsNeitherAppliedNorPruned(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Components = append(s.Spec.Components, appstackv1.Component{Name: "db", Containers: []corev1.Container{{Name: "db", Image: "postgres"}}})
		s.Spec.Components[0].DependsOn = []string{"db"}
	})
	web := deployment("web", "web-uid", ownedBy(stack))
	p := Make(observed(t, stack, nil, web))
	if got := p.Waiting["web"]; len(got) != 1 || got[0] != "db" {
		t.Fatalf("waiting %v", p.Waiting)
	}
	for _, k := range keys(p.Workloads) {
		if k == "Deployment shop/web" {
			t.Errorf("a waiting workload is applied")
		}
	}
	if _, ok := pruned(p)["Deployment shop/web"]; ok {
		t.Errorf("a waiting workload is pruned")
	}
}

func TestStatefulSetClaimsOfARemovedComponentAreKept(t *testing.T) {
	stack := testStack()
	labels := map[string]string{render.LabelStack: "shop", render.LabelComponent: "db"}
	orphan := claim("data-db-0", "c0", labels)
	owned := claim("data-db-1", "c1", labels)
	owned.OwnerReferences = []metav1.OwnerReference{{Kind: KindStatefulSet, Name: "db", UID: "sts", Controller: ptr.To(true)}}
	p := Make(observed(t, stack, nil, orphan, owned))
	if got := keys(p.Keep); len(got) != 1 || got[0] != "PersistentVolumeClaim shop/data-db-0" {
		t.Fatalf("keep %v: a claim of a retained template stays; one its StatefulSet owns goes with it", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Adopting a namespace at restricted with the default (baseline) keeps it at
// restricted: the owner handed the namespace over, not its Pod Security level.
func TestAdoptionNeverLowersPodSecurity(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Namespace = &appstackv1.NamespaceSpec{Adopt: true}
	})
	ns := func(level string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid",
			Labels:      map[string]string{render.LabelPodSecurityEnforce: level, render.LabelPodSecurityWarn: level},
			Annotations: map[string]string{appstackv1.AnnotationAdopt: "shop"}}}
	}
	for live, want := range map[string]string{"restricted": "restricted", "baseline": "baseline", "privileged": "baseline"} {
		p := Make(observed(t, stack, ns(live)))
		if p.Blocked != nil {
			t.Fatalf("%s: blocked %v", live, p.Blocked)
		}
		if got := p.Namespace.GetLabels()[render.LabelPodSecurityEnforce]; got != want {
			t.Errorf("adopting a namespace at %s: enforce %s, want %s", live, got, want)
		}
	}
}
