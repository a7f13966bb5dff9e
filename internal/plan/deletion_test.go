package plan

import (
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func inComponent(c string) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) { d.Labels[render.LabelComponent] = c }
}

func deleting(obj client.Object, finalizers ...string) client.Object {
	obj.SetDeletionTimestamp(&metav1.Time{Time: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)})
	obj.SetFinalizers(finalizers)
	return obj
}

// levels renders a deletion as "action key" per item, one line per level.
func levels(d Deletion) []string {
	out := make([]string, 0, len(d.Levels))
	for _, l := range d.Levels {
		line := fmt.Sprint(l.Components, ":")
		for _, it := range l.Items {
			line += fmt.Sprintf(" %s %s;", it.Action, EntryKey(it.Entry).Name)
		}
		out = append(out, line)
	}
	return out
}

// A deletion goes dependents first, then what is in no component, and decides
// for every member of the inventory: gone, retained, going, left, or to delete.
func TestDeletionOrderAndWhatBecomesOfEachMember(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Components = append(s.Spec.Components, appstackv1.Component{Name: "db"})
		s.Spec.Components[0].DependsOn = []string{"db"}
		s.Spec.Volumes = append(s.Spec.Volumes, appstackv1.StackVolume{Name: "scratch", Retain: ptr.To(false)})
	})
	ownedClaim := func(name string, uid types.UID, labels map[string]string) *corev1.PersistentVolumeClaim {
		c := claim(name, uid, labels)
		setOwner(c, stack)
		return c
	}
	web := deployment("web", "web-uid", ownedBy(stack), inComponent("web"))
	db := deployment("db", "db-uid", ownedBy(stack), inComponent("db"))
	going := deleting(deployment("worker", "worker-uid", ownedBy(stack), inComponent("web")), "example.com/hold")
	orphan := deployment("orphan", "orphan-uid", inComponent("web")) // --cascade=orphan took the reference off
	replaced := deployment("replaced", "someone-elses-uid", inComponent("db"))
	unrecorded := deployment("unrecorded", "unrecorded-uid", ownedBy(stack), inComponent("db"))
	lookalike := deployment("lookalike", "lookalike-uid", inComponent("db"))
	data := claim("data", "data-uid", map[string]string{render.LabelVolume: "data"})
	scratch := ownedClaim("scratch", "scratch-uid", map[string]string{render.LabelVolume: "scratch"})
	flipped := ownedClaim("flipped", "flipped-uid", nil) // volume retain flipped to true, reference still on
	stack.Spec.Volumes = append(stack.Spec.Volumes, appstackv1.StackVolume{Name: "flipped"})
	removed := ownedClaim("removed", "removed-uid", nil) // its volume is no longer in the spec
	templateClaim := claim("data-db-0", "t0", map[string]string{render.LabelStack: "shop", render.LabelComponent: "db"})
	templateOwned := claim("data-db-1", "t1", map[string]string{render.LabelStack: "shop", render.LabelComponent: "db"})
	templateOwned.OwnerReferences = []metav1.OwnerReference{{Kind: KindStatefulSet, Name: "db", UID: "sts"}}
	templateGoing := deleting(claim("data-db-2", "t2", map[string]string{render.LabelStack: "shop", render.LabelComponent: "db"}))
	rev1, rev2 := revision(1, "h1", true, stack), revision(2, "h2", true, stack)
	foreignRev := revision(3, "h3", false, stack)
	deleting(rev2)

	stack.Status.Inventory = SortInventory([]appstackv1.InventoryEntry{
		{APIVersion: "v1", Kind: KindNamespace, Name: "shop", UID: "ns-uid"},
		Entry(web), Entry(db), Entry(going), Entry(orphan), Entry(data), Entry(scratch), Entry(flipped), Entry(removed),
		Entry(deployment("gone", "gone-uid")),
		Entry(deployment("replaced", "replaced-uid")),
	})
	labelled := []client.Object{web, db, going, orphan, replaced, unrecorded, lookalike, data, scratch, flipped, removed,
		templateClaim, templateOwned, templateGoing, rev1, rev2, foreignRev}
	d := PlanDeletion(stack, labelled)

	want := []string{
		"[web]: leave orphan; delete web; wait worker;",
		"[db]: delete db; drop replaced; delete unrecorded;",
		"[]: drop gone; retain data; retain flipped; delete removed; delete scratch;",
	}
	if got := levels(d); !slices.Equal(got, want) {
		t.Fatalf("deletion levels:\n%q\nwant\n%q", got, want)
	}
	if got := d.Levels[0].Items[2].Waiting; got != "Deployment shop/worker (finalizers: example.com/hold)" {
		t.Errorf("the wait for a going object says %q", got)
	}
	if got := d.Levels[1].Items[0].Waiting; got != "Deployment shop/db" {
		t.Errorf("the wait for an object without finalizers says %q", got)
	}
	inv := make([]string, 0, len(d.Inventory))
	for _, e := range d.Inventory {
		inv = append(inv, e.Name)
	}
	if !slices.Contains(inv, "unrecorded") || slices.Contains(inv, "lookalike") || !slices.Contains(inv, "shop") {
		t.Errorf("inventory %v: want the recorded members, the namespace and the unrecorded Deployment the stack controls, "+
			"not the look-alike", inv)
	}
	if got := keys(d.KeepClaims); !slices.Equal(got, []string{"PersistentVolumeClaim shop/data-db-0"}) {
		t.Errorf("StatefulSet claims kept: %v, want only the one without owner and not going", got)
	}
	if got := keys(d.Revisions); !slices.Equal(got, []string{"ControllerRevision shop/shop-h1"}) {
		t.Errorf("revisions deleted: %v, want only the stack's own one not going", got)
	}
}

func TestDeletionOfAStackWithoutComponentsHasOneLevel(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) { s.Spec.Components = nil })
	c := claim("data", "data-uid", map[string]string{render.LabelVolume: "data"})
	stack.Status.Inventory = []appstackv1.InventoryEntry{Entry(c)}
	d := PlanDeletion(stack, []client.Object{c})
	if got := levels(d); !slices.Equal(got, []string{"[]: retain data;"}) {
		t.Fatalf("levels %q", got)
	}
}

func TestDeletionWaitingSaysItOnceAndBacksOffWithTheDeletionsAge(t *testing.T) {
	deletedAt := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	stack := testStack()
	stack.DeletionTimestamp = &metav1.Time{Time: deletedAt}
	waitingFor := []string{"Deployment shop/web (finalizers: example.com/hold)", "Service shop/web"}
	const msg = "deleting: waiting for Deployment shop/web (finalizers: example.com/hold), Service shop/web to go"
	cases := []struct {
		summary string
		elapsed time.Duration
		event   bool
		after   time.Duration
	}{
		{"1/1 components ready", 0, true, time.Second},
		{msg, 300 * time.Millisecond, false, time.Second},
		{msg, 4 * time.Second, false, 4 * time.Second},
		{"deleting: waiting for Service shop/web to go", 12 * time.Second, true, 12 * time.Second},
		{msg, 10 * time.Minute, false, 30 * time.Second},
	}
	for _, tc := range cases {
		stack.Status.Summary = tc.summary
		w := DeletionWaiting(stack, waitingFor, deletedAt.Add(tc.elapsed))
		if w.Message != msg || w.Event != tc.event || w.After != tc.after {
			t.Errorf("summary %q, %v deleting: got %+v, want event %v, after %v", tc.summary, tc.elapsed, w, tc.event, tc.after)
		}
	}
	stack.DeletionTimestamp = nil
	if w := DeletionWaiting(stack, waitingFor, deletedAt); w.After != MinDeletionBackoff {
		t.Errorf("without a deletion timestamp: after %v", w.After)
	}
}
