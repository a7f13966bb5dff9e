package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/appstack-dev/appstack-operator/internal/plan"
)

// planRevision works out the ControllerRevision that records the spec, applied
// with the workloads, as plan.PlanRevision numbers it, and — for a stack with
// spec.rollout.autoRollback — the revisions a rollback decision reads.
func (r *AppStackReconciler) planRevision(ctx context.Context, s *scope) error {
	list := &appsv1.ControllerRevisionList{}
	if err := r.Client.List(ctx, list, plan.RevisionListOptions(s.stack)...); err != nil {
		return fmt.Errorf("list revisions: %w", err)
	}
	rp, err := plan.PlanRevision(s.stack, list.Items)
	if err != nil {
		return err
	}
	s.history.rev, s.history.old = rp.Revision, rp.Old
	if plan.AutoRollback(s.stack) { // only a rollback reads the specs they record
		old, err := r.readRevisions(ctx, s, plan.RollbackReads(&s.stack.Status, rp.Old))
		if err != nil {
			return err
		}
		s.history.specs = append(old, plan.Revision{Number: rp.Revision.Revision, Hash: rp.Hash, Spec: s.stack.Spec})
	}
	return nil
}

// readRevisions reads the specs the revisions record (plan.RollbackReads: at most
// two, and only for a stack with spec.rollout.autoRollback). The cache does not
// hold a revision's data (trimRevision), so each is read from the apiserver. A
// revision that cannot be read or decoded is not one to return to.
func (r *AppStackReconciler) readRevisions(
	ctx context.Context, s *scope, revs []appsv1.ControllerRevision,
) ([]plan.Revision, error) {
	var out []plan.Revision
	for _, cr := range revs {
		full := &appsv1.ControllerRevision{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(&cr), full); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("read revision %s: %w", cr.Name, err)
		}
		if !plan.StackRevision(s.stack, full) {
			continue
		}
		rev, err := plan.DecodeRevision(full)
		if err != nil {
			logf.FromContext(ctx).Error(err, "revision does not decode; it is not one to roll back to", "revision", cr.Name)
			continue
		}
		out = append(out, rev)
	}
	return out, nil
}

// trimRevisions, once the whole spec is applied, makes its revision the stack's
// current one and deletes the revisions beyond spec.revisionHistoryLimit, oldest
// first.
func (r *AppStackReconciler) trimRevisions(ctx context.Context, s *scope) error {
	s.done.revision = s.history.rev.Revision
	for _, old := range plan.TrimRevisions(s.stack, s.history.old) {
		if err := r.Client.Delete(ctx, &old); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete revision %s: %w", old.Name, err)
		}
	}
	return nil
}
