// Package controller holds the AppStack reconciler, a short driver (docs/design.md):
// the consistency gate (internal/consistency) holds a pass back until the cache
// shows the stack's last writes; observe reads what the pass needs
// (appstack_observe.go); the pure internal/plan decides ownership, conflicts,
// hand-overs, the prune set, the rollout and the deletion; act applies the rendered
// children (internal/render, internal/ssa), prunes by the inventory and deletes
// (appstack_act.go, appstack_delete.go); and every pass ends with the status the
// pure internal/status computes from the cluster, written only when it changed.
// Preview runs the same pass for `kubectl appstack diff`, every write a dry run.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/consistency"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
	"github.com/appstack-dev/appstack-operator/internal/status"
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
	// real clock (clock.RealClock). Tests set a fake one.
	Clock clock.PassiveClock

	applier *ssa.Applier
	// gate is the consistency store: per stack UID, the writes its next pass
	// waits for the cache to show, and what this process remembers of it.
	gate *consistency.Store[stackMemory]
	// clocks time each stack's generations to Ready (a metric).
	clocks *readyClock
	// metricsAPI is the last answer about the metrics APIService.
	metricsAPI metricsAPIAnswer
	// preview: the pass is `kubectl appstack diff`'s, every write a dry run.
	preview bool
}

// scope is what one reconcile pass knows about its stack.
type scope struct {
	// What the pass reads: the stack, through a reader that shows this pass's
	// own writes; its namespace's name; what it renders to; the namespace as read
	// while the finalizer was being added (nil otherwise); its revisions.
	stack         *appstackv1.AppStack
	read          client.Reader
	namespace     string
	desired       *render.Desired
	namespaceRead *namespaceRead
	history       history
	// What the pass decided: the plan (internal/plan; nil before it is made) and
	// the revision its workloads run (plan.DecideRollout).
	plan    *plan.Plan
	rollout plan.Rollout
	// What carrying it out came to, for the status.
	done outcome
}

// history is a stack's revisions as a pass reads them.
type history struct {
	// rev is the ControllerRevision recording the spec, applied with the
	// workloads; old are the stack's other revisions, oldest first.
	rev *appsv1.ControllerRevision
	old []appsv1.ControllerRevision
	// specs are the stack's revisions, the spec's own included; only those a
	// rollout decision needs carry the spec they record (read from the
	// apiserver: the cache holds revisions without it).
	specs []plan.Revision
}

// outcome is what a pass came to.
type outcome struct {
	// inventory is what the stack owns after the pass, written to
	// status.inventory; nil leaves the recorded inventory as it is.
	inventory []appstackv1.InventoryEntry
	// revision is the number of the ControllerRevision recording this spec, once
	// the pass has applied it.
	revision int64
	// blocked, when set, is why this pass must not touch the cluster; it becomes
	// the Ready condition.
	blocked *blocker
	// replaced are the objects this pass deleted to create them again, with why
	// (Preview reports them); nil outside a preview.
	replaced map[plan.Key]error
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

// Reconcile drives one stack towards its spec: it waits for the cache to show
// the stack's last writes (the consistency gate), then runs one pass — render,
// observe, plan, act — and writes the status that pass computed.
func (r *AppStackReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	stack := &appstackv1.AppStack{}
	if err := r.Client.Get(ctx, req.NamespacedName, stack); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.gate.Track(stack.Name, stack.UID)
	if wait, err := r.waitForCache(ctx, stack); wait > 0 || err != nil {
		return ctrl.Result{RequeueAfter: wait}, err
	}
	ctx, s, writes := r.begin(ctx, stack)
	if !stack.DeletionTimestamp.IsZero() {
		res, err := r.reconcileDelete(ctx, s)
		if controllerutil.ContainsFinalizer(stack, appstackv1.Finalizer) {
			r.gate.Commit(stack.UID, writes)
		} else {
			r.forget(stack.Name)
		}
		return res, err
	}
	defer r.gate.Commit(stack.UID, writes)
	if err := r.addFinalizer(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	r.clocks.see(stack)
	before := stack.DeepCopy()
	res, err := r.pass(ctx, s)
	return r.writeStatus(ctx, s, before, res, err)
}

// begin starts a pass over stack: the writes made with the returned context are
// recorded in writes, and the scope's reader reads them as written.
func (r *AppStackReconciler) begin(
	ctx context.Context, stack *appstackv1.AppStack,
) (context.Context, *scope, *consistency.Writes) {
	writes := consistency.NewWrites(r.Client.Scheme(), r.now)
	s := &scope{stack: stack, namespace: render.NamespaceName(stack), read: writes.Reader(r.Client)}
	return consistency.WithWrites(ctx, writes), s, writes
}

// pass renders the stack, observes the cluster, plans and acts: all of a pass
// but its status. `kubectl appstack diff` runs it too (Preview).
func (r *AppStackReconciler) pass(ctx context.Context, s *scope) (ctrl.Result, error) {
	desired, err := render.Render(s.stack)
	if err != nil {
		// The spec itself is wrong: nothing is applied and retrying cannot help.
		s.done.blocked = &blocker{reason: appstackv1.ReasonInvalidSpec, message: err.Error()}
		return ctrl.Result{}, nil
	}
	s.desired = desired
	if s.stack.Spec.Paused {
		return ctrl.Result{}, nil
	}
	// Observe, plan, act: one read of the cluster, a pure decision, the writes.
	observed, err := r.observe(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.plan = plan.Make(observed)
	if b := s.plan.Blocked; b != nil {
		s.done.blocked = &blocker{reason: b.Reason, message: b.Message}
		return r.recheckIf(b.Reason == appstackv1.ReasonNamespaceConflict), nil
	}
	r.decideRollout(ctx, s)
	err = r.act(ctx, s)
	if errors.Is(err, errNamespaceTaken) {
		s.done.blocked = &blocker{reason: appstackv1.ReasonNamespaceConflict, message: fmt.Sprintf(
			"namespace %s was created by someone else a moment before this stack's create; "+
				"choose another spec.namespace.name", s.namespace)}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if err != nil || s.rollout.Run == nil || r.preview {
		return r.recheckIf(len(s.plan.Conflicts) > 0), err
	}
	return r.recheckIf(len(s.plan.Conflicts) > 0), r.replaceStuckPods(ctx, s)
}

// writeStatus computes the status from the cluster as this pass left it (its own
// writes read as written) and the pass's outcome, and writes it if it changed.
func (r *AppStackReconciler) writeStatus(
	ctx context.Context, s *scope, before *appstackv1.AppStack, res ctrl.Result, passErr error,
) (ctrl.Result, error) {
	r.setStatus(ctx, s, passErr)
	recordPass(s, passErr)
	if s.plan != nil && s.plan.Blocked == nil && passErr == nil && !s.stack.Spec.Paused {
		r.rolloutStatus(s, before)
	}
	status.Progress(&s.stack.Status, s.stack.Generation, r.now())
	if s.done.recheck > 0 && res.IsZero() && passErr == nil {
		res.RequeueAfter = s.done.recheck + time.Second
	}
	if err := r.patchStatus(ctx, before, s.stack); err != nil {
		passErr = kerrors.NewAggregate([]error{passErr, err})
	}
	return res, passErr
}

// addFinalizer gives a new stack the finalizer, reading its namespace
// meanwhile: otherwise the first pass's requests would all go one after another.
func (r *AppStackReconciler) addFinalizer(ctx context.Context, s *scope) error {
	if controllerutil.ContainsFinalizer(s.stack, appstackv1.Finalizer) {
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		ns, err := r.getNamespace(ctx, s.namespace)
		s.namespaceRead = &namespaceRead{live: ns, err: err}
	})
	patch := client.MergeFrom(s.stack.DeepCopy())
	controllerutil.AddFinalizer(s.stack, appstackv1.Finalizer)
	err := r.Client.Patch(ctx, s.stack, patch)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("add finalizer: %w", err)
	}
	return nil
}

// cacheLagRequeue is how soon a stack whose cache does not show its last
// writes yet is looked at again; the cache is normally a few milliseconds behind.
const cacheLagRequeue = 100 * time.Millisecond

// waitForCache is the consistency gate: a pass starts only once the cache shows
// every write the stack's earlier passes made (its status, its children), so that
// nothing is decided from a past the operator itself has changed. It returns how
// long to wait, 0 when the pass may run.
func (r *AppStackReconciler) waitForCache(ctx context.Context, stack *appstackv1.AppStack) (time.Duration, error) {
	behind, expired, err := r.gate.Caught(ctx, stack.UID, consistency.Cache{
		Reader: r.Client, API: r.APIReader, Scheme: r.Client.Scheme(), Holds: cacheHolds,
	}, r.now())
	for _, e := range expired {
		logf.FromContext(ctx).Info("the cache has not shown this operator's write for long; going on without it "+
			"(the object was probably changed or deleted by someone else since)", "object", e.Key.String(), "for", e.For)
	}
	if err != nil {
		return 0, fmt.Errorf("compare the cache with this operator's last writes: %w", err)
	}
	if behind != nil {
		logf.FromContext(ctx).V(1).Info("waiting for the cache to show this operator's last write",
			"object", behind.Key.String(), "for", behind.For)
		return cacheLagRequeue, nil
	}
	return 0, nil
}

// forget drops what this process keeps of a stack that is gone: its entry in the
// consistency store and its metrics.
func (r *AppStackReconciler) forget(name string) {
	if uid, ok := r.gate.ForgetName(name); ok {
		r.clocks.forget(uid)
	}
	forgetStack(name)
}

// now is the pass's time, from the reconciler's clock.
func (r *AppStackReconciler) now() time.Time {
	if r.Clock == nil {
		return clock.RealClock{}.Now()
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

// init wraps the client so that every write is recorded for the consistency
// gate, and makes the applier.
func (r *AppStackReconciler) init() {
	if r.gate != nil {
		return
	}
	if _, ok := r.Client.(*consistency.Client); !ok {
		r.Client = consistency.NewClient(r.Client)
	}
	r.applier = ssa.NewApplier(r.Client, render.ManagedBy)
	r.gate = consistency.NewStore[stackMemory]()
	r.clocks = newReadyClock(r.now)
}

// SetupWithManager watches stacks and every kind of child, so that a child deleted
// or edited by hand is restored at event speed.
func (r *AppStackReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	byLabel := batched(handler.EnqueueRequestsFromMapFunc(r.stackFromLabel), r.BatchPeriod)
	byOwner := batched(handler.EnqueueRequestsFromMapFunc(r.stackFromOwner), r.BatchPeriod)
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

// stackFromOwner maps an object to the stack its controller reference names —
// only when that reference carries the UID of the stack of that name: anyone who
// may create objects can give them a reference to a stack, and a made-up or stale
// one must not make the stack reconcile.
func (r *AppStackReconciler) stackFromOwner(_ context.Context, obj client.Object) []ctrl.Request {
	owner := metav1.GetControllerOf(obj)
	if !isStack(owner) || !controlledByLiveStack(r.Client, owner) {
		return nil
	}
	return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: owner.Name}}}
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
