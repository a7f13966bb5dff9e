package plan

import (
	"slices"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func namespace(annotations map[string]string, owners ...metav1.OwnerReference) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "ns-uid", Annotations: annotations,
		Labels: map[string]string{render.LabelStack: "shop"}, OwnerReferences: owners}}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(KindNamespace))
	return ns
}

func revision(n int64, hash string, owned bool, stack *appstackv1.AppStack) *appsv1.ControllerRevision {
	cr := &appsv1.ControllerRevision{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: KindControllerRevision},
		ObjectMeta: metav1.ObjectMeta{Name: "shop-" + hash, Namespace: "shop", UID: types.UID("rev-" + hash),
			Labels: map[string]string{render.LabelStack: "shop", render.LabelSpecHash: hash}},
		Revision: n,
	}
	if owned {
		setOwner(cr, stack)
	}
	return cr
}

// What enters the inventory, applied or found labelled: one rule for both.
func TestInventoryMembership(t *testing.T) {
	stack := testStack()
	other := testStack(func(s *appstackv1.AppStack) { s.UID = "other-uid" })
	controllerRef := *metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))
	cases := []struct {
		name                string
		obj                 client.Object
		member, recoverable bool
	}{
		{"an applied Deployment of the stack's", deployment("web", "d-uid", ownedBy(stack)), true, true},
		{"an applied object without a UID (a dry run)", deployment("web", "", ownedBy(stack)), false, false},
		{"a retained claim (no owner reference) the stack applied", claim("data", "c-uid", nil), true, false},
		{"a labelled look-alike without the stack's reference", deployment("web", "d-uid"), true, false},
		{"another stack's object", deployment("web", "d-uid", ownedBy(other)), true, false},
		{"the stack's ControllerRevision: history", revision(1, "h1", true, stack), false, false},
		{"the namespace the stack created (its UID annotation)",
			namespace(map[string]string{render.AnnotationStackUID: "stack-uid"}), true, false},
		{"a namespace created by a version before 0.2 (the stack's controller reference)",
			namespace(nil, controllerRef), true, true},
		{"an adopted namespace: its owner's",
			namespace(map[string]string{AnnotationRestore: "{}"}), false, false},
		{"a namespace an earlier stack of this name created",
			namespace(map[string]string{render.AnnotationStackUID: "earlier-uid"}), false, false},
	}
	for _, tc := range cases {
		if got := Member(tc.obj, stack); got != tc.member {
			t.Errorf("%s: Member = %v, want %v", tc.name, got, tc.member)
		}
		if got := Recoverable(tc.obj, stack); got != tc.recoverable {
			t.Errorf("%s: Recoverable = %v, want %v", tc.name, got, tc.recoverable)
		}
	}
}

func TestInventoryBuilderAddsDropsAndListsInStatusOrder(t *testing.T) {
	stack := testStack()
	start := []appstackv1.InventoryEntry{
		Entry(deployment("web", "d-uid")),
		Entry(claim("data", "c-uid", nil)),
	}
	b := NewInventoryBuilder(start)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c", "d"} { // applies run concurrently
		wg.Go(func() { b.Record(deployment(name, types.UID(name+"-uid")), stack) })
	}
	wg.Wait()
	if b.Record(revision(1, "h1", true, stack), stack) {
		t.Error("a revision was recorded in the inventory")
	}
	b.Drop(Key{Kind: "Deployment", Namespace: "shop", Name: "a"})
	b.Drop(Key{Kind: KindPersistentVolumeClaim, Namespace: "shop", Name: "data"})
	b.Add(Entry(deployment("a", "a-uid-2"))) // deleted and made again
	b.Record(namespace(map[string]string{render.AnnotationStackUID: "stack-uid"}), stack)

	list := b.List()
	got := make([]string, 0, len(list))
	for _, e := range list {
		got = append(got, EntryKey(e).String()+" "+string(e.UID))
	}
	want := []string{"Namespace shop ns-uid", "Deployment shop/a a-uid-2", "Deployment shop/b b-uid",
		"Deployment shop/c c-uid", "Deployment shop/d d-uid", "Deployment shop/web d-uid"}
	if !slices.Equal(got, want) {
		t.Fatalf("inventory %v, want %v", got, want)
	}
}
