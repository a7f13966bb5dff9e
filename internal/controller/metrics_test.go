package controller

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// value is a counter's or a gauge's value.
func value(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		panic(err)
	}
	if c := out.GetCounter(); c != nil {
		return c.GetValue()
	}
	return out.GetGauge().GetValue()
}

func drift(kind string) float64 { return value(driftCorrections.WithLabelValues(kind)) }

func passErrors(reason string) float64 {
	return value(reconcileErrors.WithLabelValues(reason))
}

// readyObservations is how many times to Ready were observed for change.
func readyObservations(change string) uint64 {
	m := &dto.Metric{}
	Expect(timeToReady.WithLabelValues(change).(prometheus.Histogram).Write(m)).To(Succeed())
	return m.GetHistogram().GetSampleCount()
}

// hasStackSeries tells whether any per-stack series of stack is served.
func hasStackSeries(stack string) bool {
	GinkgoHelper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range []prometheus.Collector{componentsReady, componentsTotal, stackReady, stackPaused, rollbacksTotal} {
		Expect(reg.Register(c)).To(Succeed())
	}
	families, err := reg.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stack" && l.GetValue() == stack {
					return true
				}
			}
		}
	}
	return false
}

var _ = Describe("Metrics", func() {
	It("counts a deleted or edited child as a drift correction of its kind, and a spec change not", func() {
		key := createReadyStack("drift-metrics")
		services, deployments := drift("Service"), drift("Deployment")

		By("deleting the Service by hand")
		Expect(k8sClient.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})).
			To(Succeed())
		Eventually(func() float64 { return drift("Service") }, timeout, interval).Should(Equal(services + 1))
		Expect(k8sClient.Get(ctx, key, &corev1.Service{})).To(Succeed(), "the Service is back")

		By("scaling the Deployment by hand")
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			d.Spec.Replicas = ptr.To(int32(5))
			g.Expect(k8sClient.Update(ctx, d)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return drift("Deployment") }, timeout, interval).Should(Equal(deployments + 1))
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(1)))
		}, timeout, interval).Should(Succeed())

		By("changing the image in the spec")
		updates := readyObservations("update")
		updateStack("drift-metrics", func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Containers[0].Image = "nginx:1.28"
		})
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("nginx:1.28"))
		}, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return value(stackReady.WithLabelValues("drift-metrics")) },
			timeout, interval).Should(BeZero(), "generation 2 is not rolled out yet")
		Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())
		Eventually(func() float64 { return value(stackReady.WithLabelValues("drift-metrics")) },
			timeout, interval).Should(Equal(1.0))
		Expect(readyObservations("update")).To(Equal(updates+1), "generation 2 was Ready once")
		Expect(drift("Deployment")).To(Equal(deployments+1), "a spec change is not drift")
		Expect(drift("Service")).To(Equal(services + 1))

		By("deleting the stack")
		Expect(hasStackSeries("drift-metrics")).To(BeTrue())
		Expect(k8sClient.Delete(ctx, getStack("drift-metrics"))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "drift-metrics"}), timeout, interval).Should(BeTrue())
		Expect(hasStackSeries("drift-metrics")).To(BeFalse(), "a deleted stack's series are forgotten")
	})

	It("serves a paused stack as paused and not Ready, which AppStackNotReady leaves out", func() {
		stack := newStack("paused-metrics", webComponent("web", 1))
		stack.Spec.Paused = true
		createStack(stack)
		Eventually(func() float64 { return value(stackPaused.WithLabelValues("paused-metrics")) },
			timeout, interval).Should(Equal(1.0))
		Expect(value(stackReady.WithLabelValues("paused-metrics"))).To(BeZero())
		updateStack("paused-metrics", func(s *appstackv1.AppStack) { s.Spec.Paused = false })
		Eventually(func() float64 { return value(stackPaused.WithLabelValues("paused-metrics")) },
			timeout, interval).Should(BeZero())
	})

	It("counts a refused apply as an apply_failed reconcile error", func() {
		before := passErrors(status.ErrApplyFailed)
		broken := webComponent("broken", 1)
		broken.Containers = []corev1.Container{{Name: "app"}} // no image: the apiserver refuses the Deployment
		createStack(newStack("errors-metrics", broken))
		Eventually(func() float64 { return passErrors(status.ErrApplyFailed) }, timeout, interval).Should(BeNumerically(">", before))
		Eventually(func() float64 { return value(stackReady.WithLabelValues("errors-metrics")) },
			timeout, interval).Should(BeZero())
	})
})

func TestReadyClock(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newReadyClock(func() time.Time { return now })
	stack := &appstackv1.AppStack{ObjectMeta: metav1.ObjectMeta{Name: "clock-test", UID: "u1", Generation: 1}}
	ready := func(generation int64) {
		stack.Status.Conditions = []metav1.Condition{{Type: appstackv1.ConditionReady, Status: metav1.ConditionTrue,
			Reason: appstackv1.ReasonReady, ObservedGeneration: generation}}
	}
	sum := func(change string) (uint64, float64) {
		m := &dto.Metric{}
		if err := timeToReady.WithLabelValues(change).(prometheus.Histogram).Write(m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	creates, createSum := sum("create")
	updates, updateSum := sum("update")

	c.see(stack)
	now = now.Add(30 * time.Second)
	c.see(stack) // a later pass of the same generation does not restart the clock
	now = now.Add(12 * time.Second)
	c.record(stack) // not Ready yet
	ready(1)
	c.record(stack)
	c.record(stack) // Ready again in a later pass: observed once
	if n, s := sum("create"); n != creates+1 || s-createSum != 42 {
		t.Errorf("create: %d observations summing %v more, want 1 of 42 s", n-creates, s-createSum)
	}

	stack.Generation = 2
	c.see(stack)
	now = now.Add(5 * time.Second)
	c.record(stack) // Ready for generation 1 is not Ready for 2
	ready(2)
	now = now.Add(5 * time.Second)
	c.record(stack)
	if n, s := sum("update"); n != updates+1 || s-updateSum != 10 {
		t.Errorf("update: %d observations summing %v more, want 1 of 10 s", n-updates, s-updateSum)
	}

	// A process that first sees a stack already Ready (a restart) times nothing.
	restarted := newReadyClock(c.now)
	restarted.see(stack)
	restarted.record(stack)
	if n, _ := sum("update"); n != updates+1 {
		t.Errorf("a stack Ready before the restart was observed again: %d observations", n-updates)
	}
	forgetStack("clock-test")
}
