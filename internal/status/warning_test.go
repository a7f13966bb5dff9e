package status_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

func TestWarningsOnReadyComponents(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := &appstackv1.Component{Name: "web", Replicas: ptr.To(int32(3)),
		Autoscaling: &appstackv1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10}}
	ready := deployment(2, 3, 3, 3, 3)
	hpa := func(reason, msg string) *autoscalingv2.HorizontalPodAutoscaler {
		return scalingActive(corev1.ConditionFalse, reason, msg, now.Add(-10*time.Second))
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
		{"no metrics API", status.Observed{Workload: ready, Autoscaler: noAPI, MetricsAPI: "APIService v1beta1.metrics.k8s.io does not exist", Now: now},
			"MetricsUnavailable", "HorizontalPodAutoscaler web cannot read CPU or memory: no metrics API answers (the resource metrics API, APIService v1beta1.metrics.k8s.io does not exist); install metrics-server — until then the replicas stay where they are (autoscaling.minReplicas 2 or what it last set)"},
		{"metrics API answers, pods not measured yet: no warning", status.Observed{Workload: ready, Autoscaler: noPodMetrics, Now: now}, "", ""},
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

// scalingActive is an autoscaler named web whose ScalingActive condition is as
// given, last changed at since.
func scalingActive(st corev1.ConditionStatus, reason, msg string, since time.Time) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Status: autoscalingv2.HorizontalPodAutoscalerStatus{
		Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", LastTransitionTime: metav1.NewTime(since.Add(-time.Hour))},
			{Type: autoscalingv2.ScalingActive, Status: st, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(since)}}}}
}

// TestAutoscalerInactive: an autoscaler that cannot compute a replica count is
// named once AutoscalerGrace has passed since its ScalingActive condition turned
// False — not while a rollout's new pods wait for their first metrics — with the
// autoscaler's own reason, and the status is computed again when the grace ends.
func TestAutoscalerInactive(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := &appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "app"}},
		Autoscaling: &appstackv1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10}}
	const failed = "the HPA was unable to compute the replica count: failed to get cpu utilization: "
	unready := failed + "did not receive metrics for targeted pods (pods might be unready)"
	kwok := failed + "unable to get metrics for resource cpu: no metrics returned from resource metrics API"
	noRequests := failed + "missing request for cpu in container app of Pod web-7c5d9b8f4-x2b9q"
	noAPI := failed + "unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: " +
		"the server could not find the requested resource (get pods.metrics.k8s.io)"
	past, within := now.Add(-status.AutoscalerGrace), now.Add(-70*time.Second)
	const stays = " — until then the replicas stay where they are (autoscaling.minReplicas 2 or what it last set); " +
		"kubectl describe hpa web -n shop shows its events"

	tests := []struct {
		name            string
		hpa             *autoscalingv2.HorizontalPodAutoscaler
		metricsAPI      string
		reason, message string
		recheck         time.Duration
	}{
		{name: "a rollout's pods without metrics yet, within the grace", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", unready, within),
			recheck: status.AutoscalerGrace - 70*time.Second},
		{name: "no metrics for the pods within the grace", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", kwok, now.Add(-time.Second)),
			recheck: status.AutoscalerGrace - time.Second},
		{name: "no metrics for the pods past the grace (kwok nodes)", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", kwok, past),
			reason: "FailedGetResourceMetric", message: "HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: " +
				"failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API; " +
				"metrics-server has no metrics for the component's pods: it cannot scrape the kubelets of their nodes " +
				"(simulated nodes, such as kwok's, have none; kubectl top pods -n shop -l apps.appstack.dev/component=web shows what it has)" + stays},
		{name: "pods not measured since a rollout, past the grace", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", unready, past.Add(-time.Hour)),
			reason: "FailedGetResourceMetric", message: "HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: " +
				"failed to get cpu utilization: did not receive metrics for targeted pods (pods might be unready); metrics-server has no metrics"},
		{name: "pods without requests past the grace", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", noRequests, past),
			reason: "FailedGetResourceMetric", message: "HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: " +
				"failed to get cpu utilization: missing request for cpu in container app of a pod; its target is a percentage of the pods' " +
				"requests: set spec.components[web].containers[app].resources.requests.cpu" + stays},
		{name: "a pods metric past the grace", hpa: scalingActive(corev1.ConditionFalse, "FailedGetPodsMetric",
			"the HPA was unable to compute the replica count: unable to get metric http_requests: no metrics returned from custom metrics API", past),
			reason: "FailedGetPodsMetric", message: "HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: " +
				"unable to get metric http_requests: no metrics returned from custom metrics API" + stays},
		{name: "a selector it cannot use", hpa: scalingActive(corev1.ConditionFalse, "InvalidSelector", "the HPA target's scale is missing a selector", past),
			reason: "InvalidSelector", message: "HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: the HPA target's scale is missing a selector" + stays},
		{name: "scaling active", hpa: scalingActive(corev1.ConditionTrue, "ValidMetricFound",
			"the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", past)},
		{name: "scaled to zero on purpose", hpa: scalingActive(corev1.ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero", past)},
		{name: "no metrics API at all: MetricsUnavailable at once, as before", hpa: scalingActive(corev1.ConditionFalse, "FailedGetResourceMetric", noAPI, now),
			metricsAPI: "APIService v1beta1.metrics.k8s.io does not exist", reason: "MetricsUnavailable",
			message: "HorizontalPodAutoscaler web cannot read CPU or memory: no metrics API answers (the resource metrics API, APIService " +
				"v1beta1.metrics.k8s.io does not exist); install metrics-server — until then the replicas stay where they are (autoscaling.minReplicas 2 or what it last set)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			obs := status.Observed{Workload: deployment(2, 2, 2, 2, 2), Autoscaler: tt.hpa, MetricsAPI: tt.metricsAPI, Now: now}
			cs := status.Component(stack, c, obs)
			g.Expect(cs.Phase).To(Equal(appstackv1.PhaseReady), "the pods serve: the component stays Ready")
			g.Expect(cs.Reason).To(Equal(tt.reason))
			g.Expect(cs.Message).To(HavePrefix(tt.message))
			if tt.reason == "MetricsUnavailable" {
				g.Expect(cs.Message).To(Equal(tt.message), "the wording of MetricsUnavailable is kept")
			}
			g.Expect(status.Recheck(obs)).To(Equal(tt.recheck), "the status is computed again when the grace ends")
			sum := status.Summarize([]appstackv1.ComponentStatus{cs})
			if tt.reason != "" {
				g.Expect(sum.Reason).To(Equal(tt.reason), "STATUS shows the autoscaler's reason")
			}
		})
	}
}

// TestAutoscalerMessageIsStable: what changes from one attempt of the autoscaler to
// the next (the pod it looked at, an address, the order of a list) does not change
// the stack's status, which would otherwise be rewritten at every attempt.
func TestAutoscalerMessageIsStable(t *testing.T) {
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := &appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "app"}}, Autoscaling: &appstackv1.AutoscalingSpec{MaxReplicas: 3}}
	since := now.Add(-time.Hour)
	pairs := []struct{ reason, a, b, want string }{
		{"FailedGetResourceMetric",
			"the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod web-7c5d9b8f4-x2b9q",
			"the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container app of Pod web-59f6d7c8b-kq4zt",
			"missing request for cpu in container app of a pod"},
		{"FailedGetObjectMetric",
			`the HPA was unable to compute the replica count: unable to get metric queue_depth: Get "https://10.96.14.2:443/apis": dial tcp 10.96.14.2:443: connect: connection refused on Service shop/queue`,
			`the HPA was unable to compute the replica count: unable to get metric queue_depth: Get "https://10.96.201.7:443/apis": dial tcp 10.96.201.7:443: connect: connection refused on Service shop/queue`,
			`unable to get metric queue_depth: Get "https://<address>/apis": dial tcp <address>: connect: connection refused on Service shop/queue`},
		{"AmbiguousSelector",
			"pods by selector app=web are controlled by multiple HPAs: [shop/web shop/web-copy]",
			"pods by selector app=web are controlled by multiple HPAs: [shop/web-copy shop/web]",
			"pods by selector app=web are controlled by multiple HPAs: [shop/web shop/web-copy]"},
	}
	for _, p := range pairs {
		g := NewWithT(t)
		a := status.Component(stack, c, status.Observed{Workload: deployment(2, 1, 1, 1, 1), Autoscaler: scalingActive(corev1.ConditionFalse, p.reason, p.a, since), Now: now})
		b := status.Component(stack, c, status.Observed{Workload: deployment(2, 1, 1, 1, 1), Autoscaler: scalingActive(corev1.ConditionFalse, p.reason, p.b, since), Now: now})
		g.Expect(a.Reason).To(Equal(p.reason))
		g.Expect(a.Message).To(ContainSubstring(p.want))
		g.Expect(b).To(Equal(a), "the two messages differ only in what changes between attempts")
	}
}
