package status

import (
	"context"
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kerrors "k8s.io/apimachinery/pkg/util/errors"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

func TestErrorReason(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "web", errors.New("the object has been modified"))
	applyFailed := &ApplyError{Kind: "Deployment", Name: "web", Err: apierrors.NewInvalid(
		schema.GroupKind{Kind: "Deployment"}, "web", nil)}
	tests := []struct {
		name string
		o    Outcome
		want string
	}{
		{"converged", Outcome{Planned: true}, ""},
		{"invalid spec", Outcome{Blocked: appstackv1.ReasonInvalidSpec}, ErrInvalidSpec},
		{"unsafe change", Outcome{Blocked: appstackv1.ReasonUnsafeChange}, ErrUnsafeChange},
		{"namespace conflict", Outcome{Blocked: appstackv1.ReasonNamespaceConflict}, ErrNamespaceConflict},
		{"another blocker", Outcome{Blocked: "SomethingNew"}, ErrBlocked},
		{"name taken", Outcome{Planned: true, Conflicts: 1}, ErrNameConflict},
		{"observe failed", Outcome{Err: errors.New("list pods: connection refused")}, ErrReadFailed},
		{"apply refused", Outcome{Planned: true, Err: kerrors.NewAggregate([]error{nil, applyFailed})}, ErrApplyFailed},
		{"409 in a phase", Outcome{Planned: true, Err: kerrors.NewAggregate([]error{fmt.Errorf("prune: %w", conflict)})},
			ErrConflict},
		{"prune failed", Outcome{Planned: true, Err: errors.New("prune Deployment shop/web: forbidden")}, ErrWriteFailed},
		{"shutdown", Outcome{Planned: true, Err: fmt.Errorf("apply: %w", context.Canceled)}, ""},
	}
	for _, tt := range tests {
		if got := ErrorReason(tt.o); got != tt.want {
			t.Errorf("%s: ErrorReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFailed(t *testing.T) {
	refused := &ApplyError{Kind: "Deployment", Name: "web", Err: apierrors.NewInvalid(
		schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil)}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"a refused apply, in a phase", kerrors.NewAggregate([]error{errors.New("other"), fmt.Errorf("phase: %w", refused)}),
			"applying Deployment web failed: "},
		{"anything else", errors.New("list pods: connection refused"), "reconcile failed; see the operator's log and events"},
	} {
		reason, msg := Failed(tt.err)
		if reason != appstackv1.ReasonApplyFailed || len(msg) < len(tt.want) || msg[:len(tt.want)] != tt.want {
			t.Errorf("%s: %s %q, want ApplyFailed %q…", tt.name, reason, msg, tt.want)
		}
	}
}
