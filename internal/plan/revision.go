package plan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// DefaultRevisionHistoryLimit is how many revisions a stack keeps when
// spec.revisionHistoryLimit is not set (the CRD defaults it to the same).
const DefaultRevisionHistoryLimit = 10

// RevisionListOptions select the stack's revisions in a list: in its namespace,
// with its label and the spec-hash label. StatefulSets and DaemonSets keep
// ControllerRevisions of their own, labelled like their pods; those have no
// spec-hash label.
func RevisionListOptions(stack *appstackv1.AppStack) []client.ListOption {
	return []client.ListOption{client.InNamespace(render.NamespaceName(stack)),
		client.MatchingLabels{render.LabelStack: stack.Name}, client.HasLabels{render.LabelSpecHash}}
}

// StackRevision tells whether a ControllerRevision is the stack's own: the
// operator writes its revisions with the stack's controller reference, and
// labels prove nothing.
func StackRevision(stack *appstackv1.AppStack, cr *appsv1.ControllerRevision) bool {
	return metav1.IsControlledBy(cr, stack)
}

// OwnRevisions are, of the listed revisions, the stack's own (StackRevision),
// oldest first.
func OwnRevisions(stack *appstackv1.AppStack, listed []appsv1.ControllerRevision) []appsv1.ControllerRevision {
	revs := slices.DeleteFunc(slices.Clone(listed),
		func(cr appsv1.ControllerRevision) bool { return !StackRevision(stack, &cr) })
	slices.SortFunc(revs, func(a, b appsv1.ControllerRevision) int { return cmp.Compare(a.Revision, b.Revision) })
	return revs
}

// DecodeRevision reads the spec a revision records.
func DecodeRevision(cr *appsv1.ControllerRevision) (Revision, error) {
	data := render.RevisionData{}
	if err := json.Unmarshal(cr.Data.Raw, &data); err != nil {
		return Revision{}, fmt.Errorf("revision %d (%s) is unreadable: %w", cr.Revision, cr.Name, err)
	}
	return Revision{Number: cr.Revision, Hash: cr.Labels[render.LabelSpecHash], Spec: data.Spec}, nil
}

// RevisionPlan is the ControllerRevision that records the stack's spec
// (docs/ownership.md explains why revisions are not in the inventory) and the
// stack's other revisions.
type RevisionPlan struct {
	// Revision records the spec under its number; it is applied with the
	// workloads.
	Revision *appsv1.ControllerRevision
	// Hash identifies the spec (render.SpecHash).
	Hash string
	// Old are the stack's other revisions, oldest first.
	Old []appsv1.ControllerRevision
}

// PlanRevision numbers the spec's revision from the revisions listed with
// RevisionListOptions: a new spec gets the next number; a spec seen before (a
// rollback) gets its old revision renumbered as the newest, as Deployments do;
// the newest revision's own spec keeps its number.
func PlanRevision(stack *appstackv1.AppStack, listed []appsv1.ControllerRevision) (RevisionPlan, error) {
	revs := OwnRevisions(stack, listed)
	hash, err := render.SpecHash(stack)
	if err != nil {
		return RevisionPlan{}, err
	}
	var latest int64
	if len(revs) > 0 {
		latest = revs[len(revs)-1].Revision
	}
	number := latest + 1
	sameSpec := func(cr appsv1.ControllerRevision) bool { return cr.Labels[render.LabelSpecHash] == hash }
	if i := slices.IndexFunc(revs, sameSpec); i >= 0 {
		if i == len(revs)-1 {
			number = latest // the current spec is already the newest revision
		}
		revs = slices.Delete(revs, i, i+1)
	}
	rev, err := render.Revision(stack, number)
	if err != nil {
		return RevisionPlan{}, err
	}
	return RevisionPlan{Revision: rev, Hash: hash, Old: revs}, nil
}

// TrimRevisions are, of the stack's other revisions (oldest first), the oldest
// beyond spec.revisionHistoryLimit, which counts the spec's own: deleted once the
// spec is applied.
func TrimRevisions(stack *appstackv1.AppStack, old []appsv1.ControllerRevision) []appsv1.ControllerRevision {
	limit := int(ptr.Deref(stack.Spec.RevisionHistoryLimit, DefaultRevisionHistoryLimit))
	n := min(max(len(old)-limit+1, 0), len(old))
	return old[:n]
}

// RollbackReads are, of the stack's other revisions, those whose spec a rollback
// decision may run: the revision the stack was last Ready at, and the one a
// rollback in force runs (status.rollback).
func RollbackReads(st *appstackv1.AppStackStatus, old []appsv1.ControllerRevision) []appsv1.ControllerRevision {
	want := map[int64]bool{ReadyRevision(st): true}
	if rb := st.Rollback; rb != nil {
		want[rb.Revision] = true
	}
	delete(want, 0)
	var out []appsv1.ControllerRevision
	for _, cr := range old {
		if want[cr.Revision] {
			out = append(out, cr)
		}
	}
	return out
}
