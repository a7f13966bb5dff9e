package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestAutoscalerAndDisruptionBudget(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("app", 8080)},
		Autoscaling:         &appstackv1.AutoscalingSpec{MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr.To(int32(70))},
		PodDisruptionBudget: &appstackv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("25%"))},
	})
	c := &stack.Spec.Components[0]
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
