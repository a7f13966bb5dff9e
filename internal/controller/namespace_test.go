package controller

import (
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/plan"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/internal/ssa"
)

var _ = Describe("The stack's namespace", func() {
	// The namespace is created (not applied), so its first fields are held through
	// an update of the operator's field manager; the first change moves them to the
	// apply, and a label the spec drops is removed as from any applied object.
	It("loses a label and the restricted-only Pod Security labels the spec drops", func() {
		stack := newStack("ns-labels", webComponent("web", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{
			Labels:      map[string]string{"team": "web", "tier": "front"},
			PodSecurity: appstackv1.PodSecurityRestricted,
		}
		createStack(stack)
		ns := &corev1.Namespace{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "ns-labels"}, ns)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue("tier", "front"))
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityWarn, "restricted"))
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityEnforceVersion, "latest"))
		}, timeout, interval).Should(Succeed())

		updateStack("ns-labels", func(s *appstackv1.AppStack) {
			s.Spec.Namespace.Labels = map[string]string{"team": "web"}
			s.Spec.Namespace.PodSecurity = appstackv1.PodSecurityBaseline
		})
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "ns-labels"}, ns)).To(Succeed())
			g.Expect(ns.Labels).NotTo(HaveKey("tier"))
			g.Expect(ns.Labels).NotTo(HaveKey(render.LabelPodSecurityWarn))
			g.Expect(ns.Labels).NotTo(HaveKey(render.LabelPodSecurityAudit))
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityEnforce, "baseline"))
			g.Expect(ns.Labels).To(HaveKeyWithValue("team", "web"))
		}, timeout, interval).Should(Succeed())
		for _, mf := range ns.ManagedFields {
			Expect(mf.Manager == render.ManagedBy && mf.Operation == "Update").To(BeFalse(),
				"the fields set at creation still belong to an update of %s: %+v", render.ManagedBy, ns.ManagedFields)
		}
	})

	// Two stacks that name one new namespace at once: the first write of a new
	// namespace is a create, so exactly one of them gets it and lists it in its
	// inventory; the other touches nothing and says NamespaceConflict.
	It("goes to exactly one of two stacks racing for it (20 pairs)", func() {
		const pairs = 20
		var wg sync.WaitGroup
		for i := range pairs {
			for _, side := range []string{"a", "b"} {
				stack := newStack(fmt.Sprintf("race-%d-%s", i, side), webComponent("web", 1))
				stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: fmt.Sprintf("race-%d", i)}
				wg.Go(func() {
					defer GinkgoRecover()
					Expect(k8sClient.Create(ctx, stack)).To(Succeed())
				})
			}
		}
		wg.Wait()
		bothListed, wrongOwner, unmarked := 0, 0, 0
		for i := range pairs {
			ns := fmt.Sprintf("race-%d", i)
			var owner, loser string
			// envtest runs no controllers, so the owner stays Progressing: its
			// Deployment never rolls out.
			Eventually(func(g Gomega) {
				a, b := getStack(fmt.Sprintf("race-%d-a", i)), getStack(fmt.Sprintf("race-%d-b", i))
				ra, rb := readyReason(a), readyReason(b)
				g.Expect([]string{ra, rb}).To(ConsistOf(appstackv1.ReasonNamespaceConflict, appstackv1.ReasonProgressing),
					"%s: %s / %s", ns, ra, rb)
				owner, loser = a.Name, b.Name
				if ra == appstackv1.ReasonNamespaceConflict {
					owner, loser = b.Name, a.Name
				}
			}, timeout, interval).Should(Succeed())
			listed := func(name string) bool {
				for _, e := range getStack(name).Status.Inventory {
					if e.Kind == "Namespace" {
						return true
					}
				}
				return false
			}
			if listed(loser) {
				bothListed++
			}
			live := &corev1.Namespace{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Name: ns}, live)).To(Succeed())
			d := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, d)).To(Succeed())
			if live.Labels[render.LabelStack] != owner || d.Labels[render.LabelStack] != owner || !listed(owner) {
				wrongOwner++
				continue
			}
			if live.Annotations[render.AnnotationStackUID] != string(getStack(owner).UID) {
				unmarked++
			}
		}
		GinkgoWriter.Printf("RACE: %d pairs; both stacks list the namespace in %d; the namespace or its Deployment is the loser's in %d\n",
			pairs, bothListed, wrongOwner)
		Expect(bothListed).To(BeZero(), "a stack that lost the race lists the namespace in its inventory (deleting it could delete the namespace)")
		Expect(wrongOwner).To(BeZero(), "the stack that lost the race wrote into the namespace")
		Expect(unmarked).To(BeZero(), "namespaces without their owner's UID")
		for i := range pairs {
			for _, side := range []string{"a", "b"} {
				Expect(k8sClient.Delete(ctx, getStack(fmt.Sprintf("race-%d-%s", i, side)))).To(Succeed())
			}
		}
	})
})

// The race itself, made deterministic: a pass that read the namespace as absent
// acts after another stack created it. Its first write is a create, which fails:
// it writes nothing into the other stack's namespace and leaves it out of its
// inventory.
var _ = It("a pass that read its namespace as absent writes nothing when another stack created it meanwhile", func() {
	winner := newStack("race-det-a", webComponent("web", 1))
	winner.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "race-det"}
	createStack(winner)
	ns := &corev1.Namespace{}
	Eventually(func() error {
		return k8sClient.Get(ctx, client.ObjectKey{Namespace: "race-det", Name: "web"}, &appsv1.Deployment{})
	}, timeout, interval).Should(Succeed())
	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "race-det"}, ns)).To(Succeed())
	before := ns.ResourceVersion

	loser := newStack("race-det-b", webComponent("web", 1))
	loser.UID = "race-det-b-uid"
	loser.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "race-det"}
	desired, err := render.Render(loser)
	Expect(err).NotTo(HaveOccurred())
	rev, err := render.Revision(loser, 1)
	Expect(err).NotTo(HaveOccurred())
	r := &AppStackReconciler{Client: k8sClient, APIReader: k8sClient, Recorder: events.NewFakeRecorder(10)}
	r.applier = ssa.NewApplier(k8sClient, render.ManagedBy)
	s := &scope{stack: loser, namespace: "race-det", desired: desired, history: history{rev: rev},
		// What the pass read before the winner's create: no namespace.
		plan: plan.Make(plan.Observed{Stack: loser, Desired: desired, Live: map[plan.Key]client.Object{}, Ready: map[string]bool{}})}
	Expect(r.act(ctx, s)).NotTo(Succeed(), "the loser's act must fail on the namespace it did not create")

	Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "race-det"}, ns)).To(Succeed())
	Expect(ns.ResourceVersion).To(Equal(before), "the loser wrote to the winner's namespace: labels %v", ns.Labels)
	d := &appsv1.Deployment{}
	Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "race-det", Name: "web"}, d)).To(Succeed())
	Expect(d.Labels).To(HaveKeyWithValue(render.LabelStack, "race-det-a"), "the loser applied its Deployment over the winner's")
	for _, e := range s.done.inventory {
		Expect(e.Kind).NotTo(Equal("Namespace"), "the loser lists the winner's namespace in its inventory")
	}
	Expect(k8sClient.Delete(ctx, getStack("race-det-a"))).To(Succeed())
})

func readyReason(stack *appstackv1.AppStack) string {
	for _, c := range stack.Status.Conditions {
		if c.Type == appstackv1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// An object of the stack whose controller reference is gone — what a deletion with
// --cascade=orphan does to every child before the finalizer runs (envtest has no
// garbage collector, so the test takes the reference off itself) — stays, and so
// does the namespace; a look-alike someone labelled like the stack's keeps nothing.
var _ = It("leaves an orphaned child and its namespace in place, but not for a look-alike", func() {
	for _, orphan := range []bool{true, false} {
		name := "orphan-left"
		if !orphan {
			name = "orphan-lookalike"
		}
		createStack(newStack(name, webComponent("web", 1)))
		key := client.ObjectKey{Namespace: name, Name: "web"}
		d := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, key, d) }, timeout, interval).Should(Succeed())
		if orphan {
			patch := client.MergeFrom(d.DeepCopy())
			d.OwnerReferences = nil
			Expect(k8sClient.Patch(ctx, d, patch)).To(Succeed())
		} else {
			lookalike := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: "lookalike",
				Labels: map[string]string{render.LabelStack: name, render.LabelManagedBy: render.ManagedBy}},
				Spec: *d.Spec.DeepCopy()}
			Expect(k8sClient.Create(ctx, lookalike)).To(Succeed())
		}
		Expect(k8sClient.Delete(ctx, getStack(name))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: name}), timeout, interval).Should(BeTrue())
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: name}, ns)).To(Succeed())
		if orphan {
			Expect(ns.DeletionTimestamp).To(BeNil(), "the namespace of an orphaned child is deleted")
			Expect(ns.Labels).To(HaveKeyWithValue(render.LabelRetained, "true"))
			Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			Expect(d.DeletionTimestamp).To(BeNil(), "the orphaned Deployment is deleted")
		} else {
			Expect(ns.DeletionTimestamp).NotTo(BeNil(), "a look-alike kept the namespace the stack created")
		}
	}
})
