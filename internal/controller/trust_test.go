package controller

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
	"github.com/appstack-dev/appstack-operator/test/cases"
)

// The operator may be handed a namespace and a database: it never touches what the
// stack does not own, never loses retained data, never takes part in a fight over
// a name (docs/ownership.md).
var _ = Describe("Trust", func() {
	It("keeps a StatefulSet's claims from retained templates, and their namespace, when the stack is deleted", func() {
		db := webComponent("db", 1)
		db.Kind = appstackv1.KindStatefulSet
		db.Containers = db.Containers[:1]
		db.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		db.VolumeClaimTemplates = []appstackv1.VolumeClaimTemplate{{Name: "data", Size: resource.MustParse("1Gi")}}
		stack := newStack("sts-data", db)
		createStack(stack)
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "sts-data", Name: "db"}, &appsv1.StatefulSet{})
		}, timeout, interval).Should(Succeed())
		// What the StatefulSet controller (absent from envtest) makes of the
		// template: a claim labelled like the pods, owned by nothing (Retain policy).
		c := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: "sts-data", Labels: render.ComponentLabels(getStack("sts-data"), "db")},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}
		Expect(k8sClient.Create(ctx, c)).To(Succeed())

		Expect(k8sClient.Delete(ctx, getStack("sts-data"))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "sts-data"}), timeout, interval).Should(BeTrue())
		kept := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), kept)).To(Succeed())
		Expect(kept.UID).To(Equal(c.UID))
		Expect(kept.DeletionTimestamp).To(BeNil())
		Expect(kept.Labels).To(HaveKeyWithValue(render.LabelRetained, "true"))
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "sts-data"}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).To(BeNil(), "the namespace holding the claim must stay")
		Expect(ns.OwnerReferences).To(BeEmpty())
		GinkgoWriter.Printf("claim %s kept with labels %v; namespace %s kept with labels %v\n", kept.Name, kept.Labels, ns.Name, ns.Labels)

		// The stack comes back: it takes its namespace back, and the claim.
		createStack(newStack("sts-data", db))
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "sts-data"}, ns)).To(Succeed())
			g.Expect(ns.Annotations).To(HaveKeyWithValue(render.AnnotationStackUID, string(getStack("sts-data").UID)))
			g.Expect(ns.Labels).NotTo(HaveKey(render.LabelRetained))
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), kept)).To(Succeed())
			g.Expect(kept.Labels).NotTo(HaveKey(render.LabelRetained))
			g.Expect(kept.UID).To(Equal(c.UID))
		}, timeout, interval).Should(Succeed())
	})

	It("keeps a claim whose volume became retained before any pass dropped the stack's owner reference", func() {
		stack := newStack("flip", webComponent("web", 1))
		stack.Spec.Volumes = []appstackv1.StackVolume{{Name: "data", Size: resource.MustParse("1Gi"), Retain: ptr.To(false)}}
		createStack(stack)
		key := client.ObjectKey{Namespace: "flip", Name: "data"}
		c := &corev1.PersistentVolumeClaim{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key, c)).To(Succeed())
			g.Expect(metav1.IsControlledBy(c, getStack("flip"))).To(BeTrue())
		}, timeout, interval).Should(Succeed())
		// Paused, so no pass applies the change; then deleted.
		updateStack("flip", func(s *appstackv1.AppStack) {
			s.Spec.Paused = true
			s.Spec.Volumes[0].Retain = ptr.To(true)
		})
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, "flip").Reason).To(Equal(appstackv1.ReasonSuspended))
		}, timeout, interval).Should(Succeed())
		Expect(k8sClient.Delete(ctx, getStack("flip"))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "flip"}), timeout, interval).Should(BeTrue())
		kept := &corev1.PersistentVolumeClaim{}
		Expect(k8sClient.Get(ctx, key, kept)).To(Succeed())
		Expect(kept.UID).To(Equal(c.UID))
		Expect(kept.DeletionTimestamp).To(BeNil(), "a claim the spec says to retain was deleted with the stack")
		Expect(kept.OwnerReferences).To(BeEmpty(), "the garbage collector would take it")
		Expect(kept.Labels).To(HaveKeyWithValue(render.LabelRetained, "true"))
	})

	It("refuses to move a stack to another namespace in place", func() {
		createStack(newStack("mover", webComponent("web", 1)))
		// The operator writes the stack too (its finalizer): retry on a stale read.
		Eventually(func(g Gomega) {
			s := getStack("mover")
			s.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "elsewhere"}
			err := k8sClient.Update(ctx, s)
			g.Expect(err).To(HaveOccurred())
			g.Expect(err.Error()).To(ContainSubstring("spec.namespace.name: cannot change"))
			GinkgoWriter.Printf("rename refused: %v\n", err)
		}, timeout, interval).Should(Succeed())
	})

	for i, tc := range cases.Unrenderable {
		It("applies nothing for a spec whose objects would collide: "+tc.Name, func() {
			name := fmt.Sprintf("collide-%d", i)
			var spec map[string]any
			Expect(yaml.Unmarshal([]byte(tc.Spec), &spec)).To(Succeed())
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps.appstack.dev/v1alpha1", "kind": "AppStack",
				"metadata": map[string]any{"name": name}, "spec": spec,
			}}
			Expect(k8sClient.Create(ctx, u)).To(Succeed())
			DeferCleanup(func() { _ = k8sClient.Delete(ctx, u) })
			Eventually(func(g Gomega) {
				c := readyCondition(g, name)
				g.Expect(c.Reason).To(Equal(appstackv1.ReasonInvalidSpec))
				g.Expect(c.Message).To(ContainSubstring(tc.Want))
			}, timeout, interval).Should(Succeed())
			Expect(gone(&corev1.Namespace{}, client.ObjectKey{Name: name})()).To(BeTrue(), "nothing is applied, not even the namespace")
		})
	}

	It("is not Ready while a config it names is someone else's, even with every component ready", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-shared",
			Annotations: map[string]string{appstackv1.AnnotationAdopt: "shared"}}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "team-shared"}, Data: map[string]string{"a": "1"}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		stack := newStack("shared", webComponent("web", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "team-shared", Adopt: true}
		stack.Spec.Configs = []appstackv1.Config{{Name: "settings", Data: map[string]string{"a": "2"}}}
		createStack(stack)
		Eventually(func(g Gomega) { rollOut(g, client.ObjectKey{Namespace: "team-shared", Name: "web"}) }, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			s := getStack("shared")
			g.Expect(s.Status.Ready).To(Equal("1/1"), "the component is ready")
			c := readyCondition(g, "shared")
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonConflict))
			g.Expect(c.Message).To(ContainSubstring("ConfigMap team-shared/settings already exists and is not this stack's"))
		}, timeout, interval).Should(Succeed())
		live := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), live)).To(Succeed())
		Expect(live.Data).To(Equal(map[string]string{"a": "1"}))
		Expect(live.ResourceVersion).To(Equal(cm.ResourceVersion), "the foreign ConfigMap is untouched")
	})

	It("never writes to, owns or deletes objects it did not create in an adopted namespace", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-foreign",
			Annotations: map[string]string{appstackv1.AnnotationAdopt: "foreign"}}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team-foreign"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "nginx:1.25"}}}}
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "team-foreign"}, Data: map[string]string{"a": "1"}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())

		x := appstackv1.Component{Name: "x", Kind: appstackv1.KindPod, Containers: []corev1.Container{{Name: "x", Image: "nginx:1.27"}}}
		stack := newStack("foreign", x, webComponent("web", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "team-foreign", Adopt: true}
		stack.Spec.Configs = []appstackv1.Config{{Name: "settings", Data: map[string]string{"a": "2"}}}
		createStack(stack)
		Eventually(func(g Gomega) {
			s := getStack("foreign")
			c := readyCondition(g, "foreign")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonConflict))
			g.Expect(c.Message).To(ContainSubstring("ConfigMap team-foreign/settings already exists and is not this stack's"))
			g.Expect(s.Status.Components).To(ContainElement(And(
				HaveField("Name", "x"), HaveField("Reason", appstackv1.ReasonConflict),
				HaveField("Message", ContainSubstring("Pod team-foreign/x already exists and is not this stack's (managed by")))))
			GinkgoWriter.Printf("stack: %s\n", c.Message)
		}, timeout, interval).Should(Succeed())
		// The rest of the stack is applied; the foreign objects are untouched.
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "team-foreign", Name: "web"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) {
			live := &corev1.Pod{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), live)).To(Succeed())
			g.Expect(live.Spec.Containers[0].Image).To(Equal("nginx:1.25"))
			g.Expect(live.OwnerReferences).To(BeEmpty())
			g.Expect(live.ResourceVersion).To(Equal(pod.ResourceVersion), "not even a label is written to it")
			liveCM := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), liveCM)).To(Succeed())
			g.Expect(liveCM.ResourceVersion).To(Equal(cm.ResourceVersion))
		}, 2*time.Second, interval).Should(Succeed())

		Expect(k8sClient.Delete(ctx, getStack("foreign"))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "foreign"}), timeout, interval).Should(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})).To(Succeed(), "the stack's deletion took a pod it did not create")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "team-foreign"}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).To(BeNil())
		Expect(ns.Labels).NotTo(HaveKey(render.LabelStack), "releasing the namespace removes the operator's labels")
	})

	It("never prunes a look-alike: a hand-made Deployment carrying the stack's labels", func() {
		createStack(newStack("lookalike", webComponent("web", 1), webComponent("api", 1)))
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "lookalike", Name: "api"}, &appsv1.Deployment{})
		}, timeout, interval).Should(Succeed())
		fake := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "handmade", Namespace: "lookalike", Labels: render.ComponentLabels(getStack("lookalike"), "old")},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "handmade"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "handmade"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}},
			},
		}
		Expect(k8sClient.Create(ctx, fake)).To(Succeed())
		updateStack("lookalike", func(s *appstackv1.AppStack) { s.Spec.Components = s.Spec.Components[:1] })
		Eventually(gone(&appsv1.Deployment{}, client.ObjectKey{Namespace: "lookalike", Name: "api"}), timeout, interval).Should(BeTrue())
		Consistently(func() error { return k8sClient.Get(ctx, client.ObjectKeyFromObject(fake), &appsv1.Deployment{}) },
			2*time.Second, interval).Should(Succeed(), "a prune deleted an object the stack never created")
		Expect(getStack("lookalike").Status.Inventory).NotTo(ContainElement(HaveField("Name", "handmade")))
	})

	It("never takes over, nor prunes, a pre-existing object of a component's name", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-pre",
			Annotations: map[string]string{appstackv1.AnnotationAdopt: "pre"}}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		theirs := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "team-pre"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "theirs"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "theirs"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.25"}}}},
			},
		}
		Expect(k8sClient.Create(ctx, theirs)).To(Succeed())
		stack := newStack("pre", webComponent("web", 1), webComponent("api", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "team-pre", Adopt: true}
		createStack(stack)
		Eventually(func(g Gomega) {
			g.Expect(getStack("pre").Status.Components).To(ContainElement(And(HaveField("Name", "api"), HaveField("Reason", appstackv1.ReasonConflict))))
		}, timeout, interval).Should(Succeed())
		updateStack("pre", func(s *appstackv1.AppStack) { s.Spec.Components = s.Spec.Components[:1] })
		Eventually(func(g Gomega) {
			g.Expect(readyCondition(g, "pre").ObservedGeneration).To(Equal(getStack("pre").Generation))
		}, timeout, interval).Should(Succeed())
		Consistently(func(g Gomega) {
			live := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(theirs), live)).To(Succeed(), "the prune deleted an object the stack never created")
			g.Expect(live.ResourceVersion).To(Equal(theirs.ResourceVersion), "the operator wrote to an object it did not create")
			g.Expect(live.OwnerReferences).To(BeEmpty())
		}, 2*time.Second, interval).Should(Succeed())
	})

	It("reports a node port someone else holds as a failed apply, and replaces nothing", func() {
		svc := func() appstackv1.Component {
			c := webComponent("web", 1)
			c.Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeNodePort,
				Ports: []appstackv1.ServicePort{{Port: 80, NodePort: 30777}}}
			return c
		}
		createStack(newStack("port-a", svc()))
		a := &corev1.Service{}
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "port-a", Name: "web"}, a)
		}, timeout, interval).Should(Succeed())
		createStack(newStack("port-b", svc()))
		Eventually(func(g Gomega) {
			c := readyCondition(g, "port-b")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonApplyFailed))
			g.Expect(c.Message).To(ContainSubstring("provided port is already allocated"))
			GinkgoWriter.Printf("port-b: %s\n", c.Message)
		}, timeout, interval).Should(Succeed())
		live := &corev1.Service{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(a), live)).To(Succeed())
		Expect(live.UID).To(Equal(a.UID), "the other stack's Service was replaced")
		Expect(getStack("port-b").Status.Inventory).NotTo(ContainElement(HaveField("Kind", "Service")))
	})

	It("gives an adopted namespace back the Pod Security level and labels it had", func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-psa",
			Labels:      map[string]string{render.LabelPodSecurityEnforce: "baseline", "team": "psa"},
			Annotations: map[string]string{appstackv1.AnnotationAdopt: "psa"}}}
		Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		stack := newStack("psa", webComponent("web", 1))
		stack.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "team-psa", Adopt: true, Labels: map[string]string{"team": "stack"},
			PodSecurity: appstackv1.PodSecurityRestricted}
		createStack(stack)
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "team-psa"}, ns)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityEnforce, "restricted"))
			g.Expect(ns.Labels).To(HaveKeyWithValue("team", "stack"))
		}, timeout, interval).Should(Succeed())
		// A stack never lowers an adopted namespace's level: back to the default
		// (baseline), the namespace stays at restricted while the stack holds it.
		updateStack("psa", func(s *appstackv1.AppStack) { s.Spec.Namespace.PodSecurity = appstackv1.PodSecurityBaseline })
		Consistently(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "team-psa"}, ns)).To(Succeed())
			g.Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityEnforce, "restricted"))
		}, 2*time.Second, interval).Should(Succeed())
		Expect(k8sClient.Delete(ctx, getStack("psa"))).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "psa"}), timeout, interval).Should(BeTrue())
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "team-psa"}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).To(BeNil())
		Expect(ns.Labels).To(HaveKeyWithValue(render.LabelPodSecurityEnforce, "baseline"))
		Expect(ns.Labels).To(HaveKeyWithValue("team", "psa"))
		for _, k := range []string{render.LabelStack, render.LabelManagedBy, render.LabelInstance} {
			Expect(ns.Labels).NotTo(HaveKey(k))
		}
		Expect(ns.Annotations).To(Equal(map[string]string{appstackv1.AnnotationAdopt: "psa"}),
			"the operator's annotations stay behind on a released namespace")
		GinkgoWriter.Printf("released namespace labels: %v annotations: %v\n", ns.Labels, ns.Annotations)
	})

	It("never drops the replica count below the old count when an autoscaler takes it over", func() {
		key := createReadyStack("handover")
		updateStack("handover", func(s *appstackv1.AppStack) { s.Spec.Components[0].Replicas = ptr.To(int32(5)) })
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(*d.Spec.Replicas).To(Equal(int32(5)))
		}, timeout, interval).Should(Succeed())

		var mu sync.Mutex
		var samples []int32
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				d := &appsv1.Deployment{}
				if err := k8sClient.Get(ctx, key, d); err == nil {
					mu.Lock()
					samples = append(samples, ptr.Deref(d.Spec.Replicas, 1))
					mu.Unlock()
				}
			}
		}()
		updateStack("handover", func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Replicas = nil
			s.Spec.Components[0].Autoscaling = &appstackv1.AutoscalingSpec{MinReplicas: ptr.To(int32(2)), MaxReplicas: 10,
				TargetCPUUtilizationPercentage: ptr.To(int32(50))}
		})
		Eventually(func(g Gomega) {
			d := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
			g.Expect(d.Annotations).To(HaveKeyWithValue(render.AnnotationAutoscaled, "true"))
		}, timeout, interval).Should(Succeed())
		time.Sleep(time.Second)
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		GinkgoWriter.Printf("spec.replicas sampled every 20 ms across the hand-over: %v\n", samples)
		Expect(samples).NotTo(BeEmpty())
		for _, n := range samples {
			Expect(n).To(BeNumerically(">=", 5), "the replica count dropped during the hand-over: %v", samples)
		}
	})

	It("refuses a service type change that would change a StatefulSet's governing Service", func() {
		db := webComponent("db", 1)
		db.Kind = appstackv1.KindStatefulSet
		createStack(newStack("sts-svc", db))
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: "sts-svc", Name: "db"}, &appsv1.StatefulSet{})
		}, timeout, interval).Should(Succeed())
		updateStack("sts-svc", func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeClusterIP}
		})
		Eventually(func(g Gomega) {
			c := readyCondition(g, "sts-svc")
			g.Expect(c.Reason).To(Equal(appstackv1.ReasonUnsafeChange))
			g.Expect(c.Message).To(ContainSubstring("spec.components[0].service.type"))
			GinkgoWriter.Printf("sts-svc: %s\n", c.Message)
		}, timeout, interval).Should(Succeed())
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: "sts-svc", Name: "db"}, svc)).To(Succeed())
		Expect(svc.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone), "the governing Service was replaced")
	})

	It("names the child a deletion waits for, and keeps a namespace holding a claim it never labelled", func() {
		key := createReadyStack("slow")
		d := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Finalizers = []string{"example.com/hold"}
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		// A claim made by hand, unlabelled: the operator's cache never sees it.
		c := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "slow"},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
		}
		Expect(k8sClient.Create(ctx, c)).To(Succeed())

		Expect(k8sClient.Delete(ctx, getStack("slow"))).To(Succeed())
		waits := func(g Gomega) int {
			events := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx, events, client.InNamespace("default"))).To(Succeed())
			n := 0
			for _, e := range events.Items {
				if e.Regarding.Name == "slow" && e.Reason == appstackv1.ReasonDeleting {
					n++
				}
			}
			return n
		}
		var seen int
		Eventually(func(g Gomega) {
			cond := readyCondition(g, "slow")
			g.Expect(cond.Reason).To(Equal(appstackv1.ReasonDeleting))
			g.Expect(cond.Message).To(Equal("deleting: waiting for Deployment slow/web (finalizers: example.com/hold) to go"))
			seen = waits(g)
			g.Expect(seen).To(BeNumerically(">=", 1))
		}, timeout, interval).Should(Succeed())
		// One event per thing waited for, not one per look: over several seconds of
		// backoff, no new event.
		Consistently(func(g Gomega) { g.Expect(waits(g)).To(Equal(seen)) }, 4*time.Second, 500*time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("deleting stack slow: %d Deleting event(s): %s\n", seen, readyCondition(Default, "slow").Message)

		Expect(k8sClient.Get(ctx, key, d)).To(Succeed())
		d.Finalizers = nil
		Expect(k8sClient.Update(ctx, d)).To(Succeed())
		Eventually(gone(&appstackv1.AppStack{}, client.ObjectKey{Name: "slow"}), timeout, interval).Should(BeTrue())
		ns := &corev1.Namespace{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Name: "slow"}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).To(BeNil(), "the namespace was deleted with a claim in it")
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(c), &corev1.PersistentVolumeClaim{})).To(Succeed())
	})
})
