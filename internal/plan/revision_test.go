package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func numbers(revs []appsv1.ControllerRevision) []int64 {
	out := make([]int64, 0, len(revs))
	for _, cr := range revs {
		out = append(out, cr.Revision)
	}
	return out
}

func TestRevisionNumbering(t *testing.T) {
	stack := testStack()
	hash, err := render.SpecHash(stack)
	if err != nil {
		t.Fatal(err)
	}
	rev := func(n int64, h string) appsv1.ControllerRevision { return *revision(n, h, true, stack) }
	planted := *revision(9, "planted", false, stack) // the stack's labels, not its reference
	cases := []struct {
		name   string
		listed []appsv1.ControllerRevision
		number int64
		old    []int64
	}{
		{"the first revision", nil, 1, []int64{}},
		{"a new spec: the next number", []appsv1.ControllerRevision{rev(2, "b"), rev(1, "a")}, 3, []int64{1, 2}},
		{"the newest revision's spec keeps its number", []appsv1.ControllerRevision{rev(1, "a"), rev(2, hash)}, 2,
			[]int64{1}},
		{"a spec seen before is renumbered as the newest", []appsv1.ControllerRevision{rev(3, "c"), rev(1, hash),
			rev(2, "b")}, 4, []int64{2, 3}},
		{"a look-alike is not the stack's and does not count", []appsv1.ControllerRevision{rev(1, "a"), planted}, 2,
			[]int64{1}},
	}
	for _, tc := range cases {
		rp, err := PlanRevision(stack, tc.listed)
		if err != nil {
			t.Fatal(err)
		}
		if rp.Revision.Revision != tc.number || rp.Hash != hash || rp.Revision.Labels[render.LabelSpecHash] != hash ||
			!slices.Equal(numbers(rp.Old), tc.old) {
			t.Errorf("%s: revision %d (hash %s), old %v; want %d, %v", tc.name, rp.Revision.Revision,
				rp.Hash, numbers(rp.Old), tc.number, tc.old)
		}
	}
}

func TestTrimRevisionsKeepsTheLimitCountingTheSpecsOwn(t *testing.T) {
	old := make([]appsv1.ControllerRevision, 0, 12)
	for n := range int64(12) {
		old = append(old, appsv1.ControllerRevision{Revision: n + 1})
	}
	cases := []struct {
		limit *int32
		old   int
		trim  []int64
	}{
		{nil, 9, []int64{}},         // 9 old + the spec's = the default 10
		{nil, 10, []int64{1}},       // one too many
		{nil, 12, []int64{1, 2, 3}}, // oldest first
		{ptr.To(int32(2)), 3, []int64{1, 2}},
		{ptr.To(int32(1)), 3, []int64{1, 2, 3}},
		{ptr.To(int32(1)), 0, []int64{}},
	}
	for _, tc := range cases {
		stack := testStack(func(s *appstackv1.AppStack) { s.Spec.RevisionHistoryLimit = tc.limit })
		if got := numbers(TrimRevisions(stack, old[:tc.old])); !slices.Equal(got, tc.trim) {
			t.Errorf("limit %v, %d old: trim %v, want %v", ptr.Deref(tc.limit, 10), tc.old, got, tc.trim)
		}
	}
}

func TestRollbackReadsOnlyTheReadyAndTheRunningRevision(t *testing.T) {
	old := []appsv1.ControllerRevision{{Revision: 1}, {Revision: 2}, {Revision: 3}, {Revision: 4}}
	cases := []struct {
		name  string
		st    appstackv1.AppStackStatus
		reads []int64
	}{
		{"never Ready", appstackv1.AppStackStatus{Revision: 4}, []int64{}},
		{"Ready at revision 2", appstackv1.AppStackStatus{Revision: 4, ReadyRevision: 2}, []int64{2}},
		{"a rollback in force runs revision 1", appstackv1.AppStackStatus{Revision: 4, ReadyRevision: 3,
			Rollback: &appstackv1.RollbackStatus{FailedRevision: 4, Revision: 1}}, []int64{1, 3}},
		{"Ready at a revision trimmed since", appstackv1.AppStackStatus{Revision: 9, ReadyRevision: 7}, []int64{}},
	}
	for _, tc := range cases {
		if got := numbers(RollbackReads(&tc.st, old)); !slices.Equal(got, tc.reads) {
			t.Errorf("%s: reads %v, want %v", tc.name, got, tc.reads)
		}
	}
}

func TestDecodeRevision(t *testing.T) {
	spec := appstackv1.AppStackSpec{Components: []appstackv1.Component{{Name: "web",
		Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}}}}
	raw, err := json.Marshal(render.RevisionData{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	cr := revision(3, "h3", true, testStack())
	cr.Data = runtime.RawExtension{Raw: raw}
	rev, err := DecodeRevision(cr)
	if err != nil || rev.Number != 3 || rev.Hash != "h3" || rev.Spec.Components[0].Containers[0].Image != "nginx:1.27" {
		t.Fatalf("decoded %+v, %v", rev, err)
	}
	cr.Data = runtime.RawExtension{Raw: []byte("{not json")}
	if _, err := DecodeRevision(cr); err == nil || !strings.HasPrefix(err.Error(), "revision 3 (shop-h3) is unreadable: ") {
		t.Fatalf("an unreadable revision: %v", err)
	}
}

func TestRevisionListOptionsSelectTheStacksRevisions(t *testing.T) {
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "shop-prod"}
	})
	lo := &client.ListOptions{}
	lo.ApplyOptions(RevisionListOptions(stack))
	if lo.Namespace != "shop-prod" ||
		lo.LabelSelector.String() != fmt.Sprintf("%s,%s=shop", render.LabelSpecHash, render.LabelStack) {
		t.Fatalf("list options: namespace %q, selector %q", lo.Namespace, lo.LabelSelector)
	}
}
