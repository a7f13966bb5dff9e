package render_test

import (
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

func TestIngress(t *testing.T) {
	g := NewWithT(t)
	stack := stackWith(appstackv1.Component{Name: "web", Containers: []corev1.Container{container("app", 8080)},
		Ingress: &appstackv1.IngressSpec{Host: "shop.example.com", TLSSecretName: "shop-tls", ClassName: ptr.To("nginx")},
	})
	ing := render.Ingress(stack, &stack.Spec.Components[0])
	g.Expect(ing.Spec.IngressClassName).To(Equal(ptr.To("nginx")))
	g.Expect(ing.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}}))
	rule := ing.Spec.Rules[0]
	g.Expect(rule.Host).To(Equal("shop.example.com"))
	g.Expect(rule.HTTP.Paths[0].Path).To(Equal("/"))
	g.Expect(*rule.HTTP.Paths[0].PathType).To(Equal(networkingv1.PathTypePrefix))
	g.Expect(rule.HTTP.Paths[0].Backend.Service.Name).To(Equal("web"))
	g.Expect(rule.HTTP.Paths[0].Backend.Service.Port.Number).To(Equal(int32(8080)), "the Service's first port by default")
}
