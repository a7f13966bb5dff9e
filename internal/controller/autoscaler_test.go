package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

var _ = Describe("An autoscaler that cannot compute a replica count", func() {
	It("is named once its grace has passed, with its own reason, as one Warning event, and its retries rewrite nothing", func() {
		const name = "hpa-warn"
		web := webComponent("web", 0)
		web.Replicas = nil
		web.Autoscaling = &appstackv1.AutoscalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To(int32(50))}
		createStack(newStack(name, web))
		key := client.ObjectKey{Namespace: name, Name: "web"}
		Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, name).Reason).To(Equal(appstackv1.ReasonReady))
		}, timeout, interval).Should(Succeed())

		// There is no autoscaler controller in envtest: its status is written here,
		// as the Kubernetes HPA controller would on kwok nodes (no metrics for the
		// pods), having turned ScalingActive False a few seconds short of the grace.
		scaling := func(st corev1.ConditionStatus, reason, msg string, since time.Time) {
			GinkgoHelper()
			Eventually(func(g Gomega) {
				hpa := &autoscalingv2.HorizontalPodAutoscaler{}
				g.Expect(k8sClient.Get(ctx, key, hpa)).To(Succeed())
				hpa.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 1, DesiredReplicas: 1,
					Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive,
						Status: st, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(since)}}}
				g.Expect(k8sClient.Status().Update(ctx, hpa)).To(Succeed())
			}, timeout, interval).Should(Succeed())
		}
		const failed = "the HPA was unable to compute the replica count: failed to get cpu utilization: "
		start := time.Now()
		since := start.Add(-status.AutoscalerGrace + 5*time.Second)
		scaling(corev1.ConditionFalse, "FailedGetResourceMetric", failed+"unable to get metrics for resource cpu: no metrics returned from resource metrics API", since)
		Consistently(func(g Gomega) {
			g.Expect(readyCondition(g, name).Reason).To(Equal(appstackv1.ReasonReady), "within the grace: a rollout's pods wait for their first metrics")
		}, 3*time.Second, interval).Should(Succeed())
		// Nothing on the cluster changes when the grace ends: the pass comes from
		// status.Recheck.
		Eventually(func(g Gomega) {
			cond := readyCondition(g, name)
			g.Expect(cond.Status).To(Equal(metav1.ConditionTrue), "the pods serve: the stack stays Ready")
			g.Expect(cond.Reason).To(Equal("FailedGetResourceMetric"))
			g.Expect(cond.Message).To(ContainSubstring("web: HorizontalPodAutoscaler web has not computed a replica count for over 3m0s: " +
				"failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API"))
		}, timeout, interval).Should(Succeed())
		GinkgoWriter.Printf("autoscaler named %s after its condition was written (grace left then: 5 s, at 1 s resolution)\n",
			time.Since(start).Round(100*time.Millisecond))

		events := func(g Gomega) []string {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace("default"))).To(Succeed())
			var got []string
			for _, e := range list.Items {
				if e.Regarding.Name == name {
					got = append(got, e.Type+" "+e.Reason)
				}
			}
			return got
		}
		Eventually(events, timeout, interval).Should(Equal([]string{"Warning FailedGetResourceMetric"}))

		// The autoscaler retries and names another pod each time: the stack's status
		// is not rewritten, and no new event is recorded.
		scaling(corev1.ConditionFalse, "FailedGetResourceMetric", failed+"missing request for cpu in container app of Pod web-7c5d9b8f4-x2b9q", since)
		var version string
		Eventually(func(g Gomega) {
			s := &appstackv1.AppStack{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, s)).To(Succeed())
			g.Expect(s.Status.Components[0].Message).To(ContainSubstring("missing request for cpu in container app of a pod; " +
				"its target is a percentage of the pods' requests: set spec.components[web].containers[app].resources.requests.cpu"))
			version = s.ResourceVersion
		}, timeout, interval).Should(Succeed())
		scaling(corev1.ConditionFalse, "FailedGetResourceMetric", failed+"missing request for cpu in container app of Pod web-59f6d7c8b-kq4zt", since)
		Consistently(func(g Gomega) {
			g.Expect(getStack(name).ResourceVersion).To(Equal(version))
			g.Expect(events(g)).To(Equal([]string{"Warning FailedGetResourceMetric"}))
		}, 3*time.Second, interval).Should(Succeed())

		// It scales again: the stack is Ready again, said once.
		scaling(corev1.ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", time.Now())
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, name).Reason).To(Equal(appstackv1.ReasonReady))
			g.Expect(events(g)).To(ConsistOf("Warning FailedGetResourceMetric", "Normal ComponentReady"))
		}, timeout, interval).Should(Succeed())
	})
})
