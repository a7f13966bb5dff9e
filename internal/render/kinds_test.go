package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func container(name string, ports ...int32) corev1.Container {
	c := corev1.Container{Name: name, Image: "img"}
	for _, p := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: p})
	}
	return c
}

func TestStatefulSetClaimsAndGoverningService(t *testing.T) {
	g := NewWithT(t)
	c := appstackv1.Component{Name: "db", Kind: appstackv1.KindStatefulSet, Replicas: ptr.To(int32(3)),
		Containers:           []corev1.Container{container("pg", 5432)},
		VolumeClaimTemplates: []appstackv1.VolumeClaimTemplate{{Name: "data", Size: resource.MustParse("2Gi"), Retain: ptr.To(false)}},
	}
	stack := stackWith(c)
	s := render.Workload(stack, &stack.Spec.Components[0]).(*appsv1.StatefulSet)
	g.Expect(s.Spec.ServiceName).To(Equal("db"))
	g.Expect(s.Spec.VolumeClaimTemplates).To(HaveLen(1))
	g.Expect(s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String()).To(Equal("2Gi"))
	g.Expect(s.Spec.VolumeClaimTemplates[0].Spec.AccessModes).To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}))
	g.Expect(s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.DeletePersistentVolumeClaimRetentionPolicyType),
		"retain: false maps to the Delete claim retention policy")
	svcs := render.Services(stack, &stack.Spec.Components[0])
	g.Expect(svcs).To(HaveLen(1))
	g.Expect(svcs[0].Spec.ClusterIP).To(Equal(corev1.ClusterIPNone), "a StatefulSet's own Service is headless by default")

	// Asking for a ClusterIP Service keeps a governing headless one beside it.
	stack.Spec.Components[0].Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeClusterIP}
	stack.Spec.Components[0].VolumeClaimTemplates[0].Retain = nil
	s = render.Workload(stack, &stack.Spec.Components[0]).(*appsv1.StatefulSet)
	svcs = render.Services(stack, &stack.Spec.Components[0])
	g.Expect(svcs).To(HaveLen(2))
	g.Expect(svcs[0].Name).To(Equal("db"))
	g.Expect(svcs[0].Spec.ClusterIP).To(BeEmpty())
	g.Expect(svcs[1].Name).To(Equal("db-headless"))
	g.Expect(svcs[1].Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
	g.Expect(s.Spec.ServiceName).To(Equal("db-headless"))
	g.Expect(s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType),
		"claims are retained by default")
}

func TestJobsAndPods(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "migrate", Kind: appstackv1.KindJob, BackoffLimit: ptr.To(int32(2)),
		Containers: []corev1.Container{container("app", 8080)}})
	c := &stack.Spec.Components[0]
	j := render.Workload(stack, c).(*batchv1.Job)
	g.Expect(j.Spec.Template.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyOnFailure), "a Job's pods restart on failure by default")
	g.Expect(j.Spec.BackoffLimit).To(Equal(ptr.To(int32(2))))
	g.Expect(j.Spec.Selector).To(BeNil(), "the Job controller picks the selector")
	g.Expect(render.Services(stack, c)).To(BeEmpty(), "a Job gets no Service unless asked, even with container ports")

	c.Kind, c.Schedule, c.ConcurrencyPolicy = appstackv1.KindCronJob, "*/5 * * * *", batchv1.ForbidConcurrent
	cj := render.Workload(stack, c).(*batchv1.CronJob)
	g.Expect(cj.Spec.Schedule).To(Equal("*/5 * * * *"))
	g.Expect(cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyOnFailure))
	g.Expect(cj.Spec.JobTemplate.Labels).To(HaveKeyWithValue(render.LabelComponent, "migrate"))

	c.Kind, c.Schedule, c.ConcurrencyPolicy, c.BackoffLimit = appstackv1.KindPod, "", "", nil
	p := render.Workload(stack, c).(*corev1.Pod)
	g.Expect(p.Name).To(Equal("migrate"))
	g.Expect(p.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyAlways))
	g.Expect(render.Services(stack, c)).To(HaveLen(1), "a Pod with ports gets a Service")
}

func TestDaemonSetHasNoReplicas(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "agent", Kind: appstackv1.KindDaemonSet, Containers: []corev1.Container{container("a")},
		Strategy: &appstackv1.StrategySpec{Type: appstackv1.StrategyOnDelete}})
	d := render.Workload(stack, &stack.Spec.Components[0]).(*appsv1.DaemonSet)
	g.Expect(d.Spec.UpdateStrategy.Type).To(Equal(appsv1.OnDeleteDaemonSetStrategyType))
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(render.SelectorLabels(stack, "agent")))
}

func TestIngressAutoscalerAndDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("app", 8080)},
		Ingress:             &appstackv1.IngressSpec{Host: "shop.example.com", TLSSecretName: "shop-tls", ClassName: ptr.To("nginx")},
		Autoscaling:         &appstackv1.AutoscalingSpec{MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr.To(int32(70))},
		PodDisruptionBudget: &appstackv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("25%"))},
	})
	c := &stack.Spec.Components[0]
	ing := render.Ingress(stack, c)
	g.Expect(ing.Spec.IngressClassName).To(Equal(ptr.To("nginx")))
	g.Expect(ing.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}))
	rule := ing.Spec.Rules[0]
	g.Expect(rule.Host).To(Equal("shop.example.com"))
	g.Expect(rule.HTTP.Paths[0].Path).To(Equal("/"))
	g.Expect(*rule.HTTP.Paths[0].PathType).To(Equal(networkingv1.PathTypePrefix))
	g.Expect(rule.HTTP.Paths[0].Backend.Service.Name).To(Equal("web"))
	g.Expect(rule.HTTP.Paths[0].Backend.Service.Port.Number).To(Equal(int32(8080)), "the Service's first port by default")

	hpa := render.HorizontalPodAutoscaler(stack, c)
	g.Expect(hpa.Spec.ScaleTargetRef.Kind).To(Equal("Deployment"))
	g.Expect(*hpa.Spec.MinReplicas).To(Equal(int32(1)))
	g.Expect(hpa.Spec.MaxReplicas).To(Equal(int32(5)))
	g.Expect(*hpa.Spec.Metrics[0].Resource.Target.AverageUtilization).To(Equal(int32(70)))
	d := render.Workload(stack, c).(*appsv1.Deployment)
	g.Expect(d.Spec.Replicas).To(BeNil(), "the autoscaler owns replicas; the operator must not send them")

	pdb := render.PodDisruptionBudget(stack, c)
	g.Expect(pdb.Spec.MaxUnavailable).To(Equal(ptr.To(intstr.FromString("25%"))))
	g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(render.SelectorLabels(stack, "web")))
}

func TestDependencyEnvAndConfigHash(t *testing.T) {
	g := NewWithT(t)
	stack := &appstackv1.AppStack{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: appstackv1.AppStackSpec{
			Configs: []appstackv1.Config{{Name: "web-config", Data: map[string]string{"a": "1"}}, {Name: "other", Data: map[string]string{"b": "2"}}},
			Components: []appstackv1.Component{
				{Name: "web", DependsOn: []string{"user-db"}, Containers: []corev1.Container{
					{Name: "app", Image: "img", Env: []corev1.EnvVar{{Name: "USER_DB_PORT", Value: "6000"}}},
				}, Volumes: []appstackv1.ComponentVolume{{Name: "cfg", Config: "web-config"}}},
				{Name: "user-db", Kind: appstackv1.KindStatefulSet, Containers: []corev1.Container{container("pg", 5432)}},
			},
		},
	}
	web := &stack.Spec.Components[0]
	d := render.Workload(stack, web).(*appsv1.Deployment)
	g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ConsistOf(
		corev1.EnvVar{Name: "USER_DB_PORT", Value: "6000"},
		corev1.EnvVar{Name: "USER_DB_HOST", Value: "user-db.shop.svc.cluster.local"},
	), "the dependency's host is injected; the user's own port wins")
	g.Expect(stack.Spec.Components[0].Containers[0].Env).To(HaveLen(1), "rendering must not modify the stack")

	h1 := d.Spec.Template.Annotations[render.AnnotationConfigHash]
	g.Expect(h1).NotTo(BeEmpty())
	stack.Spec.Configs[1].Data["b"] = "changed"
	g.Expect(render.Workload(stack, web).(*appsv1.Deployment).Spec.Template.Annotations[render.AnnotationConfigHash]).
		To(Equal(h1), "a config the pods do not use does not roll them")
	stack.Spec.Configs[0].Data["a"] = "changed"
	g.Expect(render.Workload(stack, web).(*appsv1.Deployment).Spec.Template.Annotations[render.AnnotationConfigHash]).
		NotTo(Equal(h1), "a change to a config the pods use rolls them")
}

func TestNamespacePodSecurity(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("a")}})
	g.Expect(render.Namespace(stack).Labels).To(And(
		HaveKeyWithValue(render.LabelPodSecurityEnforce, "baseline"), Not(HaveKey(render.LabelPodSecurityWarn))))
	stack.Spec.Namespace = &appstackv1.NamespaceSpec{PodSecurity: appstackv1.PodSecurityRestricted,
		Labels: map[string]string{render.LabelStack: "spoofed", "team": "web"}, Annotations: map[string]string{"owner": "me"}}
	ns := render.Namespace(stack)
	g.Expect(ns.Labels).To(And(
		HaveKeyWithValue(render.LabelPodSecurityEnforce, "restricted"),
		HaveKeyWithValue(render.LabelPodSecurityWarn, "restricted"),
		HaveKeyWithValue(render.LabelPodSecurityAudit, "restricted"),
		HaveKeyWithValue("team", "web"),
		HaveKeyWithValue(render.LabelStack, "shop"),
	), "the stack's own labels win over the user's")
	g.Expect(ns.Annotations).To(HaveKeyWithValue("owner", "me"))
}
