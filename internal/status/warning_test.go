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
