package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*appstackv1.AppStack)
		want   string
	}{{
		name: "volume mount naming no volume",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "html", MountPath: "/x"}}
		},
		want: `spec.components[0].containers[0].volumeMounts[0].name: Invalid value: "html": names no volume of this component`,
	}, {
		name: "service targetPort naming no container port",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Ports: []appstackv1.ServicePort{{Port: 80, TargetPort: ptr.To(intstr.FromString("web"))}}}
		},
		want: `spec.components[0].service.ports[0].targetPort: Invalid value: "web": names no port of any container`,
	}, {
		name: "protected namespace",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Namespace = &appstackv1.NamespaceSpec{Name: "kube-system"}
		},
		want: `spec.namespace.name: Forbidden: namespace kube-system is protected`,
	}, {
		name: "duplicate component",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components = append(s.Spec.Components, s.Spec.Components[0])
		},
		want: `spec.components[1].name: Duplicate value: "web"`,
	}, {
		name: "service block with no ports to derive",
		mutate: func(s *appstackv1.AppStack) {
			s.Spec.Components[0].Service = &appstackv1.ServiceSpec{Type: appstackv1.ServiceTypeClusterIP}
		},
		want: `spec.components[0].service.ports: Required value: the containers declare no ports`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{{Name: "c", Image: "img"}}})
			g.Expect(render.Validate(stack)).To(BeEmpty(), "the base stack is valid")
			tt.mutate(stack)
			_, err := render.Render(stack)
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
		})
	}
}
