package status_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// deployment is a Deployment whose controller has observed generation 2: gen 2 is
// rolled out as far as the counts say, a later gen is a spec change not yet seen.
func deployment(gen int64, replicas, updated, ready, available int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2, Replicas: replicas,
			UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
			},
		},
	}
}

func TestComponent(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	c := &appstackv1.Component{Name: "web", Replicas: ptr.To(int32(3))}
	tests := []struct {
		name      string
		obs       status.Observed
		wantPhase appstackv1.ComponentPhase
		wantReady int32
		wantMsg   string
	}{
		{"absent workload", status.Observed{}, appstackv1.PhaseProgressing, 0, "Deployment web not created yet"},
		{"rolled out", status.Observed{Workload: deployment(2, 3, 3, 3, 3)}, appstackv1.PhaseReady, 3, ""},
		{"spec change not yet observed", status.Observed{Workload: deployment(3, 3, 3, 3, 3)}, appstackv1.PhaseProgressing, 3, ""},
		{"replicas not ready", status.Observed{Workload: deployment(2, 3, 3, 1, 1)}, appstackv1.PhaseProgressing, 1, "Available: 1/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cs := status.Component(stack, c, tt.obs)
			g.Expect(cs.Phase).To(Equal(tt.wantPhase))
			g.Expect(cs.ReadyReplicas).To(Equal(tt.wantReady))
			g.Expect(cs.Replicas).To(Equal(int32(3)))
			if tt.wantPhase == appstackv1.PhaseReady {
				g.Expect(cs.Message).To(BeEmpty())
			} else {
				g.Expect(cs.Message).NotTo(BeEmpty())
				g.Expect(cs.Message).To(ContainSubstring(tt.wantMsg))
			}
		})
	}
}

func TestComponentService(t *testing.T) {
	g := NewWithT(t)
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.0.12",
		Ports:     []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}},
	}}
	cs := status.Component(stack, &appstackv1.Component{Name: "web"}, status.Observed{Service: svc})
	g.Expect(cs.Service).To(Equal(&appstackv1.ServiceStatus{
		ClusterIP: "10.96.0.12", Ports: []string{"80/TCP", "53/UDP"}, URL: "web.shop.svc.cluster.local:80",
	}))
}

func TestSummarize(t *testing.T) {
	g := NewWithT(t)
	all := status.Summarize([]appstackv1.ComponentStatus{{Name: "a", Phase: appstackv1.PhaseReady}, {Name: "b", Phase: appstackv1.PhaseReady}})
	g.Expect(all).To(Equal(status.Summary{Ready: 2, Total: 2, Reason: "Ready", Message: "2/2 components ready"}))

	some := status.Summarize([]appstackv1.ComponentStatus{
		{Name: "a", Phase: appstackv1.PhaseReady},
		{Name: "b", Phase: appstackv1.PhaseFailed, Message: "boom"},
		{Name: "c", Phase: appstackv1.PhaseProgressing, Message: "later"},
	})
	g.Expect(some).To(Equal(status.Summary{Ready: 1, Total: 3, Reason: "Failed", Message: "b: boom"}),
		"the first component that is not ready, in spec order, names the reason")
}

func TestClaimRecheck(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	young := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "db-data", CreationTimestamp: metav1.NewTime(now.Add(-10 * time.Second))},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("standard")}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}, Now: now})).To(Equal(status.ClaimGrace-10*time.Second),
		"the status is computed again when the claim leaves its grace")
	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}, Now: now.Add(status.ClaimGrace)})).To(BeZero())
	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}})).To(BeZero(), "no clock, no grace")
}
