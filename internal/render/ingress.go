package render

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Ingress routes the component's ingress host and path to its Service, or is nil
// when the component has no ingress block.
func Ingress(stack *appstackv1.AppStack, c *appstackv1.Component) *networkingv1.Ingress {
	in := c.Ingress
	if in == nil {
		return nil
	}
	svcs := Services(stack, c)
	if len(svcs) == 0 || len(svcs[0].Spec.Ports) == 0 {
		return nil // Validate refuses this; keep Render total anyway.
	}
	port := in.Port
	if port == 0 {
		port = svcs[0].Spec.Ports[0].Port
	}
	path := in.Path
	if path == "" {
		path = "/"
	}
	pathType := in.PathType
	if pathType == "" {
		pathType = networkingv1.PathTypePrefix
	}
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: componentMeta(stack, c.Name, c.Name),
		Spec: networkingv1.IngressSpec{
			IngressClassName: in.ClassName,
			Rules: []networkingv1.IngressRule{{
				Host: in.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     path,
						PathType: ptr.To(pathType),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: svcs[0].Name,
							Port: networkingv1.ServiceBackendPort{Number: port},
						}},
					}},
				}},
			}},
		},
	}
	if in.TLSSecretName != "" {
		tls := networkingv1.IngressTLS{SecretName: in.TLSSecretName}
		if in.Host != "" {
			tls.Hosts = []string{in.Host}
		}
		ing.Spec.TLS = []networkingv1.IngressTLS{tls}
	}
	return ing
}
