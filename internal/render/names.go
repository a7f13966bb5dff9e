package render

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// NamespaceName is the namespace the stack's children live in: spec.namespace.name,
// or the stack's own name.
func NamespaceName(stack *appstackv1.AppStack) string {
	if stack.Spec.Namespace != nil && stack.Spec.Namespace.Name != "" {
		return stack.Spec.Namespace.Name
	}
	return stack.Name
}

// ServiceDNSName is the in-cluster DNS name of a component's Service.
func ServiceDNSName(namespace, component string) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local", component, namespace)
}

// portName names a Service port derived from a container port that has no name
// of its own, e.g. "tcp-8080".
func portName(p corev1.ContainerPort) string {
	proto := p.Protocol
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	return fmt.Sprintf("%s-%d", strings.ToLower(string(proto)), p.ContainerPort)
}
