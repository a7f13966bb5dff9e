package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestConfigHash(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("app")},
		Volumes: []appstackv1.ComponentVolume{{Name: "cfg", Config: "web-config"}}})
	stack.Spec.Configs = []appstackv1.Config{{Name: "web-config", Data: map[string]string{"a": "1"}}, {Name: "other", Data: map[string]string{"b": "2"}}}
	web := &stack.Spec.Components[0]
	hash := func() string {
		return render.Workload(stack, web).(*appsv1.Deployment).Spec.Template.Annotations[render.AnnotationConfigHash]
	}
	h1 := hash()
	g.Expect(h1).NotTo(BeEmpty())
	stack.Spec.Configs[1].Data["b"] = "changed"
	g.Expect(hash()).To(Equal(h1), "a config the pods do not use does not roll them")
	stack.Spec.Configs[0].Data["a"] = "changed"
	g.Expect(hash()).NotTo(Equal(h1), "a change to a config the pods use rolls them")
}
