package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// reconcileNamespace makes the stack's namespace exist and belong to the stack. A
// namespace the operator creates is owned (controller reference: it goes with the
// stack). An existing namespace no stack claims is adopted: labelled, never owned,
// never deleted. A namespace another stack claims blocks the pass (DESIGN §3.2).
func (r *AppStackReconciler) reconcileNamespace(ctx context.Context, s *scope) error {
	live, err := (*corev1.Namespace)(nil), error(nil)
	if s.namespaceRead != nil {
		live, err = s.namespaceRead.live, s.namespaceRead.err
	} else {
		live, err = r.getNamespace(ctx, s.namespace)
	}
	if err != nil {
		return err
	}
	desired := s.desired.Namespace
	if live != nil {
		if owner := live.Labels[render.LabelStack]; owner != "" && owner != s.stack.Name {
			s.blocked = &blocker{
				reason: appstackv1.ReasonNamespaceConflict,
				message: fmt.Sprintf("namespace %s belongs to stack %s; choose another spec.namespace.name or delete stack %s",
					s.namespace, owner, owner),
			}
			return nil
		}
		if !live.DeletionTimestamp.IsZero() {
			return &applyError{kind: "Namespace", name: s.namespace,
				err: fmt.Errorf("namespace is being deleted; the stack is applied once it is gone")}
		}
	}
	if live == nil || metav1.IsControlledBy(live, s.stack) {
		if err := controllerutil.SetControllerReference(s.stack, desired, r.Client.Scheme()); err != nil {
			return err
		}
	}
	if _, err := r.applier.Apply(ctx, desired); err != nil {
		return &applyError{kind: "Namespace", name: s.namespace, err: err}
	}
	return nil
}

// getNamespace reads a namespace from the cache, which holds only namespaces that
// carry the operator's label, and falls back to the apiserver for one that does not
// (yet). It returns nil when the namespace does not exist.
func (r *AppStackReconciler) getNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns := &corev1.Namespace{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, client.ObjectKey{Name: name}, ns)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read namespace %s: %w", name, err)
	}
	return ns, nil
}
