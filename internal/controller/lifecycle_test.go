package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func updateStack(name string, mutate func(*appstackv1.AppStack)) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		s := getStack(name)
		mutate(s)
		g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}

func gone(obj client.Object, key client.ObjectKey) func() bool {
	return func() bool { return apierrors.IsNotFound(k8sClient.Get(ctx, key, obj)) }
}

var _ = Describe("AppStack lifecycle", func() {
	It("prunes a removed component's Ingress, autoscaler and disruption budget, and replaces a changed kind", func() {
		web := webComponent("web", 0)
		web.Replicas = nil
		web.Ingress = &appstackv1.IngressSpec{Host: "shop.example.com"}
		web.Autoscaling = &appstackv1.AutoscalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To(int32(60))}
		web.PodDisruptionBudget = &appstackv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1))}
		createStack(newStack("prune-all", web, webComponent("api", 1)))
		key := client.ObjectKey{Namespace: "prune-all", Name: "web"}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, &networkingv1.Ingress{})).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{})).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key, &policyv1.PodDisruptionBudget{})).To(Succeed())
		}, timeout, interval).Should(Succeed())

		updateStack("prune-all", func(s *appstackv1.AppStack) {
			s.Spec.Components = s.Spec.Components[1:]
			s.Spec.Components[0].Kind = appstackv1.KindStatefulSet
		})
		Eventually(gone(&appsv1.Deployment{}, key), timeout, interval).Should(BeTrue())
		Eventually(gone(&networkingv1.Ingress{}, key), timeout, interval).Should(BeTrue())
		Eventually(gone(&autoscalingv2.HorizontalPodAutoscaler{}, key), timeout, interval).Should(BeTrue())
		Eventually(gone(&policyv1.PodDisruptionBudget{}, key), timeout, interval).Should(BeTrue())
		Eventually(gone(&corev1.Service{}, key), timeout, interval).Should(BeTrue())

		api := client.ObjectKey{Namespace: "prune-all", Name: "api"}
		Eventually(func() error { return k8sClient.Get(ctx, api, &appsv1.StatefulSet{}) }, timeout, interval).Should(Succeed())
		Eventually(gone(&appsv1.Deployment{}, api), timeout, interval).Should(BeTrue(), "the Deployment is replaced by the StatefulSet")
	})

	It("prunes nothing in a pass where an apply failed", func() {
		createStack(newStack("no-prune", webComponent("web", 1), webComponent("api", 1)))
		api := client.ObjectKey{Namespace: "no-prune", Name: "api"}
		Eventually(func() error { return k8sClient.Get(ctx, api, &appsv1.Deployment{}) }, timeout, interval).Should(Succeed())

		// api goes, and "broken" comes: a container without an image passes the
		// CRD schema but the apiserver refuses the Deployment.
		updateStack("no-prune", func(s *appstackv1.AppStack) {
			broken := webComponent("broken", 1)
			broken.Containers = []corev1.Container{{Name: "app"}}
			s.Spec.Components = []appstackv1.Component{s.Spec.Components[0], broken}
		})
		Eventually(func(g Gomega) {
			c := readyCondition(g, "no-prune")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonApplyFailed))
			g.Expect(c.Message).To(ContainSubstring("applying Deployment broken failed"))
			g.Expect(c.Message).To(ContainSubstring("image: Required value"))
		}, timeout, interval).Should(Succeed())
		Consistently(func() error { return k8sClient.Get(ctx, api, &appsv1.Deployment{}) }, 2*time.Second, interval).
			Should(Succeed(), "nothing may be pruned while an apply fails")

		updateStack("no-prune", func(s *appstackv1.AppStack) { s.Spec.Components[1].Containers[0].Image = "nginx" })
		Eventually(gone(&appsv1.Deployment{}, api), timeout, interval).Should(BeTrue(), "pruned once every apply succeeds")
	})

	It("keeps a retained claim through removal of its component and of its volume entry, re-adopts it, deletes an unretained one", func() {
		web := webComponent("web", 1)
		web.Volumes = []appstackv1.ComponentVolume{{Name: "data", PersistentVolume: "keep"}}
		web.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		stack := newStack("data", web, webComponent("api", 1))
		stack.Spec.Volumes = []appstackv1.StackVolume{
			{Name: "keep", Size: resource.MustParse("1Gi")},
			{Name: "scratch", Size: resource.MustParse("1Gi"), Retain: ptr.To(false)},
		}
		createStack(stack)
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "data", Name: "web"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())
		updateStack("data", func(s *appstackv1.AppStack) { s.Spec.Components = s.Spec.Components[1:] })
		Eventually(gone(&appsv1.Deployment{}, client.ObjectKey{Namespace: "data", Name: "web"}), timeout, interval).Should(BeTrue())
		keep := client.ObjectKey{Namespace: "data", Name: "keep"}
		scratch := client.ObjectKey{Namespace: "data", Name: "scratch"}
		pvc := &corev1.PersistentVolumeClaim{}
		Eventually(func() error { return k8sClient.Get(ctx, scratch, pvc) }, timeout, interval).Should(Succeed())
		Expect(metav1.IsControlledBy(pvc, getStack("data"))).To(BeTrue(), "an unretained claim is owned by the stack")
		Expect(k8sClient.Get(ctx, keep, pvc)).To(Succeed())
		Expect(pvc.OwnerReferences).To(BeEmpty(), "a retained claim is never owned, so no garbage collection can take it")
		uid := pvc.UID

		updateStack("data", func(s *appstackv1.AppStack) { s.Spec.Volumes = nil })
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, keep, pvc)).To(Succeed())
			g.Expect(pvc.Labels).To(HaveKeyWithValue(render.LabelRetained, "true"))
		}, timeout, interval).Should(Succeed())
		Eventually(func() bool {
			err := k8sClient.Get(ctx, scratch, pvc)
			return apierrors.IsNotFound(err) || (err == nil && pvc.DeletionTimestamp != nil)
		}, timeout, interval).Should(BeTrue(), "retain: false deletes the claim")

		updateStack("data", func(s *appstackv1.AppStack) {
			s.Spec.Volumes = []appstackv1.StackVolume{{Name: "keep", Size: resource.MustParse("1Gi")}}
		})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, keep, pvc)).To(Succeed())
			g.Expect(pvc.UID).To(Equal(uid), "the same claim, with its data")
			g.Expect(pvc.Labels).NotTo(HaveKey(render.LabelRetained))
		}, timeout, interval).Should(Succeed())
	})

	// Growing a claim needs a bound claim and an expandable class: the e2e suite
	// shows it on the local cluster.
	It("refuses to shrink a claim or change its class, changing nothing", func() {
		stack := newStack("resize", webComponent("web", 1))
		stack.Spec.Volumes = []appstackv1.StackVolume{{Name: "data", Size: resource.MustParse("2Gi")}}
		createStack(stack)
		key := client.ObjectKey{Namespace: "resize", Name: "data"}
		Eventually(func() error { return k8sClient.Get(ctx, key, &corev1.PersistentVolumeClaim{}) }, timeout, interval).Should(Succeed())

		updateStack("resize", func(s *appstackv1.AppStack) {
			s.Spec.Volumes[0].Size = resource.MustParse("1Gi")
			s.Spec.Volumes[0].StorageClassName = ptr.To("fast")
			s.Spec.Components[0].Replicas = ptr.To(int32(5))
		})
		Eventually(func(g Gomega) {
			c := readyCondition(g, "resize")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonUnsafeChange))
			g.Expect(c.Message).To(ContainSubstring("spec.volumes[0].size: Forbidden: claim data cannot shrink from 2Gi to 1Gi"))
			g.Expect(c.Message).To(ContainSubstring("spec.volumes[0].storageClassName: Forbidden: claim data is of class"))
		}, timeout, interval).Should(Succeed())
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "resize", Name: "web"}, d)).To(Succeed())
		Expect(*d.Spec.Replicas).To(Equal(int32(1)), "a refused pass changes nothing, not even the safe parts")
	})

	It("refuses to change a StatefulSet's claim templates", func() {
		db := webComponent("db", 1)
		db.Kind = appstackv1.KindStatefulSet
		db.VolumeClaimTemplates = []appstackv1.VolumeClaimTemplate{{Name: "data", Size: resource.MustParse("1Gi")}}
		createStack(newStack("vct", db))
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "vct", Name: "db"}, &appsv1.StatefulSet{})
		}, timeout, interval).Should(Succeed())
		updateStack("vct", func(s *appstackv1.AppStack) {
			s.Spec.Components[0].VolumeClaimTemplates[0].Size = resource.MustParse("5Gi")
		})
		Eventually(func(g Gomega) {
			c := readyCondition(g, "vct")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonUnsafeChange))
			g.Expect(c.Message).To(ContainSubstring("spec.components[0].volumeClaimTemplates: Forbidden: StatefulSet db keeps its claim templates for life"))
		}, timeout, interval).Should(Succeed())
	})

	It("records a revision per generation, renumbers a rolled-back spec, and keeps revisionHistoryLimit", func() {
		stack := newStack("revs", webComponent("web", 1))
		stack.Spec.RevisionHistoryLimit = ptr.To(int32(2))
		createStack(stack)
		revisions := func(g Gomega) map[int64]string {
			list := &appsv1.ControllerRevisionList{}
			g.Expect(k8sClient.List(ctx, list, client.InNamespace("revs"), client.MatchingLabels{render.LabelStack: "revs"})).To(Succeed())
			out := map[int64]string{}
			for _, r := range list.Items {
				out[r.Revision] = r.Labels[render.LabelSpecHash]
			}
			return out
		}
		Eventually(func(g Gomega) {
			g.Expect(revisions(g)).To(HaveLen(1))
			g.Expect(getStack("revs").Status.Revision).To(Equal(int64(1)))
		}, timeout, interval).Should(Succeed())
		first := getStack("revs").Spec.DeepCopy()

		for i, image := range []string{"nginx:1.25", "nginx:1.26"} {
			updateStack("revs", func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = image })
			Eventually(func(g Gomega) {
				g.Expect(getStack("revs").Status.Revision).To(Equal(int64(i + 2)))
			}, timeout, interval).Should(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(revisions(g)).To(HaveLen(2), "revisionHistoryLimit 2 keeps the newest two")
			g.Expect(revisions(g)).To(HaveKey(int64(3)))
		}, timeout, interval).Should(Succeed())

		updateStack("revs", func(s *appstackv1.AppStack) { s.Spec = *first })
		Eventually(func(g Gomega) {
			s := getStack("revs")
			g.Expect(s.Status.Revision).To(Equal(int64(4)), "status: %+v", s.Status.Conditions)
			g.Expect(revisions(g)).To(HaveLen(2))
		}, timeout, interval).Should(Succeed())
	})

	It("deletes dependents first, keeps retained claims and their namespace, and then lets the stack go", func() {
		web := webComponent("web", 1)
		web.DependsOn = []string{"db"}
		stack := newStack("teardown", web, webComponent("db", 1))
		stack.Spec.Volumes = []appstackv1.StackVolume{{Name: "db-data", Size: resource.MustParse("1Gi")}}
		createStack(stack)
		webKey := client.ObjectKey{Namespace: "teardown", Name: "web"}
		dbKey := client.ObjectKey{Namespace: "teardown", Name: "db"}
		Eventually(func(g Gomega) { rollOut(g, dbKey) }, timeout, interval).Should(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, webKey, &appsv1.Deployment{}) }, timeout, interval).Should(Succeed())
		Expect(getStack("teardown").Finalizers).To(ContainElement(appstackv1.Finalizer))

		// Hold web's deletion with a finalizer of our own, to watch the order.
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, webKey, d)).To(Succeed())
		d.Finalizers = append(d.Finalizers, "test.appstack.dev/hold")
		Expect(k8sClient.Update(ctx, d)).To(Succeed())

		Expect(k8sClient.Delete(ctx, getStack("teardown"))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, webKey, d)).To(Succeed())
			g.Expect(d.DeletionTimestamp).NotTo(BeNil())
		}, timeout, interval).Should(Succeed())
		Consistently(func() error { return k8sClient.Get(ctx, dbKey, &appsv1.Deployment{}) }, 2*time.Second, interval).
			Should(Succeed(), "db must outlive web, which depends on it")

		d.Finalizers = nil
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(gone(&appsv1.Deployment{}, dbKey), timeout, interval).Should(BeTrue())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "teardown"}), timeout, interval).Should(BeTrue())

		pvc := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "teardown", Name: "db-data"}, pvc)).To(Succeed())
		Expect(pvc.DeletionTimestamp).To(BeNil())
		Expect(pvc.Labels).To(HaveKeyWithValue(render.LabelRetained, "true"))
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "teardown"}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).To(BeNil(), "a namespace holding retained claims is kept")
		Expect(ns.OwnerReferences).To(BeEmpty(), "and no longer owned, so garbage collection cannot take it")
	})
})
