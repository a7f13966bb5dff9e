package inspect

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestPodMessage(t *testing.T) {
	for name, tc := range map[string]struct {
		status corev1.PodStatus
		want   string
	}{
		"running": {status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true}}},
			want: "1/1 ready"},
		"a sidecar crash-looping": {status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", Ready: true},
			{Name: "log", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}},
		}}, want: "1/2 ready; log: CrashLoopBackOff"},
		"a native sidecar ready, the app not yet": {status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "proxy", Ready: true}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}},
		}, want: "0/1 ready; app: ContainerCreating"},
		"unschedulable": {status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled,
			Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available"}}},
			want: "0/0 ready; Unschedulable: 0/3 nodes are available"},
	} {
		if got := PodMessage(&corev1.Pod{Status: tc.status}); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func TestFindRevision(t *testing.T) {
	revs := []appsv1.ControllerRevision{{Revision: 1}, {Revision: 3}}
	if r, err := FindRevision("shop", revs, 3); err != nil || r.Revision != 3 {
		t.Errorf("revision 3: %v, %v", r, err)
	}
	for _, tc := range []struct {
		revs []appsv1.ControllerRevision
		want string
	}{
		{revs, "stack shop has no revision 2; it has 1, 3"},
		{nil, "stack shop has no revision 2; it has no recorded revision yet"},
	} {
		if _, err := FindRevision("shop", tc.revs, 2); err == nil || err.Error() != tc.want {
			t.Errorf("revision 2 of %v: %v, want %q", tc.revs, err, tc.want)
		}
	}
}
