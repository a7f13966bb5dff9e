package status_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// TestProbeFailureShowsNothingTheContainerSays: everyone who may read stacks reads
// their status, people who may not read the stack's namespace among them. A
// readiness probe's failure keeps its kind and what the kubelet and the network
// say (an HTTP status code, a refused connection); an exec probe's output, and
// anything an HTTP or gRPC probe quotes from the container, never reach the status.
func TestProbeFailureShowsNothingTheContainerSays(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "ledger"}}
	const where = "(the kubelet's message is not shown in status, as it may carry what the container answered: " +
		"`kubectl describe pods -n ledger -l apps.appstack.dev/stack=ledger,apps.appstack.dev/component=r` shows it to those who may read those pods) " +
		"(spec.components[r].containers[r].readinessProbe)"
	httpGet := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}
	tests := []struct {
		name    string
		handler corev1.ProbeHandler
		event   string
		want    string
	}{
		{"an exec probe's output", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "cat /data/rows /secret/password; exit 1"}}},
			"Readiness probe failed: LOOT team-A-ledger-rows hunter2\n",
			"its exec readiness probe fails (its output is not shown in status: `kubectl describe pods -n ledger -l " +
				"apps.appstack.dev/stack=ledger,apps.appstack.dev/component=r` shows it to those who may read those pods) " +
				"(spec.components[r].containers[r].readinessProbe)"},
		{"an exec probe that prints what the kubelet would say", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "echo; exit 1"}}},
			"Readiness probe failed: HTTP probe failed with statuscode: 503",
			"its exec readiness probe fails (its output is not shown in status"},
		{"an HTTP status code", httpGet, "Readiness probe failed: HTTP probe failed with statuscode: 503",
			"its readiness probe fails: HTTP probe failed with statuscode: 503 (spec.components[r].containers[r].readinessProbe)"},
		{"a refused connection, without the pod IP", httpGet,
			`Readiness probe failed: Get "http://10.244.1.7:8080/ready": dial tcp 10.244.1.7:8080: connect: connection refused`,
			`its readiness probe fails: Get "http://<pod IP>:8080/ready": dial tcp <pod IP>:8080: connect: connection refused (spec.components[r].containers[r].readinessProbe)`},
		{"a timeout", httpGet,
			`Readiness probe failed: Get "http://10.244.1.7:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
			`its readiness probe fails: Get "http://<pod IP>:8080/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`},
		{"a redirect's path, which the container chose", httpGet,
			`Readiness probe failed: Get "http://10.244.1.7:8080/hunter2": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
			"its httpGet readiness probe fails " + where},
		{"a malformed answer quoted by the HTTP client", httpGet,
			`Readiness probe failed: Get "http://10.244.1.7:8080/ready": net/http: HTTP/1.x transport connection broken: malformed HTTP response "LOOT hunter2"`,
			"its httpGet readiness probe fails " + where},
		{"a TCP probe refused", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5432)}},
			"Readiness probe failed: dial tcp 10.244.1.7:5432: connect: connection refused",
			"its readiness probe fails: dial tcp <pod IP>:5432: connect: connection refused"},
		{"a gRPC server's status", corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}},
			`Readiness probe failed: service unhealthy (responded with "NOT_SERVING")`,
			`its readiness probe fails: service unhealthy (responded with "NOT_SERVING")`},
		{"a gRPC server's own error text", corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}},
			`Readiness probe failed: error: health rpc probe failed: rpc error: code = Unknown desc = LOOT hunter2`,
			"its grpc readiness probe fails " + where},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := &appstackv1.Component{Name: "r", Replicas: ptr.To(int32(1)), Containers: []corev1.Container{{Name: "r", Image: "busybox",
				ReadinessProbe: &corev1.Probe{ProbeHandler: tt.handler}}}}
			pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r-5d8f7-x2b9q"}, Spec: corev1.PodSpec{NodeName: "n1"},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "r", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
			ev := corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "r.unhealthy"}, Reason: "Unhealthy", Type: corev1.EventTypeWarning,
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod.Name, FieldPath: "spec.containers{r}"},
				Message:        tt.event, LastTimestamp: metav1.NewTime(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))}
			cs := status.Component(stack, c, status.Observed{Workload: deployment(2, 1, 1, 0, 0), Pods: []corev1.Pod{pod}, Events: []corev1.Event{ev}})
			g.Expect(cs.Reason).To(Equal("ReadinessProbeFailed"), cs.Message)
			g.Expect(cs.Message).To(HavePrefix("container r is not ready: " + tt.want))
			for _, secret := range []string{"LOOT", "hunter2", "10.244", "x2b9q"} {
				g.Expect(cs.Message).NotTo(ContainSubstring(secret))
			}
			g.Expect(strings.Count(cs.Message, "\n")).To(BeZero())
		})
	}
}
