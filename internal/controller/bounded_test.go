package controller

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// What authors and tenants can make the operator hold and do (docs/ownership.md,
// "What others can make the operator hold").
var _ = Describe("bounded cost", func() {
	It("caches as stubs objects whose owner reference names an AppStack by a UID no stack has", func() {
		owner := newStack("lookalike-owner", webComponent("web", 1))
		createStack(owner)
		Eventually(func(g Gomega) { g.Expect(getStack(owner.Name).UID).NotTo(BeEmpty()) }, timeout, interval).Should(Succeed())
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "lookalikes"}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		blob := strings.Repeat("x", 1<<20)
		for i, uid := range []types.UID{uuid.NewUUID(), uuid.NewUUID(), getStack(owner.Name).UID} {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("big-%d", i), Namespace: ns.Name,
				Labels: map[string]string{render.LabelManagedBy: render.ManagedBy, render.LabelStack: owner.Name},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: appstackv1.GroupVersion.String(), Kind: "AppStack",
					Name: owner.Name, UID: uid, Controller: ptr.To(true)}}},
				Data: map[string]string{"blob": blob}}
			Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		}
		for i, whole := range []bool{false, false, true} {
			Eventually(func(g Gomega) {
				cm := &corev1.ConfigMap{}
				g.Expect(mgrCache.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: fmt.Sprintf("big-%d", i)}, cm)).To(Succeed())
				if whole {
					g.Expect(cm.Data).To(HaveKey("blob"), "an object the stack controls by its UID is cached whole")
				} else {
					g.Expect(cm.Data).To(BeEmpty(), "a made-up UID in an AppStack owner reference makes nothing the stack's")
				}
			}, timeout, interval).Should(Succeed())
		}
	})

	It("caches the stack's revisions without the spec they record", func() {
		const name = "big-revs"
		stack := newStack(name, webComponent("web", 1))
		stack.Spec.RevisionHistoryLimit = ptr.To(int32(100))
		stack.Spec.Configs = []appstackv1.Config{{Name: "big", Data: map[string]string{"v": "0", "blob": strings.Repeat("x", 200<<10)}}}
		createStack(stack)
		for v := 1; v <= 3; v++ {
			Eventually(func(g Gomega) { g.Expect(getStack(name).Status.Revision).To(BeEquivalentTo(v)) }, timeout, interval).Should(Succeed())
			updateStack(name, func(s *appstackv1.AppStack) { s.Spec.Configs[0].Data["v"] = fmt.Sprint(v) })
		}
		Eventually(func(g Gomega) { g.Expect(getStack(name).Status.Revision).To(BeEquivalentTo(4)) }, timeout, interval).Should(Succeed())

		onCluster := &appsv1.ControllerRevisionList{}
		Expect(k8sClient.List(ctx, onCluster, client.InNamespace(name), client.HasLabels{render.LabelSpecHash})).To(Succeed())
		Expect(onCluster.Items).To(HaveLen(4))
		for _, cr := range onCluster.Items {
			Expect(len(cr.Data.Raw)).To(BeNumerically(">", 200<<10), "each revision records the whole spec")
		}
		cached := &appsv1.ControllerRevisionList{}
		Expect(mgrCache.List(ctx, cached, client.InNamespace(name), client.HasLabels{render.LabelSpecHash})).To(Succeed())
		Expect(cached.Items).To(HaveLen(4))
		for _, cr := range cached.Items {
			Expect(cr.Data.Raw).To(BeEmpty(), "revision %d is cached with its data", cr.Revision)
			Expect(cr.Revision).To(BeNumerically(">", 0))
			Expect(cr.Labels).To(HaveKey(render.LabelSpecHash))
		}
	})

	It("rechecks a stack refused its namespace with at most one read", func() {
		first := newStack("ns-holder", webComponent("web", 1))
		first.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "held"}
		createStack(first)
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "held", Name: "web"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())

		components := make([]appstackv1.Component, 0, 8)
		for i := range 8 {
			components = append(components, webComponent(fmt.Sprintf("c%d", i), 1))
		}
		second := newStack("ns-wanter", components...)
		second.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "held"}
		second.Spec.Configs = []appstackv1.Config{{Name: "cfg", Data: map[string]string{"a": "b"}}}
		createStack(second)
		Eventually(func(g Gomega) {
			c := readyCondition(g, second.Name)
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonNamespaceConflict))
		}, timeout, interval).Should(Succeed())
		// The first blocked pass reads every desired name once, and writes the status
		// (a new resourceVersion of the stack: one more full pass). Past those, each
		// recheck — every recheckAfter — reads at most once.
		time.Sleep(recheckAfter + 2*time.Second)
		before := apiReads.reads("held")
		const rechecks = 2
		time.Sleep(rechecks*recheckAfter + time.Second)
		Expect(apiReads.reads("held")-before).To(BeNumerically("<=", rechecks+1),
			"a stack refused its namespace reads at most once per recheck, not once per desired name (%d here)",
			len(components)*2+1)
		Expect(readyCondition(Default, second.Name).Reason).To(Equal(appstackv1.ReasonNamespaceConflict))
	})

	It("rechecks a stack that waits on an object in the way with at most one read", func() {
		const name = "in-the-way"
		components := make([]appstackv1.Component, 0, 7)
		components = append(components, webComponent("web", 1))
		for i := range 6 {
			c := webComponent(fmt.Sprintf("c%d", i), 1)
			c.DependsOn = []string{"web"} // web is never rolled out here: they wait
			components = append(components, c)
		}
		createStack(newStack(name, components...))
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: name, Name: "web"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: name},
			Data: map[string]string{"someone": "else"}})).To(Succeed())
		updateStack(name, func(s *appstackv1.AppStack) {
			s.Spec.Configs = []appstackv1.Config{{Name: "taken", Data: map[string]string{"a": "b"}}}
		})
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, name).Message).To(ContainSubstring("ConfigMap %s/taken already exists", name))
		}, timeout, interval).Should(Succeed())
		time.Sleep(recheckAfter + 2*time.Second)
		before := apiReads.reads(name)
		const rechecks = 2
		time.Sleep(rechecks*recheckAfter + time.Second)
		reads := apiReads.reads(name) - before
		AddReportEntry("reads past the cache over two rechecks of a stack with a conflict and six waiting components", reads)
		Expect(reads).To(BeNumerically("<=", rechecks+1),
			"a stack waiting on an object in the way reads at most once per recheck, not once per name the cache does not show")

		By("the object in the way goes: the stack takes the name")
		Expect(k8sClient.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: name}})).To(Succeed())
		Eventually(func(g Gomega) {
			cm := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: name, Name: "taken"}, cm)).To(Succeed())
			g.Expect(cm.Data).To(HaveKeyWithValue("a", "b"))
		}, 3*recheckAfter, interval).Should(Succeed())
	})
})
