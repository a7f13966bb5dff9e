package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/consistency"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// TestRecordTransitions walks a stack through a first convergence, a failure that
// flaps with progress, its recovery, and a stack-level refusal, and checks that
// only the troubles and their recoveries make events.
func TestRecordTransitions(t *testing.T) {
	type step struct {
		name       string
		components []appstackv1.ComponentStatus
		ready      metav1.ConditionStatus
		reason     string
		want       []string
	}
	progressing := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseProgressing, Reason: "Progressing"}
	waiting := appstackv1.ComponentStatus{Name: "api", Phase: appstackv1.PhaseWaiting, Reason: "Waiting", Message: "waiting for web"}
	ready := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseReady}
	apiReady := appstackv1.ComponentStatus{Name: "api", Phase: appstackv1.PhaseReady}
	pull := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseProgressing, Reason: "ImagePullBackOff", Message: `container app cannot pull image "x"`}
	failed := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseFailed, Reason: "ProgressDeadlineExceeded", Message: "no progress"}
	steps := []step{
		{"first pass", []appstackv1.ComponentStatus{progressing, waiting}, metav1.ConditionFalse, "Progressing", nil},
		{"converged", []appstackv1.ComponentStatus{ready, apiReady}, metav1.ConditionTrue, "Ready", nil},
		{"image breaks", []appstackv1.ComponentStatus{pull, apiReady}, metav1.ConditionFalse, "ImagePullBackOff",
			[]string{`Warning ImagePullBackOff component web: container app cannot pull image "x"`}},
		{"flaps to progress", []appstackv1.ComponentStatus{progressing, apiReady}, metav1.ConditionFalse, "Progressing", nil},
		{"same cause again", []appstackv1.ComponentStatus{pull, apiReady}, metav1.ConditionFalse, "ImagePullBackOff", nil},
		{"another cause", []appstackv1.ComponentStatus{failed, apiReady}, metav1.ConditionFalse, "ProgressDeadlineExceeded",
			[]string{"Warning ProgressDeadlineExceeded component web: no progress"}},
		{"progress before recovery", []appstackv1.ComponentStatus{progressing, apiReady}, metav1.ConditionFalse, "Progressing", nil},
		{"recovered", []appstackv1.ComponentStatus{ready, apiReady}, metav1.ConditionTrue, "Ready",
			[]string{"Normal ComponentReady component web is Ready again (it was ProgressDeadlineExceeded)"}},
		{"unsafe change", []appstackv1.ComponentStatus{ready, apiReady}, metav1.ConditionFalse, appstackv1.ReasonUnsafeChange,
			[]string{"Warning UnsafeChange refused"}},
		{"still refused", []appstackv1.ComponentStatus{ready, apiReady}, metav1.ConditionFalse, appstackv1.ReasonUnsafeChange, nil},
		{"change reverted", []appstackv1.ComponentStatus{ready, apiReady}, metav1.ConditionTrue, "Ready",
			[]string{"Normal Ready stack is Ready again (it was UnsafeChange): all ready"}},
	}
	rec := events.NewFakeRecorder(100)
	r := &AppStackReconciler{Recorder: rec}
	troubles := map[string]string{}
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "u1", Generation: 1}}
	for _, s := range steps {
		stack.Status.Components = s.components
		msg := map[string]string{"Ready": "all ready", appstackv1.ReasonUnsafeChange: "refused"}[s.reason]
		setReadyCondition(stack, s.ready, s.reason, msg)
		r.recordTransitions(troubles, stack)
		var got []string
		for len(rec.Events) > 0 {
			got = append(got, <-rec.Events)
		}
		if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
			t.Errorf("%s: events\n%s\nwant\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
	}
}

// TestRememberAfterRestart: a process that starts on a stack already reporting a
// trouble does not warn about it again, and records its recovery.
func TestRememberAfterRestart(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &AppStackReconciler{Recorder: rec, gate: consistency.NewStore[stackMemory]()}
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "u2", Generation: 1}}
	stack.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Phase: appstackv1.PhaseProgressing, Reason: "ImagePullBackOff", Message: "cannot pull"}}
	setReadyCondition(stack, metav1.ConditionFalse, "ImagePullBackOff", "web: cannot pull")
	r.recordTransitions(r.troubles(stack), stack)
	if len(rec.Events) != 0 {
		t.Errorf("warned again after a restart: %s", <-rec.Events)
	}
	stack.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Phase: appstackv1.PhaseReady}}
	setReadyCondition(stack, metav1.ConditionTrue, "Ready", "all ready")
	r.recordTransitions(r.troubles(stack), stack)
	if got := <-rec.Events; got != "Normal ComponentReady component web is Ready again (it was ImagePullBackOff)" {
		t.Errorf("recovery event: %q", got)
	}
}

// setReadyCondition sets the stack's Ready condition as a pass would.
func setReadyCondition(stack *appstackv1.AppStack, st metav1.ConditionStatus, reason, msg string) {
	status.SetReady(&stack.Status.Conditions, stack.Generation, st, reason, msg, time.Now())
}
