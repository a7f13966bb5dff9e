package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// The operator's own metrics, served with controller-runtime's (README.md,
// "Metrics"). The stack label is the stack's name: stacks are cluster-scoped, so
// it is unique, and every per-stack series is deleted with the stack
// (forgetStack). Series that would multiply by the number of stacks — a
// histogram's buckets, counters by kind or reason — carry no stack label: the
// stack's status and events name the stack.
const stackLabel = "stack"

var (
	componentsReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_components_ready",
		Help: "Components of the stack that are Ready.",
	}, []string{stackLabel})
	componentsTotal = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_components_total",
		Help: "Components of the stack.",
	}, []string{stackLabel})
	stackReady = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_stack_ready",
		Help: "1 when the stack's Ready condition is True, 0 when it is not (the condition's reason says why).",
	}, []string{stackLabel})
	stackPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "appstack_stack_paused",
		Help: "1 when the stack's spec.paused is true: nothing is applied and it is not Ready on purpose.",
	}, []string{stackLabel})
	timeToReady = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "appstack_time_to_ready_seconds",
		Help: "Seconds from when the operator first saw a stack generation to that generation's first Ready, " +
			"once per generation; change is create for a new stack (generation 1), update for a changed spec.",
		Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600},
	}, []string{"change"})
	driftCorrections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appstack_drift_corrections_total",
		Help: "Children put back after someone else edited or deleted them while their desired state did not change, " +
			"by kind.",
	}, []string{"kind"})
	rollbacksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appstack_rollbacks_total",
		Help: "Automatic rollbacks of the stack's workloads to its last Ready revision.",
	}, []string{stackLabel})
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "appstack_reconcile_errors_total",
		Help: "Reconcile passes that could not converge their stack, by reason (one of a fixed set, README.md).",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(componentsReady, componentsTotal, stackReady, stackPaused, timeToReady,
		driftCorrections, rollbacksTotal, reconcileErrors)
	// Every reason is served from the start, at 0, so that rate() and increase()
	// see a reason's first error.
	for _, r := range status.ErrorReasons {
		reconcileErrors.WithLabelValues(r)
	}
}

func recordComponents(stack string, ready, total int) {
	componentsReady.WithLabelValues(stack).Set(float64(ready))
	componentsTotal.WithLabelValues(stack).Set(float64(total))
}

// recordRollback counts one automatic rollback of the stack: call it once per
// rollback, when the workloads are put back to the last Ready revision.
func recordRollback(stack string) {
	rollbacksTotal.WithLabelValues(stack).Inc()
}

// recordDriftCorrection counts one child of the given kind put back after someone
// else changed or deleted it (ssa.Result.Restored).
func recordDriftCorrection(kind string) {
	driftCorrections.WithLabelValues(kind).Inc()
}

// recordPass counts a pass that could not converge its stack, by why: what
// blocked it, or the error it ended with. A pass cut short by the operator's
// shutdown is not counted.
func recordPass(s *scope, err error) {
	o := status.Outcome{Planned: s.plan != nil, Err: err}
	if s.done.blocked != nil {
		o.Blocked = s.done.blocked.reason
	}
	if s.plan != nil {
		o.Conflicts = len(s.plan.Conflicts)
	}
	if reason := status.ErrorReason(o); reason != "" {
		reconcileErrors.WithLabelValues(reason).Inc()
	}
}

func recordStatusWriteFailed() { reconcileErrors.WithLabelValues(status.ErrStatusWriteFailed).Inc() }

func recordDeleteFailed(err error) {
	if !errors.Is(err, context.Canceled) {
		reconcileErrors.WithLabelValues(status.ErrDeleteFailed).Inc()
	}
}

// readyClock times, per stack UID, how long each generation takes to become
// Ready (the metric appstack_time_to_ready_seconds); a stack that is gone is
// forgotten.
type readyClock struct {
	mu     sync.Mutex
	stacks map[types.UID]*generationClock
	now    func() time.Time
}

func newReadyClock(now func() time.Time) *readyClock {
	return &readyClock{stacks: map[types.UID]*generationClock{}, now: now}
}

type generationClock struct {
	generation int64
	since      time.Time
	// done is set once the generation was Ready (or was already Ready when this
	// process first saw it): it is observed once.
	done bool
}

func (c *readyClock) clock() time.Time { return c.now() }

// see starts the clock of the stack's generation when this process sees it for
// the first time. A stack this process has not seen before whose status already
// says Ready for this generation (it was Ready before a restart, or under another
// replica) is not timed; one that was not is timed from now, which understates.
func (c *readyClock) see(stack *appstackv1.AppStack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.stacks[stack.UID]
	if g != nil && g.generation == stack.Generation {
		return
	}
	c.stacks[stack.UID] = &generationClock{generation: stack.Generation, since: c.clock(),
		done: g == nil && readyAt(stack, stack.Generation)}
}

// record sets the stack's readiness gauges from its status, as the pass is about
// to write it, and observes the time to Ready of a generation Ready for the first
// time.
func (c *readyClock) record(stack *appstackv1.AppStack) {
	ready := readyAt(stack, stack.Generation)
	stackReady.WithLabelValues(stack.Name).Set(boolValue(ready))
	stackPaused.WithLabelValues(stack.Name).Set(boolValue(stack.Spec.Paused))
	// Served from 0, so that increase() sees the stack's first rollback.
	rollbacksTotal.WithLabelValues(stack.Name)
	if !ready {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.stacks[stack.UID]
	if g == nil || g.done || g.generation != stack.Generation {
		return
	}
	g.done = true
	change := "update"
	if stack.Generation == 1 {
		change = "create"
	}
	timeToReady.WithLabelValues(change).Observe(c.clock().Sub(g.since).Seconds())
}

func (c *readyClock) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.stacks, uid)
}

// readyAt tells whether the stack's Ready condition is True for generation.
func readyAt(stack *appstackv1.AppStack, generation int64) bool {
	cond := meta.FindStatusCondition(stack.Status.Conditions, appstackv1.ConditionReady)
	return cond != nil && cond.Status == metav1.ConditionTrue && cond.ObservedGeneration == generation
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func forgetStack(stack string) {
	componentsReady.DeleteLabelValues(stack)
	componentsTotal.DeleteLabelValues(stack)
	stackReady.DeleteLabelValues(stack)
	stackPaused.DeleteLabelValues(stack)
	rollbacksTotal.DeleteLabelValues(stack)
}
