package status_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
			appstackv1.PhaseProgressing, "FailedCreate", `StatefulSet db cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "host")`},
		{"a DaemonSet refused at admission, from its newest event, without the generated pod name", &appstackv1.Component{Name: "agent", Kind: appstackv1.KindDaemonSet},
			status.Observed{Workload: ds, Events: []corev1.Event{dsOlder, dsRefused}},
			appstackv1.PhaseProgressing, "FailedCreate", `DaemonSet agent cannot create pods: pods are forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`},
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

func TestWarningsOnReadyComponents(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := &appstackv1.Component{Name: "web", Replicas: ptr.To(int32(3)),
		Autoscaling: &appstackv1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10}}
	ready := deployment(2, 3, 3, 3, 3)
	hpa := func(reason, msg string) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: reason, Message: msg}}}}
	}
	noAPI := hpa("FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: "+
		"unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")
	noPodMetrics := hpa("FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API")
	created := metav1.NewTime(now.Add(-status.AddressGrace))
	young := metav1.NewTime(now.Add(-10 * time.Second))
	lb := func(at metav1.Time, addr ...string) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: at}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
		for _, a := range addr {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: a})
		}
		return s
	}
	ing := func(class string, at metav1.Time, addr ...string) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: at}}
		if class != "" {
			i.Spec.IngressClassName = ptr.To(class)
		}
		for _, a := range addr {
			i.Status.LoadBalancer.Ingress = append(i.Status.LoadBalancer.Ingress, networkingv1.IngressLoadBalancerIngress{IP: a})
		}
		return i
	}
	classes := func(name string) bool { return name == "nginx" }

	tests := []struct {
		name            string
		obs             status.Observed
		reason, message string
	}{
		{"no metrics API", status.Observed{Workload: ready, Autoscaler: noAPI, MetricsAPI: "APIService v1beta1.metrics.k8s.io does not exist"},
			"MetricsUnavailable", "HorizontalPodAutoscaler web cannot read CPU or memory: no metrics API answers (the resource metrics API, APIService v1beta1.metrics.k8s.io does not exist); install metrics-server — until then the replicas stay where they are (autoscaling.minReplicas 2 or what it last set)"},
		{"metrics API answers, pods not measured yet: no warning", status.Observed{Workload: ready, Autoscaler: noPodMetrics}, "", ""},
		{"load balancer within its grace", status.Observed{Workload: ready, Service: lb(young), Now: now}, "", ""},
		{"load balancer past its grace", status.Observed{Workload: ready, Service: lb(created), Now: now},
			"LoadBalancerPending", "Service web of type LoadBalancer has no address after 2m0s: no load-balancer controller in this cluster has served it"},
		{"load balancer with an address", status.Observed{Workload: ready, Service: lb(created, "192.0.2.10"), Now: now}, "", ""},
		{"ingress class that does not exist, at once", status.Observed{Workload: ready, Ingress: ing("nope", young), IngressClassExists: classes, Now: now},
			"IngressClassNotFound", `Ingress web names IngressClass "nope", which does not exist: no controller will serve it; set spec.components[web].ingress.className`},
		{"ingress of an existing class past its grace", status.Observed{Workload: ready, Ingress: ing("nginx", created), IngressClassExists: classes, Now: now},
			"IngressPending", `Ingress web has no address after 2m0s: no ingress controller in this cluster serves IngressClass "nginx"`},
		{"ingress served", status.Observed{Workload: ready, Ingress: ing("", created, "192.0.2.11"), IngressClassExists: classes, Now: now}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cs := status.Component(stack, c, tt.obs)
			g.Expect(cs.Phase).To(Equal(appstackv1.PhaseReady), "the pods serve: the component stays Ready")
			g.Expect(cs.Reason).To(Equal(tt.reason))
			g.Expect(cs.Message).To(HavePrefix(tt.message))
			sum := status.Summarize([]appstackv1.ComponentStatus{{Name: "db", Phase: appstackv1.PhaseReady}, cs})
			g.Expect(sum.Ready).To(Equal(2))
			if tt.reason == "" {
				g.Expect(sum.Reason).To(Equal("Ready"))
			} else {
				g.Expect(sum.Reason).To(Equal(tt.reason), "STATUS shows the warning")
				g.Expect(sum.Message).To(Equal("2/2 components ready; web: " + cs.Message))
			}
		})
	}

	g := NewWithT(t)
	failing := status.Summarize([]appstackv1.ComponentStatus{
		{Name: "web", Phase: appstackv1.PhaseReady, Reason: "MetricsUnavailable", Message: "m"},
		{Name: "db", Phase: appstackv1.PhaseProgressing, Reason: "ImagePullBackOff", Message: "p"}})
	g.Expect(failing.Reason).To(Equal("ImagePullBackOff"), "a component that is not Ready outranks a warning")

	g.Expect(status.Recheck(status.Observed{Service: lb(young), Ingress: ing("", metav1.NewTime(now.Add(-time.Minute))), Now: now})).
		To(Equal(status.AddressGrace-time.Minute), "the status is computed again when the first address grace ends")
	g.Expect(status.Recheck(status.Observed{Service: lb(created), Now: now})).To(BeZero())
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
