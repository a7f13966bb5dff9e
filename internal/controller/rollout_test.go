package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// failRollout writes the status a Deployment controller writes when a rollout
// passes its progress deadline (there is no controller in envtest).
func failRollout(g Gomega, key client.ObjectKey) {
	d := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
				Message: `ReplicaSet "web-abc" has timed out progressing.`},
		},
	}
	g.Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
}

func image(g Gomega, key client.ObjectKey) string {
	d := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
	return d.Spec.Template.Spec.Containers[0].Image
}

var _ = Describe("automatic rollback", func() {
	It("runs the last Ready revision's workload after failAfter, keeps it, and rolls forward on a new spec", func() {
		const name = "auto-rb"
		stack := newStack(name, webComponent("web", 1))
		stack.Spec.Rollout = &appstackv1.RolloutSpec{AutoRollback: true, FailAfter: &metav1.Duration{Duration: time.Second}}
		createStack(stack)
		key := client.ObjectKey{Namespace: name, Name: "web"}
		Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, name).Status).To(Equal(metav1.ConditionTrue))
		}, timeout, interval).Should(Succeed())
		Expect(getStack(name).Status.ReadyRevision).To(BeZero(), "Ready at its first revision: derived, not written")

		updateStack(name, func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:broken" })
		Eventually(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:broken")) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) { failRollout(g, key) }, timeout, interval).Should(Succeed())

		By("the failing revision is rolled back, the spec is not")
		Eventually(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:1.27")) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			c := readyCondition(g, name)
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonRolledBack))
			g.Expect(c.Message).To(HavePrefix("revision 2 failed (web: Deployment web made no progress for 600s (progressDeadlineSeconds)), so the workloads run revision 1 again"))
		}, timeout, interval).Should(Succeed())
		s := getStack(name)
		Expect(s.Spec.Components[0].Containers[0].Image).To(Equal("nginx:broken"))
		Expect(s.Status.Revision).To(Equal(int64(2)))
		Expect(s.Status.ReadyRevision).To(Equal(int64(1)))
		Expect(s.Status.Rollback).NotTo(BeNil())
		Expect(*s.Status.Rollback).To(MatchFields(IgnoreExtras, Fields{
			"FailedRevision": Equal(int64(2)), "Revision": Equal(int64(1)), "Reason": Equal("ProgressDeadlineExceeded"),
		}))
		cr := &appsv1.ControllerRevisionList{}
		Expect(k8sClient.List(ctx, cr, client.InNamespace(name), client.HasLabels{render.LabelSpecHash})).To(Succeed())
		marked := map[int64]bool{}
		for _, r := range cr.Items {
			_, marked[r.Revision] = r.Annotations[render.AnnotationRolledBack]
		}
		Expect(marked).To(Equal(map[int64]bool{1: false, 2: true}))

		By("drift is corrected towards the revision rolled back to")
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Spec.Template.Spec.Containers[0].Image = "nginx:by-hand"
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:1.27")) }, timeout, interval).Should(Succeed())

		By("a new spec rolls forward")
		updateStack(name, func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:fixed" })
		Eventually(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:fixed")) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			s := getStack(name)
			g.Expect(s.Status.Rollback).To(BeNil())
			g.Expect(s.Status.Revision).To(Equal(int64(3)))
			g.Expect(s.Status.ReadyRevision).To(Equal(int64(3)))
			g.Expect(readyCondition(g, name).Status).To(Equal(metav1.ConditionTrue))
		}, timeout, interval).Should(Succeed())
	})

	It("leaves a failing revision alone without the option, naming the cause", func() {
		const name = "no-auto-rb"
		key := createReadyStack(name)
		updateStack(name, func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:broken" })
		Eventually(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:broken")) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) { failRollout(g, key) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, name).Reason).To(Equal("ProgressDeadlineExceeded"))
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(image(g, key)).To(Equal("nginx:broken")) }, 3*time.Second, interval).Should(Succeed())
		Expect(getStack(name).Status.Rollback).To(BeNil())
	})
})
