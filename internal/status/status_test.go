package status_test

import (
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
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

func TestCauseIsAttributed(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	c := &appstackv1.Component{Name: "web", Replicas: ptr.To(int32(2))}
	notReady := deployment(2, 2, 2, 0, 0)
	pod := func(mutate func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-abc"}}
		mutate(&p)
		return p
	}
	waiting := func(reason, msg string) corev1.Pod {
		return pod(func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "sidecar", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "app", Image: "nginx:nope", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}},
			}
		})
	}
	unschedulable := pod(func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient cpu."}}
	})
	failedCreate := deployment(2, 2, 0, 0, 0)
	failedCreate.Status.Conditions = append(failedCreate.Status.Conditions, appsv1.DeploymentCondition{
		Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
		Message: `pods "web-5d8f7c-x2b9q" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "data")`})
	deadline := deployment(2, 2, 2, 0, 0)
	deadline.Spec.ProgressDeadlineSeconds = ptr.To(int32(30))
	deadline.Status.Conditions[0] = appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}
	pending := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "db-data"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("nope")}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	young := *pending.DeepCopy()
	young.Spec.StorageClassName = ptr.To("standard")
	young.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Second))
	bound := *young.DeepCopy()
	bound.Status.Phase = corev1.ClaimBound
	claimWait := *unschedulable.DeepCopy()
	claimWait.Status.Conditions[0].Message = "0/44 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found"
	exists := func(names ...string) func(string) bool {
		return func(n string) bool { return slices.Contains(names, n) }
	}

	tests := []struct {
		name        string
		obs         status.Observed
		wantPhase   appstackv1.ComponentPhase
		wantReason  string
		wantMessage string
	}{
		{"FailedCreate wins over everything", status.Observed{Workload: failedCreate, Pods: []corev1.Pod{unschedulable}},
			appstackv1.PhaseProgressing, "FailedCreate", `ReplicaSet of Deployment web cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "data")`},
		{"unschedulable", status.Observed{Workload: notReady, Pods: []corev1.Pod{waiting("ImagePullBackOff", ""), unschedulable}},
			appstackv1.PhaseProgressing, "Unschedulable", "pods cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu."},
		{"unschedulable for want of a claim names the claim", status.Observed{Workload: notReady, Pods: []corev1.Pod{unschedulable}, Claims: []corev1.PersistentVolumeClaim{pending}},
			appstackv1.PhaseProgressing, "ClaimPending", `PersistentVolumeClaim db-data is Pending (storage class "nope")`},
		{"ErrImagePull reads as ImagePullBackOff, so the status does not flap", status.Observed{Workload: notReady, Pods: []corev1.Pod{waiting("ErrImagePull", "rpc error")}},
			appstackv1.PhaseProgressing, "ImagePullBackOff", `container app cannot pull image "nginx:nope"`},
		{"crash loop with its exit code", status.Observed{Workload: notReady, Pods: []corev1.Pod{waiting("CrashLoopBackOff", "back-off 40s restarting")}},
			appstackv1.PhaseProgressing, "CrashLoopBackOff", "container app keeps crashing: last exit code 2 (Error)"},
		{"missing secret", status.Observed{Workload: notReady, Pods: []corev1.Pod{waiting("CreateContainerConfigError", `secret "db-creds" not found`)}},
			appstackv1.PhaseProgressing, "CreateContainerConfigError", `container app cannot be created: secret "db-creds" not found`},
		{"claim not bound", status.Observed{Workload: notReady, Claims: []corev1.PersistentVolumeClaim{pending}},
			appstackv1.PhaseProgressing, "ClaimPending", "PersistentVolumeClaim db-data is Pending"},
		{"a young claim is on its way, even if its pod waits for it", status.Observed{Workload: notReady, Pods: []corev1.Pod{unschedulable}, Claims: []corev1.PersistentVolumeClaim{young},
			Now: now, StorageClassExists: exists("standard")},
			appstackv1.PhaseProgressing, "Progressing", "Available: 0/2"},
		{"a young claim of a class that does not exist is trouble at once", status.Observed{Workload: notReady, Claims: []corev1.PersistentVolumeClaim{pending},
			Now: now, StorageClassExists: exists("standard")},
			appstackv1.PhaseProgressing, "ClaimPending", `PersistentVolumeClaim db-data is Pending: storage class "nope" does not exist`},
		{"a pod the scheduler has not retried since its claim was bound is on its way", status.Observed{Workload: notReady, Pods: []corev1.Pod{claimWait}, Claims: []corev1.PersistentVolumeClaim{bound},
			Now: now, StorageClassExists: exists("standard")},
			appstackv1.PhaseProgressing, "Progressing", "Available: 0/2"},
		{"a claim past its grace is trouble", status.Observed{Workload: notReady, Pods: []corev1.Pod{unschedulable}, Claims: []corev1.PersistentVolumeClaim{young},
			Now: now.Add(status.ClaimGrace), StorageClassExists: exists("standard")},
			appstackv1.PhaseProgressing, "ClaimPending", `PersistentVolumeClaim db-data has been Pending for over 3m0s (storage class "standard")`},
		{"progress deadline", status.Observed{Workload: deadline},
			appstackv1.PhaseFailed, "ProgressDeadlineExceeded", "Deployment web made no progress for 30s"},
		{"dependency", status.Observed{WaitingFor: []string{"db", "cache"}},
			appstackv1.PhaseWaiting, "Waiting", "waiting for db, cache"},
		{"just rolling out", status.Observed{Workload: notReady},
			appstackv1.PhaseProgressing, "Progressing", "Available: 0/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cs := status.Component(stack, c, tt.obs)
			g.Expect(cs.Phase).To(Equal(tt.wantPhase))
			g.Expect(cs.Reason).To(Equal(tt.wantReason))
			g.Expect(cs.Message).To(HavePrefix(tt.wantMessage))
			g.Expect(status.Component(stack, c, tt.obs)).To(Equal(cs), "the same observation gives the same status")
		})
	}

	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate"}, Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}
	cs := status.Component(stack, &appstackv1.Component{Name: "migrate", Kind: appstackv1.KindJob}, status.Observed{Workload: job})
	g := NewWithT(t)
	g.Expect(cs.Phase).To(Equal(appstackv1.PhaseFailed))
	g.Expect(cs.Reason).To(Equal("JobFailed"))
	g.Expect(cs.Message).To(Equal("Job migrate failed: Job has reached the specified backoff limit (BackoffLimitExceeded)"))

	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}, Now: now})).To(Equal(status.ClaimGrace-10*time.Second),
		"the status is computed again when the claim leaves its grace")
	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}, Now: now.Add(status.ClaimGrace)})).To(BeZero())
	g.Expect(status.ClaimRecheck(status.Observed{Claims: []corev1.PersistentVolumeClaim{young}})).To(BeZero(), "no clock, no grace")
}
