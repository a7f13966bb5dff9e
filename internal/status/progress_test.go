package status_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// TestProgress is the kstatus table of README.md ("Health for GitOps tools"):
// each Ready reason gives Reconciling or Stalled, and kstatus.Compute, the
// library Flux and Helm 4 wait with, reads the stack as it should.
func TestProgress(t *testing.T) {
	then := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	now := then.Add(time.Minute)
	progressing := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseProgressing, Reason: "Progressing", Message: "Available: 0/2"}
	pulling := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseProgressing, Reason: "ImagePullBackOff", Message: `container app cannot pull image "nginx:nope"`}
	refused := appstackv1.ComponentStatus{Name: "db", Phase: appstackv1.PhaseFailed, Reason: "FailedCreate", Message: "StatefulSet db cannot create pods: forbidden"}
	ready := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseReady}
	tests := []struct {
		name          string
		status        metav1.ConditionStatus
		reason        string
		components    []appstackv1.ComponentStatus
		generation    int64 // metadata.generation, observedGeneration is 2
		deleting      bool
		cond, why     string // the condition set, its reason
		message       string
		kstatus       kstatus.Status
		kstatusReason string
	}{
		{"Ready", metav1.ConditionTrue, "Ready", []appstackv1.ComponentStatus{ready}, 2, false, "", "", "", kstatus.CurrentStatus, ""},
		{"Ready with a warning", metav1.ConditionTrue, "MetricsUnavailable", []appstackv1.ComponentStatus{ready}, 2, false, "", "", "", kstatus.CurrentStatus, ""},
		{"rolling out", metav1.ConditionFalse, "Progressing", []appstackv1.ComponentStatus{progressing}, 2, false,
			appstackv1.ConditionReconciling, "Progressing", "1/1", kstatus.InProgressStatus, "Progressing"},
		{"an image within its grace", metav1.ConditionFalse, "ImagePullBackOff", []appstackv1.ComponentStatus{pulling}, 2, false,
			appstackv1.ConditionReconciling, "ImagePullBackOff", "1/1", kstatus.InProgressStatus, "ImagePullBackOff"},
		{"waiting for a dependency", metav1.ConditionFalse, "Waiting", nil, 2, false,
			appstackv1.ConditionReconciling, "Waiting", "1/1", kstatus.InProgressStatus, "Waiting"},
		{"a refused write, retried", metav1.ConditionFalse, "ApplyFailed", nil, 2, false,
			appstackv1.ConditionReconciling, "ApplyFailed", "1/1", kstatus.InProgressStatus, "ApplyFailed"},
		{"a failed component behind one still progressing", metav1.ConditionFalse, "Progressing", []appstackv1.ComponentStatus{progressing, refused}, 2, false,
			appstackv1.ConditionStalled, "FailedCreate", "db: StatefulSet db cannot create pods: forbidden", kstatus.FailedStatus, ""},
		{"invalid spec", metav1.ConditionFalse, "InvalidSpec", nil, 2, false, appstackv1.ConditionStalled, "InvalidSpec", "1/1", kstatus.FailedStatus, ""},
		{"namespace conflict", metav1.ConditionFalse, "NamespaceConflict", nil, 2, false, appstackv1.ConditionStalled, "NamespaceConflict", "1/1", kstatus.FailedStatus, ""},
		{"unsafe change", metav1.ConditionFalse, "UnsafeChange", nil, 2, false, appstackv1.ConditionStalled, "UnsafeChange", "1/1", kstatus.FailedStatus, ""},
		{"conflict", metav1.ConditionFalse, "Conflict", []appstackv1.ComponentStatus{ready}, 2, false, appstackv1.ConditionStalled, "Conflict", "1/1", kstatus.FailedStatus, ""},
		{"rolled back", metav1.ConditionFalse, "RolledBack", []appstackv1.ComponentStatus{ready}, 2, false, appstackv1.ConditionStalled, "RolledBack", "1/1", kstatus.FailedStatus, ""},
		{"paused", metav1.ConditionFalse, "Suspended", nil, 2, false, appstackv1.ConditionStalled, "Suspended", "1/1", kstatus.FailedStatus, ""},
		{"a new spec not yet observed, though stalled before", metav1.ConditionFalse, "InvalidSpec", nil, 3, false,
			appstackv1.ConditionStalled, "InvalidSpec", "1/1", kstatus.InProgressStatus, ""},
		{"deleting", metav1.ConditionFalse, "Deleting", []appstackv1.ComponentStatus{refused}, 2, true,
			appstackv1.ConditionReconciling, "Deleting", "1/1", kstatus.TerminatingStatus, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := appstackv1.AppStackStatus{ObservedGeneration: 2, Components: tt.components, Conditions: []metav1.Condition{
				{Type: appstackv1.ConditionReady, Status: tt.status, Reason: tt.reason, Message: "1/1", ObservedGeneration: 2, LastTransitionTime: metav1.NewTime(then)},
				// Left from an earlier pass: each pass decides both anew.
				{Type: appstackv1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "Progressing", LastTransitionTime: metav1.NewTime(then)},
				{Type: appstackv1.ConditionStalled, Status: metav1.ConditionTrue, Reason: "InvalidSpec", LastTransitionTime: metav1.NewTime(then)},
			}}
			status.Progress(&st, 2, now)
			for _, typ := range []string{appstackv1.ConditionReconciling, appstackv1.ConditionStalled} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if typ != tt.cond {
					g.Expect(c).To(BeNil(), "%s is present only when True", typ)
					continue
				}
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(c.Reason).To(Equal(tt.why))
				g.Expect(c.Message).To(Equal(tt.message))
				g.Expect(c.ObservedGeneration).To(Equal(int64(2)))
			}

			stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", Generation: tt.generation}, Status: st}
			if tt.deleting {
				stack.DeletionTimestamp = &metav1.Time{Time: now}
			}
			stack.SetGroupVersionKind(appstackv1.GroupVersion.WithKind("AppStack"))
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(stack)
			g.Expect(err).NotTo(HaveOccurred())
			res, err := kstatus.Compute(&unstructured.Unstructured{Object: m})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(tt.kstatus), res.Message)
			if tt.kstatus == kstatus.FailedStatus {
				g.Expect(res.Message).To(Equal(tt.message), "kstatus reports the stack's own message")
			}
		})
	}
}

// TestProgressKeepsTransitionTime: a condition that stays True keeps its
// lastTransitionTime, so a pass that changes nothing writes nothing.
func TestProgressKeepsTransitionTime(t *testing.T) {
	g := NewWithT(t)
	then := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	st := appstackv1.AppStackStatus{Conditions: []metav1.Condition{
		{Type: appstackv1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Progressing", Message: "0/1", LastTransitionTime: metav1.NewTime(then)}}}
	status.Progress(&st, 1, then)
	before := st.DeepCopy()
	status.Progress(&st, 1, then.Add(time.Hour))
	g.Expect(st).To(Equal(*before))
}

// TestStallRecheck: Recheck has the status computed again when a container problem
// reaches StallGrace, not before and not for problems it does not apply to.
func TestStallRecheck(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	waiting := func(reason string, age time.Duration) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(-age))},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}}}
	}
	g.Expect(status.Recheck(status.Observed{Now: now, Pods: []corev1.Pod{waiting("ErrImagePull", 10*time.Second)}})).
		To(Equal(status.StallGrace - 10*time.Second))
	g.Expect(status.Recheck(status.Observed{Now: now, Pods: []corev1.Pod{waiting("CreateContainerConfigError", 50*time.Second)}})).
		To(Equal(status.StallGrace - 50*time.Second))
	g.Expect(status.Recheck(status.Observed{Now: now, Pods: []corev1.Pod{waiting("ImagePullBackOff", status.StallGrace)}})).To(BeZero(), "past the grace")
	g.Expect(status.Recheck(status.Observed{Now: now, Pods: []corev1.Pod{waiting("CrashLoopBackOff", time.Second)}})).To(BeZero(), "no grace for a crash loop")
	g.Expect(status.Recheck(status.Observed{Pods: []corev1.Pod{waiting("ImagePullBackOff", time.Second)}})).To(BeZero(), "no clock, no grace")
}
