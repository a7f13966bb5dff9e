package plan

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// stsClaim is a claim a StatefulSet made and controls (its retention policy
// deletes claims with it).
func stsClaim(name, sts string, stsUID types.UID) corev1.PersistentVolumeClaim {
	c := claim(name, types.UID(name+"-uid"), nil)
	c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: KindStatefulSet, Name: sts, UID: stsUID,
		Controller: ptr.To(true)}}
	return *c
}

func TestReleaseNamespace(t *testing.T) {
	stack := testStack()
	created := map[string]string{render.AnnotationStackUID: "stack-uid"}
	stackRef := *metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))
	otherRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keeper", UID: "keeper-uid"}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "sts-uid"}}
	goingSts := sts.DeepCopy()
	goingSts.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	kept := *claim("data", "data-uid", nil)
	going := *claim("old", "old-uid", nil)
	going.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	cases := []struct {
		name   string
		o      ReleaseObserved
		action ReleaseAction
		detail string // Waiting, KeptClaims and Left
	}{
		{"gone", ReleaseObserved{}, ReleaseNone, "[] [] []"},
		{"created, empty: deleted", ReleaseObserved{Namespace: namespace(created),
			Claims: []corev1.PersistentVolumeClaim{going}}, ReleaseDelete, "[] [] []"},
		{"recorded in the inventory: the stack's", ReleaseObserved{Namespace: namespace(nil),
			Inventory: []appstackv1.InventoryEntry{{Kind: KindNamespace, Name: "shop", UID: "ns-uid"}}}, ReleaseDelete, "[] [] []"},
		{"created, holding a claim: kept", ReleaseObserved{Namespace: namespace(created, stackRef, otherRef),
			Claims:       []corev1.PersistentVolumeClaim{kept, stsClaim("b-db-0", "db", "sts-uid"), going},
			StatefulSets: map[string]*appsv1.StatefulSet{"db": sts}}, ReleaseKeep, "[] [b-db-0 data] []"},
		{"created, holding objects an orphan deletion left: kept", ReleaseObserved{Namespace: namespace(created),
			Left: []string{"Deployment shop/web"}}, ReleaseKeep, "[] [] [Deployment shop/web]"},
		{"a claim whose StatefulSet could not be read: kept", ReleaseObserved{Namespace: namespace(created),
			Claims: []corev1.PersistentVolumeClaim{stsClaim("data-db-0", "db", "sts-uid")}}, ReleaseKeep, "[] [data-db-0] []"},
		{"claims going with their StatefulSet: waited for", ReleaseObserved{Namespace: namespace(created),
			Claims: []corev1.PersistentVolumeClaim{kept, stsClaim("data-db-0", "db", "sts-uid"),
				stsClaim("data-gone-0", "gone", "gone-uid"), stsClaim("data-db-1", "db", "old-sts-uid")},
			StatefulSets: map[string]*appsv1.StatefulSet{"db": goingSts, "gone": nil}},
			ReleaseWait, "[PersistentVolumeClaim shop/data-db-0 PersistentVolumeClaim shop/data-gone-0 " +
				"PersistentVolumeClaim shop/data-db-1] [] []"},
		{"a claim of a StatefulSet replaced under the same name: waited for", ReleaseObserved{
			Namespace:    namespace(created),
			Claims:       []corev1.PersistentVolumeClaim{stsClaim("data-db-0", "db", "old-sts-uid")},
			StatefulSets: map[string]*appsv1.StatefulSet{"db": sts}}, ReleaseWait, "[PersistentVolumeClaim shop/data-db-0] [] []"},
		{"someone else's: untouched", ReleaseObserved{Namespace: namespace(nil),
			Claims: []corev1.PersistentVolumeClaim{kept}}, ReleaseNone, "[] [] []"},
		{"created by an earlier stack of this name: untouched",
			ReleaseObserved{Namespace: namespace(map[string]string{render.AnnotationStackUID: "earlier"})},
			ReleaseNone, "[] [] []"},
		{"adopted by another stack: untouched", ReleaseObserved{Namespace: func() *corev1.Namespace {
			ns := namespace(map[string]string{AnnotationRestore: "{}"})
			ns.Labels[render.LabelStack] = "other"
			return ns
		}()}, ReleaseNone, "[] [] []"},
		{"adopted: restored", ReleaseObserved{Namespace: namespace(map[string]string{AnnotationRestore: "{}"})},
			ReleaseRestore, "[] [] []"},
	}
	for _, tc := range cases {
		tc.o.Stack = stack
		r, err := ReleaseNamespace(tc.o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := fmt.Sprint(r.Waiting, r.KeptClaims, r.Left); r.Action != tc.action || got != tc.detail {
			t.Errorf("%s: %s %s, want %s %s", tc.name, r.Action, got, tc.action, tc.detail)
		}
		if (r.Action == ReleaseKeep || r.Action == ReleaseRestore) != (r.Namespace != nil) {
			t.Errorf("%s: %s with namespace %v", tc.name, r.Action, r.Namespace)
		}
	}
}

func TestReleaseKeepsTheNamespaceUnownedRetainedAndMarked(t *testing.T) {
	stack := testStack()
	stackRef := *metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))
	otherRef := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "keeper", UID: "keeper-uid"}
	ns := namespace(nil, stackRef, otherRef) // made before 0.2: the stack's reference, no UID annotation
	observedNs := ns.DeepCopy()
	r, err := ReleaseNamespace(ReleaseObserved{Stack: stack, Namespace: ns,
		Claims: []corev1.PersistentVolumeClaim{*claim("data", "data-uid", nil)}})
	if err != nil || r.Action != ReleaseKeep {
		t.Fatalf("release %+v, %v", r, err)
	}
	k := r.Namespace
	if len(k.OwnerReferences) != 1 || k.OwnerReferences[0].UID != "keeper-uid" ||
		k.Labels[render.LabelRetained] != render.LabelRetainedValue || k.Labels[render.LabelStack] != "shop" ||
		k.Annotations[render.AnnotationStackUID] != "stack-uid" {
		t.Fatalf("kept namespace: owners %v, labels %v, annotations %v", k.OwnerReferences, k.Labels, k.Annotations)
	}
	if len(ns.OwnerReferences) != 2 || ns.Labels[render.LabelRetained] != "" || ns.Annotations != nil ||
		ns.ResourceVersion != observedNs.ResourceVersion {
		t.Fatalf("the observed namespace was changed: %+v", ns.ObjectMeta)
	}
}

func TestReleaseGivesAnAdoptedNamespaceBackWhatItHad(t *testing.T) {
	stack := testStack()
	ns := namespace(map[string]string{
		AnnotationRestore: `{"labels":{"team":"payments","apps.appstack.dev/stack":null,` +
			`"pod-security.kubernetes.io/enforce":null},"annotations":{"owner":"alice"}}`,
		appstackv1.AnnotationAdopt:       "shop",
		"apps.appstack.dev/applied-hash": "abc",
		"owner":                          "the operator's value",
	})
	ns.Labels["team"] = "the operator's value"
	ns.Labels[render.LabelPodSecurityEnforce] = "restricted"
	ns.Labels["kept"] = "yes"
	r, err := ReleaseNamespace(ReleaseObserved{Stack: stack, Namespace: ns})
	if err != nil || r.Action != ReleaseRestore {
		t.Fatalf("release %+v, %v", r, err)
	}
	wantLabels := map[string]string{"team": "payments", "kept": "yes"}
	wantAnnotations := map[string]string{"owner": "alice", appstackv1.AnnotationAdopt: "shop"}
	if fmt.Sprint(r.Namespace.Labels) != fmt.Sprint(wantLabels) ||
		fmt.Sprint(r.Namespace.Annotations) != fmt.Sprint(wantAnnotations) {
		t.Fatalf("restored labels %v, annotations %v; want %v, %v",
			r.Namespace.Labels, r.Namespace.Annotations, wantLabels, wantAnnotations)
	}
	if ns.Labels["team"] != "the operator's value" {
		t.Fatal("the observed namespace was changed")
	}

	ns.Annotations[AnnotationRestore] = "not json"
	if _, err := ReleaseNamespace(ReleaseObserved{Stack: stack, Namespace: ns}); err == nil {
		t.Fatal("a restore record the operator did not write was taken")
	}
}

// TestMarkRetained: what a stack leaves behind carries the retained label and
// the stack's UID, loses the stack's owner reference and keeps everything else.
func TestMarkRetained(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "stack-uid"}}
	other := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "sts-uid"}
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "shop",
		Labels:          map[string]string{render.LabelStack: "shop"},
		Annotations:     map[string]string{"note": "kept"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack")), other},
	}}
	before := claim.DeepCopy()
	MarkRetained(claim, stack)
	if claim.Labels[render.LabelRetained] != render.LabelRetainedValue || claim.Labels[render.LabelStack] != "shop" {
		t.Errorf("labels %v, want the retained label beside the stack's", claim.Labels)
	}
	if claim.Annotations[render.AnnotationStackUID] != "stack-uid" || claim.Annotations["note"] != "kept" {
		t.Errorf("annotations %v, want the stack's UID beside the others", claim.Annotations)
	}
	if len(claim.OwnerReferences) != 1 || claim.OwnerReferences[0].UID != "sts-uid" {
		t.Errorf("owners %v, want only the StatefulSet's", claim.OwnerReferences)
	}
	if len(before.OwnerReferences) != 2 || before.Labels[render.LabelRetained] != "" {
		t.Errorf("the object's earlier maps and slices were changed in place: %+v", before.ObjectMeta)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{render.LabelStack: "shop"},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(stack, appstackv1.GroupVersion.WithKind("AppStack"))}}}
	if !retainedFor(keptFor(ns, stack), stack) {
		t.Error("a namespace kept for a stack's claims is not one that stack takes back")
	}
}
