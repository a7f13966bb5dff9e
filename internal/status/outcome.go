package status

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// ApplyError is a refused write of one of the stack's objects: the Ready
// condition names the object without the error's volatile text.
type ApplyError struct {
	Kind, Name string
	Err        error
}

func (e *ApplyError) Error() string { return fmt.Sprintf("apply %s %s: %v", e.Kind, e.Name, e.Err) }
func (e *ApplyError) Unwrap() error { return e.Err }

// FirstApplyError finds the first refused write in err, which may aggregate the
// errors of a whole phase.
func FirstApplyError(err error) (*ApplyError, bool) {
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if ae, ok := FirstApplyError(e); ok {
				return ae, true
			}
		}
		return nil, false
	}
	var ae *ApplyError
	ok := errors.As(err, &ae)
	return ae, ok
}

// Failed is how a pass that ended with err shows in the Ready condition:
// ApplyFailed, naming the refused object and the apiserver's own words, or
// pointing at the operator's log.
func Failed(err error) (reason, message string) {
	if ae, ok := FirstApplyError(err); ok {
		return appstackv1.ReasonApplyFailed, fmt.Sprintf("applying %s %s failed: %s", ae.Kind, ae.Name, ssa.APIMessage(ae.Err))
	}
	return appstackv1.ReasonApplyFailed, "reconcile failed; see the operator's log and events"
}

// Why a pass could not converge its stack: the reason label of
// appstack_reconcile_errors_total, a fixed set (README.md, "Metrics").
const (
	ErrInvalidSpec       = "invalid_spec"        // the spec cannot be rendered; nothing is applied
	ErrUnsafeChange      = "unsafe_change"       // the spec asks for a change the operator refuses to make
	ErrNamespaceConflict = "namespace_conflict"  // the namespace is someone else's
	ErrNameConflict      = "name_conflict"       // a child's name is taken by someone else's object
	ErrBlocked           = "blocked"             // another reason the plan holds the stack back
	ErrConflict          = "conflict"            // the apiserver refused a write as conflicting (409)
	ErrApplyFailed       = "apply_failed"        // the apiserver refused an apply
	ErrReadFailed        = "read_failed"         // reading the cluster for the pass failed
	ErrWriteFailed       = "write_failed"        // a prune, label or revision trim failed
	ErrStatusWriteFailed = "status_write_failed" // the status could not be written
	ErrDeleteFailed      = "delete_failed"       // taking a deleted stack apart failed
)

// ErrorReasons are all the reasons, for a metric served from zero.
var ErrorReasons = []string{ErrInvalidSpec, ErrUnsafeChange, ErrNamespaceConflict, ErrNameConflict, ErrBlocked,
	ErrConflict, ErrApplyFailed, ErrReadFailed, ErrWriteFailed, ErrStatusWriteFailed, ErrDeleteFailed}

// Outcome is how a pass ended, as the error metric classifies it.
type Outcome struct {
	// Blocked is the reason the pass touched nothing (InvalidSpec,
	// NamespaceConflict, UnsafeChange, ...), or "".
	Blocked string
	// Planned tells that the pass got as far as its plan.
	Planned bool
	// Conflicts counts the names the plan found taken by someone else.
	Conflicts int
	// Err is what the pass returned.
	Err error
}

// ErrorReason is why a pass could not converge its stack, one of ErrorReasons; ""
// when it converged or was cut short by the operator's shutdown.
func ErrorReason(o Outcome) string {
	switch {
	case o.Blocked != "":
		switch o.Blocked {
		case appstackv1.ReasonInvalidSpec:
			return ErrInvalidSpec
		case appstackv1.ReasonUnsafeChange:
			return ErrUnsafeChange
		case appstackv1.ReasonNamespaceConflict:
			return ErrNamespaceConflict
		}
		return ErrBlocked
	case o.Err == nil:
		if o.Conflicts > 0 {
			return ErrNameConflict
		}
		return ""
	case errors.Is(o.Err, context.Canceled):
		return ""
	case anyError(o.Err, apierrors.IsConflict):
		return ErrConflict
	case !o.Planned:
		// The pass failed before it planned: observing the cluster.
		return ErrReadFailed
	}
	if _, ok := FirstApplyError(o.Err); ok {
		return ErrApplyFailed
	}
	return ErrWriteFailed
}

// anyError tells whether err, or any error it aggregates, satisfies is.
func anyError(err error, is func(error) bool) bool {
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if anyError(e, is) {
				return true
			}
		}
		return false
	}
	return is(err)
}
