package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// planRevision works out the ControllerRevision that records the spec
// (docs/ownership.md explains why revisions are not in the inventory), applied with
// the workloads: a new spec gets the next number; a spec seen before (a rollback)
// gets its old revision renumbered as the newest, as Deployments do.
func (r *AppStackReconciler) planRevision(ctx context.Context, s *scope) error {
	list := &appsv1.ControllerRevisionList{}
	// StatefulSets and DaemonSets keep ControllerRevisions of their own, labelled
	// like their pods; the stack's own carry the spec-hash label and its controller
	// reference.
	if err := r.Client.List(ctx, list, client.InNamespace(s.namespace),
		client.MatchingLabels{render.LabelStack: s.stack.Name}, client.HasLabels{render.LabelSpecHash}); err != nil {
		return fmt.Errorf("list revisions: %w", err)
	}
	revs := slices.DeleteFunc(list.Items,
		func(cr appsv1.ControllerRevision) bool { return !metav1.IsControlledBy(&cr, s.stack) })
	slices.SortFunc(revs, func(a, b appsv1.ControllerRevision) int { return int(a.Revision - b.Revision) })
	hash, err := render.SpecHash(s.stack)
	if err != nil {
		return err
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
	rev, err := render.Revision(s.stack, number)
	if err != nil {
		return err
	}
	s.rev, s.oldRevs = rev, revs
	if plan.AutoRollback(s.stack) { // only a rollback reads the specs they record
		old, err := r.readRevisions(ctx, s, revs, number)
		if err != nil {
			return err
		}
		s.revisions = append(old, plan.Revision{Number: number, Hash: hash, Spec: s.stack.Spec})
	}
	return nil
}

// readRevisions reads, of the stack's earlier revisions (revs, as cached: without
// their data), the specs a rollback decision may run: the revision the stack was
// last Ready at, and the one a rollback in force runs. The cache does not hold a
// revision's data (trimRevision), so each is read from the apiserver — at most two
// reads, and only for a stack with spec.rollout.autoRollback that is not Ready at
// its spec. A revision that cannot be read or decoded is not one to return to.
func (r *AppStackReconciler) readRevisions(
	ctx context.Context, s *scope, revs []appsv1.ControllerRevision, current int64,
) ([]plan.Revision, error) {
	want := map[int64]bool{plan.ReadyRevision(&s.stack.Status): true}
	if rb := s.stack.Status.Rollback; rb != nil {
		want[rb.Revision] = true
	}
	delete(want, current)
	delete(want, 0)
	var out []plan.Revision
	for _, cr := range revs {
		if !want[cr.Revision] {
			continue
		}
		full := &appsv1.ControllerRevision{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(&cr), full); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("read revision %s: %w", cr.Name, err)
		}
		if !metav1.IsControlledBy(full, s.stack) {
			continue
		}
		data := render.RevisionData{}
		if err := json.Unmarshal(full.Data.Raw, &data); err != nil {
			logf.FromContext(ctx).Error(err, "revision does not decode; it is not one to roll back to", "revision", cr.Name)
			continue
		}
		out = append(out, plan.Revision{Number: cr.Revision, Hash: cr.Labels[render.LabelSpecHash], Spec: data.Spec})
	}
	return out, nil
}

// trimRevisions, once the whole spec is applied, makes its revision the stack's
// current one and deletes the revisions beyond spec.revisionHistoryLimit, oldest
// first.
func (r *AppStackReconciler) trimRevisions(ctx context.Context, s *scope) error {
	s.revision = s.rev.Revision
	limit := int(ptr.Deref(s.stack.Spec.RevisionHistoryLimit, 10))
	for revs := s.oldRevs; len(revs) >= limit; { // revs excludes the current one
		old := revs[0]
		revs = revs[1:]
		if err := r.Client.Delete(ctx, &old); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s: %w", old.Name, err)
		}
	}
	return nil
}
