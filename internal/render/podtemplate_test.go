package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestDependencyEnv(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", DependsOn: []string{"user-db"}, Containers: []corev1.Container{
		{Name: "app", Image: "img", Env: []corev1.EnvVar{{Name: "USER_DB_PORT", Value: "6000"}}},
	}})
	stack.Spec.Components = append(stack.Spec.Components,
		appstackv1.Component{Name: "user-db", Kind: appstackv1.KindStatefulSet, Containers: []corev1.Container{container("pg", 5432)}})
	d := render.Workload(stack, &stack.Spec.Components[0]).(*appsv1.Deployment)
	g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ConsistOf(
		corev1.EnvVar{Name: "USER_DB_PORT", Value: "6000"},
		corev1.EnvVar{Name: "USER_DB_HOST", Value: "user-db.shop.svc.cluster.local"},
	), "the dependency's host is injected; the user's own port wins")
	g.Expect(stack.Spec.Components[0].Containers[0].Env).To(HaveLen(1), "rendering must not modify the stack")
}
