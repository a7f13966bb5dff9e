package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// TestWarningTransitions: a warning on a Ready component is a trouble like any
// cause — one Warning event, however many passes report it, and a recovery event
// when it goes — and does not read as a recovery at every pass.
func TestWarningTransitions(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	r := &AppStackReconciler{Recorder: rec}
	troubles := map[string]string{}
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop", UID: "u-warn", Generation: 1}}
	pass := func(c appstackv1.ComponentStatus, reason string) []string {
		stack.Status.Components = []appstackv1.ComponentStatus{c}
		setReadyCondition(stack, metav1.ConditionTrue, reason, "1/1 components ready")
		r.recordTransitions(troubles, stack)
		var got []string
		for len(rec.Events) > 0 {
			got = append(got, <-rec.Events)
		}
		return got
	}
	ready := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseReady}
	warned := appstackv1.ComponentStatus{Name: "web", Phase: appstackv1.PhaseReady, Reason: "MetricsUnavailable", Message: "no metrics API answers"}
	if got := pass(ready, "Ready"); len(got) != 0 {
		t.Errorf("converged: %v", got)
	}
	if got := pass(warned, "MetricsUnavailable"); len(got) != 1 || got[0] != "Warning MetricsUnavailable component web: no metrics API answers" {
		t.Errorf("warning: %v", got)
	}
	for i := 0; i < 2; i++ {
		if got := pass(warned, "MetricsUnavailable"); len(got) != 0 {
			t.Errorf("the same warning again: %v", got)
		}
	}
	if got := pass(ready, "Ready"); len(got) != 1 || got[0] != "Normal ComponentReady component web is Ready again (it was MetricsUnavailable)" {
		t.Errorf("recovery: %v", got)
	}
}

func TestTrimNode(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "b"}}, Status: corev1.NodeStatus{
		Images: []corev1.ContainerImage{{Names: []string{"nginx"}, SizeBytes: 1 << 20}},
		Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.",
				LastHeartbeatTime: metav1.Now()},
		}}}
	out, err := trimNode(n)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Node)
	want := []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"}}
	if got.Name != "n1" || len(got.Status.Images) != 0 || len(got.Labels) != 0 || len(got.Status.Conditions) != 1 || got.Status.Conditions[0] != want[0] {
		t.Errorf("node cached as %+v", got)
	}
}
