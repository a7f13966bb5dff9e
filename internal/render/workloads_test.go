package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

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

func TestDeploymentDefaults(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "c", Image: "img"}}})
	d := render.Deployment(stack, &stack.Spec.Components[0])
	g.Expect(*d.Spec.Replicas).To(Equal(int32(1)), "replicas defaults to 1")
	g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(render.LabelComponent, "web"))
	for k, v := range d.Spec.Selector.MatchLabels {
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v), "the pod template must match the selector")
	}
}
