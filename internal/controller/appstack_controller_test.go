package controller

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

const (
	timeout  = 10 * time.Second
	interval = 100 * time.Millisecond
)

func webComponent(name string, replicas int32) appstackv1.Component {
	return appstackv1.Component{
		Name:     name,
		Replicas: ptr.To(replicas),
		Containers: []corev1.Container{
			{Name: "app", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}},
			{Name: "log-shipper", Image: "busybox"},
		},
	}
}

func newStack(name string, components ...appstackv1.Component) *appstackv1.AppStack {
	return &appstackv1.AppStack{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appstackv1.AppStackSpec{Components: components},
	}
}

func createStack(stack *appstackv1.AppStack) {
	GinkgoHelper()
	Expect(k8sClient.Create(ctx, stack)).To(Succeed())
	DeferCleanup(func() {
		Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, stack))).To(Succeed())
	})
}

func getStack(name string) *appstackv1.AppStack {
	GinkgoHelper()
	s := &appstackv1.AppStack{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, s)).To(Succeed())
	return s
}

func readyCondition(g Gomega, name string) *metav1.Condition {
	s := &appstackv1.AppStack{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, s)).To(Succeed())
	c := meta.FindStatusCondition(s.Status.Conditions, appstackv1.ConditionReady)
	g.Expect(c).NotTo(BeNil(), "stack %s has no Ready condition yet", name)
	return c
}

// rollOut writes the status a Deployment controller would write once every
// replica is updated, ready and available (there is no controller in envtest).
func rollOut(g Gomega, key client.ObjectKey) {
	d := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
	n := ptr.Deref(d.Spec.Replicas, 1)
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		},
	}
	g.Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
}

// createReadyStack creates a stack of one web Deployment (1 replica), rolls it out
// and waits until the stack is Ready; it returns the Deployment's key.
func createReadyStack(name string) client.ObjectKey {
	createStack(newStack(name, webComponent("web", 1)))
	key := client.ObjectKey{Namespace: name, Name: "web"}
	Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())
	Eventually(func(g Gomega) {
		g.Expect(readyCondition(g, name).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())
	return key
}

var _ = Describe("AppStack controller", func() {
	It("creates an owned namespace, a Deployment with sidecars and a ClusterIP Service", func() {
		stack := newStack("shop", webComponent("web", 3))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "shop-ns", Labels: map[string]string{"team": "web"}}
		createStack(stack)
		stack = getStack("shop")

		ns := &corev1.Namespace{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "shop-ns"}, ns)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Expect(ns.Annotations).To(HaveKeyWithValue(render.AnnotationStackUID, string(stack.UID)), "a namespace the operator creates carries the stack's UID")
		Expect(ns.OwnerReferences).To(BeEmpty(), "and no owner reference, through which a garbage collection could delete it")
		Eventually(func(g Gomega) {
			inv := getStack("shop").Status.Inventory
			g.Expect(inv).NotTo(BeEmpty())
			g.Expect(inv[0]).To(Equal(appstackv1.InventoryEntry{APIVersion: "v1", Kind: "Namespace", Name: "shop-ns", UID: ns.UID}))
		}, timeout, interval).Should(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("team", "web"))
		Expect(ns.Labels).To(HaveKeyWithValue(render.LabelStack, "shop"))

		d := &appsv1.Deployment{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "shop-ns", Name: "web"}, d)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Expect(metav1.IsControlledBy(d, stack)).To(BeTrue())
		Expect(*d.Spec.Replicas).To(Equal(int32(3)))
		Expect(d.Spec.Template.Spec.Containers).To(HaveLen(2))
		Expect(d.Spec.Selector.MatchLabels).To(Equal(map[string]string{render.LabelStack: "shop", render.LabelComponent: "web"}))
		Expect(d.Labels).To(HaveKeyWithValue(render.LabelManagedBy, render.ManagedBy))
		Expect(d.Labels).To(HaveKeyWithValue(render.LabelName, "web"))
		Expect(d.Labels).To(HaveKeyWithValue(render.LabelInstance, "shop"))

		svc := &corev1.Service{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "shop-ns", Name: "web"}, svc)).To(Succeed())
		}, timeout, interval).Should(Succeed())
		Expect(metav1.IsControlledBy(svc, stack)).To(BeTrue())
		Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		Expect(svc.Spec.Ports).To(ConsistOf(HaveField("Port", int32(80))))
		Expect(svc.Spec.Ports[0].TargetPort).To(Equal(intstr.FromInt32(80)))
		Expect(svc.Spec.Selector).To(Equal(d.Spec.Selector.MatchLabels))

		managers := make([]string, 0, len(d.ManagedFields))
		for _, mf := range d.ManagedFields {
			managers = append(managers, fmt.Sprintf("%s/%s", mf.Manager, mf.Operation))
		}
		Expect(managers).To(ContainElement("appstack-operator/Apply"), "children are applied server-side as appstack-operator")
	})

	It("reports progress, then Ready with observedGeneration once the Deployment has rolled out", func() {
		createStack(newStack("ready", webComponent("web", 2)))
		key := client.ObjectKey{Namespace: "ready", Name: "web"}

		Eventually(func(g Gomega) {
			c := readyCondition(g, "ready")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(string(appstackv1.PhaseProgressing)))
			g.Expect(c.Message).To(HavePrefix("web: "))
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) { rollOut(g, key) }, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			c := readyCondition(g, "ready")
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			s := getStack("ready")
			g.Expect(c.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(s.Status.Ready).To(Equal("1/1"))
			g.Expect(s.Status.Namespace).To(Equal("ready"))
			g.Expect(s.Status.Components).To(ConsistOf(And(
				HaveField("Name", "web"), HaveField("Phase", appstackv1.PhaseReady),
				HaveField("Replicas", int32(2)), HaveField("ReadyReplicas", int32(2)),
				HaveField("Service.URL", "web.ready.svc.cluster.local:80"),
			)))
		}, timeout, interval).Should(Succeed())
	})

	It("never reports a changed spec Ready before its Deployment has rolled it out", func() {
		createReadyStack("stale")

		// Watch every version of the stack from here on: a Ready written for the
		// new generation from a cache that still held the old, rolled-out
		// Deployment would show for a moment only.
		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		stack := getStack("stale")
		w, err := wc.Watch(ctx, &appstackv1.AppStackList{}, client.MatchingFields{"metadata.name": "stale"},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: stack.ResourceVersion}})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		stack.Spec.Components[0].Containers[0].Image = "nginx:1.28"
		Expect(k8sClient.Update(ctx, stack)).To(Succeed())
		gen := stack.Generation

		var seen []string
		deadline := time.After(3 * time.Second)
	watch:
		for {
			select {
			case ev := <-w.ResultChan():
				st, ok := ev.Object.(*appstackv1.AppStack)
				if !ok {
					continue
				}
				if c := meta.FindStatusCondition(st.Status.Conditions, appstackv1.ConditionReady); c != nil {
					seen = append(seen, fmt.Sprintf("gen %d: %s/%s", c.ObservedGeneration, c.Status, c.Reason))
					Expect(c.ObservedGeneration == gen && c.Status == metav1.ConditionTrue).To(BeFalse(),
						"Ready for generation %d while its Deployment has not rolled it out; statuses seen: %v", gen, seen)
				}
			case <-deadline:
				break watch
			}
		}
		Expect(seen).To(ContainElement(fmt.Sprintf("gen %d: False/Progressing", gen)), "the new generation is observed as progressing")
	})

	It("restores a deleted Deployment and reverts a hand-edited replica count", func() {
		createStack(newStack("drift", webComponent("web", 2)))
		key := client.ObjectKey{Namespace: "drift", Name: "web"}
		d := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, key, d) }, timeout, interval).Should(Succeed())
		oldUID := d.UID

		Expect(k8sClient.Delete(ctx, d)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(d.UID).NotTo(Equal(oldUID))
		}, timeout, interval).Should(Succeed())

		d.Spec.Replicas = ptr.To(int32(7))
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(2)))
		}, timeout, interval).Should(Succeed())
	})

	It("does not re-send unchanged objects once converged", func() {
		key := createReadyStack("quiet")

		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, key, svc)).To(Succeed())
		stackRV := getStack("quiet").ResourceVersion
		// A status-only change of the Deployment wakes the reconciler; it must
		// neither re-apply the children nor rewrite an unchanged stack status.
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Status.Conditions[0].Message = "touched by the test"
		Expect(k8sClient.Status().Update(ctx, d)).To(Succeed())
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		rv := d.ResourceVersion

		Consistently(func(g Gomega) {
			now := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, now)).To(Succeed())
			g.Expect(now.ResourceVersion).To(Equal(rv))
			nowSvc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, key, nowSvc)).To(Succeed())
			g.Expect(nowSvc.ResourceVersion).To(Equal(svc.ResourceVersion))
			g.Expect(getStack("quiet").ResourceVersion).To(Equal(stackRV))
		}, 2*time.Second, 200*time.Millisecond).Should(Succeed())
	})

	It("adopts an existing namespace only when both sides agree, without owning it", func() {
		existing := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "preexisting", Labels: map[string]string{"keep": "me"}}}
		Expect(k8sClient.Create(ctx, existing)).To(Succeed())
		stack := newStack("adopter", webComponent("web", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "preexisting", Adopt: true}
		createStack(stack)

		// The namespace's owner has not handed it over yet.
		Eventually(func(g Gomega) {
			cond := meta.FindStatusCondition(getStack("adopter").Status.Conditions, appstackv1.ConditionReady)
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal(appstackv1.ReasonNamespaceConflict))
			g.Expect(cond.Message).To(ContainSubstring("kubectl annotate namespace preexisting apps.appstack.dev/adopt=adopter"))
		}, timeout, interval).Should(Succeed())
		Consistently(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "preexisting", Name: "web"}, &appsv1.Deployment{})
		}, time.Second, interval).ShouldNot(Succeed(), "nothing is applied before the namespace's owner agrees")
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "preexisting"}, ns)).To(Succeed())
		Expect(ns.Labels).NotTo(HaveKey(render.LabelStack))
		ns.Annotations = map[string]string{appstackv1.AnnotationAdopt: "adopter"}
		Expect(k8sClient.Update(ctx, ns)).To(Succeed())

		Eventually(func(g Gomega) {
			ns := &corev1.Namespace{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "preexisting"}, ns)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelStack, "adopter"))
			g.Expect(ns.Labels).To(HaveKeyWithValue("keep", "me"))
			g.Expect(ns.OwnerReferences).To(BeEmpty(), "an adopted namespace is never owned, so it is never deleted with the stack")
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "preexisting", Name: "web"}, &appsv1.Deployment{})).To(Succeed())
		}, timeout, interval).Should(Succeed())
	})

	It("refuses a namespace that another stack owns and touches nothing", func() {
		first := newStack("owner", webComponent("web", 1))
		first.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "contested"}
		createStack(first)
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "contested", Name: "web"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())

		second := newStack("intruder", webComponent("api", 1))
		second.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "contested"}
		createStack(second)
		Eventually(func(g Gomega) {
			c := readyCondition(g, "intruder")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonNamespaceConflict))
			g.Expect(c.Message).To(ContainSubstring("namespace contested belongs to stack owner"))
		}, timeout, interval).Should(Succeed())
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: "contested", Name: "api"}, &appsv1.Deployment{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the conflicting stack must not create anything")
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "contested"}, ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue(render.LabelStack, "owner"))
	})

	It("prunes the workload and Service of a removed component", func() {
		createStack(newStack("prune", webComponent("web", 1), webComponent("api", 1)))
		apiKey := client.ObjectKey{Namespace: "prune", Name: "api"}
		Eventually(func() error { return k8sClient.Get(ctx, apiKey, &corev1.Service{}) }, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			s := getStack("prune")
			s.Spec.Components = s.Spec.Components[:1]
			g.Expect(k8sClient.Update(ctx, s)).To(Succeed())
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, apiKey, &appsv1.Deployment{}))).To(BeTrue())
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, apiKey, &corev1.Service{}))).To(BeTrue())
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "prune", Name: "web"}, &appsv1.Deployment{})).To(Succeed())
	})

	It("gives no Service to a component with service type None", func() {
		c := webComponent("web", 1)
		c.Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNone}
		createStack(newStack("nosvc", c))
		key := client.ObjectKey{Namespace: "nosvc", Name: "web"}
		Eventually(func() error { return k8sClient.Get(ctx, key, &appsv1.Deployment{}) }, timeout, interval).Should(Succeed())
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key, &corev1.Service{}))
		}, time.Second, interval).Should(BeTrue())
	})

	It("reports InvalidSpec, spelling out the cycle, and applies nothing for a dependency cycle", func() {
		a, b, c := webComponent("a", 1), webComponent("b", 1), webComponent("c", 1)
		a.DependsOn, b.DependsOn, c.DependsOn = []string{"b"}, []string{"c"}, []string{"a"}
		createStack(newStack("cycle", a, b, c))
		Eventually(func(g Gomega) {
			cond := readyCondition(g, "cycle")
			g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(cond.Reason).To(Equal(appstackv1.ReasonInvalidSpec))
			g.Expect(cond.Message).To(ContainSubstring("dependency cycle: a → b → c → a"))
		}, timeout, interval).Should(Succeed())
		err := k8sClient.Get(ctx, client.ObjectKey{Name: "cycle"}, &corev1.Namespace{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "nothing is applied for an invalid spec")
	})

	It("holds a workload back until its dependency is Ready, then injects <DEP>_HOST and <DEP>_PORT", func() {
		web := webComponent("web", 1)
		web.DependsOn = []string{"db"}
		createStack(newStack("deps", web, webComponent("db", 1)))
		webKey := client.ObjectKey{Namespace: "deps", Name: "web"}
		dbKey := client.ObjectKey{Namespace: "deps", Name: "db"}

		Eventually(func(g Gomega) {
			s := getStack("deps")
			g.Expect(s.Status.Components).To(ContainElement(And(
				HaveField("Name", "web"), HaveField("Phase", appstackv1.PhaseWaiting), HaveField("Message", "waiting for db"))))
		}, timeout, interval).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, webKey, &appsv1.Deployment{}))).To(BeTrue(), "web must wait for db")
		Expect(k8sClient.Get(ctx, webKey, &corev1.Service{})).To(Succeed(), "web's Service is applied at once")

		Eventually(func(g Gomega) { rollOut(g, dbKey) }, timeout, interval).Should(Succeed())
		d := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, webKey, d) }, timeout, interval).Should(Succeed())
		for _, c := range d.Spec.Template.Spec.Containers {
			Expect(c.Env).To(ContainElements(
				corev1.EnvVar{Name: "DB_HOST", Value: "db.deps.svc.cluster.local"},
				corev1.EnvVar{Name: "DB_PORT", Value: "80"},
			), "container %s", c.Name)
		}
	})

	It("applies nothing while paused and reports Suspended", func() {
		stack := newStack("paused", webComponent("web", 1))
		stack.Spec.Paused = true
		createStack(stack)
		Eventually(func(g Gomega) {
			c := readyCondition(g, "paused")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonSuspended))
			g.Expect(getStack("paused").Status.Components).To(ConsistOf(HaveField("Phase", appstackv1.PhaseSuspended)))
		}, timeout, interval).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Name: "paused"}, &corev1.Namespace{}))).To(BeTrue())
	})
})
