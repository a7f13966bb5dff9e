// Package controller holds the AppStack reconciler, a thin driver over three phases
// (docs/design.md): observe reads what the pass needs (appstack_observe.go), the pure
// internal/plan decides ownership, conflicts, hand-overs and the prune set, and act
// applies the rendered children (internal/render, internal/ssa), prunes by the
// inventory and deletes (appstack_act.go, appstack_delete.go); the status computed
// from the cluster (internal/status) is written once per pass, only when it changed.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

// AppStackReconciler reconciles AppStack objects into native children.
type AppStackReconciler struct {
	// Client reads from the manager's cache and writes to the apiserver.
	Client client.Client
	// APIReader reads past the cache, for what the cache does not hold or may hold
	// only as a stub: a namespace the stack is about to adopt, an object in the way of
	// a desired name (a conflict, with its managedFields for the message), claims the
	// cache has not seen yet when pruning, and the claims and StatefulSets read
	// before a namespace is deleted.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// MaxConcurrentReconciles bounds how many stacks are reconciled at once.
	MaxConcurrentReconciles int
	// BatchPeriod is how long the creations and updates of a stack's children are
	// collected into one pass (see batched); 0 reconciles at each.
	BatchPeriod time.Duration
	// Clock is what every decision of a pass reads the time from; nil is the
	// real clock. Tests set a fake one.
	Clock clock.PassiveClock

	applier *ssa.Applier
	// mem holds, per stack UID, a *stackMemory.
	mem sync.Map
}

// scope is what one reconcile pass knows about its stack.
type scope struct {
	stack     *appstackv1.AppStack
	namespace string
	desired   *render.Desired
	// plan is what the pass decided (internal/plan); nil before it is made.
	plan *plan.Plan
	// inventory is what the stack owns after the pass, written to
	// status.inventory; nil leaves the recorded inventory as it is.
	inventory []appstackv1.InventoryEntry
	// revision is the number of the ControllerRevision recording this spec, once
	// the pass has applied it.
	revision int64
	// blocked, when set, is why this pass must not touch the cluster; it becomes
	// the Ready condition.
	blocked *blocker
	// namespaceRead, when set, is the namespace as read while the finalizer was
	// being added.
	namespaceRead *namespaceRead
	// rev is the ControllerRevision recording the spec, applied with the
	// workloads; oldRevs are the stack's other revisions, oldest first.
	rev     *appsv1.ControllerRevision
	oldRevs []appsv1.ControllerRevision
	// revisions are the stack's revisions, the spec's own included; only those a
	// rollout decision needs carry the spec they record (read from the apiserver:
	// the cache holds revisions without it). rollout is what the pass runs
	// (plan.DecideRollout).
	revisions []plan.Revision
	rollout   plan.Rollout
	// left are the inventory members a deletion leaves in place: an orphan
	// deletion took the stack's reference off them.
	left []string
	// recheck, when set, is when the status must be computed again though nothing
	// on the cluster changes: a Pending claim leaves its grace (status.ClaimGrace).
	recheck time.Duration
}

// waiting is the dependencies each held-back component waits for.
func (s *scope) waiting(component string) []string {
	if s.plan == nil {
		return nil
	}
	return s.plan.Waiting[component]
}

type namespaceRead struct {
	live *corev1.Namespace
	err  error
}

type blocker struct {
	reason, message string
}

// +kubebuilder:rbac:groups=apps.appstack.dev,resources=appstacks,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps.appstack.dev,resources=appstacks/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps.appstack.dev,resources=appstacks/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services;configmaps;persistentvolumeclaims;pods,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets;controllerrevisions,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=storage.k8s.io,resources=storageclasses,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile drives one stack towards its spec: render, apply, prune, then status.
func (r *AppStackReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	stack := &appstackv1.AppStack{}
	if err := r.Client.Get(ctx, req.NamespacedName, stack); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !stack.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, stack)
	}
	s := &scope{stack: stack, namespace: render.NamespaceName(stack)}
	if !controllerutil.ContainsFinalizer(stack, appstackv1.Finalizer) {
		// A new stack: read its namespace while the finalizer is written, or the
		// first pass's requests would all go one after another.
		var wg sync.WaitGroup
		wg.Go(func() {
			ns, err := r.getNamespace(ctx, s.namespace)
			s.namespaceRead = &namespaceRead{live: ns, err: err}
		})
		patch := client.MergeFrom(stack.DeepCopy())
		controllerutil.AddFinalizer(stack, appstackv1.Finalizer)
		err := r.Client.Patch(ctx, stack, patch)
		wg.Wait()
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}

	r.catchUpStatus(stack)
	r.remember(stack)
	readyClocks.see(stack)
	before := stack.DeepCopy()
	defer func() {
		// Whether the cache shows this pass's writes is asked before the status
		// is computed from it: asked after, a watch event landing in between would
		// pass a status read from the older objects (a Deployment just changed, read
		// as the old one still rolled out: Ready at the new revision).
		lags := retErr == nil && s.blocked == nil && r.cacheLags(ctx, s)
		r.setStatus(ctx, s, retErr)
		recordPass(s, retErr)
		if s.plan != nil && s.plan.Blocked == nil && retErr == nil && !stack.Spec.Paused {
			r.rolloutStatus(s, before)
		}
		if s.recheck > 0 && res.IsZero() && retErr == nil {
			res.RequeueAfter = s.recheck + time.Second
		}
		if lags {
			// This pass wrote children the cache does not show yet, so the status
			// just computed is stale: a Deployment just created reads as absent, one
			// just changed as still rolled out. The watch event of that write
			// brings the next pass, which sees it and writes the status.
			return
		}
		if err := r.patchStatus(ctx, before, stack); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
		}
	}()

	desired, err := render.Render(stack)
	if err != nil {
		// The spec itself is wrong: nothing is applied and retrying cannot help.
		s.blocked = &blocker{reason: appstackv1.ReasonInvalidSpec, message: err.Error()}
		return ctrl.Result{}, nil
	}
	s.desired = desired
	if stack.Spec.Paused {
		return ctrl.Result{}, nil
	}
	// Observe, plan, act: one read of the cluster, a pure decision, the writes.
	observed, err := r.observe(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.plan = plan.Make(observed)
	if b := s.plan.Blocked; b != nil {
		s.blocked = &blocker{reason: b.Reason, message: b.Message}
		return r.recheckIf(b.Reason == appstackv1.ReasonNamespaceConflict), nil
	}
	r.decideRollout(ctx, s)
	err = r.act(ctx, s)
	if errors.Is(err, errNamespaceTaken) {
		s.blocked = &blocker{reason: appstackv1.ReasonNamespaceConflict, message: fmt.Sprintf(
			"namespace %s was created by someone else a moment before this stack's create; "+
				"choose another spec.namespace.name", s.namespace)}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if err != nil || s.rollout.Run == nil {
		return r.recheckIf(len(s.plan.Conflicts) > 0), err
	}
	return r.recheckIf(len(s.plan.Conflicts) > 0), r.replaceStuckPods(ctx, s)
}

// now is the pass's time, from the reconciler's clock.
func (r *AppStackReconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

// recheckAfter is how often a stack looks again at what blocks it from outside
// its own objects: a namespace not yet handed over, or a name taken by someone
// else's object. The operator watches only labelled objects, so annotating a
// namespace or deleting that object makes no event that reaches it.
const recheckAfter = 5 * time.Second

func (r *AppStackReconciler) recheckIf(blocked bool) ctrl.Result {
	if blocked {
		return ctrl.Result{RequeueAfter: recheckAfter}
	}
	return ctrl.Result{}
}

// cacheLags reports whether the cache has yet to show a write this process made to
// one of the stack's children.
func (r *AppStackReconciler) cacheLags(ctx context.Context, s *scope) bool {
	if s.desired == nil {
		return false
	}
	for _, obj := range s.desired.Objects() {
		if r.applier.Lags(ctx, obj) {
			return true
		}
	}
	return false
}

// SetupWithManager watches stacks and every kind of child, so that a child deleted
// or edited by hand is restored at event speed.
func (r *AppStackReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.applier = ssa.NewApplier(r.Client, render.ManagedBy)
	byLabel := batched(handler.EnqueueRequestsFromMapFunc(r.stackFromLabel), r.BatchPeriod)
	byOwner := batched(handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(),
		&appstackv1.AppStack{}, handler.OnlyControllerOwner()), r.BatchPeriod)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&appstackv1.AppStack{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Adopted namespaces and retained claims carry no owner reference; the stack
		// label finds their stack.
		Watches(&corev1.Namespace{}, byLabel).
		Watches(&corev1.PersistentVolumeClaim{}, byLabel).
		// Every pod of a stack carries its label; their troubles (a failed pull, a
		// crash loop, no node) show on the pods, not on the workloads.
		Watches(&corev1.Pod{}, byLabel)
	for _, obj := range ownedKinds() {
		switch obj.(type) {
		case *corev1.PersistentVolumeClaim, *corev1.Pod:
		default:
			b = b.Watches(obj, byOwner)
		}
	}
	return b.WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Named("appstack").
		Complete(r)
}

// stackFromLabel maps an object to the stack its label names — only when it is in
// that stack's namespace (or is that namespace): a label anyone can set in any
// namespace must not make a stack reconcile.
func (r *AppStackReconciler) stackFromLabel(ctx context.Context, obj client.Object) []ctrl.Request {
	name := obj.GetLabels()[render.LabelStack]
	if name == "" {
		return nil
	}
	stack := &appstackv1.AppStack{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: name}, stack); err != nil {
		return nil
	}
	ns := render.NamespaceName(stack)
	if obj.GetNamespace() != ns && (obj.GetNamespace() != "" || obj.GetName() != ns) {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: name}}}
}

// applyError wraps a failed apply so the Ready condition can say which object
// failed without putting volatile text in the condition.
type applyError struct {
	kind, name string
	err        error
}

func (e *applyError) Error() string { return fmt.Sprintf("apply %s %s: %v", e.kind, e.name, e.err) }
func (e *applyError) Unwrap() error { return e.err }

// firstApplyError finds the first failed apply in err, which may aggregate the
// errors of a whole phase.
func firstApplyError(err error) (*applyError, bool) {
	var agg kerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if ae, ok := firstApplyError(e); ok {
				return ae, true
			}
		}
		return nil, false
	}
	var ae *applyError
	ok := errors.As(err, &ae)
	return ae, ok
}
