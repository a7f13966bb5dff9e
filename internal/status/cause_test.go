package status_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// The failure kinds named beyond the first ten: each from what the cluster shows,
// with a message that names the field to change and nothing that changes while the
// cause does not.
func TestMoreFailureKinds(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	web := &appstackv1.Component{Name: "web", Replicas: ptr.To(int32(2)),
		Containers: []corev1.Container{{Name: "app", Image: "nginx",
			Resources:      corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}},
			Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db-creds"}, Key: "password"}}}}}},
		Volumes: []appstackv1.ComponentVolume{{Name: "tls", Secret: "web-tls"}}}
	notReady := deployment(2, 2, 2, 0, 0)
	pod := func(name string, mutate func(*corev1.Pod)) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-" + "name"}}
		mutate(&p)
		return p
	}
	running := func(name string, node string) corev1.Pod {
		return pod(name, func(p *corev1.Pod) {
			p.Spec.NodeName = node
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		})
	}
	event := func(kind, name, reason, msg string, at time.Time) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: name + "." + reason + at.Format("150405")},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name}, Reason: reason, Message: msg, Type: corev1.EventTypeWarning,
			LastTimestamp: metav1.NewTime(at)}
	}

	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", UID: "sts-uid", Generation: 1},
		Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1))},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1}}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", UID: "ds-uid", Generation: 1},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 3}}
	stsRefused := event("StatefulSet", "db", "FailedCreate",
		`create Pod db-0 in StatefulSet db failed error: pods "db-0" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")`, now)
	stsRefused.InvolvedObject.UID = "sts-uid"
	dsRefused := event("DaemonSet", "agent", "FailedCreate",
		`Error creating: pods "agent-x2b9q" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`, now)
	dsOlder := event("DaemonSet", "agent", "FailedCreate", `Error creating: pods "agent-a1b2c" is forbidden: exceeded quota: pods`, now.Add(-time.Minute))

	oom := running("web-1", "n1")
	oom.Status.ContainerStatuses[0] = corev1.ContainerStatus{Name: "app", RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}
	envSecret := pod("web-2", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CreateContainerConfigError", Message: `secret "db-creds" not found`}}}}
	})
	envKey := *envSecret.DeepCopy()
	envKey.Status.ContainerStatuses[0].State.Waiting.Message = `couldn't find key password in Secret shop/db-creds`
	mounting := pod("web-3", func(p *corev1.Pod) {
		p.Spec.NodeName = "n1"
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	})
	mountFailed := event("Pod", "web-3", "FailedMount", `MountVolume.SetUp failed for volume "tls" : secret "web-tls" not found`, now)
	probing := running("web-4", "n1")
	probeFailed := event("Pod", "web-4", "Unhealthy", `Readiness probe failed: Get "http://10.244.1.7:8080/ready": dial tcp 10.244.1.7:8080: connect: connection refused`, now)
	probeOld := event("Pod", "web-4", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", now.Add(-time.Minute))
	probeOther := event("Pod", "web-0", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", now)
	onLostNode := running("web-5", "n2")
	nodes := []corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown"}}}},
	}
	evictedPod := pod("web-6", func(p *corev1.Pod) {
		p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
		p.Status.Message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91Mi. Container app was using 312Mi, which exceeds its request of 0. "
	})

	tests := []struct {
		name            string
		c               *appstackv1.Component
		obs             status.Observed
		phase           appstackv1.ComponentPhase
		reason, message string
	}{
		{"a StatefulSet refused at admission, from its event", &appstackv1.Component{Name: "db", Kind: appstackv1.KindStatefulSet},
			status.Observed{Workload: sts, Events: []corev1.Event{stsRefused}},
			appstackv1.PhaseFailed, "FailedCreate", `StatefulSet db cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")`},
		{"a DaemonSet refused at admission, from its newest event, without the generated pod name", &appstackv1.Component{Name: "agent", Kind: appstackv1.KindDaemonSet},
			status.Observed{Workload: ds, Events: []corev1.Event{dsOlder, dsRefused}},
			appstackv1.PhaseFailed, "FailedCreate", `DaemonSet agent cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`},
		{"an OOMKilled container names its memory limit", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{oom}},
			appstackv1.PhaseProgressing, "OOMKilled", "container app was killed for running out of memory (OOMKilled, exit code 137): raise spec.components[web].containers[app].resources.limits.memory (now 64Mi)"},
		{"a missing Secret names the env entry", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{envSecret}},
			appstackv1.PhaseProgressing, "CreateContainerConfigError", `container app cannot be created: secret "db-creds" not found (spec.components[web].containers[app].env[DB_PASSWORD].valueFrom.secretKeyRef): create Secret db-creds in namespace shop, or change that field`},
		{"a missing key names the env entry", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{envKey}},
			appstackv1.PhaseProgressing, "CreateContainerConfigError", `container app cannot be created: couldn't find key password in Secret shop/db-creds (spec.components[web].containers[app].env[DB_PASSWORD].valueFrom.secretKeyRef): add key password to Secret db-creds in namespace shop, or change that field`},
		{"a secret volume that cannot be mounted names the volume", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{mounting}, Events: []corev1.Event{mountFailed}},
			appstackv1.PhaseProgressing, "FailedMount", `volume tls cannot be mounted: secret "web-tls" not found (spec.components[web].volumes[tls].secret): create Secret web-tls in namespace shop, or change that field`},
		{"a failing readiness probe, newest message, no pod IP", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{probing}, Events: []corev1.Event{probeOld, probeOther, probeFailed}},
			appstackv1.PhaseProgressing, "ReadinessProbeFailed", `container app is not ready: its readiness probe fails: Get "http://<pod IP>:8080/ready": dial tcp <pod IP>:8080: connect: connection refused (spec.components[web].containers[app].readinessProbe)`},
		{"pods on a node that stopped reporting", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{probing, onLostNode}, Nodes: nodes, Events: []corev1.Event{probeFailed}},
			appstackv1.PhaseProgressing, "NodeNotReady", "pods are on node n2, which is unreachable (NodeStatusUnknown)"},
		{"evicted pods name the container that used too much", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{evictedPod}},
			appstackv1.PhaseProgressing, "Evicted", "pods were evicted from their node: The node was low on resource: memory; container app used more than it requests: raise spec.components[web].containers[app].resources.requests"},
		{"a crash loop outranks old evictions", web, status.Observed{Workload: notReady, Pods: []corev1.Pod{evictedPod, oom}},
			appstackv1.PhaseProgressing, "OOMKilled", "container app was killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cs := status.Component(stack, tt.c, tt.obs)
			g.Expect(cs.Reason).To(Equal(tt.reason), cs.Message)
			g.Expect(cs.Phase).To(Equal(tt.phase))
			g.Expect(cs.Message).To(HavePrefix(tt.message))
			g.Expect(cs.Message).NotTo(MatchRegexp(`web-\d|x2b9q|10\.244|312Mi|1m20s`), "nothing that changes while the cause does not")
		})
	}

	t.Run("nothing to read in events: unexplained", func(t *testing.T) {
		g := NewWithT(t)
		cs := status.Component(stack, &appstackv1.Component{Name: "db", Kind: appstackv1.KindStatefulSet}, status.Observed{Workload: sts})
		g.Expect(cs.Reason).To(Equal("Progressing"))
		full := sts.DeepCopy()
		full.Status = appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 1}
		cs = status.Component(stack, &appstackv1.Component{Name: "db", Kind: appstackv1.KindStatefulSet},
			status.Observed{Workload: full, Pods: []corev1.Pod{running("db-0", "n1")}, Events: []corev1.Event{stsRefused}})
		g.Expect(cs.Reason).NotTo(Equal("FailedCreate"), "an old refusal does not explain a StatefulSet that has its pods")
	})
}

func TestFailedBarePodIsNotReady(t *testing.T) {
	g := NewWithT(t)
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	c := &appstackv1.Component{Name: "solo", Kind: appstackv1.KindPod, Containers: []corev1.Container{{Name: "app"}}}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "solo"}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted",
		Message: "The node was low on resource: ephemeral-storage. "}}
	cs := status.Component(stack, c, status.Observed{Workload: p, Pods: []corev1.Pod{*p}})
	g.Expect(cs.Phase).To(Equal(appstackv1.PhaseFailed))
	g.Expect(cs.Reason).To(Equal("Evicted"))
	g.Expect(cs.Message).To(Equal("pods were evicted from their node: The node was low on resource: ephemeral-storage; " +
		"pods that use more than they request are evicted first: set resources.requests of spec.components[solo].containers"))
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
	// fixed and deadlineFixed: the spec that fixes them applied (generation 3), their
	// controller not at it yet (observed generation 2).
	fixed := failedCreate.DeepCopy()
	fixed.Generation = 3
	deadlineFixed := deadline.DeepCopy()
	deadlineFixed.Generation = 3
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
	// pulling and configless are a minute's grace (status.StallGrace) apart: the
	// first is still worth waiting for, the second is Failed.
	pulling := waiting("ImagePullBackOff", "")
	pulling.CreationTimestamp = metav1.NewTime(now.Add(-status.StallGrace + time.Second))
	pullFailed := *pulling.DeepCopy()
	pullFailed.CreationTimestamp = metav1.NewTime(now.Add(-status.StallGrace))
	configless := waiting("CreateContainerConfigError", `secret "db-creds" not found`)
	configless.CreationTimestamp = metav1.NewTime(now.Add(-2 * status.StallGrace))
	crashing := waiting("CrashLoopBackOff", "back-off 5m0s restarting")
	crashing.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))

	tests := []struct {
		name        string
		obs         status.Observed
		wantPhase   appstackv1.ComponentPhase
		wantReason  string
		wantMessage string
	}{
		{"FailedCreate wins over everything", status.Observed{Workload: failedCreate, Pods: []corev1.Pod{unschedulable}},
			appstackv1.PhaseFailed, "FailedCreate", `ReplicaSet of Deployment web cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "data")`},
		{"a FailedCreate of the template before, the Deployment not at its new spec yet, is not a failure", status.Observed{Workload: fixed},
			appstackv1.PhaseProgressing, "FailedCreate", `ReplicaSet of Deployment web cannot create pods`},
		{"a progress deadline of the template before is not a failure", status.Observed{Workload: deadlineFixed},
			appstackv1.PhaseProgressing, "Progressing", "Deployment generation is 3, but latest observed generation is 2"},
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
		{"an image not pulled within StallGrace is still on its way", status.Observed{Workload: notReady, Pods: []corev1.Pod{pulling}, Now: now},
			appstackv1.PhaseProgressing, "ImagePullBackOff", `container app cannot pull image "nginx:nope"`},
		{"an image not pulled for StallGrace has failed", status.Observed{Workload: notReady, Pods: []corev1.Pod{pullFailed}, Now: now},
			appstackv1.PhaseFailed, "ImagePullBackOff", `container app cannot pull image "nginx:nope"`},
		{"a container not created for StallGrace has failed", status.Observed{Workload: notReady, Pods: []corev1.Pod{configless}, Now: now},
			appstackv1.PhaseFailed, "CreateContainerConfigError", `container app cannot be created: secret "db-creds" not found`},
		{"a crash loop is left to the progress deadline, however long it lasts", status.Observed{Workload: notReady, Pods: []corev1.Pod{crashing}, Now: now},
			appstackv1.PhaseProgressing, "CrashLoopBackOff", "container app keeps crashing"},
		{"claim not bound", status.Observed{Workload: notReady, Claims: []corev1.PersistentVolumeClaim{pending}},
			appstackv1.PhaseProgressing, "ClaimPending", "PersistentVolumeClaim db-data is Pending"},
		{"a young claim is on its way, even if its pod waits for it", status.Observed{Workload: notReady, Pods: []corev1.Pod{unschedulable}, Claims: []corev1.PersistentVolumeClaim{young},
			Now: now, StorageClassExists: exists("standard")},
			appstackv1.PhaseProgressing, "Progressing", "Available: 0/2"},
		{"a young claim of a class that does not exist is trouble at once", status.Observed{Workload: notReady, Claims: []corev1.PersistentVolumeClaim{pending},
			Now: now, StorageClassExists: exists("standard")},
			appstackv1.PhaseFailed, "ClaimPending", `PersistentVolumeClaim db-data is Pending: storage class "nope" does not exist`},
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
}

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
